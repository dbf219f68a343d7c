// Saved dashboards as plain data (what /api/dashboards stores) and the pure edits the grid makes to them:
// a panel from the Explore view, moving, resizing, duplicating and removing panels, and `$variable`
// substitution in panel filters. The React views only call these.
import { chartOf } from '../model.js';

/** Chart types a dashboard panel can have (metrics_server/schemas.py CHART_TYPES). */
export const PANEL_CHARTS = ['line', 'bars', 'stacked', 'points', 'stat', 'pie', 'heatmap'];
export const WIDTHS = [3, 4, 6, 8, 12];
export const HEIGHTS = [1, 2, 3, 4];
export const NO_Y = Object.freeze({ log: false, min: null, max: null, thresholds: [] });

export const newDashboard = (title) => ({
  title, description: '', time: { from: '-6h', to: 'now' }, refresh: 'off', variables: [], panels: [],
});

/** A short random panel id, unique within a dashboard. */
export const panelId = () => Math.random().toString(36).slice(2, 10);

/** A panel showing what the Explore view shows: its metrics, filters, aggregation, combining and chart type. */
export function panelFromExplore(picks, agg, typeOf) {
  const first = picks[0];
  const type = typeOf(first.name) || 'gauge';
  const chart = chartOf(first, type);
  return {
    id: panelId(),
    title: picks.map((p) => p.name).join(', '),
    metrics: picks.map((p) => ({ name: p.name, filters: p.filters || {} })),
    agg,
    group_by: first.groupBy || [],
    across: first.across || null,
    chart: chart === 'percentiles' ? 'heatmap' : chart,
    y: { ...NO_Y },
    w: 6,
    h: 2,
  };
}

const at = (panels, id) => panels.findIndex((p) => p.id === id);

/** The panels with one moved `delta` places (clamped to the ends). */
export function movePanel(panels, id, delta) {
  const i = at(panels, id);
  const j = Math.max(0, Math.min(panels.length - 1, i + delta));
  if (i < 0 || i === j) return panels;
  const out = panels.slice();
  const [p] = out.splice(i, 1);
  out.splice(j, 0, p);
  return out;
}

export const updatePanel = (panels, id, patch) => panels.map((p) => (p.id === id ? { ...p, ...patch } : p));
export const removePanel = (panels, id) => panels.filter((p) => p.id !== id);

/** The panels with a copy of one inserted after it. */
export function duplicatePanel(panels, id) {
  const i = at(panels, id);
  if (i < 0) return panels;
  const copy = { ...panels[i], id: panelId(), title: `${panels[i].title} (copy)` };
  return [...panels.slice(0, i + 1), copy, ...panels.slice(i + 1)];
}

/**
 * A panel's metrics as the query builders take them ({name, filters, groupBy, chart}), with each `$name` filter
 * value replaced by the variable's chosen values (several: a repeated filter, which the API reads as OR); a
 * variable left on "all" (no value) drops that filter value.
 */
export function panelPicks(panel, values = {}) {
  return panel.metrics.map((m) => {
    const filters = {};
    for (const [key, vs] of Object.entries(m.filters || {})) {
      const out = [...new Set(vs.flatMap((v) => (v.startsWith('$') ? values[v.slice(1)] || [] : [v])))];
      if (out.length) filters[key] = out;
    }
    return { name: m.name, filters, groupBy: panel.group_by || [], across: panel.across || undefined, chart: panel.chart };
  });
}

/** How many of the thresholds a value reaches (0: below all); a missing value reaches none. */
export function thresholdLevel(value, thresholds) {
  if (value == null) return 0;
  return thresholds.filter((t) => value >= t).length;
}
