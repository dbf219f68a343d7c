// Range presets, absolute from/to (typed in the same format the headers show), bins, aggregation, refresh with
// an auto-refresh interval and how long ago the data was fetched.
import { useEffect, useRef, useState } from 'react';
import { formatTime } from '../chart/format.js';
import { AGG_CHOICES, GRANULARITIES } from '../model.js';
import { REFRESH } from '../state/urlState.js';
import { PRESETS, parseInputTime, presetFor } from '../time/range.js';

function AbsoluteRange({ range, onApply }) {
  const [from, setFrom] = useState(formatTime(range[0]));
  const [to, setTo] = useState(formatTime(range[1]));
  const form = useRef(null);
  // Follow the range (presets, refresh ticks, zoom) unless the user is typing in these fields.
  const [r0, r1] = range;
  useEffect(() => {
    if (form.current?.contains(document.activeElement)) return;
    setFrom(formatTime(r0));
    setTo(formatTime(r1));
  }, [r0, r1]);
  const a = parseInputTime(from);
  const b = parseInputTime(to);
  const valid = a < b;
  return (
    <form
      ref={form}
      className="abs-range"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) onApply(a, b);
      }}
    >
      <input type="text" inputMode="numeric" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="From"
        placeholder="YYYY-MM-DD HH:MM" aria-invalid={Number.isNaN(a)} spellCheck={false} />
      <span className="muted">→</span>
      <input type="text" inputMode="numeric" value={to} onChange={(e) => setTo(e.target.value)} aria-label="To"
        placeholder="YYYY-MM-DD HH:MM" aria-invalid={Number.isNaN(b)} spellCheck={false} />
      <button type="submit" className="btn btn-small" disabled={!valid}>Apply</button>
    </form>
  );
}

function Select({ label, value, options, onChange, title }) {
  return (
    <label className="select" title={title}>
      <span className="select-label">{label}</span>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </label>
  );
}

/** Bin size and aggregation of the data: they shape what the chart and the table show. */
export function DataControls({ state, update }) {
  return (
    <div className="data-controls">
      <Select label="Bins" value={state.gran} options={GRANULARITIES} onChange={(gran) => update({ gran })}
        title="Bin size: auto fits the chart's width (with min–max bands) or picks minute/hour/day for the table" />
      <Select label="Agg" value={state.agg} options={AGG_CHOICES} onChange={(agg) => update({ agg })}
        title="Aggregation per bin: auto is rate for counters and avg otherwise" />
    </div>
  );
}

/** "updated 12s ago", ticking every second. */
function Updated({ at }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const s = Math.max(0, Math.round((now - at) / 1000));
  return (
    <span className="updated muted" data-testid="updated" title={`Data fetched at ${formatTime(at)}`}>
      updated {s < 90 ? `${s}s` : `${Math.round(s / 60)}m`} ago
    </span>
  );
}

export function TimeControls({ state, range, update, onRefresh, busy, updatedAt, zone }) {
  const preset = presetFor(state);
  return (
    <div className="time-controls">
      <div className="segmented" role="group" aria-label="Time range">
        {PRESETS.map((p) => (
          <button key={p.from} type="button" title={p.title} aria-pressed={preset === p}
            className={`toggle${preset === p ? ' is-on' : ''}`}
            onClick={() => update({ from: p.from, to: 'now', zoom: null })}>
            {p.label}
          </button>
        ))}
      </div>
      <AbsoluteRange key={state.tz} range={range} onApply={(a, b) => update({ from: String(a), to: String(b), zoom: null, refresh: 'off' })} />
      <button type="button" className="btn btn-small tz-switch" data-testid="tz" aria-label={`Times in ${state.tz === 'utc' ? 'UTC' : `local time (${zone})`}; switch`}
        title={`Times are shown in ${zone}; click for ${state.tz === 'utc' ? 'local time' : 'UTC'}`}
        onClick={() => update({ tz: state.tz === 'utc' ? 'local' : 'utc' })}>
        {state.tz === 'utc' ? 'UTC' : 'local'}
      </button>
      <div className="refresh">
        <button type="button" className={`btn btn-icon${busy ? ' is-spinning' : ''}`} onClick={onRefresh}
          aria-label="Refresh" aria-busy={busy} title="Refresh (r)">
          <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
            <path d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v3h-3" fill="none" stroke="currentColor" strokeWidth="1.6" />
          </svg>
        </button>
        <select className={`refresh-every${state.refresh !== 'off' ? ' is-on' : ''}`} aria-label="Refresh every"
          value={state.refresh} title="Auto-refresh, following now"
          onChange={(e) => update(e.target.value === 'off' ? { refresh: 'off' } : followNow(state, range, e.target.value))}>
          {Object.keys(REFRESH).map((r) => <option key={r} value={r}>{r === 'off' ? 'auto off' : `every ${r}`}</option>)}
        </select>
        <Updated at={updatedAt} />
      </div>
    </div>
  );
}

/** Auto-refresh makes an absolute range relative (same length, ending now), so each tick moves it. */
function followNow(state, range, refresh) {
  if (state.to === 'now') return { refresh };
  const minutes = Math.max(1, Math.round((range[1] - range[0]) / 60000));
  return { refresh, from: `-${minutes}m`, to: 'now', zoom: null };
}
