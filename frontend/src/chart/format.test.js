import { describe, expect, it } from 'vitest';
import { formatNumber, formatTick, formatValue } from './format.js';

describe('time ticks', () => {
  it('labels ticks on a 24-hour clock by the coarsest changing unit', () => {
    expect(formatTick(new Date(2024, 0, 5, 16, 30))).toBe('16:30');
    expect(formatTick(new Date(2024, 0, 5, 16, 30, 15))).toBe(':15');
    expect(formatTick(new Date(2024, 0, 5))).toBe('Fri 05');
    expect(formatTick(new Date(2024, 0, 7), 86_400_000)).toBe('Sun 07');
    expect(formatTick(new Date(2024, 0, 7), 7 * 86_400_000)).toBe('Jan 07');
    expect(formatTick(new Date(2024, 2, 1))).toBe('March');
    expect(formatTick(new Date(2024, 0, 1))).toBe('2024');
  });
});

describe('format', () => {
  it('formats numbers compactly with units', () => {
    expect(formatNumber(12.5)).toBe('12.5');
    expect(formatNumber(1234567)).toBe('1.23M');
    expect(formatNumber(0)).toBe('0');
    expect(formatValue(null, '%')).toBe('–');
    expect(formatValue(3, 'ms')).toBe('3 ms');
  });
});
