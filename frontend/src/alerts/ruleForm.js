// The rule editor's common case as PromQL: metric + filters + aggregation over a window + comparator + threshold
// (GlanceMetrics' "average requests/s over 2 min > 10"), with an optional recovery threshold (hysteresis), `for`
// and a no-data policy. Pure: the form's fields in, a Prometheus rule (and its group) out.

/** Aggregations over the window and the PromQL function each one is. */
export const AGGREGATIONS = {
  avg: 'avg_over_time', max: 'max_over_time', min: 'min_over_time', sum: 'sum_over_time',
  count: 'count_over_time', last: 'last_over_time', rate: 'rate', increase: 'increase',
};
export const COMPARATORS = ['>', '>=', '<', '<='];
export const NO_DATA = ['ok', 'alerting', 'nodata', 'keep_last'];
export const EMPTY_FORM = Object.freeze({
  group: 'dashboard', alert: '', metric: '', filters: '', agg: 'avg', window: '2m', op: '>', threshold: '',
  recovery: '', forDuration: '0s', interval: '10s', noData: 'ok', summary: '',
});

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const quote = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** `k=v, k2=v2` → [[k, v], ...]; throws naming the bad part. */
export function parseFilters(text) {
  return String(text).split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const i = part.indexOf('=');
    const key = part.slice(0, i).trim();
    if (i < 1 || !LABEL.test(key)) throw new Error(`"${part}" is not label=value`);
    return [key, part.slice(i + 1).trim().replace(/^"(.*)"$/, '$1')];
  });
}

/** A vector selector; a name PromQL cannot spell bare (our names may hold . and -) goes in __name__. */
export function selector(metric, filters = []) {
  const matchers = filters.map(([k, v]) => `${k}=${quote(v)}`);
  if (NAME.test(metric)) return matchers.length ? `${metric}{${matchers.join(', ')}}` : metric;
  return `{${[`__name__=${quote(metric)}`, ...matchers].join(', ')}}`;
}

/** The aggregated series the thresholds compare, e.g. avg_over_time(http_requests{section="/"}[2m]). */
export function seriesExpr(form) {
  return `${AGGREGATIONS[form.agg]}(${selector(form.metric, parseFilters(form.filters))}[${form.window}])`;
}

/** Problems by field name (empty when the form can be saved). */
export function validate(form) {
  const errors = {};
  if (!String(form.alert).trim()) errors.alert = 'a name is required';
  if (!String(form.group).trim()) errors.group = 'a group is required';
  if (!form.metric) errors.metric = 'pick a metric';
  try {
    parseFilters(form.filters);
  } catch (err) {
    errors.filters = err.message;
  }
  if (!AGGREGATIONS[form.agg]) errors.agg = 'unknown aggregation';
  if (!COMPARATORS.includes(form.op)) errors.op = 'unknown comparator';
  for (const key of ['window', 'forDuration', 'interval']) {
    if (!DURATION.test(form[key]) && form[key] !== '0') errors[key] = 'a duration such as 30s, 2m, 1h';
  }
  if (form.threshold === '' || !Number.isFinite(Number(form.threshold))) errors.threshold = 'a number is required';
  if (form.recovery !== '' && !Number.isFinite(Number(form.recovery))) errors.recovery = 'a number, or empty';
  const below = form.op.startsWith('>');
  if (!errors.threshold && form.recovery !== '' && !errors.recovery
    && (below ? Number(form.recovery) > Number(form.threshold) : Number(form.recovery) < Number(form.threshold))) {
    errors.recovery = `must be ${below ? 'at most' : 'at least'} the threshold (the alert recovers past it)`;
  }
  if (!NO_DATA.includes(form.noData)) errors.noData = 'unknown policy';
  return errors;
}

/** The rule (Prometheus' format plus our extensions) the form describes. */
export function ruleOf(form) {
  const series = seriesExpr(form);
  const rule = { alert: form.alert.trim(), expr: `${series} ${form.op} ${Number(form.threshold)}` };
  if (form.forDuration && form.forDuration !== '0s' && form.forDuration !== '0') rule.for = form.forDuration;
  if (form.recovery !== '' && Number(form.recovery) !== Number(form.threshold)) {
    rule.keep_firing_while = `${series} ${form.op} ${Number(form.recovery)}`;
  }
  if (form.noData !== 'ok') {
    rule.data_expr = series;
    rule.no_data = form.noData;
  }
  rule.annotations = {
    summary: form.summary.trim()
      || `${form.alert.trim()}: ${form.agg} of ${form.metric} over ${form.window} is {{ $value | humanize }}`,
  };
  return rule;
}

/** The group the rule is saved in: the existing group's other rules kept, this one added or replaced. */
export function groupWith(existing, form) {
  const rule = ruleOf(form);
  const rules = (existing?.rules || []).filter((r) => r.alert !== rule.alert);
  return { name: form.group.trim(), interval: existing?.interval || form.interval, rules: [...rules, rule] };
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and',
  'or', 'unless', 'inf', 'nan']);

/** The metric an alert's expression reads (for a link to its chart), or null: a `__name__` matcher, else the
 * first name that is not a function, a keyword or a label. */
export function metricOf(expr) {
  const named = /__name__\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(expr);
  if (named) return named[1];
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  for (const m of text.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[1].toLowerCase())) return m[1];
  }
  return null;
}
