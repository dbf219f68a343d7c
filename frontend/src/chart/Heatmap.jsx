// Histogram over time: one column per bin, one cell per bucket coloured by count, with percentile lines; a
// tooltip names the hovered cell, and dragging across zooms like the time chart.
import { line } from 'd3-shape';
import { useMemo, useState } from 'react';
import { XAxis } from './Axes.jsx';
import { DragZoom } from './DragZoom.jsx';
import { formatNumber, formatTime } from './format.js';
import { maxJoin, splitGaps } from './gaps.js';
import { boundLabel, bucketScale, countColor, maxCount } from './heatmapScale.js';
import { timeScale } from './scales.js';

const M = { top: 24, right: 16, bottom: 26, left: 64 };
const Q_STYLE = { '0.5': '4 0', '0.9': '5 3', '0.99': '2 2' };
const Q_COLORS = ['#0072B2', '#E69F00', '#D55E00'];
/** Colour of the i-th percentile line: one colour over the cells, distinct ones on their own. */
const quantileColor = (i, showCells) => (showCells ? '#D55E00' : Q_COLORS[i % Q_COLORS.length]);

/**
 * The present columns with the time each one's cells reach: the next column when the bins between are
 * only the gaps between samples (see gaps.js), else one bin.
 */
function columnSpans(points, step) {
  const times = points.map((p) => p[0]);
  const flags = points.map((p) => (p[1] ? 1 : null));
  const bin = step || (times.length > 1 ? times[1] - times[0] : 60_000);
  const join = maxJoin(times, flags);
  const out = [];
  let next = null;
  for (let i = points.length - 1; i >= 0; i--) {
    const [t, counts] = points[i];
    if (!counts) continue;
    out.push({ t, counts, until: next !== null && next - t <= join ? next : t + bin });
    next = t;
  }
  return out.reverse();
}

/** What the tooltip says about the cell under the pointer, or null off the cells. */
function cellAt(columns, bounds, t, py, innerH) {
  const col = columns.find((c) => c.t <= t && t < c.until);
  if (!col) return null;
  const b = Math.floor(((innerH - py) / innerH) * bounds.length);
  if (b < 0 || b >= bounds.length) return null;
  return { t: col.t, bound: bounds[b], count: col.counts[b] ?? 0 };
}

export function Heatmap({ data, domain, width, height = 236, unit, showCells = true, onZoom, onZoomOut }) {
  const [hover, setHover] = useState(null);
  const innerW = Math.max(10, width - M.left - M.right);
  const innerH = height - M.top - M.bottom;
  const x = useMemo(() => timeScale(domain, innerW), [domain, innerW]);
  const y = useMemo(() => bucketScale(data.bounds, innerH), [data.bounds, innerH]);
  const color = useMemo(() => countColor(maxCount(data.points)), [data.points]);
  const columns = useMemo(() => columnSpans(data.points, data.step), [data.points, data.step]);
  const rowH = innerH / data.bounds.length;
  const gen = line().x((d) => x(d[0])).y((d) => y(d[1]));
  const quantiles = Object.entries(data.quantiles || {});

  return (
    <div className="heatmap-wrap">
    <svg width={width} height={height} className="plot heatmap" data-testid="heatmap">
      <g transform={`translate(${M.left},${M.top})`}>
        {showCells && columns.map(({ t, until, counts }) => counts.map((c, b) => (
          <rect key={`${t}-${b}`} x={x(t)} width={Math.max(1, x(until) - x(t)) + 0.5} y={innerH - (b + 1) * rowH} height={rowH + 0.5}
            fill={c ? color(c) : 'var(--plot-bg)'} className="cell" />
        )))}
        {!showCells && <rect width={innerW} height={innerH} className="plot-bg" />}
        {quantiles.map(([q, pts], i) => {
          const ts = pts.map((p) => p[0]);
          const vs = pts.map((p) => p[1]);
          const runs = splitGaps(ts, vs, maxJoin(ts, vs));
          return (
            <g key={q} className="quantile">
              <path d={runs.map((r) => gen(r)).join('')} className="quantile-halo" />
              <path d={runs.map((r) => gen(r)).join('')} className="quantile-line"
                strokeDasharray={Q_STYLE[q] || '6 2'} stroke={quantileColor(i, showCells)} />
            </g>
          );
        })}
        <XAxis x={x} innerWidth={innerW} innerHeight={innerH} />
        <g className="axis axis-y">
          <line y2={innerH} className="axis-line" />
          <text className="axis-unit" x={-4} y={-12} textAnchor="end">{unit || 'value'}</text>
          {data.bounds.map((b, i) => (
            <text key={String(b)} x={-7} y={innerH - (i + 1) * rowH + rowH / 2} dy="0.32em" textAnchor="end">
              {boundLabel(b)}
            </text>
          ))}
        </g>
        {onZoom && (
          <DragZoom x={x} innerWidth={innerW} innerHeight={innerH} onZoom={onZoom} onZoomOut={onZoomOut}
            onPointer={(p) => setHover(p && { ...p, cell: cellAt(columns, data.bounds, p.t, p.py, innerH) })} />
        )}
      </g>
    </svg>
    {hover?.cell && (
      <div className="tooltip" role="tooltip" style={hover.px > innerW / 2
        ? { right: width - (M.left + hover.px) + 14, top: M.top } : { left: M.left + hover.px + 14, top: M.top }}>
        <div className="tooltip-time">{formatTime(hover.cell.t)}</div>
        <div>{boundLabel(hover.cell.bound)}{unit ? ` ${unit}` : ''}: <strong>{formatNumber(hover.cell.count)}</strong></div>
        {quantiles.map(([q, pts]) => {
          const p = pts.find((pt) => pt[0] === hover.cell.t);
          return p && p[1] != null ? (
            <div key={q} className="muted">p{Math.round(Number(q) * 1000) / 10}: {formatNumber(p[1])}{unit ? ` ${unit}` : ''}</div>
          ) : null;
        })}
      </div>
    )}
    </div>
  );
}

/** The colour ramp and line styles, explained. */
export function HeatmapKey({ data, showCells }) {
  const max = maxCount(data.points);
  const color = countColor(max);
  const stops = [0, 0.25, 0.5, 0.75, 1].map((f) => color(f * f * max));
  return (
    <div className="heatmap-key">
      {showCells && (
        <span className="ramp">
          <span className="muted">0</span>
          <span className="ramp-bar" style={{ background: `linear-gradient(90deg, ${stops.join(',')})` }} />
          <span className="muted">{formatNumber(max)}</span>
        </span>
      )}
      {Object.keys(data.quantiles || {}).map((q, i) => (
        <span key={q} className="chip chip-muted quantile-chip">
          <svg width="16" height="6" aria-hidden="true">
            <line x1="0" x2="16" y1="3" y2="3" stroke={quantileColor(i, showCells)} strokeWidth="2"
              strokeDasharray={Q_STYLE[q] || '6 2'} />
          </svg>
          p{Math.round(Number(q) * 1000) / 10}
        </span>
      ))}
    </div>
  );
}
