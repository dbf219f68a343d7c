// Legend: one row per series with its own mean, min, max and last value; its name is the part that tells it
// apart from the others, the shared part heads the table. Click shows only that series (again: all), ctrl/⌘-click
// hides or shows it; the column headers sort the rows. In a narrow container (a phone, a half-width panel) each
// row wraps: the name on a line of its own, the four values under the same four headings (styles.css).
import { useState } from 'react';
import { distinctNames } from '../data/series.js';
import { formatValue } from './format.js';
import { STAT_COLUMNS, legendStats } from './legendStats.js';

/**
 * A series' name; with both a metric and labels the metric is cut first ("cpu_us… · host=db-1"), the labels
 * being what tells the series of one metric apart.
 */
function SeriesName({ s }) {
  const [metric, labels] = s.nameParts || ['', ''];
  if (!metric || !labels) return <span className="legend-label">{s.name}</span>;
  return (
    <span className="legend-label legend-label-split">
      <span className="legend-metric">{metric}</span>
      <span className="legend-labels"> · {labels}</span>
    </span>
  );
}

function sortRows(rows, sort) {
  if (!sort) return rows;
  return [...rows].sort((a, b) => {
    const [va, vb] = sort.key === 'name' ? [a.s.name, b.s.name] : [a.st[sort.key], b.st[sort.key]];
    if (va == null || vb == null) return va == null ? (vb == null ? 0 : 1) : -1;
    return sort.dir * (typeof va === 'string' ? va.localeCompare(vb) : va - vb);
  });
}

/** series: all of the chart's series; visibility: useSeriesVisibility(series). */
export function Legend({ series, visibility }) {
  const { hidden, toggle, solo } = visibility;
  const [sort, setSort] = useState(null);
  const { shared } = distinctNames(series);
  const rows = sortRows(series.map((s) => ({ s, st: legendStats(s) })), sort);
  const head = (key, label, num) => {
    const dir = sort?.key === key ? sort.dir : 0;
    return (
      <th key={key} className={num ? `num legend-${key}` : 'legend-name'} scope="col"
        aria-sort={dir ? (dir > 0 ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="sort" onClick={() => setSort({ key, dir: dir === -1 ? 1 : -1 })}>
          {label}{dir ? (dir > 0 ? ' ▲' : ' ▼') : ''}
        </button>
      </th>
    );
  };
  return (
    // Value columns as wide as a figure with the longest unit ("24.94 requests/s"), so a figure is never cut.
    <div className="legend-wrap" style={{ '--unit-ch': Math.max(0, ...series.map((s) => (s.unit || '').length)) }}>
      <table className="legend">
        {shared && <caption className="legend-shared" title={shared}>{shared}</caption>}
        <thead>
          <tr>
            {head('name', 'Series', false)}
            {STAT_COLUMNS.map(([key, label]) => head(key, label, true))}
          </tr>
        </thead>
        <tbody>
          {rows.map(({ s, st }) => {
            const off = hidden.has(s.key);
            return (
              <tr key={s.key} className={off ? 'is-off' : ''} data-key={s.key}>
                <td className="legend-name">
                  <button type="button" className="legend-item" aria-pressed={!off}
                    title={`${s.label}\nclick: only this series · ctrl-click: hide or show`}
                    onClick={(e) => (e.ctrlKey || e.metaKey ? toggle(s.key) : solo(s.key))}>
                    <span className="swatch swatch-line" style={{ background: s.color }} />
                    <SeriesName s={s} />
                    {s.agg && <span className="chip chip-muted">{s.across ? `${s.across} of ${s.count} · ${s.agg}` : s.agg}</span>}
                  </button>
                </td>
                {STAT_COLUMNS.map(([key]) => (
                  <td key={key} className={`num legend-${key}`} data-stat={key}>{formatValue(st[key], s.unit)}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
