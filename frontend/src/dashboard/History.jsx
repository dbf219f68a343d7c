// A dashboard's version history: its last saves (newest first) with who saved them, and restoring one, which the
// server saves as the next version (so a restore is itself in the history, and can be undone the same way).
import { useState } from 'react';
import { sendJson, urls } from '../api/client.js';
import { formatTime } from '../chart/format.js';
import { ErrorNotice, LoadingBar } from '../components/Status.jsx';
import { useFetch } from '../data/useFetch.js';

/** Who saved a version, as the server records a principal ('session:ana', 'token:3f…'). */
const saver = (ident) => ident.replace(/^session:/, '').replace(/^token:/, 'token ').replace(/^admin_token:.*/, 'admin token')
  || '—';

function VersionRow({ v, shown, restore }) {
  return (
    <tr data-version={v.version}>
      <td className="num">{v.version}</td>
      <td className="label-cell wide-only">{v.title}</td>
      <td className="mono">{formatTime(Date.parse(v.saved_at))}</td>
      <td className="wide-only">{saver(v.saved_by)}</td>
      <td className="num wide-only">{v.panels}</td>
      <td>
        {shown ? <span className="muted">shown</span>
          : <button type="button" className="btn btn-small" onClick={() => restore(v.version)}>Restore</button>}
      </td>
    </tr>
  );
}

/** id, current (the version shown), dirty (unsaved edits a restore would drop), onRestored(saved, from). */
export function History({ id, current, dirty, onRestored, onClose }) {
  const list = useFetch(urls.dashboardVersions(id), current);
  const [error, setError] = useState(null);
  const restore = async (version) => {
    if (dirty && !window.confirm(`Drop your unsaved changes and restore version ${version}?`)) return;
    setError(null);
    try {
      onRestored(await sendJson('POST', urls.dashboardRestore(id), { restore: version, version: current }), version);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section className="panel history" aria-label="Version history" data-testid="history">
      <LoadingBar active={list.loading} />
      <header className="panel-head">
        <h2>Version history</h2>
        <span className="muted">the last 30 saves</span>
        <span className="spacer" />
        <button type="button" className="btn btn-small" onClick={onClose}>Close</button>
      </header>
      {error && <ErrorNotice error={error} />}
      {list.error && <ErrorNotice error={list.error} />}
      {list.data && (
        <div className="table-wrap">
          <table className="data-table">
            <thead><tr><th className="num">Version</th><th className="wide-only">Title</th><th>Saved</th><th className="wide-only">By</th><th className="num wide-only">Panels</th><th /></tr></thead>
            <tbody>{list.data.map((v) => <VersionRow key={v.version} v={v} shown={v.version === current} restore={restore} />)}</tbody>
          </table>
        </div>
      )}
    </section>
  );
}
