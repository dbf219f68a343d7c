import { describe, expect, it } from 'vitest';
import { boundLabel, bucketEdges, bucketScale, maxCount } from './heatmapScale.js';

describe('heatmap geometry', () => {
  it('gives every bucket the same height and interpolates inside one', () => {
    expect(bucketEdges([10, 100, '+inf'])).toEqual([0, 10, 100, 200]);
    const y = bucketScale([10, 100, '+inf'], 300);
    expect(y(0)).toBe(300);
    expect(y(10)).toBe(200);
    expect(y(55)).toBe(150);
    expect(y(1e9)).toBe(0);
  });

  it('finds the largest count, skipping empty bins', () => {
    expect(maxCount([[0, [1, 5, 2]], [1, null], [2, [0, 0, 9]]])).toBe(9);
    expect(boundLabel('+inf')).toBe('+Inf');
    expect(boundLabel(10)).toBe('≤ 10');
  });
});
