// Splits aligned time/value columns into runs of present values, so lines never bridge missing data.
//
// A null bin is missing data only when the series was expected to report there. When the server's bins are
// finer than a series' sampling interval (a per-minute series on 10 s bins), the bins between two samples
// are null by construction; a null run is a gap when it is longer than the series' usual interval.
import { quantileSorted } from 'd3-array';

const isMissing = (v) => v === null || v === undefined || Number.isNaN(v);

/** The series' usual distance between present values (the median), or null with fewer than three values. */
export function sampleInterval(times, values) {
  const diffs = [];
  let prev = null;
  for (let i = 0; i < times.length; i++) {
    if (isMissing(values[i])) continue;
    if (prev !== null) diffs.push(times[i] - prev);
    prev = times[i];
  }
  return diffs.length < 2 ? null : quantileSorted(diffs.sort((a, b) => a - b), 0.5);
}

/** The longest distance between two present values that a line may still join (1.5 × the usual interval). */
export const maxJoin = (times, values) => {
  const interval = sampleInterval(times, values);
  return interval === null ? 0 : interval * 1.5;
};

/**
 * Returns the runs of present values as arrays of [time, ...columns]; a run ends at a null (or NaN) in any
 * column unless the next present value lies within `join` ms of the previous one.
 */
function split(times, columns, join) {
  // Plain loops, no closures or spreads per point: this ran for a third of a second when a 30-day chart of six
  // series was first drawn (issue 26's time to chart), most of it allocating.
  const runs = [];
  const n = columns.length;
  let run = null;
  let last = -1;
  points: for (let i = 0; i < times.length; i++) {
    for (let c = 0; c < n; c++) if (isMissing(columns[c][i])) continue points;
    if (!run || (i > last + 1 && times[i] - times[last] > join)) runs.push((run = []));
    const point = new Array(n + 1);
    point[0] = times[i];
    for (let c = 0; c < n; c++) point[c + 1] = columns[c][i];
    run.push(point);
    last = i;
  }
  return runs;
}

/** Runs of [time, value]; with join = 0 (the default) every null bin breaks the line. */
export const splitGaps = (times, values, join = 0) => split(times, [values], join);

/** Runs of [time, low, high] for a band, broken like the line. */
export const splitBandGaps = (times, lows, highs, join = 0) => split(times, [lows, highs], join);
