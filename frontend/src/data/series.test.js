import { describe, expect, it } from 'vitest';
import {
  displayUnit, distinctNames, isAllEmpty, seriesKey, seriesLabel, summedOver, toRows, toSeries,
} from './series.js';

const response = {
  start: 0, end: 120000, step: 60000, bins: '1m', agg: 'avg',
  series: [
    { metric: 'cpu', labels: { region: 'eu', host: 'a' }, unit: '%', type: 'gauge', agg: 'avg',
      points: [[0, 1], [60000, null], [120000, 3]], min: [[0, 0.5], [60000, null], [120000, 2]], max: [1.5, null, 4] },
    { metric: 'latency', labels: {}, unit: 'ms', type: 'gauge', points: [[0, 10]] },
  ],
};

describe('series', () => {
  it('keys and labels series by metric and sorted labels', () => {
    expect(seriesKey('cpu', { region: 'eu', host: 'a' })).toBe('cpu{host=a,region=eu}');
    expect(seriesLabel('cpu', { host: 'a' })).toBe('cpu · host=a');
    expect(seriesLabel('cpu')).toBe('cpu');
  });

  it('turns responses into coloured columns, accepting bare or [t, v] band values', () => {
    const [a, b] = toSeries([response], (m) => (m === 'cpu' ? 'bars' : 'line'));
    expect(a.times).toEqual([0, 60000, 120000]);
    expect(a.values).toEqual([1, null, 3]);
    expect(a.min).toEqual([0.5, null, 2]);
    expect(a.max).toEqual([1.5, null, 4]);
    expect(a.style).toBe('bars');
    expect(b.agg).toBe('avg');
    expect(b.min).toBeNull();
    expect(a.color).not.toBe(b.color);
  });

  it('shows rates per second', () => {
    expect(displayUnit('req', 'rate')).toBe('req/s');
    expect(displayUnit('', 'rate')).toBe('/s');
    expect(displayUnit('ms', 'avg')).toBe('ms');
    expect(displayUnit(undefined, 'max')).toBe('');
  });

  it('detects emptiness and flattens to rows', () => {
    const s = toSeries([response]);
    expect(isAllEmpty(s)).toBe(false);
    expect(isAllEmpty([{ values: [null, null] }])).toBe(true);
    expect(toRows(s)).toHaveLength(4);
    expect(toRows(s)[1]).toMatchObject({ t: 60000, metric: 'cpu', value: null, unit: '%' });
  });
});

describe('distinctNames', () => {
  const s = (metric, labels) => ({ metric, labels });

  it('names each series by the labels that differ and puts the rest in the shared part', () => {
    const { shared, names } = distinctNames([s('http', { code: '3xx', svc: 'api' }), s('http', { code: '5xx', svc: 'api' })]);
    expect(shared).toBe('http · svc=api');
    expect(names).toEqual(['code=3xx', 'code=5xx']);
  });

  it('names the metric only when several are shown, and a label missing from one series as differing', () => {
    const { shared, names, parts } = distinctNames([s('cpu', { host: 'a' }), s('mem', { host: 'a', dc: 'x' })]);
    expect(shared).toBe('host=a');
    expect(names).toEqual(['cpu', 'mem · dc=x']);
    expect(parts).toEqual([['cpu', ''], ['mem', 'dc=x']]);
  });

  it('keeps the whole label of a lone series', () => {
    expect(distinctNames([s('cpu', { host: 'a' })])).toEqual({ shared: '', names: ['cpu · host=a'], parts: [['', '']] });
  });

  it('gives every series from toSeries its name', () => {
    expect(toSeries([response]).map((x) => x.name)).toEqual(['cpu · host=a, region=eu', 'latency']);
  });
});

describe('summedOver', () => {
  const sets = [{ service: 'web', dc: 'eu' }, { service: 'api', dc: 'eu' }, { service: 'db', dc: 'us' }];
  it('names the series a total adds and the labels that tell them apart', () => {
    expect(summedOver(sets)).toBe('Time added over 3 series (dc: eu, us; service: api, db, web)');
    expect(summedOver(sets, { dc: ['eu'] })).toBe('Time added over 2 series (service: api, web)');
  });
  it('says nothing for one series', () => {
    expect(summedOver(sets, { service: ['api'] })).toBeNull();
    expect(summedOver([])).toBeNull();
  });
});
