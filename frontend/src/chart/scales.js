// Scales: one time scale shared by all series, one linear y scale per unit.
import { bisectLeft } from 'd3-array';
import { scaleLinear, scaleLog, scaleTime, scaleUtc } from 'd3-scale';
import { isUtc } from './format.js';

/** The time scale mapping [start, end] onto [0, width]. */
export const timeScale = (domain, width) =>
  (isUtc() ? scaleUtc : scaleTime)().domain(domain.map((t) => new Date(t))).range([0, width]);

/** [min, max] over the drawn values (and band bounds) of the given series inside the visible domain. */
export function valueExtent(series, [t0, t1] = [-Infinity, Infinity]) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const col of s.top ? [s.top] : [s.values, s.min, s.max]) {
      if (!col) continue;
      for (let i = 0; i < col.length; i++) {
        const v = col[i];
        const t = s.times[i];
        if (v == null || t < t0 || t > t1) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** A padded, nice y domain for an extent; includes zero when asked (bars) or when values sit close to it. */
export function niceDomain(extent, { zero = false } = {}) {
  if (!extent) return [0, 1];
  let [lo, hi] = extent;
  if (zero || (lo > 0 && lo < hi * 0.25)) lo = Math.min(0, lo);
  if (zero && hi < 0) hi = 0;
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.05;
    if (lo !== 0) lo -= pad;
    hi += pad;
  }
  return scaleLinear().domain([lo, hi]).nice(5).domain();
}

/**
 * The primary axis' scale with a panel's y options ({log, min, max}): a fixed bound replaces the data's, and a
 * log scale starts at the smallest positive value (log of zero or less has no place on it).
 */
function optionScale(extent, y, zero) {
  if (y.log) {
    const lo = y.min ?? Math.max(extent && extent[0] > 0 ? extent[0] : 1e-3, 1e-9);
    const hi = y.max ?? Math.max(lo * 10, extent ? extent[1] : lo * 10);
    return scaleLog().domain([lo, hi]).nice().clamp(true);
  }
  const [lo, hi] = niceDomain(extent, { zero });
  const d = [y.min ?? lo, y.max ?? hi];
  return scaleLinear().domain(d[0] < d[1] ? d : [d[0], d[0] + 1]).clamp(y.min != null || y.max != null);
}

/**
 * Map(unit → scale onto [height, 0]) for every axis, from the visible series of that unit; the panel's y options
 * (log, min, max) apply to the first axis.
 */
export function unitScales(axes, series, height, domain, zeroUnits = new Set(), y = null) {
  const out = new Map();
  axes.forEach((axis, i) => {
    const mine = series.filter((s) => (s.unit ?? '') === axis.unit);
    const extent = valueExtent(mine, domain);
    const zero = zeroUnits.has(axis.unit);
    const scale = i === 0 && y ? optionScale(extent, y, zero) : scaleLinear().domain(niceDomain(extent, { zero }));
    out.set(axis.unit, scale.range([height, 0]));
  });
  return out;
}

/** Index of the bin nearest to time t in a sorted array of times (-1 if empty). */
export function nearestIndex(times, t) {
  if (!times.length) return -1;
  const i = Math.min(times.length - 1, bisectLeft(times, t));
  return i > 0 && Math.abs(times[i - 1] - t) <= Math.abs(times[i] - t) ? i - 1 : i;
}

/** Index of the present (non-null) value nearest to t within `tolerance` ms, or -1. */
export function presentNear(times, values, t, tolerance) {
  const i = nearestIndex(times, t);
  if (i < 0) return -1;
  let best = -1;
  for (let step = 0; ; step++) {
    const lo = i - step;
    const hi = i + step;
    const inLo = lo >= 0 && t - times[lo] <= tolerance;
    const inHi = hi < times.length && times[hi] - t <= tolerance;
    if (!inLo && !inHi && step > 0) return best;
    for (const j of [lo, hi]) {
      if (j < 0 || j >= times.length || values[j] == null || Math.abs(times[j] - t) > tolerance) continue;
      if (best < 0 || Math.abs(times[j] - t) < Math.abs(times[best] - t)) best = j;
    }
    if (best >= 0) return best;
  }
}
