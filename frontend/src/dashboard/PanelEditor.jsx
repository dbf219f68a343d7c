// Editing one panel: title, metrics with filters (one selector per line, `$variable` allowed as a value),
// aggregation, how series combine, chart type, y-axis options and size. Nothing changes until Apply.
import { useState } from 'react';
import { formatSelector, parseSelector } from '../api/selector.js';
import { ACROSS, AGG_CHOICES } from '../model.js';
import { HEIGHTS, PANEL_CHARTS, WIDTHS } from './model.js';

const numberOrNull = (text) => (text.trim() === '' ? null : Number(text));

/** Reads the form into a panel, or returns {error} naming the field that is wrong. */
export function readPanelForm(panel, form) {
  const metrics = form.metrics.split('\n').map((l) => l.trim()).filter(Boolean).map(parseSelector);
  if (!metrics.length) return { error: 'metrics: name at least one metric, e.g. cpu_usage{host="$host"}' };
  const bad = metrics.find((m) => !/^[A-Za-z_][A-Za-z0-9_:.-]*$/.test(m.name));
  if (bad) return { error: `metrics: '${bad.name}' is not a metric name` };
  const min = numberOrNull(form.min);
  const max = numberOrNull(form.max);
  const thresholds = form.thresholds.split(',').map((t) => t.trim()).filter(Boolean).map(Number);
  if ([min, max, ...thresholds].some((v) => v !== null && !Number.isFinite(v))) return { error: 'y: min, max and thresholds must be numbers' };
  if (min !== null && max !== null && min >= max) return { error: 'y: min must be below max' };
  if (form.log && min !== null && min <= 0) return { error: 'y: a log scale needs a positive min' };
  return {
    panel: {
      ...panel, title: form.title.trim(), metrics, agg: form.agg, group_by: form.groupBy.trim() ? [form.groupBy.trim()] : [],
      across: form.across || null,
      chart: form.chart, y: { log: form.log, min, max, thresholds }, w: Number(form.w), h: Number(form.h),
    },
  };
}

export function PanelEditor({ panel, onApply, onCancel }) {
  const [form, setForm] = useState(() => ({
    title: panel.title, metrics: panel.metrics.map(formatSelector).join('\n'), agg: panel.agg,
    groupBy: (panel.group_by || [])[0] || '', across: panel.across || '', chart: panel.chart, log: panel.y.log, min: panel.y.min ?? '',
    max: panel.y.max ?? '', thresholds: panel.y.thresholds.join(', '), w: panel.w, h: panel.h,
  }));
  const [error, setError] = useState(null);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const submit = (e) => {
    e.preventDefault();
    const read = readPanelForm(panel, { ...form, min: String(form.min), max: String(form.max) });
    if (read.error) setError(read.error);
    else onApply(read.panel);
  };
  return (
    <div className="modal-scrim" role="presentation" onKeyDown={(e) => e.key === 'Escape' && onCancel()}>
      <form className="panel modal panel-editor" role="dialog" aria-modal="true" aria-label="Edit panel" onSubmit={submit}>
        <h2>Edit panel</h2>
        <label className="form-row"><span>Title</span><input className="text-input" value={form.title} onChange={set('title')} autoFocus /></label>
        <label className="form-row"><span>Metrics</span>
          <textarea className="text-input" rows={3} value={form.metrics} onChange={set('metrics')} spellCheck={false}
            placeholder={'cpu_usage{host="$host"}\nrequest_latency'} aria-label="Metrics, one per line" />
        </label>
        <div className="form-grid">
          <label className="form-row"><span>Aggregation</span>
            <select className="field-select" value={form.agg} onChange={set('agg')}>{AGG_CHOICES.map((a) => <option key={a} value={a}>{a}</option>)}</select>
          </label>
          <label className="form-row"><span>One line per</span>
            <input className="text-input" value={form.groupBy} onChange={set('groupBy')} placeholder="label key (empty: each series)" aria-label="Combine by label" />
          </label>
          <label className="form-row"><span>Fold series</span>
            <select className="field-select" value={form.across} onChange={set('across')} aria-label="Fold series">
              <option value="">no (each line apart)</option>
              {ACROSS.map((f) => <option key={f} value={f}>{f} across series</option>)}
            </select>
          </label>
          <label className="form-row"><span>Chart</span>
            <select className="field-select" value={form.chart} onChange={set('chart')} aria-label="Chart type">{PANEL_CHARTS.map((c) => <option key={c} value={c}>{c}</option>)}</select>
          </label>
          <label className="form-row"><span>Size</span>
            <span className="inline-form">
              <select className="field-select" value={form.w} onChange={set('w')} aria-label="Panel width">{WIDTHS.map((w) => <option key={w} value={w}>{w}/12</option>)}</select>
              <select className="field-select" value={form.h} onChange={set('h')} aria-label="Panel height">{HEIGHTS.map((h) => <option key={h} value={h}>{h} rows</option>)}</select>
            </span>
          </label>
          <label className="form-row"><span>Y min</span><input className="text-input" value={form.min} onChange={set('min')} inputMode="decimal" aria-label="Y min" /></label>
          <label className="form-row"><span>Y max</span><input className="text-input" value={form.max} onChange={set('max')} inputMode="decimal" aria-label="Y max" /></label>
          <label className="form-row"><span>Thresholds</span><input className="text-input" value={form.thresholds} onChange={set('thresholds')} placeholder="80, 95" aria-label="Thresholds" /></label>
          <label className="form-row form-check"><input type="checkbox" checked={form.log} onChange={set('log')} /><span>Log scale</span></label>
        </div>
        {error && <p className="field-error" role="alert">{error}</p>}
        <footer className="modal-actions">
          <button type="button" className="btn" onClick={onCancel}>Cancel</button>
          <button type="submit" className="btn btn-primary">Apply</button>
        </footer>
      </form>
    </div>
  );
}
