import { describe, expect, it } from 'vitest';
import { formatDuration, fromLocalInput, parseTime, presetFor, resolveRange, toLocalInput } from './range.js';

const NOW = 1_700_000_000_000;

describe('time ranges', () => {
  it('parses relative, epoch and ISO bounds', () => {
    expect(parseTime('now', NOW)).toBe(NOW);
    expect(parseTime('-15m', NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTime('-7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('1690000000000', NOW)).toBe(1690000000000);
    expect(parseTime('2024-01-01T00:00:00Z', NOW)).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime('garbage', NOW)).toBeNaN();
  });

  it('resolves and orders a range', () => {
    expect(resolveRange({ from: '-1h', to: 'now' }, NOW)).toEqual([NOW - 3_600_000, NOW]);
    expect(resolveRange({ from: 'now', to: '-1h' }, NOW)).toEqual([NOW - 3_600_000, NOW]);
    expect(presetFor({ from: '-6h', to: 'now' }).label).toBe('6h');
    expect(presetFor({ from: '-5h', to: 'now' })).toBeUndefined();
  });

  it('formats durations and local inputs', () => {
    expect(formatDuration(90 * 60_000)).toBe('1h 30m');
    expect(formatDuration(86_400_000 * 2 + 5000)).toBe('2d 5s');
    const t = new Date(2024, 2, 5, 7, 9).getTime();
    expect(toLocalInput(t)).toBe('2024-03-05T07:09');
    expect(fromLocalInput('2024-03-05T07:09')).toBe(t);
  });
});
