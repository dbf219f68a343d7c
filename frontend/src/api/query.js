// Builds the query strings the dashboard sends; pure, so the table, chart and CSV share one definition.
import { effectiveAgg } from '../model.js';
import { formatSelector } from './selector.js';

/** Query string for GET /api/query (chart mode with width, table mode with granularity). */
export function buildQueryString({ metrics, start, end, width, granularity, agg, groupBy = [], across, tz, format }) {
  const p = new URLSearchParams();
  for (const m of metrics) p.append('metric', formatSelector(m));
  p.set('start', String(start));
  p.set('end', String(end));
  if (granularity) p.set('granularity', granularity);
  else if (width) p.set('width', String(Math.max(1, Math.round(width))));
  if (agg) p.set('agg', agg);
  for (const key of groupBy) p.append('group_by', key);
  if (across) p.set('across', across);
  if (tz) p.set('tz', tz);
  if (format) p.set('format', format);
  return p.toString();
}

/** Query string for the per-metric endpoints (states, heatmap): range, label filters, extras. */
export function buildMetricQueryString({ filters = {}, start, end, width, granularity, quantiles = [], tz }) {
  const p = new URLSearchParams();
  p.set('start', String(start));
  p.set('end', String(end));
  if (granularity) p.set('granularity', granularity);
  else if (width) p.set('width', String(Math.max(1, Math.round(width))));
  for (const q of quantiles) p.append('q', String(q));
  for (const key of Object.keys(filters).sort()) {
    for (const value of filters[key]) p.append(key, value);
  }
  if (tz) p.set('tz', tz);
  return p.toString();
}

/**
 * Groups the picked line metrics into as few /api/query requests as possible: one per distinct (aggregation,
 * group-by keys, across), since both are per-request parameters. With "auto" no aggregation is sent: the server
 * applies each metric's default (rate for counters, avg otherwise), so gauges and counters share one request
 * (and one CSV).
 */
export function partitionQueries(picks, typeOf, agg) {
  const groups = new Map();
  for (const pick of picks) {
    const a = agg === 'auto' || !agg ? null : effectiveAgg(typeOf(pick.name), agg);
    const groupBy = [...(pick.groupBy || [])].sort();
    const across = pick.across || null;
    const key = `${a}|${groupBy.join(',')}|${across}`;
    if (!groups.has(key)) groups.set(key, { agg: a, groupBy, across, metrics: [] });
    groups.get(key).metrics.push({ name: pick.name, filters: pick.filters || {} });
  }
  return [...groups.values()];
}
