// Legend: one row per series with its mean, min, max and last value; click shows only that series (click again
// to show all), ctrl/⌘-click hides or shows it; the column headers sort the rows.
import { useState } from 'react';
import { formatValue } from './format.js';

/**
 * Mean and last over the bins' values; min and max over the bins' own min and max when the server sent them
 * (chart mode), since the max of bin averages understates a spike inside a bin.
 */
export function legendStats(s) {
  let sum = 0;
  let n = 0;
  let last = null;
  for (const v of s.values) {
    if (v == null) continue;
    sum += v;
    n += 1;
    last = v;
  }
  const extreme = (col, better) => {
    let out = null;
    for (const v of col) if (v != null && (out == null || better(v, out))) out = v;
    return out;
  };
  return {
    mean: n ? sum / n : null,
    min: extreme(s.min || s.values, (a, b) => a < b),
    max: extreme(s.max || s.values, (a, b) => a > b),
    last,
  };
}

const COLUMNS = [['mean', 'Mean'], ['min', 'Min'], ['max', 'Max'], ['last', 'Last']];

export function Legend({ series, hidden, onToggle, onSolo }) {
  const [sort, setSort] = useState(null);
  const rows = series.map((s) => ({ s, st: legendStats(s) }));
  if (sort) {
    rows.sort((a, b) => {
      const [va, vb] = sort.key === 'name' ? [a.s.label, b.s.label] : [a.st[sort.key], b.st[sort.key]];
      if (va == null || vb == null) return va == null ? (vb == null ? 0 : 1) : -1;
      return sort.dir * (typeof va === 'string' ? va.localeCompare(vb) : va - vb);
    });
  }
  const head = (key, label, num) => {
    const dir = sort?.key === key ? sort.dir : 0;
    return (
      <th key={key} className={num ? 'num' : 'legend-name'} aria-sort={dir ? (dir > 0 ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="sort" onClick={() => setSort({ key, dir: dir === -1 ? 1 : -1 })}>
          {label}{dir ? (dir > 0 ? ' ▲' : ' ▼') : ''}
        </button>
      </th>
    );
  };
  return (
    <table className="legend">
      <colgroup>
        <col />
        {COLUMNS.map(([key]) => <col key={key} className={`legend-col legend-col-${key}`} />)}
      </colgroup>
      <thead>
        <tr>
          {head('name', 'Series', false)}
          {COLUMNS.map(([key, label]) => head(key, label, true))}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ s, st }) => {
          const off = hidden.has(s.key);
          return (
            <tr key={s.key} className={off ? 'is-off' : ''}>
              <td className="legend-name">
                <button type="button" className="legend-item" aria-pressed={!off} title={`${s.label}\nclick: only this series · ctrl-click: hide or show`}
                  onClick={(e) => (e.ctrlKey || e.metaKey ? onToggle(s.key) : onSolo(s.key))}>
                  <span className="swatch swatch-line" style={{ background: s.color }} />
                  <span className="legend-label">{s.label}</span>
                  {s.agg && <span className="chip chip-muted">{s.across ? `${s.across} of ${s.count} · ${s.agg}` : s.agg}</span>}
                </button>
              </td>
              {COLUMNS.map(([key]) => <td key={key} className={`num legend-col-${key}`}>{formatValue(st[key], s.unit)}</td>)}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
