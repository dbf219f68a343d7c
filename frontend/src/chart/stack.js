// Stacked bars: series drawn with style "stacked" are summed bin by bin within their unit, each drawn from the
// running total below it (series of one /api/query answer share their bins, so index i is the same bin). The
// series keep their own values, min and max: the legend and the tooltip report those, never the stack's top
// (issue 26: a 5xx series peaking at 15,608 was reported as the 315k of the stack).

/** The series with every stacked one given `top` (where its bar ends) and `base` (where it starts). */
export function stackSeries(series) {
  const totals = new Map();
  return series.map((s) => {
    if (s.style !== 'stacked') return s;
    const below = totals.get(s.unit) || [];
    const base = s.values.map((_, i) => below[i] ?? 0);
    const top = s.values.map((v, i) => (v == null ? null : base[i] + v));
    totals.set(s.unit, top.map((v, i) => v ?? base[i]));
    return { ...s, top, base };
  });
}

/** The heights a series is drawn at: its stack top when stacked, else its own values. */
export const drawnValues = (s) => s.top || s.values;
