// One saved dashboard: its title, variables (chosen from a label's values, kept in the URL), the panel grid,
// and saving with the version it was loaded at (a 409 says someone saved in between, and offers to reload).
import { useEffect, useMemo, useState } from 'react';
import { sendJson, urls } from '../api/client.js';
import { ErrorNotice, LoadingBar, Spinner } from '../components/Status.jsx';
import { useFetch } from '../data/useFetch.js';
import { downloadJson } from './DashboardList.jsx';
import { History } from './History.jsx';
import { NO_Y, duplicatePanel, movePanel, panelId, removePanel, updatePanel } from './model.js';
import { PanelCard } from './PanelCard.jsx';
import { PanelEditor } from './PanelEditor.jsx';

/** The values of a variable's label (the chosen ones among them from the start: panels use them while these load). */
function useLabelValues(variable, chosen) {
  const series = useFetch(urls.series(variable.metric));
  return useMemo(
    () => [...new Set([...(series.data || []).map((l) => l[variable.label]), ...chosen].filter(Boolean))].sort(),
    [series.data, variable.label, chosen],
  );
}

/**
 * A variable's choice, kept in the URL as var-<name> (repeated): one value or "all" from a list, or for a
 * multi-value variable any number of values ticked in a drop-down (none: all), as Grafana's multi-value variables.
 */
function VariablePicker({ variable, chosen, onChange }) {
  const options = useLabelValues(variable, chosen);
  const title = `$${variable.name}: ${variable.label} of ${variable.metric}`;
  if (!variable.multi) {
    return (
      <label className="select" title={title}>
        <span className="select-label">${variable.name}</span>
        <select value={chosen[0] || ''} onChange={(e) => onChange(e.target.value ? [e.target.value] : [])}
          aria-label={`Variable ${variable.name}`}>
          <option value="">all</option>
          {options.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      </label>
    );
  }
  const flip = (o) => onChange(chosen.includes(o) ? chosen.filter((c) => c !== o) : [...chosen, o].sort());
  return (
    <details className="var-multi" title={title} data-variable={variable.name}>
      <summary className="select">
        <span className="select-label">${variable.name}</span>
        <span className="var-multi-value">{chosen.length ? chosen.join(', ') : 'all'}</span>
      </summary>
      <fieldset className="var-multi-menu" aria-label={`Variable ${variable.name}: values`}>
        {options.map((o) => (
          <label key={o} className="var-check">
            <input type="checkbox" checked={chosen.includes(o)} onChange={() => flip(o)} /> {o}
          </label>
        ))}
        {chosen.length > 0 && <button type="button" className="btn btn-small" onClick={() => onChange([])}>All</button>}
      </fieldset>
    </details>
  );
}

const VARIABLE_TEXT = /^\s*\$?([A-Za-z_]\w*)\s*=\s*([A-Za-z_][\w:.-]*)\s*\.\s*([A-Za-z_]\w*)\s*$/;

function VariableForm({ onAdd }) {
  const [text, setText] = useState('');
  const [multi, setMulti] = useState(false);
  const m = VARIABLE_TEXT.exec(text);
  return (
    <form className="inline-form" onSubmit={(e) => {
      e.preventDefault();
      if (m) {
        onAdd({ name: m[1], metric: m[2], label: m[3], multi });
        setText('');
      }
    }}>
      <input className="text-input" value={text} onChange={(e) => setText(e.target.value)} placeholder="$host = cpu_usage.host"
        aria-label="New variable ($name = metric.label)" aria-invalid={!!text && !m} />
      <label className="var-check" title="Choose several values at once (the panels show each)">
        <input type="checkbox" checked={multi} onChange={(e) => setMulti(e.target.checked)} /> several
      </label>
      <button type="submit" className="btn btn-small" disabled={!m}>Add variable</button>
    </form>
  );
}

const NONE = Object.freeze([]);

export function DashboardView({ id, note, state, update, metaOf, view, reloadKey, onZoom, tools }) {
  const [loadKey, setLoadKey] = useState(0);
  const loaded = useFetch(urls.dashboard(id), loadKey);
  const [draft, setDraft] = useState(null);
  const [editing, setEditing] = useState(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState(null);
  const [savedNote, setSavedNote] = useState('');
  const [history, setHistory] = useState(false);
  const { from, to } = state;
  useEffect(() => {
    if (!loaded.data) return;
    setDraft(loaded.data);
    // A link without a range opens the dashboard at its saved range.
    if (from === '-6h' && to === 'now' && (loaded.data.time.from !== from || loaded.data.time.to !== to)) {
      update({ from: loaded.data.time.from, to: loaded.data.time.to }, { replace: true });
    }
  }, [loaded.data]); // eslint-disable-line react-hooks/exhaustive-deps -- only when a version arrives
  if (loaded.error && !draft) return <section className="panel"><ErrorNotice error={loaded.error} /></section>;
  if (!draft) return <section className="panel"><Spinner label="Loading the dashboard…" /></section>;

  const dirty = JSON.stringify(draft) !== JSON.stringify(loaded.data) || draft.time.from !== state.from || draft.time.to !== state.to;
  const change = (patch) => setDraft((d) => ({ ...d, ...patch }));
  const setPanels = (f) => setDraft((d) => ({ ...d, panels: f(d.panels) }));
  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const saved = await sendJson('PUT', urls.dashboard(id), { ...draft, time: { from: state.from, to: state.to } });
      setDraft(saved);
      setLoadKey((k) => k + 1);
      setSavedNote(`Saved as version ${saved.version}`);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };
  const reload = () => {
    setDraft(null);
    setError(null);
    setLoadKey((k) => k + 1);
  };
  const addPanel = () => setEditing({
    id: panelId(), title: '', metrics: [], agg: 'auto', group_by: [], chart: 'line', y: { ...NO_Y }, w: 6, h: 2, isNew: true,
  });

  return (
    <div className="dashboard" data-testid="dashboard" data-version={draft.version}>
      <section className="panel dashboard-bar">
        <LoadingBar active={loaded.loading || saving} />
        <input className="title-input" value={draft.title} onChange={(e) => change({ title: e.target.value })} aria-label="Dashboard title" />
        {draft.variables.map((v) => (
          <VariablePicker key={v.name} variable={v} chosen={state.vars[v.name] || NONE}
            onChange={(value) => update((s) => ({ vars: { ...s.vars, [v.name]: value } }))} />
        ))}
        <VariableForm onAdd={(v) => change({ variables: [...draft.variables.filter((x) => x.name !== v.name), v] })} />
        <span className="spacer" />
        {tools}
        <span className="muted" data-testid="save-state">{dirty ? 'unsaved changes' : savedNote || `version ${draft.version}`}</span>
        <button type="button" className="btn" onClick={addPanel}>Add panel</button>
        <button type="button" className="btn" aria-expanded={history} onClick={() => setHistory((h) => !h)}>History</button>
        <button type="button" className="btn" onClick={() => downloadJson(draft)}>Export JSON</button>
        <button type="button" className="btn btn-primary" onClick={save} disabled={saving || !draft.title.trim()}>Save</button>
      </section>
      {history && (
        <History id={id} current={loaded.data?.version ?? draft.version} dirty={dirty} onClose={() => setHistory(false)}
          onRestored={(saved, from) => {
            setDraft(saved);
            setLoadKey((k) => k + 1);
            setSavedNote(`Restored version ${from} as version ${saved.version}`);
          }} />
      )}
      {note && <div className="notice notice-info" role="status" data-testid="imported-note">{note}</div>}
      {error && (
        <div className="notice notice-error" role="alert">
          <strong>{error.status === 409 ? 'Not saved: someone else saved this dashboard' : 'Not saved'}</strong>
          <span className="error-message">{error.message}</span>
          {error.status === 409 && <button type="button" className="btn btn-small" onClick={reload}>Reload their version</button>}
        </div>
      )}
      {draft.panels.length === 0 && (
        <section className="panel"><p className="muted">No panels yet: “Add panel”, or “Add to dashboard” from a chart in Explore.</p></section>
      )}
      <div className="dash-grid">
        {draft.panels.map((p) => (
          <PanelCard key={p.id} panel={p} values={state.vars} metaOf={metaOf} view={view} reloadKey={reloadKey} onZoom={onZoom}
            onEdit={() => setEditing(p)} onChange={(patch) => setPanels((ps) => updatePanel(ps, p.id, patch))}
            onMove={(d) => setPanels((ps) => movePanel(ps, p.id, d))} onDuplicate={() => setPanels((ps) => duplicatePanel(ps, p.id))}
            onRemove={() => setPanels((ps) => removePanel(ps, p.id))} />
        ))}
      </div>
      {editing && (
        <PanelEditor panel={editing} onCancel={() => setEditing(null)} onApply={(panel) => {
          const { isNew, ...clean } = panel;
          setPanels((ps) => (isNew ? [...ps, clean] : updatePanel(ps, clean.id, clean)));
          setEditing(null);
        }} />
      )}
    </div>
  );
}
