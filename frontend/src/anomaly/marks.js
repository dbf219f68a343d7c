// Anomaly marks: which bins of the charted gauges scored as anomalous (GET /api/query?agg=anomaly, the highest
// score of a bin's points, metrics_server/query/anomaly.py), merged into intervals to shade on the chart.
import { buildQueryString } from '../api/query.js';

/** The score from which a bin is marked: its point left the range of the points before it by 0.5% of that range
 * (the threshold that scored best on the Numenta Anomaly Benchmark, bench/ANOMALY.md). */
export const MARK_LEVEL = 0.005;

/** The query string of the anomaly scores of the picked gauges over [start, end] in `width` bins; null if none. */
export function anomalyQueryString(picks, typeOf, [start, end], width) {
  const metrics = picks.filter((p) => typeOf(p.name) === 'gauge').map((p) => ({ name: p.name, filters: p.filters || {} }));
  return metrics.length && width ? buildQueryString({ metrics, start, end, width, agg: 'anomaly' }) : null;
}

/** Intervals [{start, end, score, metric}] of consecutive bins of one series scoring at least `level`. */
export function anomalyMarks(body, level = MARK_LEVEL) {
  const marks = [];
  for (const series of body?.series || []) {
    let open = null;
    for (const [t, score] of series.points) {
      if (score != null && score >= level) {
        if (open && open.end === t) {
          open.end = t + body.step;
          open.score = Math.max(open.score, score);
        } else {
          open = { start: t, end: t + body.step, score, metric: series.metric };
          marks.push(open);
        }
      }
    }
  }
  return marks;
}
