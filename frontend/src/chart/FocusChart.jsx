// The main chart: axes per unit, a crosshair tooltip, drag a range to zoom in, double-click to zoom out.
import { useMemo, useState } from 'react';
import { DragZoom } from './DragZoom.jsx';
import { maxJoin } from './gaps.js';
import { presentNear } from './scales.js';
import { drawnValues } from './stack.js';
import { TimePlot, plotMargin } from './TimePlot.jsx';
import { Tooltip } from './Tooltip.jsx';

/** How far from the pointer a series' value may lie and still be read: half its sampling interval or bin. */
function tolerances(series) {
  return new Map(series.map((s) => {
    const bin = s.times.length > 1 ? s.times[1] - s.times[0] : 0;
    return [s.key, Math.max(maxJoin(s.times, s.values) / 2, bin / 2)];
  }));
}

/**
 * Every series' value nearest to time t: [{s, t, v, h}], v its own value and h the height it is drawn at (a
 * stacked bar's top); t, v and h null where it has none close by.
 */
function readAt(series, t, tol) {
  return series.map((s) => {
    const i = presentNear(s.times, s.values, t, tol.get(s.key));
    return i < 0 ? { s, t: null, v: null, h: null } : { s, t: s.times[i], v: s.values[i], h: drawnValues(s)[i] };
  });
}

/** Interaction layer: the crosshair at the hovered time, and the pointer for hovering and drag-to-zoom. */
function Interaction({ ctx, readings, onHover, onZoom, onZoomOut }) {
  const { x, yByUnit, innerWidth, innerHeight } = ctx;
  return (
    <g>
      {readings && (
        <g className="crosshair" pointerEvents="none">
          <line x1={x(readings.t)} x2={x(readings.t)} y2={innerHeight} />
          {readings.rows.map(({ s, t, h }) => {
            const y = yByUnit.get(s.unit);
            return h == null || !y ? null
              : <circle key={s.key} cx={x(t)} cy={y(h)} r={s.key === readings.hoverKey ? 5 : 3.5} fill={s.color} />;
          })}
        </g>
      )}
      <DragZoom x={x} innerWidth={innerWidth} innerHeight={innerHeight} onZoom={onZoom} onZoomOut={onZoomOut}
        onPointer={(p) => onHover(p && { t: p.t, py: p.py, yByUnit })} />
    </g>
  );
}

/** The series whose value there is drawn nearest the pointer's height (py, px from the plot's top). */
function nearestKey(rows, py, yByUnit) {
  let best = null;
  for (const { s, h } of rows) {
    const y = yByUnit?.get(s.unit);
    if (h == null || !y) continue;
    const d = Math.abs(y(h) - py);
    if (!best || d < best.d) best = { d, key: s.key };
  }
  return best?.key ?? null;
}

export function FocusChart({ series, layout, domain, width, height, y = null, onZoom, onZoomOut, svgProps, overlay }) {
  const [hover, setHover] = useState(null);
  const margin = plotMargin(layout);
  const tol = useMemo(() => tolerances(series), [series]);
  const readings = useMemo(() => {
    if (hover == null) return null;
    const rows = readAt(series, hover.t, tol);
    const near = rows.filter((r) => r.t != null).sort((a, b) => Math.abs(a.t - hover.t) - Math.abs(b.t - hover.t))[0];
    return { t: near ? near.t : hover.t, rows, hoverKey: nearestKey(rows, hover.py, hover.yByUnit) };
  }, [series, hover, tol]);
  const innerWidth = width - margin.left - margin.right;
  const px = readings ? ((readings.t - domain[0]) / (domain[1] - domain[0])) * innerWidth : 0;

  return (
    <div className="focus" style={{ position: 'relative' }}>
      <TimePlot series={series} layout={layout} domain={domain} width={width} height={height} y={y} svgProps={svgProps}>
        {(ctx) => (
          <>
            {overlay?.(ctx)}
            <Interaction ctx={ctx} readings={readings} onZoom={onZoom} onZoomOut={onZoomOut}
              onHover={setHover} />
          </>
        )}
      </TimePlot>
      {readings && (
        <Tooltip readings={readings} left={px + margin.left} top={margin.top} width={width} height={height}
          hoverKey={readings.hoverKey} />
      )}
    </div>
  );
}
