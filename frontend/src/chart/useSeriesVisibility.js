// Which series of a chart are shown, and so which axes it has: the one place for it, used by Explore's chart and
// every dashboard panel (as Grafana keeps series visibility in one config factory). Click: only that series
// (again: all); ctrl-click: hide or show one.
import { useMemo, useState } from 'react';
import { useAxisLayout } from './axisLayout.js';

/**
 * series, layout (the axes of all of them, or of those expected while the data loads) → {hidden: Set of keys,
 * visible: the series shown, layout: the axes of the units shown (a hidden unit's axis goes, issue 26), toggle(key),
 * solo(key)}.
 */
export function useSeriesVisibility(series, layout) {
  const [hidden, setHidden] = useState(() => new Set());
  const visible = useMemo(() => series.filter((s) => !hidden.has(s.key)), [series, hidden]);
  const shown = useAxisLayout(visible);
  const toggle = (key) => setHidden((h) => {
    const n = new Set(h);
    if (n.has(key)) n.delete(key);
    else n.add(key);
    return n;
  });
  const solo = (key) => setHidden((h) => {
    const alone = !h.has(key) && series.every((s) => s.key === key || h.has(s.key));
    return alone ? new Set() : new Set(series.map((s) => s.key).filter((k) => k !== key));
  });
  return { hidden, visible, layout: hidden.size && visible.length ? shown : layout, toggle, solo };
}
