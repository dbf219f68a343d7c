import { area, line } from 'd3-shape';
import { describe, expect, it } from 'vitest';
import { bandPath, linePath } from './paths.js';

// Runs of 2 to 60 points with irregular times and values, the shapes the marks draw.
function runs(seed) {
  let s = seed;
  const rnd = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  return Array.from({ length: 40 }, () => {
    let t = 1.7e12 + rnd() * 1e9;
    return Array.from({ length: 2 + Math.floor(rnd() * 59) }, () => {
      t += 1 + rnd() * 6e4;
      const v = (rnd() - 0.3) * 10 ** Math.floor(rnd() * 8 - 3);
      return [t, v - rnd(), v + rnd()];
    });
  });
}

describe('paths', () => {
  const x = (t) => (t - 1.7e12) / 1e6;
  const y = (v) => 300 - v * 0.37;

  it('writes the same line and band as d3-shape at a tenth of a pixel', () => {
    const d3line = line().digits(1).x((d) => x(d[0])).y((d) => y(d[1]));
    const d3band = area().digits(1).x((d) => x(d[0])).y0((d) => y(d[1])).y1((d) => y(d[2]));
    for (const run of runs(7)) {
      expect(linePath(run, x, y)).toBe(d3line(run));
      expect(bandPath(run, x, y)).toBe(d3band(run));
    }
  });

  it('starts a one-point run with a move and closes a one-point band', () => {
    expect(linePath([[1.7e12, 2]], x, y)).toBe('M0,299.3');
    expect(bandPath([[1.7e12, 1, 2]], x, y)).toBe('M0,299.3L0,299.6Z');
  });
});
