// The rule editor: a new rule, or a stored one to edit or duplicate. The builder writes the PromQL of the common
// case; any other rule is edited as its expression. The backtest previews the edited version before it is saved.
import { useState } from 'react';
import { getJson, sendJson, urls } from '../api/client.js';
import { formatTime } from '../chart/format.js';
import { ErrorNotice } from '../components/Status.jsx';
import { BacktestChart } from './BacktestChart.jsx';
import {
  AGGREGATIONS, COMPARATORS, NO_DATA, groupWith, ruleOf, seriesExpr, shownErrors, validate,
} from './ruleForm.js';

const PREVIEW_MS = 6 * 3600_000;
const COMPARISON = /^(.*\S)\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?-?[\d.e+]+$/;

/** The series a backtest draws: the builder's aggregated series, or the expression without its final comparison. */
const valuesExpr = (form) => (form.mode === 'expr' ? (COMPARISON.exec(form.expr.trim())?.[1] ?? form.expr) : seriesExpr(form));

function Field({ label, error, children }) {
  return (
    <label className="rule-field">
      <span className="field-label">{label}</span>
      {children}
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

/** initial: the form to start from (EMPTY_FORM, or formOfRule's); title says what is edited. */
export function RuleEditor({ metrics, initial, title, onSaved, onCancel }) {
  const [form, setForm] = useState(initial);
  const [touched, setTouched] = useState(() => new Set());
  const [attempted, setAttempted] = useState(false);
  const [preview, setPreview] = useState(null);
  const [status, setStatus] = useState(null);
  const errors = validate(form);
  const shown = shownErrors(errors, touched, attempted);
  const valid = Object.keys(errors).length === 0;
  const rule = valid ? ruleOf(form) : null;
  const set = (key) => (e) => {
    const { value } = e.target;
    setForm((f) => ({ ...f, [key]: value }));
    setTouched((t) => new Set(t).add(key));
  };
  const attempt = (action) => () => {
    setAttempted(true);
    if (valid) action();
  };

  const backtest = async () => {
    setStatus({ busy: 'Backtesting…' });
    const end = Date.now();
    const start = end - PREVIEW_MS;
    try {
      const [result, values] = await Promise.all([
        sendJson('POST', urls.backtest(), { rule, interval: form.interval, start: start / 1000, end: end / 1000 }),
        getJson(urls.queryRange(valuesExpr(form), start, end, 60_000)),
      ]);
      const series = values.data.result.map((s) => ({ points: s.values.map(([t, v]) => [t * 1000, Number(v)]) }));
      setPreview({ ...result, series, range: [start, end] });
      setStatus(null);
    } catch (error) {
      setStatus({ error });
    }
  };
  const save = async () => {
    setStatus({ busy: 'Saving…' });
    try {
      const existing = await getJson(urls.ruleGroup(form.group)).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
      await sendJson('PUT', urls.ruleGroup(form.group), groupWith(existing, form));
      setStatus({ saved: `Saved ${form.alert} in group ${form.group}` });
      onSaved();
    } catch (error) {
      setStatus({ error });
    }
  };
  const builder = form.mode !== 'expr';
  const threshold = builder && form.threshold !== '' ? Number(form.threshold) : null;
  const recovery = builder && form.recovery !== '' ? Number(form.recovery) : null;

  return (
    <form className="rule-editor" onSubmit={(e) => e.preventDefault()} aria-label={title}>
      <div className="rule-grid">
        <Field label="Name" error={shown.alert}><input name="alert" value={form.alert} onChange={set('alert')} placeholder="HighTraffic" /></Field>
        <Field label="Group" error={shown.group}>
          <input name="group" value={form.group} onChange={set('group')} disabled={Boolean(form.original)} />
        </Field>
        <Field label="Written as">
          <select name="mode" className="field-select" value={form.mode} onChange={set('mode')}>
            <option value="builder">metric and threshold</option>
            <option value="expr">PromQL expression</option>
          </select>
        </Field>
        {builder ? (
          <>
            <Field label="Metric" error={shown.metric}>
              <select name="metric" className="field-select" value={form.metric} onChange={set('metric')}>
                <option value="">—</option>
                {metrics.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
              </select>
            </Field>
            <Field label="Filters" error={shown.filters}><input name="filters" value={form.filters} onChange={set('filters')} placeholder="section=/api" /></Field>
            <Field label="Aggregation" error={shown.agg}>
              <select name="agg" className="field-select" value={form.agg} onChange={set('agg')}>
                {Object.keys(AGGREGATIONS).map((a) => <option key={a} value={a}>{a}</option>)}
              </select>
            </Field>
            <Field label="Window" error={shown.window}><input name="window" value={form.window} onChange={set('window')} /></Field>
            <Field label="Comparator" error={shown.op}>
              <select name="op" className="field-select" value={form.op} onChange={set('op')}>
                {COMPARATORS.map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            </Field>
            <Field label="Threshold" error={shown.threshold}><input name="threshold" value={form.threshold} onChange={set('threshold')} inputMode="decimal" /></Field>
            <Field label="Recovery" error={shown.recovery}><input name="recovery" value={form.recovery} onChange={set('recovery')} inputMode="decimal" placeholder="= threshold" /></Field>
            <Field label="No data" error={shown.noData}>
              <select name="noData" className="field-select" value={form.noData} onChange={set('noData')}>
                {NO_DATA.map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            </Field>
          </>
        ) : (
          <Field label="Expression" error={shown.expr}>
            <input name="expr" value={form.expr} onChange={set('expr')} placeholder="up == 0" className="rule-expr" />
          </Field>
        )}
        <Field label="For" error={shown.forDuration}><input name="forDuration" value={form.forDuration} onChange={set('forDuration')} /></Field>
        <Field label="Every" error={shown.interval}>
          <input name="interval" value={form.interval} onChange={set('interval')} disabled={Boolean(form.original)} />
        </Field>
        <Field label="Summary"><input name="summary" value={form.summary} onChange={set('summary')} placeholder="{{ $labels.host }} is at {{ $value }}" /></Field>
      </div>
      <pre className="promql" aria-label="PromQL">{rule ? [rule.expr, rule.keep_firing_while && `keep firing while ${rule.keep_firing_while}`].filter(Boolean).join('\n') : '…'}</pre>
      <div className="rule-actions">
        <button type="button" className="btn" onClick={attempt(backtest)}>Backtest last 6 h</button>
        <button type="button" className="btn btn-primary" onClick={attempt(save)}>Save rule</button>
        {onCancel && <button type="button" className="btn" onClick={onCancel}>Cancel</button>}
        {status?.busy && <span className="muted">{status.busy}</span>}
        {status?.saved && <span className="muted" role="status">{status.saved}</span>}
      </div>
      {status?.error && <ErrorNotice error={status.error} />}
      {preview && (
        <div className="backtest">
          <BacktestChart series={preview.series} bands={preview.bands} range={preview.range} threshold={threshold} recovery={recovery} />
          <p className="backtest-summary" role="status">
            {preview.transitions.length} transition{preview.transitions.length === 1 ? '' : 's'} in the last 6 h
            {preview.transitions.length > 0 && `: ${preview.transitions.filter((t) => t.to === 'firing').length} firing`}
          </p>
          <ul className="transitions">
            {preview.transitions.map((t) => (
              <li key={`${t.at}-${t.fingerprint}-${t.to}`}>{formatTime(Date.parse(t.at))} {t.from} → {t.to}</li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
