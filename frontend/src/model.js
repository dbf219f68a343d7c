// The domain facts the dashboard shares with the server (metrics_server/model.py): metric types, the
// aggregations /api/query accepts, the default one per type, histogram percentiles, and the chart types each
// metric type can be drawn with. Every other module takes them from here.

export const METRIC_TYPES = ['gauge', 'counter', 'enum', 'histogram'];

/** Types drawn as lines on the time chart (the others get panels of their own). */
export const LINE_TYPES = ['gauge', 'counter'];

/** What /api/query's `agg` accepts (metrics_server AGGS). */
export const AGGS = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last', 'p50', 'p90', 'p99', 'rate'];

/** Folding many series into one line per bin on the server (/api/query's `across`), after `agg` per series. */
export const ACROSS = ['sum', 'avg', 'min', 'max', 'count'];

/** The aggregation menu: "auto" means the type's default (see effectiveAgg). */
export const AGG_CHOICES = ['auto', ...AGGS];
export const DEFAULT_AGG = 'auto';

/** Bin sizes: auto fits the chart's width, the others are calendar units. */
export const GRANULARITIES = ['auto', 'minute', 'hour', 'day'];

/** The percentile lines drawn over a histogram's heatmap. */
export const QUANTILES = [0.5, 0.9, 0.99];

/**
 * The aggregation a metric is drawn with: the chosen one, else rate for counters and avg otherwise.
 * Rate only applies to counters, so choosing it leaves gauges on avg.
 */
export function effectiveAgg(type, agg) {
  if (agg === 'rate' && type !== 'counter') return 'avg';
  if (agg && agg !== 'auto') return agg;
  return type === 'counter' ? 'rate' : 'avg';
}

/** Chart types per metric type; the first is the default. */
export const CHART_TYPES = {
  gauge: ['line', 'bars', 'stacked', 'points'],
  counter: ['line', 'bars', 'stacked', 'points'],
  enum: ['pie', 'bars'],
  histogram: ['heatmap', 'percentiles'],
};

/** The chart type a pick is drawn with: its own choice if valid for its type, else the type's first. */
export const chartOf = (pick, type) => {
  const options = CHART_TYPES[type] || CHART_TYPES.gauge;
  return options.includes(pick.chart) ? pick.chart : options[0];
};
