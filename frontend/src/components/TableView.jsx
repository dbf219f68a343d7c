// The data of the current view as a sortable, paginated table, with the API's own CSV to download.
import { useMemo, useState } from 'react';
import { urls } from '../api/client.js';
import { buildQueryString, partitionQueries } from '../api/query.js';
import { formatTime, formatValue } from '../chart/format.js';
import { toRows, toSeries } from '../data/series.js';
import { useFetchAll } from '../data/useFetch.js';
import { Empty, ErrorNotice, LoadingBar, Spinner } from './Status.jsx';

const PAGE = 50;

/** Compares two cells in direction dir (1 or -1); empty cells go last whichever the direction. */
export const compareCells = (a, b, dir) => {
  if (a == null) return b == null ? 0 : 1;
  if (b == null) return -1;
  return dir * (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)));
};

function SortHeader({ id, label, sort, setSort, numeric }) {
  const dir = sort.key === id ? sort.dir : null;
  return (
    <th className={numeric ? 'num' : ''} aria-sort={dir ? (dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => setSort({ key: id, dir: dir === 1 ? -1 : 1 })}>
        {label}
        <span className="sort-mark" aria-hidden="true">{dir === 1 ? '▲' : dir === -1 ? '▼' : '↕'}</span>
      </button>
    </th>
  );
}

function Pager({ page, pages, total, setPage }) {
  return (
    <nav className="pager" aria-label="Pages">
      <span className="muted">{total.toLocaleString()} rows</span>
      <button type="button" className="btn btn-small" disabled={page === 0} onClick={() => setPage(0)}>«</button>
      <button type="button" className="btn btn-small" disabled={page === 0} onClick={() => setPage(page - 1)}>‹ Prev</button>
      <span className="pager-pos">Page {page + 1} of {pages}</span>
      <button type="button" className="btn btn-small" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>Next ›</button>
      <button type="button" className="btn btn-small" disabled={page >= pages - 1} onClick={() => setPage(pages - 1)}>»</button>
    </nav>
  );
}

export function TableView({ picks, metaOf, view, state, tz, reloadKey }) {
  const parts = partitionQueries(picks, (n) => metaOf(n)?.type, state.agg);
  const queries = parts.map((p) => buildQueryString({ ...p, start: view[0], end: view[1], granularity: state.gran, tz }));
  const res = useFetchAll(queries.map(urls.query), reloadKey, { first: true });
  const [sort, setSort] = useState({ key: 't', dir: 1 });
  const [page, setPage] = useState(0);
  const series = useMemo(() => toSeries(res.data), [res.data]);
  const labelKeys = useMemo(() => [...new Set(series.flatMap((s) => Object.keys(s.labels)))].sort(), [series]);
  const rows = useMemo(() => {
    const get = (r) => (sort.key.startsWith('l:') ? r.labels[sort.key.slice(2)] : r[sort.key]);
    return toRows(series).sort((a, b) => compareCells(get(a), get(b), sort.dir) || a.t - b.t);
  }, [series, sort]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const current = Math.min(page, pages - 1);
  const shown = rows.slice(current * PAGE, current * PAGE + PAGE);

  return (
    <section className="panel panel-table" aria-label="Table">
      <LoadingBar active={res.loading} />
      <header className="panel-head">
        <h2>Data</h2>
        <span className="panel-meta">
          {formatTime(view[0])} – {formatTime(view[1])}
          <span className="chip chip-muted">{res.data?.[0]?.bins || state.gran} bins</span>
        </span>
        <span className="spacer" />
        {queries.map((qs, i) => (
          <a key={qs} className="btn btn-primary" data-testid="csv-link" href={urls.query(`${qs}&format=csv`)}
            download={`${parts[i].metrics.map((m) => m.name).join('_')}.csv`}>
            Download CSV{parts.length > 1 ? ` (${parts[i].metrics.map((m) => m.name).join(', ')})` : ''}
          </a>
        ))}
      </header>
      {res.error && <ErrorNotice error={res.error} />}
      {!res.error && !res.data && <Spinner />}
      {!res.error && res.data && rows.length === 0 && <Empty />}
      {!res.error && rows.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="data-table" data-testid="data-table">
              <thead>
                <tr>
                  <SortHeader id="t" label="Time" sort={sort} setSort={setSort} />
                  <SortHeader id="metric" label="Metric" sort={sort} setSort={setSort} />
                  {labelKeys.map((k) => <SortHeader key={k} id={`l:${k}`} label={k} sort={sort} setSort={setSort} />)}
                  <SortHeader id="value" label="Value" sort={sort} setSort={setSort} numeric />
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={`${r.key}@${r.t}`}>
                    <td className="mono">{formatTime(r.t)}</td>
                    <td className="label-cell" title={r.metric}>{r.metric}</td>
                    {labelKeys.map((k) => <td key={k} className="label-cell" title={r.labels[k]}>{r.labels[k] ?? ''}</td>)}
                    <td className="num">{r.value == null ? <span className="muted">–</span> : formatValue(r.value, r.unit)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager page={current} pages={pages} total={rows.length} setPage={setPage} />
        </>
      )}
    </section>
  );
}
