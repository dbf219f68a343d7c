// Anomaly marks drawn on the time-series chart, under the hover layer, when the chart's "anomalies" toggle is on.
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { TimeBands } from '../chart/TimeBands.jsx';
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
    <TimeBands ctx={ctx} items={marks} label="Anomalies" className="anomaly-marks" minWidth={2}
      keyOf={(m) => `${m.metric}-${m.start}`} classOf={() => 'anomaly-mark'} attrsOf={(m) => ({ 'data-score': m.score })}
      titleOf={(m) => `${m.metric}: anomaly score ${m.score.toFixed(3)}`} />
  );
}
