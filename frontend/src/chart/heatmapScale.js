// Geometry of the histogram heatmap: bucket bounds on a piecewise-linear y axis, colour by count.
import { scaleLinear, scaleSequentialSqrt } from 'd3-scale';
import { interpolateYlGnBu } from 'd3-scale-chromatic';

/** Finite upper bounds of the buckets plus a stand-in for "+inf" (twice the last finite bound). */
export function bucketEdges(bounds) {
  const finite = bounds.map(Number).filter((b) => Number.isFinite(b));
  const last = finite.length ? finite[finite.length - 1] : 1;
  const lower = Math.min(0, finite[0] ?? 0);
  return [lower, ...bounds.map((b) => (Number.isFinite(Number(b)) ? Number(b) : last > 0 ? last * 2 : last + 1))];
}

/** y scale where every bucket gets the same height; values inside a bucket interpolate linearly. */
export function bucketScale(bounds, height) {
  const edges = bucketEdges(bounds);
  const step = height / (edges.length - 1);
  return scaleLinear().domain(edges).range(edges.map((_, i) => height - i * step)).clamp(true);
}

/** Colour scale for counts, light to dark (YlGnBu, colour-blind safe); sqrt and a floor keep small counts visible. */
export const countColor = (max) =>
  scaleSequentialSqrt((t) => interpolateYlGnBu(0.08 + 0.92 * t)).domain([0, Math.max(1, max)]);

/** Largest count over all bins. */
export const maxCount = (points) =>
  points.reduce((m, [, counts]) => (counts ? Math.max(m, ...counts.map((c) => c ?? 0)) : m), 0);

/** Label of a bucket's upper bound: "≤ 100", "+Inf". */
export const boundLabel = (b) => (Number.isFinite(Number(b)) ? `≤ ${b}` : '+Inf');
