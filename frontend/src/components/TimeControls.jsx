// Range presets, absolute from/to, granularity, aggregation, refresh and the live toggle.
import { useEffect, useRef, useState } from 'react';
import { AGG_CHOICES, GRANULARITIES } from '../model.js';
import { PRESETS, fromLocalInput, presetFor, toLocalInput } from '../time/range.js';

function AbsoluteRange({ range, onApply }) {
  const [from, setFrom] = useState(toLocalInput(range[0]));
  const [to, setTo] = useState(toLocalInput(range[1]));
  const form = useRef(null);
  // Follow the range (presets, live ticks, zoom) unless the user is typing in these fields.
  const [r0, r1] = range;
  useEffect(() => {
    if (form.current?.contains(document.activeElement)) return;
    setFrom(toLocalInput(r0));
    setTo(toLocalInput(r1));
  }, [r0, r1]);
  const a = fromLocalInput(from);
  const b = fromLocalInput(to);
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
      <label>
        <span className="sr-only">From</span>
        <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} aria-label="From" />
      </label>
      <span className="muted">→</span>
      <label>
        <span className="sr-only">To</span>
        <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} aria-label="To" />
      </label>
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

export function TimeControls({ state, range, update, onRefresh, loading }) {
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
      <AbsoluteRange range={range} onApply={(a, b) => update({ from: String(a), to: String(b), zoom: null, live: false })} />
      <button type="button" className={`btn btn-icon${loading ? ' is-spinning' : ''}`} onClick={onRefresh}
        aria-label="Refresh" title="Refresh">
        <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
          <path d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v3h-3" fill="none" stroke="currentColor" strokeWidth="1.6" />
        </svg>
      </button>
      <button type="button" role="switch" aria-checked={state.live}
        className={`live${state.live ? ' is-on' : ''}`}
        title="Auto-refresh every 10 s, following now"
        onClick={() => update(state.live ? { live: false } : liveRange(state, range))}>
        <span className="live-dot" aria-hidden="true" />
        Live
      </button>
    </div>
  );
}

/** Turning live on makes an absolute range relative (same length, ending now). */
function liveRange(state, range) {
  if (state.to === 'now') return { live: true };
  const minutes = Math.max(1, Math.round((range[1] - range[0]) / 60000));
  return { live: true, from: `-${minutes}m`, to: 'now', zoom: null };
}
