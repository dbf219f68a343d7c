import { describe, expect, it } from 'vitest';
import { line } from 'd3-shape';
import { AXIS_WIDTH, assignAxes, axisOffset } from './axisLayout.js';
import { maxJoin, sampleInterval, splitBandGaps, splitGaps } from './gaps.js';
import { seriesColors } from './palette.js';
import { nearestIndex, niceDomain, presentNear, timeScale, unitScales, valueExtent } from './scales.js';

describe('assignAxes', () => {
  const s = (unit, color) => ({ unit, color });

  it('gives each distinct unit one axis: left, right, then outward', () => {
    const { axes, marginLeft, marginRight } = assignAxes([
      s('%', 'blue'), s('ms', 'orange'), s('%', 'green'), s('B', 'red'), s('req/s', 'pink'),
    ]);
    expect(axes.map((a) => [a.unit, a.side, a.level, a.color])).toEqual([
      ['%', 'left', 0, 'blue'], ['ms', 'right', 0, 'orange'], ['B', 'left', 1, 'red'], ['req/s', 'right', 1, 'pink'],
    ]);
    expect(marginLeft).toBe(2 * AXIS_WIDTH);
    expect(marginRight).toBe(2 * AXIS_WIDTH);
    expect(axisOffset(axes[2], 500)).toBe(-AXIS_WIDTH);
    expect(axisOffset(axes[3], 500)).toBe(500 + AXIS_WIDTH);
  });

  it('keeps a small right margin with a single axis and treats a missing unit as ""', () => {
    const r = assignAxes([{ color: 'x' }, { unit: '', color: 'y' }]);
    expect(r.axes).toHaveLength(1);
    expect(r.axes[0].unit).toBe('');
    expect(r.marginRight).toBeLessThan(AXIS_WIDTH);
  });
});

describe('splitGaps', () => {
  it('breaks runs at null, undefined and NaN', () => {
    expect(splitGaps([1, 2, 3, 4, 5, 6], [1, null, 3, 4, undefined, NaN])).toEqual([[[1, 1]], [[3, 3], [4, 4]]]);
    expect(splitGaps([1, 2], [null, null])).toEqual([]);
    expect(splitGaps([], [])).toEqual([]);
  });

  it('gives a path with one M per run, never bridging a gap', () => {
    const runs = splitGaps([0, 1, 2, 3, 4], [5, 6, null, 7, 8]);
    const d = runs.map((r) => line()(r)).join('');
    expect(d.match(/M/g)).toHaveLength(2);
  });

  it('joins nulls shorter than the sampling interval but breaks at longer holes', () => {
    // per-minute samples on 10 s bins, with a 5-minute hole
    const times = Array.from({ length: 60 }, (_, i) => i * 10);
    const values = times.map((t) => (t % 60 === 0 && !(t >= 180 && t < 480) ? t : null));
    expect(sampleInterval(times, values)).toBe(60);
    expect(maxJoin(times, values)).toBe(90);
    const runs = splitGaps(times, values, maxJoin(times, values));
    expect(runs.map((r) => r.map((p) => p[0]))).toEqual([[0, 60, 120], [480, 540]]);
    expect(splitGaps(times, values)).toHaveLength(5);
  });

  it('never joins when the interval is unknown or the data is dense', () => {
    expect(sampleInterval([0, 1], [5, 6])).toBeNull();
    expect(maxJoin([0, 1], [5, 6])).toBe(0);
    const dense = [0, 1, 2, 3, 4, 5];
    const v = [1, 1, 1, null, 1, 1];
    expect(splitGaps(dense, v, maxJoin(dense, v))).toHaveLength(2);
  });

  it('splits bands where either bound is missing', () => {
    expect(splitBandGaps([1, 2, 3], [0, null, 1], [2, 3, 4])).toEqual([[[1, 0, 2]], [[3, 1, 4]]]);
  });
});

describe('scales', () => {
  const a = { unit: '%', times: [0, 10, 20], values: [5, null, 50], min: [1, null, 40], max: [9, null, 60] };
  const b = { unit: 'ms', times: [0, 10, 20], values: [100, 200, 300] };

  it('takes extents over values and bands within the domain', () => {
    expect(valueExtent([a])).toEqual([1, 60]);
    expect(valueExtent([a], [15, 30])).toEqual([40, 60]);
    expect(valueExtent([{ unit: '', times: [1], values: [null] }])).toBeNull();
  });

  it('makes nice domains, padding flat series', () => {
    expect(niceDomain(null)).toEqual([0, 1]);
    const [lo, hi] = niceDomain([5, 5]);
    expect(lo).toBeLessThan(5);
    expect(hi).toBeGreaterThan(5);
    expect(niceDomain([10, 20], { zero: true })[0]).toBe(0);
    expect(niceDomain([-3, 7])[0]).toBeLessThanOrEqual(-3);
  });

  it('builds one y scale per unit and a shared time scale', () => {
    const { axes } = assignAxes([{ ...a, color: 'x' }, { ...b, color: 'y' }]);
    const ys = unitScales(axes, [a, b], 200, [0, 20]);
    expect(ys.get('%').range()).toEqual([200, 0]);
    expect(ys.get('ms').domain()[1]).toBeGreaterThanOrEqual(300);
    expect(ys.get('%').domain()[1]).toBeGreaterThanOrEqual(60);
    const x = timeScale([0, 1000], 500);
    expect(x(500)).toBe(250);
    expect(x.invert(250).getTime()).toBe(500);
  });

  it('finds the nearest bin', () => {
    expect(nearestIndex([0, 10, 20], 4)).toBe(0);
    expect(nearestIndex([0, 10, 20], 6)).toBe(1);
    expect(nearestIndex([0, 10, 20], 99)).toBe(2);
    expect(nearestIndex([], 1)).toBe(-1);
  });

  it('finds the nearest present value within a tolerance', () => {
    const t = [0, 10, 20, 30, 40];
    const v = [1, null, null, 4, null];
    expect(presentNear(t, v, 12, 15)).toBe(0);
    expect(presentNear(t, v, 18, 15)).toBe(3);
    expect(presentNear(t, v, 40, 15)).toBe(3);
    expect(presentNear(t, v, 20, 5)).toBe(-1);
    expect(presentNear([], [], 1, 5)).toBe(-1);
  });

  it('applies a panel\'s y options to the first axis', () => {
    const { axes } = assignAxes([{ ...a, color: 'x' }, { ...b, color: 'y' }]);
    const fixed = unitScales(axes, [a, b], 200, [0, 20], new Set(), { log: false, min: 0, max: 100 });
    expect(fixed.get('%').domain()).toEqual([0, 100]);
    expect(fixed.get('ms').domain()[1]).toBeGreaterThanOrEqual(300);
    const log = unitScales(axes, [a, b], 200, [0, 20], new Set(), { log: true, min: null, max: null });
    expect(log.get('%')(10)).toBeGreaterThan(log.get('%')(100));
    expect(log.get('%').domain()[0]).toBeGreaterThan(0);
  });
});

describe('series colours', () => {
  it('keeps the first series\' colours when more are added, and gives twenty series twenty colours', () => {
    const eight = seriesColors(Array.from({ length: 8 }, () => ({})));
    const twenty = seriesColors(Array.from({ length: 20 }, () => ({})));
    expect(twenty.slice(0, 8)).toEqual(eight);
    expect(new Set(twenty).size).toBe(20);
  });
});
