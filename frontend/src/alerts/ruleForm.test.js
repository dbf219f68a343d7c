import { describe, expect, it } from 'vitest';
import {
  EMPTY_FORM, definitionOf, formOfRule, groupToggled, groupWith, groupWithout, metricOf, ruleOf, selector, seriesExpr, shownErrors,
  validate,
} from './ruleForm.js';

const glance = {
  ...EMPTY_FORM, alert: 'HighTraffic', metric: 'http.requests', filters: 'section=/api', agg: 'rate', window: '2m',
  op: '>', threshold: '10', recovery: '8', forDuration: '0s',
};

describe('the rule form', () => {
  it("writes GlanceMetrics' rule: requests/s over 2 min > 10, recovering below 8", () => {
    const rule = ruleOf(glance);
    expect(rule.expr).toBe('rate({__name__="http.requests", section="/api"}[2m]) > 10');
    expect(rule.keep_firing_while).toBe('rate({__name__="http.requests", section="/api"}[2m]) > 8');
    expect(rule.for).toBeUndefined();
    expect(rule.annotations.summary).toContain('{{ $value | humanize }}');
  });

  it('spells PromQL-safe names bare and escapes values', () => {
    expect(selector('up', [['job', 'a"b']])).toBe('up{job="a\\"b"}');
    expect(seriesExpr({ ...glance, metric: 'cpu', filters: '' , agg: 'avg' })).toBe('avg_over_time(cpu[2m])');
  });

  it('adds the no-data policy with the series as data_expr', () => {
    const rule = ruleOf({ ...glance, noData: 'nodata', forDuration: '1m' });
    expect([rule.no_data, rule.data_expr, rule.for]).toEqual(['nodata', seriesExpr(glance), '1m']);
  });

  it('names every bad field', () => {
    const errors = validate({ ...EMPTY_FORM, window: '2 minutes', filters: 'oops', threshold: 'x' });
    expect(Object.keys(errors).sort()).toEqual(['alert', 'filters', 'metric', 'threshold', 'window']);
    expect(validate({ ...glance, recovery: '12' }).recovery).toMatch(/at most the threshold/);
    expect(validate(glance)).toEqual({});
  });

  it('keeps the other rules of the group it saves into', () => {
    const group = groupWith({ interval: '1m', rules: [{ alert: 'Other', expr: 'up == 0' }, { alert: 'HighTraffic', expr: 'x' }] }, glance);
    expect(group.interval).toBe('1m');
    expect(group.rules.map((r) => r.alert)).toEqual(['Other', 'HighTraffic']);
    expect(group.rules[1].expr).toContain('> 10');
  });

  it('finds the metric an expression reads', () => {
    expect(metricOf('rate({__name__="http.requests"}[2m]) > 10')).toBe('http.requests');
    expect(metricOf('avg_over_time(cpu{host="a"}[5m]) > 90')).toBe('cpu');
    expect(metricOf('vector(1)')).toBeNull();
    expect(metricOf('alerts_x > 10')).toBe('alerts_x');
    expect(metricOf('sum by (host) (rate(http_total{code="500"}[5m])) > 1e3')).toBe('http_total');
  });

  it('opens a rule it wrote in the builder, and saves it back unchanged', () => {
    const group = { name: 'web', interval: '30s', rules: [{ ...ruleOf(glance), labels: { team: 'ops' } }] };
    const form = formOfRule(group, group.rules[0]);
    expect([form.mode, form.metric, form.filters, form.agg, form.threshold, form.recovery])
      .toEqual(['builder', 'http.requests', 'section=/api', 'rate', '10', '8']);
    expect(groupWith(group, form)).toEqual(group);
  });

  it('opens any other rule as its expression, keeping what the form does not show', () => {
    const rule = { alert: 'Down', expr: 'up == 0', for: '5m', labels: { severity: 'page' },
      annotations: { summary: 'down', runbook: 'http://wiki' }, disabled: true };
    const form = formOfRule({ name: 'g', interval: '1m' }, rule);
    expect([form.mode, form.expr, form.forDuration]).toEqual(['expr', 'up == 0', '5m']);
    expect(validate(form)).toEqual({});
    expect(ruleOf({ ...form, expr: 'up < 1', summary: 'gone' })).toEqual({
      ...rule, expr: 'up < 1', annotations: { summary: 'gone', runbook: 'http://wiki' } });
  });

  it('renames in place, duplicates under a new name, deletes and disables', () => {
    const group = { name: 'g', interval: '1m', rules: [{ alert: 'A', expr: 'a > 1' }, { alert: 'B', expr: 'b > 1' }] };
    const renamed = groupWith(group, { ...formOfRule(group, group.rules[0]), alert: 'A2' });
    expect(renamed.rules.map((r) => r.alert)).toEqual(['A2', 'B']);
    const copy = formOfRule(group, group.rules[1], { copy: true });
    expect(groupWith(group, copy).rules.map((r) => r.alert)).toEqual(['A', 'B', 'B_copy']);
    expect(groupWithout(group, 'A').rules.map((r) => r.alert)).toEqual(['B']);
    expect(groupWithout(groupWithout(group, 'A'), 'B')).toBeNull();
    const off = groupToggled(group, 'B');
    expect(off.rules[1].disabled).toBe(true);
    expect(groupToggled(off, 'B').rules[1]).toEqual(group.rules[1]);
    expect(definitionOf({ ...group, source: 'api', updated_at: '2026-12-05T08:00:00.000Z' })).toEqual(group);
  });

  it('shows no error before a field is edited or a save is tried', () => {
    const errors = validate(EMPTY_FORM);
    expect(shownErrors(errors, new Set(), false)).toEqual({});
    expect(Object.keys(shownErrors(errors, new Set(['alert']), false))).toEqual(['alert']);
    expect(shownErrors(errors, new Set(), true)).toEqual(errors);
  });
});
