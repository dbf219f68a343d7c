// The stored rules with their state and health, and what people do with them: edit, duplicate, disable or enable,
// delete, and read a group's history of changes.
import { useState } from 'react';
import { sendJson, urls } from '../api/client.js';
import { formatTime } from '../chart/format.js';
import { ErrorNotice, Spinner } from '../components/Status.jsx';
import { useFetch } from '../data/useFetch.js';
import { groupToggled, groupWithout } from './ruleForm.js';

/** A group's changes, newest first: when, what, by whom. */
function GroupChanges({ name }) {
  const changes = useFetch(urls.ruleChanges(name));
  if (changes.error) return <ErrorNotice error={changes.error} />;
  if (!changes.data) return <Spinner />;
  return (
    <ul className="rule-changes" aria-label={`Changes of ${name}`}>
      {changes.data.changes.map((c) => (
        <li key={c.at + c.action}>
          {formatTime(Date.parse(c.at))} {c.action} by {c.actor}
          {c.body && `: ${c.body.rules.map((r) => `${r.alert || r.record}${r.disabled ? ' (disabled)' : ''}`).join(', ')}`}
        </li>
      ))}
    </ul>
  );
}

/** stored: the groups as stored (rule-file format); live: /api/v1/rules' groups (state, health). */
export function RuleList({ stored, live, onEdit, onCopy, onChanged }) {
  const [history, setHistory] = useState(null);
  const [error, setError] = useState(null);
  const liveRule = (group, name) => live.find((g) => g.name === group)?.rules.find((r) => r.name === name);
  const change = (group, next) => async () => {
    setError(null);
    try {
      if (next) await sendJson('PUT', urls.ruleGroup(group.name), next);
      else await sendJson('DELETE', urls.ruleGroup(group.name));
      onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const remove = (group, name) => () => {
    if (window.confirm(`Delete rule ${name} of group ${group.name}?`)) change(group, groupWithout(group, name))();
  };
  const rows = stored.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => ({ g, r, l: liveRule(g.name, r.alert) })));
  if (!rows.length) return <p className="muted">No alerting rule yet.</p>;
  return (
    <>
      {error && <ErrorNotice error={error} />}
      <div className="table-wrap">
        <table className="data-table rules-table">
          <thead><tr><th>Group</th><th>Rule</th><th>Expression</th><th>For</th><th>State</th><th>Health</th><th>Last run</th><th /></tr></thead>
          <tbody>
            {rows.map(({ g, r, l }) => (
              <tr key={`${g.name}/${r.alert}`} className={r.disabled ? 'rule-disabled' : undefined}>
                <td>{g.name}</td><td>{r.alert}</td><td><code>{r.expr}</code></td><td>{r.for || '0s'}</td>
                <td>{r.disabled ? <span className="badge badge-inactive">disabled</span>
                  : <span className={`badge badge-${l?.state || 'inactive'}`}>{l?.state || 'inactive'}</span>}</td>
                <td title={l?.lastError}>{l?.health || 'unknown'}</td>
                <td>{l && !l.lastEvaluation.startsWith('0001') ? formatTime(Date.parse(l.lastEvaluation)) : '—'}</td>
                <td className="rule-buttons">
                  <button type="button" className="btn btn-small" onClick={() => onEdit(g, r)}>Edit</button>
                  <button type="button" className="btn btn-small" onClick={() => onCopy(g, r)}>Duplicate</button>
                  <button type="button" className="btn btn-small" onClick={change(g, groupToggled(g, r.alert))}>
                    {r.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button type="button" className="btn btn-small" onClick={remove(g, r.alert)}>Delete</button>
                  <button type="button" className="btn btn-small" onClick={() => setHistory(history === g.name ? null : g.name)}>History</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {history && <GroupChanges key={`${history}-${stored.length}`} name={history} />}
    </>
  );
}
