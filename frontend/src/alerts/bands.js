// Alert intervals for the chart: pending and firing bands from the history's transitions, for the rules that
// read the metrics on the chart. Pure.
import { metricOf } from './ruleForm.js';

/** {state, start, end, labels, rule} per pending or firing interval; one still open ends at `end` (ms). */
export function bandsOf(transitions, end) {
  const open = new Map();
  const out = [];
  for (const t of [...transitions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
    const at = Date.parse(t.at);
    if (open.has(t.fingerprint)) {
      out.push({ ...open.get(t.fingerprint), end: at });
      open.delete(t.fingerprint);
    }
    if (t.to === 'pending' || t.to === 'firing') {
      open.set(t.fingerprint, { state: t.to, start: at, labels: t.labels, rule: t.rule });
    }
  }
  for (const band of open.values()) out.push({ ...band, end });
  return out.sort((a, b) => a.start - b.start);
}

/** "group/rule" of the alerting rules whose expression reads one of `metrics` (from /api/v1/rules). */
export function rulesReading(groups, metrics) {
  const wanted = new Set(metrics);
  return new Set(groups.flatMap((g) => g.rules
    .filter((r) => r.type === 'alerting' && wanted.has(metricOf(r.query)))
    .map((r) => `${g.name}/${r.name}`)));
}
