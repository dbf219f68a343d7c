// Series colours. Up to eight series: Okabe–Ito, the colour-blind-safe categorical palette (yellow left out:
// too faint on white). More than eight: hue families, one per metric (its share of the colour wheel), the
// series of a metric stepping through that family's hues and three lightness levels, so 20+ series stay apart
// and the series of one metric still read as related.
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#3D3D3D', '#B8860B'];

/** Colour of the i-th series, cycling through the palette. */
export const colorAt = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

const LIGHTNESS = [42, 58, 34];

/** The colour of each series ({metric}) in order: the palette for a few, hue families per metric for many. */
export function seriesColors(series) {
  if (series.length <= PALETTE.length) return series.map((_, i) => colorAt(i));
  const metrics = [...new Set(series.map((s) => s.metric))];
  const counts = new Map(metrics.map((m) => [m, series.filter((s) => s.metric === m).length]));
  const seen = new Map();
  const span = 360 / metrics.length;
  return series.map((s) => {
    const j = metrics.indexOf(s.metric);
    const k = seen.get(s.metric) ?? 0;
    seen.set(s.metric, k + 1);
    const n = counts.get(s.metric);
    const hue = (210 + j * span + (n > 1 ? (k / n) * span * 0.85 : 0)) % 360;
    return `hsl(${hue.toFixed(1)}, 68%, ${LIGHTNESS[k % LIGHTNESS.length]}%)`;
  });
}
