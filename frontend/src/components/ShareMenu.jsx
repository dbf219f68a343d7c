// Sharing a chart: download it as PNG or SVG, copy its API query as a curl command, or copy its data as CSV or
// JSON (the API's own answers to that query).
import { useRef, useState } from 'react';
import { getJson } from '../api/client.js';
import { downloadPng, downloadSvg } from '../chart/exportChart.js';

const absolute = (url) => new URL(url, window.location.href).href;
const withFormat = (url, format) => `${url}${url.includes('?') ? '&' : '?'}format=${format}`;

async function copy(text) {
  await navigator.clipboard.writeText(text);
}

/** svgOf() finds the chart's <svg>; urlsOf() its /api/query URLs (none: no copy items); name: the file name. */
export function ShareMenu({ svgOf, urlsOf = () => [], name }) {
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
  const items = [
    ['PNG', 'Downloaded PNG', () => downloadPng(svgOf(), name)],
    ['SVG', 'Downloaded SVG', () => downloadSvg(svgOf(), name)],
    ['Copy curl', 'Copied the curl command', () => copy(urls.map((u) => `curl '${absolute(u)}'`).join('\n'))],
    ['Copy CSV', 'Copied CSV', async () => copy((await Promise.all(urls.map((u) => fetch(withFormat(u, 'csv')).then((r) => r.text())))).join('\n'))],
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
