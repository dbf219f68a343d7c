// The Alerts page: alerts now (firing first, with value, since when and a link to the chart), the rules with
// their state and health, and the rule editor: a form that writes the PromQL, a backtest preview, save.
import { useMemo, useState } from 'react';
import { getJson, sendJson, urls } from '../api/client.js';
import { ErrorNotice, Spinner } from '../components/Status.jsx';
import { useFetch } from '../data/useFetch.js';
import { BacktestChart } from './BacktestChart.jsx';
import { AGGREGATIONS, COMPARATORS, EMPTY_FORM, NO_DATA, groupWith, metricOf, ruleOf, seriesExpr, validate } from './ruleForm.js';

const PREVIEW_MS = 6 * 3600_000;
const chartLink = (alert) => {
  const metric = metricOf(alert.expr);
  return metric ? `?m=${encodeURIComponent(metric)}&from=${Date.parse(alert.since) - 3600_000}&to=now` : null;
};

function AlertList({ data }) {
  if (!data.alerts.length) return <p className="muted">No alert is pending or firing.</p>;
  return (
    <div className="table-wrap">
      <table className="data-table alerts-table">
        <thead><tr><th>State</th><th>Alert</th><th>Labels</th><th>Value</th><th>Since</th><th /></tr></thead>
        <tbody>
          {data.alerts.map((a) => (
            <tr key={a.fingerprint} className={`alert-${a.state}`}>
              <td><span className={`badge badge-${a.state}`}>{a.state}</span></td>
              <td>{a.rule}<div className="muted">{a.annotations.summary}</div></td>
              <td className="labels">{Object.entries(a.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `${k}=${v}`).join(', ')}</td>
              <td className="num">{a.value === null ? '—' : a.value.toPrecision(4)}</td>
              <td>{new Date(a.since).toLocaleString()}</td>
              <td>{chartLink(a) && <a href={chartLink(a)}>chart</a>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RuleList({ groups }) {
  const rows = groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => ({ g, r })));
  if (!rows.length) return <p className="muted">No alerting rule yet.</p>;
  return (
    <div className="table-wrap">
      <table className="data-table rules-table">
        <thead><tr><th>Group</th><th>Rule</th><th>Expression</th><th>For</th><th>State</th><th>Health</th></tr></thead>
        <tbody>
          {rows.map(({ g, r }) => (
            <tr key={`${g.name}/${r.name}`}>
              <td>{g.name}</td><td>{r.name}</td><td><code>{r.query}</code></td><td>{r.duration}s</td>
              <td><span className={`badge badge-${r.state}`}>{r.state}</span></td>
              <td title={r.lastError}>{r.health}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Field({ label, error, children }) {
  return (
    <label className="rule-field">
      <span className="field-label">{label}</span>
      {children}
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

function RuleEditor({ metrics, onSaved }) {
  const [form, setForm] = useState(EMPTY_FORM);
  const [preview, setPreview] = useState(null);
  const [status, setStatus] = useState(null);
  const errors = validate(form);
  const valid = Object.keys(errors).length === 0;
  const rule = valid ? ruleOf(form) : null;
  const set = (key) => (e) => setForm((f) => ({ ...f, [key]: e.target.value }));

  const backtest = async () => {
    setStatus({ busy: 'Backtesting…' });
    const end = Date.now();
    const start = end - PREVIEW_MS;
    try {
      const [result, values] = await Promise.all([
        sendJson('POST', urls.backtest(), { rule, interval: form.interval, start: start / 1000, end: end / 1000 }),
        getJson(urls.queryRange(seriesExpr(form), start, end, 60_000)),
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

  return (
    <form className="rule-editor" onSubmit={(e) => e.preventDefault()} aria-label="New alert rule">
      <div className="rule-grid">
        <Field label="Name" error={errors.alert}><input name="alert" value={form.alert} onChange={set('alert')} placeholder="HighTraffic" /></Field>
        <Field label="Group" error={errors.group}><input name="group" value={form.group} onChange={set('group')} /></Field>
        <Field label="Metric" error={errors.metric}>
          <select name="metric" className="field-select" value={form.metric} onChange={set('metric')}>
            <option value="">—</option>
            {metrics.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}
          </select>
        </Field>
        <Field label="Filters" error={errors.filters}><input name="filters" value={form.filters} onChange={set('filters')} placeholder="section=/api" /></Field>
        <Field label="Aggregation" error={errors.agg}>
          <select name="agg" className="field-select" value={form.agg} onChange={set('agg')}>
            {Object.keys(AGGREGATIONS).map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </Field>
        <Field label="Window" error={errors.window}><input name="window" value={form.window} onChange={set('window')} /></Field>
        <Field label="Comparator" error={errors.op}>
          <select name="op" className="field-select" value={form.op} onChange={set('op')}>
            {COMPARATORS.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </Field>
        <Field label="Threshold" error={errors.threshold}><input name="threshold" value={form.threshold} onChange={set('threshold')} inputMode="decimal" /></Field>
        <Field label="Recovery" error={errors.recovery}><input name="recovery" value={form.recovery} onChange={set('recovery')} inputMode="decimal" placeholder="= threshold" /></Field>
        <Field label="For" error={errors.forDuration}><input name="forDuration" value={form.forDuration} onChange={set('forDuration')} /></Field>
        <Field label="Every" error={errors.interval}><input name="interval" value={form.interval} onChange={set('interval')} /></Field>
        <Field label="No data" error={errors.noData}>
          <select name="noData" className="field-select" value={form.noData} onChange={set('noData')}>
            {NO_DATA.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </Field>
      </div>
      <pre className="promql" aria-label="PromQL">{rule ? [rule.expr, rule.keep_firing_while && `keep firing while ${rule.keep_firing_while}`].filter(Boolean).join('\n') : '…'}</pre>
      <div className="rule-actions">
        <button type="button" className="btn" disabled={!valid} onClick={backtest}>Backtest last 6 h</button>
        <button type="button" className="btn btn-primary" disabled={!valid} onClick={save}>Save rule</button>
        {status?.busy && <span className="muted">{status.busy}</span>}
        {status?.saved && <span className="muted" role="status">{status.saved}</span>}
      </div>
      {status?.error && <ErrorNotice error={status.error} />}
      {preview && (
        <div className="backtest">
          <BacktestChart series={preview.series} bands={preview.bands} range={preview.range} threshold={Number(form.threshold)}
            recovery={form.recovery === '' ? null : Number(form.recovery)} />
          <p className="backtest-summary" role="status">
            {preview.transitions.length} transition{preview.transitions.length === 1 ? '' : 's'} in the last 6 h
            {preview.transitions.length > 0 && `: ${preview.transitions.filter((t) => t.to === 'firing').length} firing`}
          </p>
          <ul className="transitions">
            {preview.transitions.map((t) => (
              <li key={`${t.at}-${t.fingerprint}-${t.to}`}>{new Date(t.at).toLocaleTimeString()} {t.from} → {t.to}</li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}

export function AlertsView({ reloadKey }) {
  const [saved, setSaved] = useState(0);
  const alerts = useFetch(urls.alerts(), reloadKey + saved);
  const rules = useFetch(urls.rules(), reloadKey + saved);
  const catalog = useFetch(urls.metrics(), 0);
  const metrics = useMemo(() => (catalog.data || []).filter((m) => m.type === 'gauge' || m.type === 'counter'), [catalog.data]);
  return (
    <div className="panels alerts-view">
      <section className="panel" aria-label="Alerts">
        <div className="panel-head"><h2>Alerts</h2>
          {alerts.data && <span className="panel-meta">{alerts.data.firing} firing · {alerts.data.pending} pending</span>}</div>
        {alerts.error ? <ErrorNotice error={alerts.error} /> : alerts.data ? <AlertList data={alerts.data} /> : <Spinner />}
      </section>
      <section className="panel" aria-label="Rules">
        <div className="panel-head"><h2>Rules</h2></div>
        {rules.error ? <ErrorNotice error={rules.error} /> : rules.data ? <RuleList groups={rules.data.data.groups} /> : <Spinner />}
      </section>
      <section className="panel" aria-label="Rule editor">
        <div className="panel-head"><h2>New rule</h2></div>
        <RuleEditor metrics={metrics} onSaved={() => setSaved((k) => k + 1)} />
      </section>
    </div>
  );
}
