// The crosshair's tooltip: the hovered time and the visible series' own values there, highest first, the series
// nearest the pointer highlighted, each named by what tells it apart (data/series.js distinctNames). It stays
// inside the plot: it flips to the pointer's left in the right half, spans the chart on a narrow one (a phone),
// and shows as many rows as fit in the chart's height, counting the rest. A name is cut, never a value.
import { formatTime, formatValue } from './format.js';

const ROW = 21;
const CHROME = 56;
const NARROW = 480;
const CHAR = 7; // px per character of a name at the tooltip's 12 px
const VALUE = 120; // px for the swatch, the value and the padding

/** Rows sorted by value (highest first, series without a value last), cut to `max` with the count left out. */
export function tooltipRows(rows, max) {
  const sorted = [...rows].sort((a, b) => (a.v == null ? (b.v == null ? 0 : 1) : b.v == null ? -1 : b.v - a.v));
  return { shown: sorted.slice(0, Math.max(1, max)), more: Math.max(0, sorted.length - Math.max(1, max)) };
}

export function Tooltip({ readings, left, top, width, height, hoverKey }) {
  const { shown, more } = tooltipRows(readings.rows, Math.floor((height - top - CHROME) / ROW));
  const flip = left > width / 2;
  const wanted = Math.max(160, Math.min(420, VALUE + CHAR * Math.max(...shown.map(({ s }) => s.name.length))));
  let style;
  if (width < NARROW) style = { left: 4, width: width - 8, top };
  else {
    const room = Math.max(160, (flip ? left : width - left) - 24);
    style = { ...(flip ? { right: width - left + 14 } : { left: left + 14 }), top, width: Math.min(wanted, room) };
  }
  return (
    <div className="tooltip" role="tooltip" style={{ ...style, maxHeight: height - top - 4 }}>
      <div className="tooltip-time">{formatTime(readings.t)}</div>
      <table>
        <tbody>
          {shown.map(({ s, v }) => (
            <tr key={s.key} className={s.key === hoverKey ? 'is-hovered' : ''}>
              <td><span className="swatch" style={{ background: s.color }} /></td>
              <td className="tooltip-label" title={s.label}>{s.name}</td>
              <td className="num">{v == null ? <span className="muted">no data</span> : formatValue(v, s.unit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {more > 0 && <div className="muted tooltip-more">+{more} more</div>}
    </div>
  );
}
