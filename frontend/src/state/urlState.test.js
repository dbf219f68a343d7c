import { describe, expect, it } from 'vitest';
import { DEFAULTS, decodeState, encodeState } from './urlState.js';

describe('URL state', () => {
  it('decodes an empty query string to the defaults', () => {
    expect(decodeState('')).toEqual({ ...DEFAULTS });
    expect(encodeState({ ...DEFAULTS })).toBe('');
  });

  it('round-trips metrics, filters, group-by, chart types, range, zoom, granularity, agg, tab and refresh', () => {
    const state = {
      picks: [
        { name: 'cpu', filters: { host: ['a', 'b'], region: ['eu'] }, groupBy: ['host'], chart: 'bars', across: 'sum' },
        { name: 'http.latency', filters: {}, groupBy: [] },
        { name: 'job:state', filters: { 'svc': ['x:y'] }, groupBy: ['svc', 'dc'] },
      ],
      from: '1700000000000',
      to: '1700086400000',
      zoom: [1700001000000, 1700002000000],
      gran: 'hour',
      agg: 'p99',
      tab: 'table',
      refresh: '30s',
      page: 'explore',
      dash: 'a1b2c3',
      vars: { host: ['web-1', 'web-2'] },
      tz: 'utc',
    };
    const qs = encodeState(state);
    expect(decodeState(qs)).toEqual(state);
    expect(decodeState(`?${qs}`)).toEqual(state);
  });

  it('ignores unknown values and duplicate metrics', () => {
    const s = decodeState('m=cpu&m=cpu&gran=week&agg=median&tab=pie&zs=5&ze=1');
    expect(s.picks).toHaveLength(1);
    expect(s.gran).toBe('auto');
    expect(s.agg).toBe('auto');
    expect(s.tab).toBe('graph');
    expect(s.zoom).toBeNull();
  });

  it('reads the older live=1 as a 10 s refresh', () => {
    expect(decodeState('m=cpu&live=1').refresh).toBe('10s');
    expect(decodeState('m=cpu&refresh=7s').refresh).toBe('off');
  });

  it('keeps relative ranges as text', () => {
    expect(decodeState(encodeState({ ...DEFAULTS, from: '-7d' })).from).toBe('-7d');
  });
});
