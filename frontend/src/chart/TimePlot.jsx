// One time-series plot, drawn twice: large with axes as the focus, small without them as the overview.
import { useId, useMemo } from 'react';
import { Grid, XAxis, YAxis } from './Axes.jsx';
import { Marks } from './Marks.jsx';
import { timeScale, unitScales } from './scales.js';

/**
 * series: visible series; layout: assignAxes() result (axes and margins); domain: [t0, t1] in ms.
 * children(ctx) draws overlays with ctx = {x, yByUnit, innerWidth, innerHeight}.
 */
export const plotMargin = (layout, compact = false) => ({
  top: compact ? 4 : 26, bottom: compact ? 18 : 26, left: layout.marginLeft, right: layout.marginRight,
});

export function TimePlot({ series, layout, domain, width, height, compact = false, y = null, svgProps, children }) {
  const margin = plotMargin(layout, compact);
  const innerWidth = Math.max(10, width - margin.left - margin.right);
  const innerHeight = Math.max(10, height - margin.top - margin.bottom);
  const [t0, t1] = domain;
  const x = useMemo(() => timeScale([t0, t1], innerWidth), [t0, t1, innerWidth]);
  const yByUnit = useMemo(() => {
    const zero = new Set(series.filter((s) => s.style === 'bars' || s.style === 'stacked').map((s) => s.unit));
    return unitScales(layout.axes, series, innerHeight, [t0, t1], zero, compact ? null : y);
  }, [layout, series, innerHeight, t0, t1, compact, y]);
  const clip = `clip${useId().replace(/[^a-zA-Z0-9]/g, '')}`;
  const primary = layout.axes[0] && yByUnit.get(layout.axes[0].unit);
  const ctx = { x, yByUnit, innerWidth, innerHeight, margin };
  // The marks are the costly part (thousands of path points); hovering re-renders the plot, not them.
  const marks = useMemo(() => <Marks series={series} x={x} yByUnit={yByUnit} compact={compact} />,
    [series, x, yByUnit, compact]);

  return (
    <svg width={width} height={height} className={compact ? 'plot plot-compact' : 'plot'} {...svgProps}>
      <defs>
        <clipPath id={clip}>
          <rect x={0} y={-3} width={innerWidth} height={innerHeight + 6} />
        </clipPath>
      </defs>
      <g transform={`translate(${margin.left},${margin.top})`}>
        {!compact && <Grid x={x} y={primary} innerWidth={innerWidth} innerHeight={innerHeight} />}
        {compact && <rect className="plot-bg" width={innerWidth} height={innerHeight} />}
        <g clipPath={`url(#${clip})`}>
          {marks}
          {!compact && primary && (y?.thresholds || []).map((v) => (
            <line key={v} className="threshold" x2={innerWidth} y1={primary(v)} y2={primary(v)} data-value={v} />
          ))}
        </g>
        <XAxis x={x} innerWidth={innerWidth} innerHeight={innerHeight} compact={compact} />
        {!compact && layout.axes.map((a) => (
          <YAxis key={a.unit} axis={a} y={yByUnit.get(a.unit)} innerWidth={innerWidth} innerHeight={innerHeight} />
        ))}
        {children?.(ctx)}
      </g>
    </svg>
  );
}
