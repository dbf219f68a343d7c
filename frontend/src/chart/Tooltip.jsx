// The crosshair's tooltip: the hovered time and the visible series' values there, highest first, the series
// nearest the pointer highlighted. It stays inside the plot: it flips to the pointer's left in the right half
// and shows as many rows as fit in the chart's height, counting the rest.
import { formatTime, formatValue } from './format.js';

const ROW = 21;
const CHROME = 56;

/** Rows sorted by value (highest first, series without a value last), cut to `max` with the count left out. */
export function tooltipRows(rows, max) {
  const sorted = [...rows].sort((a, b) => (a.v == null ? (b.v == null ? 0 : 1) : b.v == null ? -1 : b.v - a.v));
  return { shown: sorted.slice(0, Math.max(1, max)), more: Math.max(0, sorted.length - Math.max(1, max)) };
}

export function Tooltip({ readings, left, top, width, height, hoverKey }) {
  const flip = left > width / 2;
  const style = flip ? { right: width - left + 14, top } : { left: left + 14, top };
  const { shown, more } = tooltipRows(readings.rows, Math.floor((height - top - CHROME) / ROW));
  return (
    <div className="tooltip" role="tooltip"
      style={{ ...style, maxWidth: Math.max(160, (flip ? left : width - left) - 24), maxHeight: height - top - 4 }}>
      <div className="tooltip-time">{formatTime(readings.t)}</div>
      <table>
        <tbody>
          {shown.map(({ s, v }) => (
            <tr key={s.key} className={s.key === hoverKey ? 'is-hovered' : ''}>
              <td><span className="swatch" style={{ background: s.color }} /></td>
              <td className="tooltip-label">{s.label}</td>
              <td className="num">{v == null ? <span className="muted">no data</span> : formatValue(v, s.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 && <div className="muted tooltip-more">+{more} more</div>}
    </div>
  );
}
