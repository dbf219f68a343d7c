// Settings of one picked metric: chart type, label filters (values from /series, plus any value the URL asks
// for that no series has, so a filter that matches nothing can be seen and removed) and how series combine.
import { useMemo } from 'react';
import { urls } from '../api/client.js';
import { useFetch } from '../data/useFetch.js';
import { ACROSS, CHART_TYPES, LINE_TYPES, chartOf } from '../model.js';
import { TypeBadge } from './TypeBadge.jsx';

function Toggle({ on, onClick, children, missing = false }) {
  return (
    <button type="button" className={`toggle${on ? ' is-on' : ''}${missing ? ' is-missing' : ''}`} aria-pressed={on}
      onClick={onClick} title={missing ? `${children}: no series has this value` : String(children)}>
      {children}
    </button>
  );
}

export function PickEditor({ pick, meta, onChange, onRemove }) {
  const type = meta?.type || 'gauge';
  const series = useFetch(urls.series(pick.name));
  const values = useMemo(() => {
    const out = {};
    for (const key of meta?.label_keys || []) out[key] = new Set();
    for (const labels of series.data || []) {
      for (const [k, v] of Object.entries(labels)) (out[k] ||= new Set()).add(v);
    }
    for (const [k, vs] of Object.entries(pick.filters)) for (const v of vs) (out[k] ||= new Set()).add(v);
    return Object.fromEntries(Object.entries(out).map(([k, s]) => [k, [...s].sort()]));
  }, [series.data, meta, pick.filters]);
  const known = useMemo(() => new Set((series.data || []).flatMap((l) => Object.entries(l).map(([k, v]) => `${k}=${v}`))),
    [series.data]);
  const loading = !series.data && !series.error;
  const keys = Object.keys(values);
  const chart = chartOf(pick, type);

  const toggleValue = (key, value) => {
    const cur = pick.filters[key] || [];
    const next = cur.includes(value) ? cur.filter((v) => v !== value) : [...cur, value];
    const filters = { ...pick.filters, [key]: next };
    if (!next.length) delete filters[key];
    onChange({ ...pick, filters });
  };
  // One select for how series combine: each apart, pooled per label value, or folded over all (server side).
  const combine = pick.across ? `*${pick.across}` : (pick.groupBy || [])[0] || '';
  const setCombine = (v) => {
    const { across, ...rest } = pick;
    if (v.startsWith('*')) onChange({ ...rest, groupBy: [], across: v.slice(1) });
    else onChange({ ...rest, groupBy: v ? [v] : [] });
  };

  return (
    <article className="pick" data-metric={pick.name}>
      <header className="pick-head">
        <TypeBadge type={type} />
        <span className="pick-name" title={meta?.description || pick.name}>{pick.name}</span>
        {meta?.unit && <span className="unit">{meta.unit}</span>}
        <button type="button" className="icon-btn" aria-label={`Remove ${pick.name}`} onClick={onRemove}>×</button>
      </header>
      <div className="field">
        <span className="field-label">Chart</span>
        <div className="segmented" role="group" aria-label={`Chart type of ${pick.name}`}>
          {(CHART_TYPES[type] || CHART_TYPES.gauge).map((c) => (
            <Toggle key={c} on={chart === c} onClick={() => onChange({ ...pick, chart: c === CHART_TYPES[type]?.[0] ? undefined : c })}>
              {c}
            </Toggle>
          ))}
        </div>
      </div>
      {series.error && <p className="field-error">{series.error.message}</p>}
      {(loading || !meta) && keys.length === 0 && (
        <span className="muted inline-status" role="status"><span className="spinner spinner-small" aria-hidden="true" />loading labels…</span>
      )}
      {keys.map((key) => (
        <div className="field" key={key}>
          <span className="field-label" title={`Filter by ${key}`}>{key}</span>
          <div className="chips" role="group" aria-label={`Filter ${pick.name} by ${key}`}>
            {loading && values[key].length === 0 && (
              <span className="muted inline-status" role="status"><span className="spinner spinner-small" aria-hidden="true" />loading…</span>
            )}
            {!loading && values[key].length === 0 && <span className="muted">no values</span>}
            {values[key].map((v) => (
              <Toggle key={v} on={(pick.filters[key] || []).includes(v)} onClick={() => toggleValue(key, v)}
                missing={!loading && !known.has(`${key}=${v}`)}>{v}</Toggle>
            ))}
          </div>
        </div>
      ))}
      {keys.length > 0 && LINE_TYPES.includes(type) && (
        <label className="field">
          <span className="field-label">Combine</span>
          <select className="field-select" aria-label="Combine series" value={combine}
            onChange={(e) => setCombine(e.target.value)}>
            <option value="">each series</option>
            {keys.map((key) => <option key={key} value={key}>one line per {key}</option>)}
            {ACROSS.map((f) => <option key={f} value={`*${f}`}>{f} of all series</option>)}
          </select>
        </label>
      )}
    </article>
  );
}
