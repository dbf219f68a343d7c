import { describe, expect, it } from 'vitest';
import { anomalyMarks, anomalyQueryString } from './marks.js';

describe('anomaly marks', () => {
  it('merges consecutive bins that reach the level and leaves out gaps and low scores', () => {
    const body = { step: 10, series: [
      { metric: 'cpu', points: [[0, 0], [10, 0.2], [20, 0.6], [30, null], [40, 0.004], [50, 0.01]] },
      { metric: 'mem', points: [[0, 0.3], [10, 0]] }] };
    expect(anomalyMarks(body)).toEqual([
      { start: 10, end: 30, score: 0.6, metric: 'cpu' },
      { start: 50, end: 60, score: 0.01, metric: 'cpu' },
      { start: 0, end: 10, score: 0.3, metric: 'mem' }]);
  });

  it('asks for the gauges only, with the anomaly aggregate', () => {
    const typeOf = (name) => ({ cpu: 'gauge', requests: 'counter' })[name];
    const qs = anomalyQueryString([{ name: 'cpu', filters: { host: ['a'] } }, { name: 'requests' }], typeOf, [1, 2], 600);
    expect(new URLSearchParams(qs).getAll('metric')).toEqual(['cpu{host="a"}']);
    expect(new URLSearchParams(qs).get('agg')).toBe('anomaly');
    expect(anomalyQueryString([{ name: 'requests' }], typeOf, [1, 2], 600)).toBeNull();
  });
});
