import { describe, expect, it } from 'vitest';
import { bandsOf, rulesReading } from './bands.js';

const t = (at, from, to, fingerprint = 'a') => ({ at: new Date(at).toISOString(), from, to, fingerprint, labels: {}, rule: 'g/R' });

describe('alert bands', () => {
  it('turns transitions into pending and firing intervals, the open one ending at the end', () => {
    const bands = bandsOf([t(3000, 'pending', 'firing'), t(1000, 'inactive', 'pending'), t(9000, 'firing', 'inactive'),
      t(10_000, 'inactive', 'firing', 'b')], 12_000);
    expect(bands.map((b) => [b.state, b.start, b.end])).toEqual([
      ['pending', 1000, 3000], ['firing', 3000, 9000], ['firing', 10_000, 12_000]]);
  });

  it('keeps the rules that read a charted metric', () => {
    const groups = [{ name: 'g', rules: [
      { type: 'alerting', name: 'High', query: 'avg_over_time(cpu{host="a"}[5m]) > 90' },
      { type: 'alerting', name: 'Other', query: 'mem > 1' },
      { type: 'recording', name: 'cpu:sum', query: 'sum(cpu)' }] }];
    expect([...rulesReading(groups, ['cpu'])]).toEqual(['g/High']);
  });
});
