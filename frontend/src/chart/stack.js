// Stacked bars: series drawn with style "stacked" are summed bin by bin within their unit, each drawn from the
// running total below it (series of one /api/query answer share their bins, so index i is the same bin).

/** The series with every stacked one's values turned into its top and `base` into its bottom. */
export function stackSeries(series) {
  const totals = new Map();
  return series.map((s) => {
    if (s.style !== 'stacked') return s;
    const below = totals.get(s.unit) || [];
    const base = s.values.map((_, i) => below[i] ?? 0);
    const top = s.values.map((v, i) => (v == null ? null : base[i] + v));
    totals.set(s.unit, top.map((v, i) => v ?? base[i]));
    return { ...s, values: top, base, min: null, max: null };
  });
}
