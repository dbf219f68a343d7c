import { describe, expect, it } from 'vitest';
import { drawnValues, stackSeries } from './stack.js';

describe('stacked bars', () => {
  const s = (key, unit, values, style = 'stacked') => ({ key, unit, values, style, min: values, max: values });

  it('draws each stacked series on the running total of its unit, gaps adding nothing', () => {
    const out = stackSeries([s('a', '%', [1, 2, null]), s('b', '%', [10, null, 5]), s('c', 'ms', [7, 7, 7]),
      s('d', '%', [1, 1, 1], 'line')]);
    expect(out.map(drawnValues)).toEqual([[1, 2, null], [11, null, 5], [7, 7, 7], [1, 1, 1]]);
    expect(out.map((x) => x.base)).toEqual([[0, 0, 0], [1, 2, 0], [0, 0, 0], undefined]);
  });

  it("keeps each series' own values, min and max for the legend and tooltip (issue 26: 5xx shown as the stack top)", () => {
    const out = stackSeries([s('3xx', 'req', [9504, 100]), s('5xx', 'req', [15608, 50])]);
    expect(out[1].values).toEqual([15608, 50]);
    expect(out[1].max).toEqual([15608, 50]);
    expect(drawnValues(out[1])).toEqual([25112, 150]);
  });
});
