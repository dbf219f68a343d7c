// The Alerts page: alerts now (firing first, with value, since when and a link to the chart), the rules with their
// state and health and what can be done with them (RuleList), and the rule editor for a new, edited or duplicated
// rule (RuleEditor). Every time shows in the page's one format, local or UTC as the switch says.
import { useMemo, useState } from 'react';
import { urls } from '../api/client.js';
import { formatTime } from '../chart/format.js';
import { ErrorNotice, Spinner } from '../components/Status.jsx';
import { useFetch } from '../data/useFetch.js';
import { RuleEditor } from './RuleEditor.jsx';
import { RuleList } from './RuleList.jsx';
import { EMPTY_FORM, definitionOf, formOfRule, metricOf } from './ruleForm.js';

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
              <td>{formatTime(Date.parse(a.since))}</td>
              <td>{chartLink(a) && <a href={chartLink(a)}>chart</a>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const NEW_RULE = { form: EMPTY_FORM, title: 'New rule', key: 0 };

export function AlertsView({ reloadKey }) {
  const [saved, setSaved] = useState(0);
  const [editing, setEditing] = useState(NEW_RULE);
  const alerts = useFetch(urls.alerts(), reloadKey + saved);
  const rules = useFetch(urls.rules(), reloadKey + saved);
  const stored = useFetch(urls.ruleGroups(), reloadKey + saved);
  const catalog = useFetch(urls.metrics(), 0);
  const metrics = useMemo(() => (catalog.data || []).filter((m) => m.type === 'gauge' || m.type === 'counter'), [catalog.data]);
  const changed = () => setSaved((k) => k + 1);
  const edit = (copy) => (group, rule) => setEditing((e) => ({
    form: formOfRule(group, rule, { copy }), title: copy ? `Duplicate of ${rule.alert}` : `Edit ${rule.alert}`,
    key: e.key + 1,
  }));
  const done = () => setEditing((e) => ({ ...NEW_RULE, key: e.key + 1 }));
  const error = rules.error || stored.error;
  return (
    <div className="panels alerts-view">
      <section className="panel" aria-label="Alerts">
        <div className="panel-head"><h2>Alerts</h2>
          {alerts.data && <span className="panel-meta">{alerts.data.firing} firing · {alerts.data.pending} pending</span>}</div>
        {alerts.error ? <ErrorNotice error={alerts.error} /> : alerts.data ? <AlertList data={alerts.data} /> : <Spinner />}
      </section>
      <section className="panel" aria-label="Rules">
        <div className="panel-head"><h2>Rules</h2></div>
        {error ? <ErrorNotice error={error} /> : rules.data && stored.data
          ? <RuleList stored={stored.data.groups.map(definitionOf)} live={rules.data.data.groups} onEdit={edit(false)} onCopy={edit(true)} onChanged={changed} />
          : <Spinner />}
      </section>
      <section className="panel" aria-label="Rule editor">
        <div className="panel-head"><h2>{editing.title}</h2></div>
        <RuleEditor key={editing.key} metrics={metrics} initial={editing.form} title={editing.title}
          onSaved={editing.form.original ? () => { changed(); done(); } : changed}
          onCancel={editing.form === EMPTY_FORM ? null : done} />
      </section>
    </div>
  );
}
