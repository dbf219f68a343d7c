import { describe, expect, it } from 'vitest';
import { effectiveAgg } from '../model.js';
import { buildMetricQueryString, buildQueryString, partitionQueries } from './query.js';
import { formatSelector, parseSelector } from './selector.js';

describe('selectors', () => {
  it('formats filters in the API syntax, repeated keys meaning OR', () => {
    expect(formatSelector({ name: 'cpu', filters: { host: ['a', 'b'] } })).toBe('cpu{host="a",host="b"}');
    expect(formatSelector({ name: 'cpu', filters: {} })).toBe('cpu');
    expect(formatSelector({ name: 'cpu', filters: { host: [] } })).toBe('cpu');
  });

  it('round-trips quotes, backslashes, commas and braces in values', () => {
    const sel = { name: 'disk', filters: { path: ['C:\\x', 'say "hi", {ok}'], dc: ['eu'] } };
    expect(parseSelector(formatSelector(sel))).toEqual(sel);
  });

  it('parses a bare name and tolerates spaces', () => {
    expect(parseSelector('mem')).toEqual({ name: 'mem', filters: {} });
    expect(parseSelector(' cpu{ host = "a" , host="b"} ')).toEqual({ name: 'cpu', filters: { host: ['a', 'b'] } });
  });
});

describe('buildQueryString', () => {
  const base = { metrics: [{ name: 'cpu', filters: { host: ['a'] } }, { name: 'latency' }], start: 1000, end: 2000 };

  it('builds chart mode with width, agg and repeated group_by', () => {
    const qs = buildQueryString({ ...base, width: 812.4, agg: 'avg', groupBy: ['host', 'dc'], tz: 'UTC' });
    const p = new URLSearchParams(qs);
    expect(p.getAll('metric')).toEqual(['cpu{host="a"}', 'latency']);
    expect(p.get('width')).toBe('812');
    expect(p.get('granularity')).toBeNull();
    expect(p.getAll('group_by')).toEqual(['host', 'dc']);
    expect(p.get('tz')).toBe('UTC');
    expect(qs).toContain('metric=cpu%7Bhost%3D%22a%22%7D');
  });

  it('prefers granularity over width (table mode) and appends format', () => {
    const p = new URLSearchParams(buildQueryString({ ...base, width: 500, granularity: 'hour', format: 'csv' }));
    expect(p.get('granularity')).toBe('hour');
    expect(p.get('width')).toBeNull();
    expect(p.get('format')).toBe('csv');
    expect(p.get('agg')).toBeNull();
  });

  it('builds per-metric queries with label filters and quantiles', () => {
    const p = new URLSearchParams(
      buildMetricQueryString({ filters: { host: ['a', 'b'] }, start: 1, end: 2, width: 300, quantiles: [0.5, 0.99] }),
    );
    expect(p.getAll('host')).toEqual(['a', 'b']);
    expect(p.getAll('q')).toEqual(['0.5', '0.99']);
    expect(p.get('width')).toBe('300');
  });
});

describe('partitionQueries', () => {
  const types = { cpu: 'gauge', mem: 'gauge', reqs: 'counter' };
  const typeOf = (n) => types[n];

  it('uses rate for counters and avg for gauges by default', () => {
    expect(effectiveAgg('counter', 'auto')).toBe('rate');
    expect(effectiveAgg('gauge', 'auto')).toBe('avg');
    expect(effectiveAgg('counter', 'max')).toBe('max');
    expect(effectiveAgg('gauge', 'rate')).toBe('avg');
    expect(effectiveAgg('counter', 'rate')).toBe('rate');
  });

  it('puts metrics sharing aggregation and group-by into one request', () => {
    const picks = [
      { name: 'cpu', filters: {}, groupBy: ['host'] },
      { name: 'mem', filters: { host: ['a'] }, groupBy: ['host'] },
      { name: 'reqs', filters: {}, groupBy: [] },
    ];
    const parts = partitionQueries(picks, typeOf, 'auto');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toEqual({
      agg: null, groupBy: ['host'], across: null, metrics: [{ name: 'cpu', filters: {} }, { name: 'mem', filters: { host: ['a'] } }],
    });
    expect(parts[1].agg).toBeNull();
    expect(partitionQueries(picks, typeOf, 'max')).toHaveLength(2);
    // "auto" leaves each metric's default to the server: a gauge and a counter share one request
    const flat = picks.map((p) => ({ ...p, groupBy: [] }));
    expect(partitionQueries(flat, typeOf, 'auto')).toHaveLength(1);
    expect(partitionQueries(flat, typeOf, 'rate').map((p) => p.agg)).toEqual(['avg', 'rate']);
    expect(partitionQueries(picks.map((p) => ({ ...p, groupBy: [] })), typeOf, 'max')).toHaveLength(1);
  });
  it('folds series across on the server, one request per way of folding', () => {
    const picks = [{ name: 'cpu', filters: {}, across: 'sum' }, { name: 'mem', filters: {} }];
    const parts = partitionQueries(picks, typeOf, 'auto');
    expect(parts.map((p) => p.across)).toEqual(['sum', null]);
    expect(new URLSearchParams(buildQueryString({ ...parts[0], start: 1, end: 2, width: 10 })).get('across')).toBe('sum');
  });
});
