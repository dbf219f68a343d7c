// Turns /api/query responses into columnar series (times, values, min, max) with a key, label and colour.
import { seriesColors } from '../chart/palette.js';

/** A stable identity for a series: metric plus its sorted labels. */
export function seriesKey(metric, labels = {}) {
  const parts = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`);
  return parts.length ? `${metric}{${parts.join(',')}}` : metric;
}

const labelText = (labels, keys) => keys.map((k) => `${k}=${labels[k]}`).join(', ');
const joinName = (metric, labels) => [metric, labels].filter(Boolean).join(' · ');

/** Human label: "cpu · host=a, region=eu". */
export const seriesLabel = (metric, labels = {}) => joinName(metric, labelText(labels, Object.keys(labels).sort()));

/**
 * What a group of series shares and what tells each apart: {shared: "http_requests · service=api",
 * names: ["code=3xx", "code=5xx"], parts: [[metric or "", labels or ""], …]} (parts: for a legend that cuts
 * the metric before the labels). The metric is named per series only when several are shown; a label only when
 * its value differs. Legend and tooltip show the names, so a cut long name never loses the part that differs
 * (issue 26); a lone series keeps its whole label.
 */
export function distinctNames(series) {
  if (series.length < 2) {
    return { shared: '', names: series.map((s) => seriesLabel(s.metric, s.labels)), parts: series.map(() => ['', '']) };
  }
  const keys = [...new Set(series.flatMap((s) => Object.keys(s.labels)))].sort();
  const same = (f) => new Set(series.map(f)).size === 1;
  const sharedKeys = keys.filter((k) => same((s) => (k in s.labels ? `=${s.labels[k]}` : '')));
  const ownKeys = keys.filter((k) => !sharedKeys.includes(k));
  const oneMetric = same((s) => s.metric);
  const parts = series.map((s) => [oneMetric ? '' : s.metric, labelText(s.labels, ownKeys.filter((k) => k in s.labels))]);
  return {
    shared: joinName(oneMetric ? series[0].metric : '', labelText(series[0].labels, sharedKeys)),
    names: parts.map((p, i) => joinName(...p) || seriesLabel(series[i].metric, series[i].labels)),
    parts,
  };
}

/** The unit a series is drawn in: a rate is per second. */
export const displayUnit = (unit, agg) => (agg === 'rate' ? `${unit || ''}/s` : unit || '');

const column = (rows, i = 1) => (rows ? rows.map((p) => (Array.isArray(p) ? p[i] : p)) : null);

/** Flattens several /api/query responses into columnar series, colouring them in order. */
export function toSeries(responses, styleOf = () => 'line') {
  const out = [];
  for (const res of responses || []) {
    for (const s of res?.series || []) {
      const points = s.points || [];
      const agg = s.agg ?? res.agg;
      out.push({
        key: seriesKey(s.metric, s.labels),
        label: seriesLabel(s.metric, s.labels),
        metric: s.metric,
        labels: s.labels || {},
        unit: displayUnit(s.unit, agg),
        type: s.type,
        agg,
        across: s.across ?? null,
        count: s.series_count ?? 1,
        resolution: s.resolution,
        style: styleOf(s.metric),
        times: points.map((p) => p[0]),
        values: column(points),
        min: column(s.min),
        max: column(s.max),
        step: res.step ?? null,
      });
    }
  }
  const colors = seriesColors(out);
  const { names, parts } = distinctNames(out);
  return out.map((s, i) => ({ ...s, color: colors[i], name: names[i], nameParts: parts[i] }));
}

/** True when no series has a single present value. */
export const isAllEmpty = (series) => series.every((s) => s.values.every((v) => v == null));

/** Long-format rows (one per bin per series) for the table. */
export function toRows(series) {
  const rows = [];
  for (const s of series) {
    for (let i = 0; i < s.times.length; i++) {
      rows.push({ t: s.times[i], metric: s.metric, labels: s.labels, value: s.values[i], unit: s.unit, key: s.key });
    }
  }
  return rows;
}

/**
 * What a total over several series adds up (an enum's pie sums the time of every series its filters match):
 * null for one series or none, else "Time added over 3 series (service: api, web)", naming the labels that differ.
 * labelSets: the metric's series (GET /api/metrics/<name>/series); filters: {key: [values]} (OR within a key).
 */
export function summedOver(labelSets, filters = {}) {
  const matching = labelSets.filter((l) => Object.entries(filters).every(([k, vs]) => !vs.length || vs.includes(l[k])));
  if (matching.length < 2) return null;
  const keys = [...new Set(matching.flatMap(Object.keys))].sort();
  const differing = keys.map((k) => [k, [...new Set(matching.map((l) => l[k] ?? ''))].sort()]).filter(([, vs]) => vs.length > 1);
  const detail = differing.map(([k, vs]) => `${k}: ${vs.map((v) => v || '(none)').join(', ')}`).join('; ');
  return `Time added over ${matching.length} series${detail ? ` (${detail})` : ''}`;
}
