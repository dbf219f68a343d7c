// One y-axis per distinct unit: the first on the left, the second on the right, more stacked outward.
import { useMemo } from 'react';

export const AXIS_WIDTH = 58;
const EDGE = 12;

/** Label of a unit's axis ("" means a unitless metric). */
export const unitLabel = (unit) => (unit ? unit : 'value');

/**
 * Assigns an axis to every unit in order of first appearance among `series` ({unit, color}).
 * Returns {axes: [{unit, side, level, color}], marginLeft, marginRight}.
 */
export function assignAxes(series) {
  const axes = [];
  for (const s of series) {
    const unit = s.unit ?? '';
    if (axes.some((a) => a.unit === unit)) continue;
    const i = axes.length;
    axes.push({ unit, side: i % 2 === 0 ? 'left' : 'right', level: Math.floor(i / 2), color: s.color });
  }
  const count = (side) => axes.filter((a) => a.side === side).length;
  return {
    axes,
    marginLeft: Math.max(1, count('left')) * AXIS_WIDTH,
    marginRight: count('right') ? count('right') * AXIS_WIDTH : EDGE,
  };
}

const SEP = '\u0001';

/**
 * assignAxes(series) memoised on the units and colours only, so a refresh with the same series keeps the same
 * layout object (and the chart does not redraw its axes).
 */
export function useAxisLayout(series) {
  const signature = series.map((s) => `${s.unit}${SEP}${s.color}`).join(SEP);
  return useMemo(() => {
    const parts = signature ? signature.split(SEP) : [];
    const list = [];
    for (let i = 0; i < parts.length; i += 2) list.push({ unit: parts[i], color: parts[i + 1] });
    return assignAxes(list);
  }, [signature]);
}

/** Horizontal position of an axis' line relative to the plot area of width `innerWidth`. */
export const axisOffset = (axis, innerWidth) =>
  axis.side === 'left' ? -axis.level * AXIS_WIDTH : innerWidth + axis.level * AXIS_WIDTH;

/**
 * The ticks whose labels fit side by side: ticks is [{pos, label, level}] sorted by pos; where two labels would
 * overlap, the coarser one is kept (a month's name wins over the day before it), else the earlier one.
 */
export function spacedTicks(ticks, charWidth = 6.5, gap = 10) {
  const half = (t) => (t.label.length * charWidth) / 2;
  const kept = [];
  for (const t of ticks) {
    const prev = kept[kept.length - 1];
    if (!prev || prev.pos + half(prev) + gap <= t.pos - half(t)) kept.push(t);
    else if (t.level > prev.level) {
      kept.pop();
      const before = kept[kept.length - 1];
      if (!before || before.pos + half(before) + gap <= t.pos - half(t)) kept.push(t);
      else kept.push(prev);
    }
  }
  return kept;
}
