// Time ranges as the URL keeps them (relative like "-6h"/"now", or epoch ms) and their resolution to ms.

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

/** [start, end] in ms for a {from, to} pair at time `now`; swaps reversed bounds. */
export function resolveRange({ from, to }, now) {
  const a = parseTime(from, now);
  const b = parseTime(to, now);
  return a <= b ? [a, b] : [b, a];
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

const pad = (n) => String(n).padStart(2, '0');

/** Epoch ms → value for <input type="datetime-local"> in local time. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** <input type="datetime-local"> value (local time) → epoch ms, NaN when empty. */
export const fromLocalInput = (str) => (str ? new Date(str).getTime() : NaN);
