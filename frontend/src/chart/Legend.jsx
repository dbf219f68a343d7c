// Legend: one toggle per series (hide/show), with its last and mean value.
import { formatValue } from './format.js';

const stats = (values) => {
  let sum = 0;
  let n = 0;
  let last = null;
  let max = null;
  for (const v of values) {
    if (v == null) continue;
    sum += v;
    n += 1;
    last = v;
    if (max == null || v > max) max = v;
  }
  return { mean: n ? sum / n : null, last, max };
};

export function Legend({ series, hidden, onToggle }) {
  return (
    <table className="legend">
      <thead>
        <tr>
          <th className="legend-name">Series</th>
          <th className="num">Mean</th>
          <th className="num">Max</th>
          <th className="num">Last</th>
        </tr>
      </thead>
      <tbody>
        {series.map((s) => {
          const off = hidden.has(s.key);
          const st = stats(s.values);
          return (
            <tr key={s.key} className={off ? 'is-off' : ''}>
              <td className="legend-name">
                <button type="button" className="legend-item" aria-pressed={!off} onClick={() => onToggle(s.key)}
                  title={off ? 'Show series' : 'Hide series'}>
                  <span className="swatch swatch-line" style={{ background: s.color }} />
                  <span className="legend-label">{s.label}</span>
                  {s.agg && <span className="chip chip-muted">{s.agg}</span>}
                </button>
              </td>
              <td className="num">{formatValue(st.mean, s.unit)}</td>
              <td className="num">{formatValue(st.max, s.unit)}</td>
              <td className="num">{formatValue(st.last, s.unit)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
