// The backtest preview: the rule's series over the range, the threshold and recovery lines, and the pending
// (amber) and firing (red) bands the rule would have produced. D3 does the scales, React draws.
import { extent, max, min } from 'd3-array';
import { scaleLinear, scaleUtc } from 'd3-scale';
import { line } from 'd3-shape';
import { useMemo, useRef } from 'react';
import { formatTime } from '../chart/format.js';
import { useWidth } from '../data/useFetch.js';

const HEIGHT = 180;
const M = { top: 8, right: 12, bottom: 22, left: 48 };

export function BacktestChart({ series, bands, threshold, recovery, range }) {
  const ref = useRef(null);
  const width = Math.max(useWidth(ref), 300);
  const { x, y, paths } = useMemo(() => {
    const values = series.flatMap((s) => s.points.map((p) => p[1]));
    const lines = [threshold, recovery].filter((v) => v !== null && Number.isFinite(v));
    const [lo, hi] = extent([...values, ...lines]);
    const xs = scaleUtc().domain(range).range([M.left, width - M.right]);
    const ys = scaleLinear().domain([min([lo ?? 0, 0]), max([hi ?? 1, 1])]).nice().range([HEIGHT - M.bottom, M.top]);
    const draw = line().x((p) => xs(p[0])).y((p) => ys(p[1]));
    return { x: xs, y: ys, paths: series.map((s) => draw(s.points)) };
  }, [series, threshold, recovery, range, width]);

  return (
    <div ref={ref} className="backtest-chart">
      <svg width={width} height={HEIGHT} role="img" aria-label="Backtest preview">
        {bands.map((b) => (
          <rect key={`${b.state}-${b.start}-${JSON.stringify(b.labels)}`} className={`band band-${b.state}`}
            x={x(Date.parse(b.start))} width={Math.max(1, x(Date.parse(b.end)) - x(Date.parse(b.start)))}
            y={M.top} height={HEIGHT - M.top - M.bottom} />
        ))}
        {paths.map((d, i) => <path key={i} d={d} className="backtest-line" />)}
        {threshold !== null && <line className="threshold" x1={M.left} x2={width - M.right} y1={y(threshold)} y2={y(threshold)} />}
        {recovery !== null && <line className="recovery" x1={M.left} x2={width - M.right} y1={y(recovery)} y2={y(recovery)} />}
        {y.ticks(4).map((t) => (
          <text key={t} x={M.left - 6} y={y(t)} className="tick" textAnchor="end" dominantBaseline="middle">{t}</text>
        ))}
        {x.ticks(5).map((t) => (
          <text key={+t} x={x(t)} y={HEIGHT - 6} className="tick" textAnchor="middle">
            {formatTime(+t).slice(11, 16)}
          </text>
        ))}
      </svg>
    </div>
  );
}
