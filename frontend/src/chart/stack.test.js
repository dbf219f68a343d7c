import { describe, expect, it } from 'vitest';
import { stackSeries } from './stack.js';

describe('stacked bars', () => {
  it('puts each stacked series on the running total of its unit, gaps adding nothing', () => {
    const s = (key, unit, values, style = 'stacked') => ({ key, unit, values, style, min: values, max: values });
    const out = stackSeries([s('a', '%', [1, 2, null]), s('b', '%', [10, null, 5]), s('c', 'ms', [7, 7, 7]),
      s('d', '%', [1, 1, 1], 'line')]);
    expect(out[0]).toMatchObject({ values: [1, 2, null], base: [0, 0, 0], min: null });
    expect(out[1]).toMatchObject({ values: [11, null, 5], base: [1, 2, 0] });
    expect(out[2]).toMatchObject({ values: [7, 7, 7], base: [0, 0, 0] });
    expect(out[3].values).toEqual([1, 1, 1]);
  });
});
