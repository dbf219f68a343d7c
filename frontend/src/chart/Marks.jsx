// The marks of time series: min–max bands, lines broken at gaps, bars and points.
import { area, line } from 'd3-shape';
import { maxJoin, sampleInterval, splitBandGaps, splitGaps } from './gaps.js';
import { drawnValues } from './stack.js';

/** Width of a bar: the bin, or the sampling interval when the bins are finer than the samples. */
function barSpan(s) {
  const bin = s.step || (s.times.length > 1 ? s.times[1] - s.times[0] : 60_000);
  return Math.max(bin, sampleInterval(s.times, s.values) || 0);
}

function Line({ s, x, y, compact }) {
  const values = drawnValues(s);
  const join = maxJoin(s.times, values);
  const runs = splitGaps(s.times, values, join);
  // A tenth of a pixel is finer than any screen draws: a shorter path for the browser to parse than d3's default
  // thousandths (two digits fewer per coordinate).
  const gen = line().digits(1).x((d) => x(d[0])).y((d) => y(d[1]));
  const band = !compact && s.min && s.max ? splitBandGaps(s.times, s.min, s.max, join) : [];
  const bandGen = area().digits(1).x((d) => x(d[0])).y0((d) => y(d[1])).y1((d) => y(d[2]));
  return (
    <g className="series" data-key={s.key}>
      {band.length > 0 && <path className="band" d={band.map((r) => bandGen(r)).join('')} fill={s.color} />}
      <path className="line" d={runs.map((r) => gen(r)).join('')} stroke={s.color} strokeWidth={compact ? 1 : 1.6} />
      {runs.filter((r) => r.length === 1).map(([[t, v]]) => (
        <circle key={t} cx={x(t)} cy={y(v)} r={compact ? 1.2 : 2} fill={s.color} />
      ))}
    </g>
  );
}

/** Bars of one series; with several bar series each takes its slot of the bin (grouped, side by side). */
function Bars({ s, x, y, slot = [0, 1] }) {
  const span = barSpan(s);
  const [k, n] = slot;
  const [d0, d1] = y.domain();
  const zero = y(Math.min(Math.max(0, d0), d1));
  return (
    <g className="series" data-key={s.key} fill={s.color}>
      {drawnValues(s).map((v, i) => {
        if (v == null) return null;
        const whole = x(s.times[i] + span) - x(s.times[i]);
        const w = whole / n;
        const left = x(s.times[i]) + k * w;
        const gap = w > 4 ? 1 : 0;
        const top = y(v);
        const base = s.base ? y(s.base[i]) : zero;
        return (
          <rect key={s.times[i]} x={left + gap / 2} width={Math.max(0.5, w - gap)}
            y={Math.min(top, base)} height={Math.max(0.5, Math.abs(base - top))} opacity={0.8} />
        );
      })}
    </g>
  );
}

function Points({ s, x, y, compact }) {
  return (
    <g className="series" data-key={s.key} fill={s.color}>
      {drawnValues(s).map((v, i) => (v == null ? null : (
        <circle key={s.times[i]} cx={x(s.times[i])} cy={y(v)} r={compact ? 1 : 2.2} />
      )))}
    </g>
  );
}

const MARKS = { line: Line, bars: Bars, stacked: Bars, points: Points };

/**
 * The time scale as plain arithmetic (a time scale is linear in ms): d3's maps each point through a Date, which
 * was a fifth of the first drawing of a 30-day chart.
 */
function linear(scale) {
  const [d0, d1] = scale.domain().map(Number);
  const [r0, r1] = scale.range();
  const k = (r1 - r0) / (d1 - d0 || 1);
  return (t) => r0 + (t - d0) * k;
}

/** Draws every series with its style on the y scale of its unit. */
export function Marks({ series, x: timeScale, yByUnit, compact = false }) {
  const x = linear(timeScale);
  const bars = compact ? [] : series.filter((s) => s.style === 'bars').map((s) => s.key);
  return series.map((s) => {
    const y = yByUnit.get(s.unit ?? '');
    if (!y) return null;
    const Mark = compact ? Line : MARKS[s.style] || Line;
    const slot = s.style === 'bars' && !compact ? [bars.indexOf(s.key), bars.length] : undefined;
    return <Mark key={s.key} s={s} x={x} y={y} compact={compact} slot={slot} />;
  });
}
