// Number and time formatting for axes, tooltips and the table.
import { format } from 'd3-format';
import { timeDay, timeMinute, timeMonth, timeYear, utcDay, utcMinute, utcMonth, utcYear } from 'd3-time';
import { timeFormat, utcFormat } from 'd3-time-format';

const si = format('.3~s');
const fixed = format(',.4~r');

/** A compact number: 1234567 → "1.23M", 0.00012 → "120µ", 12.5 → "12.5". */
export function formatNumber(v) {
  if (v == null || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e4 || a < 1e-2) return si(v).replace('G', 'B');
  return fixed(v);
}

/** A value with its unit: "12.5 %", "3.2k req/s". */
export const formatValue = (v, unit) => (v == null ? '–' : unit ? `${formatNumber(v)} ${unit}` : formatNumber(v));

const pad = (n) => String(n).padStart(2, '0');

// Times show in the browser's zone or in UTC: one page-wide display setting (like the theme), set by the App from
// the URL before it renders, read by every formatter and the time scales.
let utc = false;
export const setUtc = (on) => {
  utc = !!on;
};
export const isUtc = () => utc;

const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The IANA zone of a view's `tz` choice ('utc' or 'local'), which the server bins calendar days in. */
export const zoneOf = (tz) => (tz === 'utc' ? 'UTC' : LOCAL_ZONE);

/**
 * Epoch ms → "YYYY-MM-DD HH:MM" (":SS" when it has seconds) in local time or UTC: the one format of the time
 * inputs, the panel headers, the table and the tooltips.
 */
export function formatTime(ms, inUtc = utc) {
  const d = new Date(ms);
  const [y, mo, day, h, mi, s] = inUtc
    ? [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  const base = `${y}-${pad(mo + 1)}-${pad(day)} ${pad(h)}:${pad(mi)}`;
  return s ? `${base}:${pad(s)}` : base;
}

const formats = (f) => ({
  second: f(':%S'), minute: f('%H:%M'), day: f('%a %d'), week: f('%b %d'), month: f('%B'), year: f('%Y'),
});
const LOCAL = { ...formats(timeFormat), minuteOf: timeMinute, dayOf: timeDay, monthOf: timeMonth, yearOf: timeYear };
const UTC = { ...formats(utcFormat), minuteOf: utcMinute, dayOf: utcDay, monthOf: utcMonth, yearOf: utcYear };

/** How coarse a tick is: 0 second, 1 minute, 2 day, 3 month, 4 year (the unit that changes at it). */
export function tickLevel(date) {
  const z = utc ? UTC : LOCAL;
  if (z.minuteOf(date) < date) return 0;
  if (z.dayOf(date) < date) return 1;
  if (z.monthOf(date) < date) return 2;
  return z.yearOf(date) < date ? 3 : 4;
}

/**
 * Axis tick label on a 24-hour clock, naming the coarsest unit that changes at the tick;
 * days read "Tue 17" between daily ticks and "Nov 17" between weekly ones (`spacing` in ms).
 */
export function formatTick(date, spacing = 0) {
  const f = utc ? UTC : LOCAL;
  if (f.minuteOf(date) < date) return f.second(date);
  if (f.dayOf(date) < date) return f.minute(date);
  if (f.monthOf(date) < date) return (spacing >= 6 * 86_400_000 ? f.week : f.day)(date);
  return (f.yearOf(date) < date ? f.month : f.year)(date);
}
