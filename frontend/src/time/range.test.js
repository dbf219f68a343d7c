import { describe, expect, it } from 'vitest';
import { formatTime } from '../chart/format.js';
import {
  coverRange, formatDuration, parseInputTime, parseTime, presetFor, resolveRange, resolveView, shiftRange,
  widenRange,
} from './range.js';

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
    expect(resolveRange({ from: '-1h', to: 'now' }, NOW).range).toEqual([NOW - 3_600_000, NOW]);
    expect(resolveRange({ from: 'now', to: '-1h' }, NOW).range).toEqual([NOW - 3_600_000, NOW]);
    const bad = resolveRange({ from: 'yesterday', to: 'now' }, NOW);
    expect(bad.range).toEqual([NOW - 6 * 3_600_000, NOW]);
    expect(bad.errors).toHaveLength(1);
    expect(bad.errors[0]).toMatch(/^from: 'yesterday' is not a time/);
    expect(presetFor({ from: '-6h', to: 'now' }).label).toBe('6h');
    expect(presetFor({ from: '-5h', to: 'now' })).toBeUndefined();
  });

  it('formats durations and local inputs', () => {
    expect(formatDuration(90 * 60_000)).toBe('1h 30m');
    expect(formatDuration(86_400_000 * 2 + 5000)).toBe('2d 5s');
    const t = new Date(2024, 2, 5, 7, 9).getTime();
    expect(formatTime(t)).toBe('2024-03-05 07:09');
    expect(formatTime(t + 5000)).toBe('2024-03-05 07:09:05');
    expect(parseInputTime('2024-03-05 07:09')).toBe(t);
    expect(parseInputTime('2024-03-05T07:09:05')).toBe(t + 5000);
    expect(parseInputTime('2024-03-05 07:09', true)).toBe(Date.UTC(2024, 2, 5, 7, 9));
    expect(formatTime(Date.UTC(2024, 2, 5, 7, 9), true)).toBe('2024-03-05 07:09');
    expect(parseInputTime('yesterday')).toBeNaN();
  });

  it('pans, widens and covers ranges', () => {
    expect(shiftRange([100, 200], -0.5)).toEqual([50, 150]);
    expect(widenRange([100, 200], 2)).toEqual([50, 250]);
    expect(coverRange([100, 200], [50, 150])).toEqual([50, 200]);
  });

  it('resolves a view: the range, a zoom inside it, and a linked zoom the relative range has moved past', () => {
    const hour = 3_600_000;
    expect(resolveView({ from: '-1h', to: 'now', zoom: null }, NOW))
      .toEqual({ range: [NOW - hour, NOW], zoom: null, view: [NOW - hour, NOW], errors: [] });
    const inside = [NOW - hour / 2, NOW - hour / 4];
    expect(resolveView({ from: '-1h', to: 'now', zoom: inside }, NOW).view).toEqual(inside);
    const before = [NOW - 3 * hour, NOW - 2 * hour];
    expect(resolveView({ from: '-1h', to: 'now', zoom: before }, NOW))
      .toEqual({ range: [NOW - 3 * hour, NOW], zoom: before, view: before, errors: [] });
    expect(resolveView({ from: '-1h', to: 'now', zoom: [NOW - 2 * hour, NOW + hour] }, NOW).zoom).toBeNull();
  });
});
