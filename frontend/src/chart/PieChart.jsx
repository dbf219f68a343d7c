// Shares of an enum's states: a donut (or bars) with a legend of share and time spent.
import { arc, pie } from 'd3-shape';
import { useMemo } from 'react';
import { colorAt } from './palette.js';
import { formatDuration } from '../time/range.js';

const pct = (share) => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;

function StateLegend({ states }) {
  return (
    <ul className="state-legend">
      {states.map((s, i) => (
        <li key={s.state}>
          <span className="swatch" style={{ background: colorAt(i) }} />
          <span className="state-name">{s.state}</span>
          <span className="num">{pct(s.share)}</span>
          <span className="num muted">{s.seconds != null ? formatDuration(s.seconds * 1000) : `${s.count}×`}</span>
        </li>
      ))}
    </ul>
  );
}

export function PieChart({ states, size = 168, mode = 'pie' }) {
  const arcs = useMemo(() => pie().sort(null).value((d) => d.share)(states), [states]);
  const r = size / 2;
  const shape = arc().innerRadius(r * 0.58).outerRadius(r - 2).padAngle(0.012).cornerRadius(2);
  if (mode === 'bars') {
    return (
      <div className="state-bars">
        {states.map((s, i) => (
          <div key={s.state} className="state-bar">
            <span className="state-name">{s.state}</span>
            <span className="bar-track"><span style={{ width: pct(s.share), background: colorAt(i) }} /></span>
            <span className="num">{pct(s.share)}</span>
          </div>
        ))}
      </div>
    );
  }
  const top = states.reduce((a, b) => (b.share > (a?.share ?? -1) ? b : a), null);
  return (
    <div className="pie">
      <svg width={size} height={size} role="img" aria-label="State shares">
        <g transform={`translate(${r},${r})`}>
          {arcs.map((a, i) => (
            <path key={a.data.state} d={shape(a)} fill={colorAt(i)}>
              <title>{`${a.data.state}: ${pct(a.data.share)}`}</title>
            </path>
          ))}
          {top && (
            <>
              <text className="pie-center-value" textAnchor="middle" dy="0.1em">{pct(top.share)}</text>
              <text className="pie-center-label" textAnchor="middle" dy="1.5em">{top.state}</text>
            </>
          )}
        </g>
      </svg>
      <StateLegend states={states} />
    </div>
  );
}
