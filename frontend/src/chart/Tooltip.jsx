// The crosshair's tooltip: the hovered time and every visible series' value there.
import { formatTime, formatValue } from './format.js';

export function Tooltip({ readings, left, top, width }) {
  const flip = left > width - 280;
  const style = flip ? { right: width - left + 14, top } : { left: left + 14, top };
  return (
    <div className="tooltip" style={style} role="tooltip">
      <div className="tooltip-time">{formatTime(readings.t)}</div>
      <table>
        <tbody>
          {readings.rows.map(({ s, v }) => (
            <tr key={s.key}>
              <td><span className="swatch" style={{ background: s.color }} /></td>
              <td className="tooltip-label">{s.label}</td>
              <td className="num">{v == null ? <span className="muted">no data</span> : formatValue(v, s.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
