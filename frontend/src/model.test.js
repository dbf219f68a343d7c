import { describe, expect, it } from 'vitest';
import { AGG_CHOICES, AGGS, CHART_TYPES, chartOf, effectiveAgg } from './model.js';

describe('domain facts', () => {
  it('offers auto before the aggregations the server accepts', () => {
    expect(AGG_CHOICES[0]).toBe('auto');
    expect(AGG_CHOICES.slice(1)).toEqual(AGGS);
    expect(AGGS).toContain('p99');
  });
  it('draws a pick with its own valid chart type, else its type\'s first', () => {
    expect(chartOf({ chart: 'bars' }, 'gauge')).toBe('bars');
    expect(chartOf({ chart: 'heatmap' }, 'gauge')).toBe('line');
    expect(chartOf({}, 'histogram')).toBe('heatmap');
    expect(chartOf({}, 'unknown')).toBe(CHART_TYPES.gauge[0]);
    expect(effectiveAgg('counter', 'auto')).toBe('rate');
  });
});
