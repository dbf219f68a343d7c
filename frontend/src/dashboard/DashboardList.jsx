// The saved dashboards: search, open, create, duplicate, delete, export one as JSON and import a JSON file.
import { useState } from 'react';
import { sendJson, urls } from '../api/client.js';
import { formatTime } from '../chart/format.js';
import { Empty, ErrorNotice, LoadingBar } from '../components/Status.jsx';
import { useDebounced, useFetch } from '../data/useFetch.js';
import { newDashboard } from './model.js';

/** Downloads a dashboard as pretty JSON (what POST /api/dashboards imports). */
export function downloadJson(dashboard) {
  const blob = new Blob([JSON.stringify(dashboard, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${dashboard.title.replace(/[^\w.-]+/g, '_')}.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function DashboardList({ open }) {
  const [text, setText] = useState('');
  const [reload, setReload] = useState(0);
  const [title, setTitle] = useState('');
  const [error, setError] = useState(null);
  const search = useDebounced(text.trim(), 200);
  const list = useFetch(urls.dashboards(search), reload);
  const act = (promise) => promise.then(() => setReload((k) => k + 1)).catch(setError);

  const create = async (e) => {
    e.preventDefault();
    if (!title.trim()) return;
    try {
      const made = await sendJson('POST', urls.dashboards(), newDashboard(title.trim()));
      open(made);
    } catch (err) {
      setError(err);
    }
  };
  const duplicate = (d) => act(sendJson('GET', urls.dashboard(d.id)).then((full) =>
    sendJson('POST', urls.dashboards(), { ...full, title: `${full.title} (copy)`, id: undefined, version: undefined })));
  const remove = (d) => window.confirm(`Delete the dashboard “${d.title}”?`) && act(sendJson('DELETE', urls.dashboard(d.id)));
  const exportOne = (d) => sendJson('GET', urls.dashboard(d.id)).then(downloadJson).catch(setError);
  const importFile = async (file) => {
    try {
      const wanted = JSON.parse(await file.text());
      const made = await sendJson('POST', urls.dashboards(), wanted);
      // The server numbers a title that another dashboard has (issue 26: an import no longer duplicates silently).
      open(made, made.title !== wanted.title ? `Imported as “${made.title}”: a dashboard “${wanted.title}” exists.` : '');
    } catch (err) {
      setError(err instanceof SyntaxError ? new Error(`${file.name} is not JSON: ${err.message}`) : err);
    }
  };

  return (
    <section className="panel dashboards" aria-label="Dashboards">
      <LoadingBar active={list.loading} />
      <header className="panel-head">
        <h2>Dashboards</h2>
        <input type="search" className="text-input" placeholder="Search dashboards…" aria-label="Search dashboards"
          value={text} onChange={(e) => setText(e.target.value)} />
        <span className="spacer" />
        <form className="inline-form" onSubmit={create}>
          <input className="text-input" placeholder="New dashboard title" aria-label="New dashboard title" value={title}
            onChange={(e) => setTitle(e.target.value)} />
          <button type="submit" className="btn btn-primary" disabled={!title.trim()}>Create</button>
        </form>
        <label className="btn">
          Import JSON
          <input type="file" accept="application/json,.json" className="sr-only" aria-label="Import a dashboard JSON file"
            onChange={(e) => e.target.files[0] && importFile(e.target.files[0])} />
        </label>
      </header>
      {error && <ErrorNotice error={error} />}
      {list.error && <ErrorNotice error={list.error} />}
      {list.data && list.data.length === 0 && (
        <Empty title={search ? `No dashboard matches “${search}”` : 'No dashboards yet'}>
          Create one here, or use “Add to dashboard” on a chart in Explore.
        </Empty>
      )}
      {list.data && list.data.length > 0 && (
        <div className="table-wrap">
        <table className="data-table dashboard-table" data-testid="dashboard-list">
          <thead><tr><th>Title</th><th className="num">Panels</th><th className="wide-only">Saved</th><th className="num wide-only">Version</th><th /></tr></thead>
          <tbody>
            {list.data.map((d) => (
              <tr key={d.id} data-id={d.id}>
                <td className="label-cell">
                  <a href={`?d=${encodeURIComponent(d.id)}`} onClick={(e) => { e.preventDefault(); open(d); }}>{d.title}</a>
                  {d.description && <div className="muted">{d.description}</div>}
                </td>
                <td className="num">{d.panels}</td>
                <td className="mono wide-only">{formatTime(Date.parse(d.updated_at))}</td>
                <td className="num wide-only">{d.version}</td>
                <td>
                  <div className="row-actions">
                  <button type="button" className="btn btn-small" onClick={() => duplicate(d)}>Duplicate</button>
                  <button type="button" className="btn btn-small" onClick={() => exportOne(d)}>Export</button>
                  <button type="button" className="btn btn-small btn-danger" onClick={() => remove(d)} aria-label={`Delete ${d.title}`}>Delete</button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}
