// Series colours, by the series' place in the chart: the first eight from Okabe–Ito, the colour-blind-safe
// categorical palette (yellow left out: too faint on white); from the ninth on, hues a golden angle apart at three
// lightness levels, so 20+ series stay apart. A series keeps its colour when more are added after it (issue 26:
// adding a ninth series used to recolour the first eight).
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#3D3D3D', '#B8860B'];

const GOLDEN_ANGLE = 137.508;
const LIGHTNESS = [42, 58, 34];

/** Colour of the i-th series (0-based). */
export function colorAt(i) {
  if (i < PALETTE.length) return PALETTE[i];
  const k = i - PALETTE.length;
  return `hsl(${((20 + k * GOLDEN_ANGLE) % 360).toFixed(1)}, 68%, ${LIGHTNESS[k % LIGHTNESS.length]}%)`;
}

/** The colour of each series, in order. */
export const seriesColors = (series) => series.map((_, i) => colorAt(i));
