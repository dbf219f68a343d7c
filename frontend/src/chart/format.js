// Number and time formatting for axes, tooltips and the table.
import { format } from 'd3-format';
import { timeDay, timeMinute, timeMonth, timeYear } from 'd3-time';
import { timeFormat } from 'd3-time-format';

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

const fmtFull = timeFormat('%Y-%m-%d %H:%M:%S');
const fmtMinute = timeFormat('%Y-%m-%d %H:%M');

/** A timestamp in local time, to the second when it has seconds. */
export const formatTime = (ms) => {
  const d = new Date(ms);
  return d.getSeconds() || d.getMilliseconds() ? fmtFull(d) : fmtMinute(d);
};

const tickFormats = {
  second: timeFormat(':%S'), minute: timeFormat('%H:%M'), day: timeFormat('%a %d'),
  week: timeFormat('%b %d'), month: timeFormat('%B'), year: timeFormat('%Y'),
};

/**
 * Axis tick label on a 24-hour clock, naming the coarsest unit that changes at the tick;
 * days read "Tue 17" between daily ticks and "Nov 17" between weekly ones (`spacing` in ms).
 */
export function formatTick(date, spacing = 0) {
  const f = tickFormats;
  if (timeMinute(date) < date) return f.second(date);
  if (timeDay(date) < date) return f.minute(date);
  if (timeMonth(date) < date) return (spacing >= 6 * 86_400_000 ? f.week : f.day)(date);
  return (timeYear(date) < date ? f.month : f.year)(date);
}
