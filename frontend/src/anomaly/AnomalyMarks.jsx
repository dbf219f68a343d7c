// Anomaly marks drawn on the time-series chart, under the hover layer, when the chart's "anomalies" toggle is on.
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { useFetch } from '../data/useFetch.js';
import { anomalyMarks, anomalyQueryString } from './marks.js';

/** Marks of the picked gauges over `view` ([start, end] ms) in `width` bins; none when `enabled` is false. */
export function useAnomalyMarks(picks, typeOf, view, width, enabled, reloadKey = 0) {
  const qs = enabled ? anomalyQueryString(picks, typeOf, view, width) : null;
  const answer = useFetch(qs ? urls.query(qs) : null, reloadKey);
  return useMemo(() => (qs && answer.data ? anomalyMarks(answer.data) : []), [qs, answer.data]);
}

export function AnomalyMarks({ ctx, marks }) {
  return (
    <g className="anomaly-marks" aria-label="Anomalies">
      {marks.map((m) => {
        const x0 = Math.max(0, ctx.x(m.start));
        const x1 = Math.min(ctx.innerWidth, ctx.x(m.end));
        return x1 >= x0 ? (
          <rect key={`${m.metric}-${m.start}`} className="anomaly-mark" x={x0} width={Math.max(2, x1 - x0)} y={0}
            height={ctx.innerHeight} data-score={m.score}>
            <title>{`${m.metric}: anomaly score ${m.score.toFixed(3)}`}</title>
          </rect>
        ) : null;
      })}
    </g>
  );
}
