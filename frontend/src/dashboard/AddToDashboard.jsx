// "Add to dashboard" on the Explore chart: pick a saved dashboard (or name a new one); the chart becomes a
// panel at its end, saved with the version just read, and the dashboard opens.
import { useState } from 'react';
import { sendJson, urls } from '../api/client.js';
import { useFetch } from '../data/useFetch.js';
import { newDashboard } from './model.js';

export function AddToDashboard({ makePanel, onAdded }) {
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState('');
  const [title, setTitle] = useState('');
  const [error, setError] = useState(null);
  const list = useFetch(open ? urls.dashboards() : null);
  const add = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const panel = makePanel();
      let saved;
      if (target) {
        const current = await sendJson('GET', urls.dashboard(target));
        saved = await sendJson('PUT', urls.dashboard(target), { ...current, panels: [...current.panels, panel] });
      } else {
        saved = await sendJson('POST', urls.dashboards(), { ...newDashboard(title.trim()), panels: [panel] });
      }
      setOpen(false);
      onAdded(saved);
    } catch (err) {
      setError(err);
    }
  };
  if (!open) {
    return <button type="button" className="btn btn-small" onClick={() => setOpen(true)}>Add to dashboard</button>;
  }
  return (
    <form className="add-to-dashboard inline-form" onSubmit={add} aria-label="Add this chart to a dashboard">
      <select className="field-select" value={target} onChange={(e) => setTarget(e.target.value)} aria-label="Dashboard">
        <option value="">New dashboard…</option>
        {(list.data || []).map((d) => <option key={d.id} value={d.id}>{d.title}</option>)}
      </select>
      {!target && (
        <input className="text-input" value={title} onChange={(e) => setTitle(e.target.value)} placeholder="Title"
          aria-label="New dashboard title" autoFocus />
      )}
      <button type="submit" className="btn btn-small btn-primary" disabled={!target && !title.trim()}>Add</button>
      <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>Cancel</button>
      {error && <span className="field-error" role="alert">{error.message}</span>}
    </form>
  );
}
