// The stat panel (Grafana's stat panel as the model): each series' last value large, coloured by the panel's
// thresholds (none crossed: green, then amber, then red for the second and further), over a sparkline of the
// range so the number comes with its trend.
import { line } from 'd3-shape';
import { scaleLinear } from 'd3-scale';
import { formatValue } from '../chart/format.js';
import { legendStats } from '../chart/legendStats.js';
import { thresholdLevel } from './model.js';

const LEVELS = ['ok', 'warn', 'bad'];
const SPARK = { width: 160, height: 34 };

function Sparkline({ s }) {
  const present = s.times.map((t, i) => [t, s.values[i]]).filter(([, v]) => v != null);
  if (present.length < 2) return null;
  const x = scaleLinear().domain([present[0][0], present[present.length - 1][0]]).range([1, SPARK.width - 1]);
  const values = present.map(([, v]) => v);
  const y = scaleLinear().domain([Math.min(...values), Math.max(...values)]).range([SPARK.height - 2, 2]);
  const d = line().x((p) => x(p[0])).y((p) => y(p[1]))(present);
  return (
    <svg className="stat-spark" width={SPARK.width} height={SPARK.height} aria-hidden="true">
      <path d={d} stroke="currentColor" fill="none" strokeWidth={1.5} />
    </svg>
  );
}

/** series: the panel's series; thresholds: the panel's y.thresholds (ascending or not). */
export function Stat({ series, thresholds }) {
  return (
    <div className="stat" data-testid="stat">
      {series.slice(0, 4).map((s) => {
        const last = legendStats(s).last;
        const level = thresholds.length ? LEVELS[Math.min(2, thresholdLevel(last, thresholds))] : null;
        return (
          <div key={s.key} className={`stat-item${level ? ` stat-${level}` : ''}`} data-level={level || undefined}
            style={level ? undefined : { color: s.color }}>
            <span className="stat-value">{formatValue(last, s.unit)}</span>
            <Sparkline s={s} />
            <span className="stat-label" title={s.label}>{s.name}</span>
          </div>
        );
      })}
    </div>
  );
}
