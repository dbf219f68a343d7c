// Axes and grid drawn by React from D3 scales' ticks.
import { axisOffset, spacedTicks, unitLabel } from './axisLayout.js';
import { formatNumber, formatTick, tickLevel } from './format.js';

/** Time axis along the bottom of the plot. */
export function XAxis({ x, innerWidth, innerHeight, compact = false }) {
  const ticks = x.ticks(Math.max(2, Math.floor(innerWidth / (compact ? 130 : 110))));
  const spacing = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
  const shown = spacedTicks(ticks.map((t) => ({ t, pos: x(t), label: formatTick(t, spacing), level: tickLevel(t) })));
  return (
    <g className="axis axis-x" transform={`translate(0,${innerHeight})`}>
      <line x2={innerWidth} className="axis-line" />
      {shown.map(({ t, pos, label }) => (
        <g key={+t} transform={`translate(${pos},0)`}>
          <line y2={compact ? 3 : 5} className="axis-tick" />
          <text y={compact ? 13 : 17} textAnchor="middle">{label}</text>
        </g>
      ))}
    </g>
  );
}

/** A value axis for one unit, on its side and level, coloured like its first series. */
export function YAxis({ axis, y, innerWidth, innerHeight }) {
  const left = axis.side === 'left';
  const x0 = axisOffset(axis, innerWidth);
  const dir = left ? -1 : 1;
  const ticks = y.ticks(Math.max(2, Math.floor(innerHeight / 48)));
  return (
    <g className="axis axis-y" transform={`translate(${x0},0)`} data-unit={axis.unit} data-side={axis.side}
      data-domain={y.domain().join(',')}>
      <line y2={innerHeight} className="axis-line" style={{ stroke: axis.color }} />
      {ticks.map((t) => (
        <g key={t} transform={`translate(0,${y(t)})`}>
          <line x2={dir * 4} className="axis-tick" style={{ stroke: axis.color }} />
          <text x={dir * 7} dy="0.32em" textAnchor={left ? 'end' : 'start'}>{formatNumber(t)}</text>
        </g>
      ))}
      {/* The unit sits above the axis, not beside a tick, where it would read as that tick's unit; in the text
          colour (a series colour such as orange or green reads at under 4.5:1), the axis line carries the colour. */}
      <text className="axis-unit" x={dir * 4} y={-12}
        textAnchor={left ? 'end' : 'start'}>
        {unitLabel(axis.unit)}
      </text>
    </g>
  );
}

/** Light horizontal grid lines from the primary (first left) axis, vertical ones from the time ticks. */
export function Grid({ x, y, innerWidth, innerHeight }) {
  const xt = x.ticks(Math.max(2, Math.floor(innerWidth / 110)));
  return (
    <g className="grid" aria-hidden="true">
      {y && y.ticks(Math.max(2, Math.floor(innerHeight / 48))).map((t) => (
        <line key={`y${t}`} x2={innerWidth} y1={y(t)} y2={y(t)} />
      ))}
      {xt.map((t) => <line key={`x${+t}`} x1={x(t)} x2={x(t)} y2={innerHeight} />)}
    </g>
  );
}
