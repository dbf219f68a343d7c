// Time ranges as the URL keeps them (relative like "-6h"/"now", or epoch ms) and their resolution to ms.
import { isUtc } from '../chart/format.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const PRESETS = [
  { label: '15m', title: 'Last 15 minutes', from: '-15m' },
  { label: '1h', title: 'Last hour', from: '-1h' },
  { label: '6h', title: 'Last 6 hours', from: '-6h' },
  { label: '24h', title: 'Last 24 hours', from: '-24h' },
  { label: '7d', title: 'Last 7 days', from: '-7d' },
  { label: '30d', title: 'Last 30 days', from: '-30d' },
];

/** Resolves "now", "-6h", epoch ms (as text or number) or an ISO date to epoch ms; NaN if unreadable. */
export function parseTime(value, now) {
  if (typeof value === 'number') return value;
  const str = String(value ?? '').trim();
  if (str === '' || str === 'now') return now;
  const rel = /^-(\d+(?:\.\d+)?)([smhdw])$/.exec(str);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  if (/^\d{9,}$/.test(str)) return Number(str);
  const t = Date.parse(str);
  return Number.isNaN(t) ? NaN : t;
}

const DEFAULT_BOUND = { from: '-6h', to: 'now' };

/**
 * [start, end] in ms for a {from, to} pair at time `now`, swapping reversed bounds, and the errors of bounds
 * that cannot be read (each replaced by its default, so the page still shows something):
 * {range, errors: ["from: 'yesterday' is not a time ..."]}.
 */
export function resolveRange({ from, to }, now) {
  const errors = [];
  const read = (key, value) => {
    const t = parseTime(value, now);
    if (!Number.isNaN(t)) return t;
    errors.push(`${key}: '${value}' is not a time; use now, -15m, -6h, -7d, epoch ms or YYYY-MM-DD HH:MM`);
    return parseTime(DEFAULT_BOUND[key], now);
  };
  const a = read('from', from);
  const b = read('to', to);
  return { range: a <= b ? [a, b] : [b, a], errors };
}

/**
 * What a view state ({from, to, zoom}) shows at time `now`: {range: the whole period, zoom: the zoomed part or
 * null, view: what the focus chart draws, errors}. A zoom is shown as linked even when the (relative) range has
 * moved past it since the link was made: the range then widens to cover it.
 */
export function resolveView({ from, to, zoom }, now) {
  const resolved = resolveRange({ from, to }, now);
  const range = zoom ? coverRange(resolved.range, zoom) : resolved.range;
  const kept = zoom && (zoom[0] > range[0] || zoom[1] < range[1]) ? zoom : null;
  return { range, zoom: kept, view: kept || range, errors: resolved.errors };
}

/** The preset matching a range, if any. */
export const presetFor = ({ from, to }) => (to === 'now' ? PRESETS.find((p) => p.from === from) : undefined);

/** A short human duration: 90 min → "1h 30m". */
export function formatDuration(ms) {
  if (!(ms > 0)) return '0s';
  const parts = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, s] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    const n = Math.floor(rest / s);
    if (n) parts.push(`${n}${unit}`);
    rest -= n * s;
  }
  return parts.slice(0, 2).join(' ');
}


/** "YYYY-MM-DD HH:MM[:SS]" (a "T" also accepted) in local time or UTC → epoch ms; NaN when unreadable. */
export function parseInputTime(str, utc = isUtc()) {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\s*$/.exec(str || '');
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v || 0));
  return utc ? Date.UTC(y, mo - 1, d, h, mi, s) : new Date(y, mo - 1, d, h, mi, s).getTime();
}

/** The range moved by `fraction` of its length (negative: back in time). */
export const shiftRange = ([a, b], fraction) => {
  const d = Math.round((b - a) * fraction);
  return [a + d, b + d];
};

/** The range widened `factor` times around its middle. */
export const widenRange = ([a, b], factor) => {
  const mid = (a + b) / 2;
  const half = ((b - a) * factor) / 2;
  return [Math.round(mid - half), Math.round(mid + half)];
};

/** The smallest range holding both. */
export const coverRange = ([a, b], [c, d]) => [Math.min(a, c), Math.max(b, d)];
