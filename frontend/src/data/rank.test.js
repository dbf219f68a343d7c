import { describe, expect, it } from 'vitest';
import { matchRank, rankMetrics } from './rank.js';

describe('metric search ranking', () => {
  it('puts the exact name first, then prefixes, then substrings', () => {
    const names = ['acc_cpu_time', 'cpu_usage', 'cpu', 'disk', 'CPU_idle'].map((name) => ({ name }));
    expect(rankMetrics(names, 'cpu', { namesOnly: true }).map((m) => m.name)).toEqual(['cpu', 'CPU_idle', 'cpu_usage', 'acc_cpu_time']);
    expect(rankMetrics(names, '').map((m) => m.name)).toEqual(['acc_cpu_time', 'cpu', 'CPU_idle', 'cpu_usage', 'disk']);
    expect(matchRank('disk', 'cpu')).toBe(3);
    expect(rankMetrics(names, 'cpu').map((m) => m.name).at(-1)).toBe('disk');
  });
});
