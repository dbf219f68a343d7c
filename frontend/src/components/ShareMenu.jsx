// Sharing a chart: download it as PNG or SVG (with its title, time range and legend), copy its API query as a
// curl command, or copy its data as CSV (one table, however many requests the chart makes) or JSON (the API's own answers).
import { useRef, useState } from 'react';
import { getJson, getText } from '../api/client.js';
import { downloadPng, downloadSvg } from '../chart/exportChart.js';
import { formatTime } from '../chart/format.js';
import { STAT_COLUMNS } from '../chart/legendStats.js';
import { mergeCsv } from '../data/csv.js';

const absolute = (url) => new URL(url, window.location.href).href;
// The page's session cookie does not travel with a pasted command: it reads an API token from the shell.
const curlOf = (url) => `curl -H "Authorization: Bearer $METRICS_TOKEN" '${absolute(url)}'`;
const withFormat = (url, format) => `${url}${url.includes('?') ? '&' : '?'}format=${format}`;

/** The legend rows shown beside the chart (series hidden there are left out), as the exported file lists them. */
function legendRows(svg) {
  const rows = svg?.closest('section')?.querySelectorAll('.legend tbody tr:not(.is-off)') || [];
  return [...rows].map((tr) => ({
    color: getComputedStyle(tr.querySelector('.swatch')).backgroundColor,
    name: tr.querySelector('.legend-label').textContent,
    values: STAT_COLUMNS.map(([key, heading]) => `${heading} ${tr.querySelector(`[data-stat=${key}]`).textContent}`)
      .join(' · '),
  }));
}

async function copy(text) {
  await navigator.clipboard.writeText(text);
}

/**
 * svgOf() finds the chart's <svg>; urlsOf() its /api/query URLs (none: no copy items); name: the file name;
 * title and view ([t0, t1] ms) head the exported image.
 */
export function ShareMenu({ svgOf, urlsOf = () => [], name, title, view }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const ref = useRef(null);
  const run = (label, action) => async () => {
    setOpen(false);
    try {
      await action();
      setNote(label);
    } catch (err) {
      setNote(`failed: ${err.message}`);
    }
    setTimeout(() => setNote(''), 2500);
  };
  const urls = open ? urlsOf() : [];
  const caption = () => ({
    title: title || name, range: `${formatTime(view[0])} – ${formatTime(view[1])}`, legend: legendRows(svgOf()),
  });
  const items = [
    ['PNG', 'Downloaded PNG', () => downloadPng(svgOf(), caption(), name)],
    ['SVG', 'Downloaded SVG', () => downloadSvg(svgOf(), caption(), name)],
    ['Copy curl', 'Copied the curl command (set METRICS_TOKEN to an API token)', () => copy(urls.map(curlOf).join('\n'))],
    ['Copy CSV', 'Copied CSV', async () => copy(mergeCsv(await Promise.all(urls.map((u) => getText(withFormat(u, 'csv'))))))],
    ['Copy JSON', 'Copied JSON', async () => copy(JSON.stringify(await Promise.all(urls.map((u) => getJson(u))), null, 2))],
  ].filter(([label]) => urls.length || !label.startsWith('Copy'));
  return (
    <span className="share" ref={ref} onBlur={(e) => !ref.current.contains(e.relatedTarget) && setOpen(false)}>
      <button type="button" className="btn btn-small" aria-expanded={open} aria-haspopup="menu" onClick={() => setOpen((o) => !o)}>
        Share
      </button>
      {open && (
        <span className="share-menu" role="menu">
          {items.map(([label, done, action]) => (
            <button key={label} type="button" role="menuitem" className="share-item" onClick={run(done, action)}>{label}</button>
          ))}
        </span>
      )}
      {note && <span className="share-note muted" role="status">{note}</span>}
    </span>
  );
}
