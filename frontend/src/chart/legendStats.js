// A series' summary for the legend and the stat panel: its own values (a stacked series' bars are drawn from
// its `top`, but its figures are its own; chart/stack.js).

/**
 * Mean and last over the bins' values; min and max over the bins' own min and max when the server sent them
 * (chart mode), since the max of bin averages understates a spike inside a bin.
 */
export function legendStats(s) {
  let sum = 0;
  let n = 0;
  let last = null;
  for (const v of s.values) {
    if (v == null) continue;
    sum += v;
    n += 1;
    last = v;
  }
  const extreme = (col, better) => {
    let out = null;
    for (const v of col) if (v != null && (out == null || better(v, out))) out = v;
    return out;
  };
  return {
    mean: n ? sum / n : null,
    min: extreme(s.min || s.values, (a, b) => a < b),
    max: extreme(s.max || s.values, (a, b) => a > b),
    last,
  };
}

/** The legend's value columns, in order: [key, heading]. */
export const STAT_COLUMNS = [['mean', 'Mean'], ['min', 'Min'], ['max', 'Max'], ['last', 'Last']];
