// The main chart: axes per unit, a crosshair tooltip, drag a range to zoom in, double-click to zoom out.
import { useMemo, useState } from 'react';
import { maxJoin } from './gaps.js';
import { presentNear } from './scales.js';
import { TimePlot, plotMargin } from './TimePlot.jsx';
import { Tooltip } from './Tooltip.jsx';

/** How far from the pointer a series' value may lie and still be read: half its sampling interval or bin. */
function tolerances(series) {
  return new Map(series.map((s) => {
    const bin = s.times.length > 1 ? s.times[1] - s.times[0] : 0;
    return [s.key, Math.max(maxJoin(s.times, s.values) / 2, bin / 2)];
  }));
}

/** Every series' value nearest to time t: [{s, t, v}] (t and v null where it has none close by). */
function readAt(series, t, tol) {
  return series.map((s) => {
    const i = presentNear(s.times, s.values, t, tol.get(s.key));
    return i < 0 ? { s, t: null, v: null } : { s, t: s.times[i], v: s.values[i] };
  });
}

/** Interaction layer: a transparent rect catching the pointer over the plot area. */
function Interaction({ ctx, readings, onHover, onZoom, onZoomOut }) {
  const { x, yByUnit, innerWidth, innerHeight } = ctx;
  const [drag, setDrag] = useState(null);
  const localX = (e) => {
    const r = e.currentTarget.getBoundingClientRect();
    return Math.min(innerWidth, Math.max(0, e.clientX - r.left));
  };
  const move = (e) => {
    const px = localX(e);
    if (drag) setDrag({ ...drag, x1: px });
    onHover(+x.invert(px));
  };
  const down = (e) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    const px = localX(e);
    setDrag({ x0: px, x1: px });
  };
  const up = () => {
    if (drag && Math.abs(drag.x1 - drag.x0) > 4) {
      const [a, b] = [drag.x0, drag.x1].sort((p, q) => p - q);
      onZoom([+x.invert(a), +x.invert(b)]);
    }
    setDrag(null);
  };

  return (
    <g>
      {readings && (
        <g className="crosshair" pointerEvents="none">
          <line x1={x(readings.t)} x2={x(readings.t)} y2={innerHeight} />
          {readings.rows.map(({ s, t, v }) => {
            const y = yByUnit.get(s.unit);
            return v == null || !y ? null : <circle key={s.key} cx={x(t)} cy={y(v)} r={3.5} fill={s.color} />;
          })}
        </g>
      )}
      {drag && (
        <rect className="zoom-selection" x={Math.min(drag.x0, drag.x1)} width={Math.abs(drag.x1 - drag.x0)} height={innerHeight} />
      )}
      <rect
        className="overlay"
        width={innerWidth}
        height={innerHeight}
        onPointerMove={move}
        onPointerLeave={() => onHover(null)}
        onPointerDown={down}
        onPointerUp={up}
        onDoubleClick={onZoomOut}
      />
    </g>
  );
}

export function FocusChart({ series, layout, domain, width, height, onZoom, onZoomOut, svgProps }) {
  const [hoverT, setHoverT] = useState(null);
  const margin = plotMargin(layout);
  const tol = useMemo(() => tolerances(series), [series]);
  const readings = useMemo(() => {
    if (hoverT == null) return null;
    const rows = readAt(series, hoverT, tol);
    const near = rows.filter((r) => r.t != null).sort((a, b) => Math.abs(a.t - hoverT) - Math.abs(b.t - hoverT))[0];
    return { t: near ? near.t : hoverT, rows };
  }, [series, hoverT, tol]);
  const innerWidth = width - margin.left - margin.right;
  const px = readings ? ((readings.t - domain[0]) / (domain[1] - domain[0])) * innerWidth : 0;

  return (
    <div className="focus" style={{ position: 'relative' }}>
      <TimePlot series={series} layout={layout} domain={domain} width={width} height={height} svgProps={svgProps}>
        {(ctx) => (
          <Interaction ctx={ctx} readings={readings} onHover={setHoverT} onZoom={onZoom} onZoomOut={onZoomOut} />
        )}
      </TimePlot>
      {readings && (
        <Tooltip readings={readings} left={px + margin.left} top={margin.top} width={width} />
      )}
    </div>
  );
}
