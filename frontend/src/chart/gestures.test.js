import { describe, expect, it } from 'vitest';
import { scaleLinear } from 'd3-scale';
import { pinchDomain } from './gestures.js';

describe('pinch', () => {
  const x = scaleLinear().domain([0, 1000]).range([0, 100]);

  it('keeps the times under the fingers: spreading them from 40–60 px to 20–80 px shows a third of 200 s', () => {
    expect(pinchDomain(x, [60, 40], [20, 80], 100)).toEqual([400 - 20 * (200 / 60), 400 + 80 * (200 / 60)]);
  });

  it('pans when both fingers move the same way', () => {
    expect(pinchDomain(x, [40, 60], [50, 70], 100)).toEqual([-100, 900]);
  });

  it('ignores fingers too close together to tell', () => {
    expect(pinchDomain(x, [50, 52], [20, 80], 100)).toBeNull();
  });
});
