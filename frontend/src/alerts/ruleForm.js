// The rule editor's common case as PromQL: metric + filters + aggregation over a window + comparator + threshold
// (GlanceMetrics' "average requests/s over 2 min > 10"), with an optional recovery threshold (hysteresis), `for`
// and a no-data policy; any other rule is edited as its PromQL expression. Pure: the form's fields in, a
// Prometheus rule (and its group) out, and back: a stored rule into the form that edits or duplicates it.

/** Aggregations over the window and the PromQL function each one is. */
export const AGGREGATIONS = {
  avg: 'avg_over_time', max: 'max_over_time', min: 'min_over_time', sum: 'sum_over_time',
  count: 'count_over_time', last: 'last_over_time', rate: 'rate', increase: 'increase',
};
export const COMPARATORS = ['>', '>=', '<', '<='];
export const NO_DATA = ['ok', 'alerting', 'nodata', 'keep_last'];
// mode: 'builder' (the fields above) or 'expr' (any PromQL); original: the name of the rule being edited ('' for a
// new one); base: the stored rule, whose fields the form does not show (labels, other annotations) are kept.
export const EMPTY_FORM = Object.freeze({
  group: 'dashboard', alert: '', metric: '', filters: '', agg: 'avg', window: '2m', op: '>', threshold: '',
  recovery: '', forDuration: '0s', interval: '10s', noData: 'ok', summary: '', mode: 'builder', expr: '',
  original: '', base: null,
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
  for (const key of ['forDuration', 'interval']) {
    if (!DURATION.test(form[key]) && form[key] !== '0') errors[key] = 'a duration such as 30s, 2m, 1h';
  }
  if (form.mode === 'expr') {
    if (!String(form.expr).trim()) errors.expr = 'an expression is required';
    return errors;
  }
  if (!form.metric) errors.metric = 'pick a metric';
  try {
    parseFilters(form.filters);
  } catch (err) {
    errors.filters = err.message;
  }
  if (!AGGREGATIONS[form.agg]) errors.agg = 'unknown aggregation';
  if (!COMPARATORS.includes(form.op)) errors.op = 'unknown comparator';
  if (!DURATION.test(form.window)) errors.window = 'a duration such as 30s, 2m, 1h';
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

/** Which problems to show: a field's once it was edited, all of them once the user tried to save or backtest
 * (a new form does not greet anyone with "a name is required"). */
export function shownErrors(errors, touched, attempted) {
  return attempted ? errors : Object.fromEntries(Object.entries(errors).filter(([key]) => touched.has(key)));
}

const FORM_KEYS = ['alert', 'expr', 'for', 'keep_firing_while', 'data_expr', 'no_data'];

/** The rule (Prometheus' format plus our extensions) the form describes; what the form does not show of the
 * stored rule it edits (labels, other annotations, disabled, ...) is kept. */
export function ruleOf(form) {
  const kept = Object.fromEntries(Object.entries(form.base || {}).filter(([key]) => !FORM_KEYS.includes(key)));
  const rule = { ...kept, ...(form.mode === 'expr' ? exprRule(form) : builderRule(form)) };
  if (form.forDuration && form.forDuration !== '0s' && form.forDuration !== '0') rule.for = form.forDuration;
  const summary = form.summary.trim() || (form.mode === 'expr' ? ''
    : `${form.alert.trim()}: ${form.agg} of ${form.metric} over ${form.window} is {{ $value | humanize }}`);
  const annotations = { ...(kept.annotations || {}) };
  if (summary) annotations.summary = summary;
  else delete annotations.summary;
  if (Object.keys(annotations).length) rule.annotations = annotations;
  else delete rule.annotations;
  return rule;
}

function exprRule(form) {
  return { alert: form.alert.trim(), expr: form.expr.trim() };
}

function builderRule(form) {
  const series = seriesExpr(form);
  const rule = { alert: form.alert.trim(), expr: `${series} ${form.op} ${Number(form.threshold)}` };
  if (form.recovery !== '' && Number(form.recovery) !== Number(form.threshold)) {
    rule.keep_firing_while = `${series} ${form.op} ${Number(form.recovery)}`;
  }
  if (form.noData !== 'ok') {
    rule.data_expr = series;
    rule.no_data = form.noData;
  }
  return rule;
}

/** The group the rule is saved in: the existing group's other rules kept, the edited one replaced where it was
 * (also when renamed), a new one added at the end (one of the same name replaced: names are unique here). */
export function groupWith(existing, form) {
  const rule = ruleOf(form);
  const rules = [...(existing?.rules || [])];
  const at = rules.findIndex((r) => r.alert === (form.original || rule.alert));
  const others = rules.filter((r, i) => i !== at && r.alert !== rule.alert);
  const position = at < 0 ? others.length : Math.min(at, others.length);
  others.splice(position, 0, rule);
  return { ...(existing || {}), name: form.group.trim(), interval: existing?.interval || form.interval, rules: others };
}

const GROUP_KEYS = ['name', 'interval', 'query_offset', 'limit', 'rules'];

/** A group as the list of groups shows it (with its source and update time) reduced to its definition, what a
 * PUT of the group takes. */
export const definitionOf = (listed) => Object.fromEntries(Object.entries(listed).filter(([key]) => GROUP_KEYS.includes(key)));

/** The group without the named rule, or null when it was the last (then the group is deleted). */
export function groupWithout(group, name) {
  const rules = group.rules.filter((r) => (r.alert || r.record) !== name);
  return rules.length ? { ...group, rules } : null;
}

/** The group with the named rule disabled (or enabled again). */
export function groupToggled(group, name) {
  return {
    ...group,
    rules: group.rules.map((r) => {
      if ((r.alert || r.record) !== name) return r;
      const { disabled, ...rest } = r;
      return disabled ? rest : { ...rest, disabled: true };
    }),
  };
}

const BUILT = /^(\w+)\((.+)\[(\w+)\]\) (>=|<=|>|<) (\S+)$/;
const SELECTOR = /^(?:\{__name__="((?:[^"\\]|\\.)*)"(?:, (.*))?\}|([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?)$/;

/** A stored rule as the form that edits it (copy: the form that duplicates it, under a new name): the builder when
 * the rule is one the builder writes, else the expression. */
export function formOfRule(group, rule, { copy = false } = {}) {
  const form = {
    ...EMPTY_FORM, group: group.name, interval: group.interval || EMPTY_FORM.interval, alert: rule.alert,
    forDuration: rule.for || '0s', summary: rule.annotations?.summary || '', mode: 'expr', expr: rule.expr,
    original: rule.alert, base: rule,
  };
  const built = builderFields(rule);
  const out = built ? { ...form, ...built, mode: 'builder' } : form;
  return copy ? { ...out, alert: `${rule.alert}_copy`, original: '' } : out;
}

/** The builder's fields of a rule, or null unless the builder writes exactly this rule back. */
function builderFields(rule) {
  const m = BUILT.exec(rule.expr);
  const agg = m && Object.keys(AGGREGATIONS).find((key) => AGGREGATIONS[key] === m[1]);
  const parts = m && SELECTOR.exec(m[2]);
  if (!agg || !parts) return null;
  const fields = {
    agg, metric: parts[1] ?? parts[3], window: m[3], op: m[4], threshold: m[5], noData: rule.no_data || 'ok',
    filters: (parts[2] ?? parts[4] ?? '').replace(/="((?:[^"\\]|\\.)*)"/g, '=$1'),
    recovery: rule.keep_firing_while ? rule.keep_firing_while.split(' ').pop() : '',
  };
  try {
    const again = builderRule({ ...EMPTY_FORM, ...fields, alert: rule.alert });
    const same = again.expr === rule.expr && (again.keep_firing_while || null) === (rule.keep_firing_while || null)
      && (again.data_expr || null) === (rule.data_expr || null);
    return same ? fields : null;
  } catch {
    return null; // filters the builder cannot spell
  }
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
