// The whole view as URL query parameters, so a reload or a shared link restores it.
import { formatSelector, parseSelector } from '../api/selector.js';
import { ACROSS, AGG_CHOICES, DEFAULT_AGG, GRANULARITIES } from '../model.js';

export const DEFAULTS = Object.freeze({
  picks: [], from: '-6h', to: 'now', zoom: null, gran: 'auto', agg: DEFAULT_AGG, tab: 'graph', refresh: 'off',
  page: 'explore', dash: null, vars: {}, tz: 'local',
});

export const PAGES = ['explore', 'dashboards', 'alerts'];

/** What only Explore shows: left out of the other pages' URLs, and brought back with Explore (issue 26). */
export const EXPLORE_KEYS = ['picks', 'zoom', 'gran', 'agg', 'tab'];

/** Explore's own part of a state; of DEFAULTS: what the other pages have there. */
export const exploreOf = (state) => Object.fromEntries(EXPLORE_KEYS.map((k) => [k, state[k]]));

/** Auto-refresh intervals and their length in ms. */
export const REFRESH = { off: 0, '5s': 5000, '10s': 10_000, '30s': 30_000, '1m': 60_000, '5m': 300_000 };

export const TABS = ['graph', 'table'];

const oneOf = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);

/**
 * Reads a query string into view state. Parameters:
 * m=name{k="v"} (repeated, one per picked metric), g=name:key1,key2 (group-by), c=name:chartType,
 * x=name:sum (fold the metric's series into one line per bin, or one per group-by value),
 * from, to, zs/ze (zoom bounds in ms), gran, agg, tab, refresh (an interval of REFRESH; the older live=1 is 10s),
 * page=dashboards (the list), d=<dashboard id>, var-<name>=<value> (a dashboard's variables, repeated for
 * several values), tz=utc (times in UTC).
 */
export function decodeState(search) {
  const p = new URLSearchParams(search);
  const keyed = (param) => {
    const out = {};
    for (const v of p.getAll(param)) {
      const i = v.lastIndexOf(':');
      if (i > 0) out[v.slice(0, i)] = v.slice(i + 1);
    }
    return out;
  };
  const groups = keyed('g');
  const charts = keyed('c');
  const across = keyed('x');
  const seen = new Set();
  const picks = [];
  for (const raw of p.getAll('m')) {
    const { name, filters } = parseSelector(raw);
    if (!name || seen.has(name)) continue;
    seen.add(name);
    const pick = { name, filters, groupBy: groups[name] ? groups[name].split(',').filter(Boolean) : [] };
    if (charts[name]) pick.chart = charts[name];
    if (ACROSS.includes(across[name])) pick.across = across[name];
    picks.push(pick);
  }
  const zs = Number(p.get('zs'));
  const ze = Number(p.get('ze'));
  return {
    picks,
    from: p.get('from') || DEFAULTS.from,
    to: p.get('to') || DEFAULTS.to,
    zoom: p.has('zs') && p.has('ze') && zs < ze ? [zs, ze] : null,
    gran: oneOf(p.get('gran'), GRANULARITIES, DEFAULTS.gran),
    agg: oneOf(p.get('agg'), AGG_CHOICES, DEFAULTS.agg),
    tab: oneOf(p.get('tab'), TABS, DEFAULTS.tab),
    refresh: oneOf(p.get('refresh'), Object.keys(REFRESH), p.get('live') === '1' ? '10s' : DEFAULTS.refresh),
    page: oneOf(p.get('page'), PAGES, DEFAULTS.page),
    tz: oneOf(p.get('tz'), ['local', 'utc'], DEFAULTS.tz),
    dash: p.get('d') || null,
    vars: Object.fromEntries([...new Set(p.keys())].filter((k) => k.startsWith('var-'))
      .map((k) => [k.slice(4), p.getAll(k).filter(Boolean)])),
  };
}

/** Writes view state as a query string (without "?"), leaving out defaults. */
export function encodeState(state) {
  const p = new URLSearchParams();
  for (const pick of state.picks) p.append('m', formatSelector(pick));
  for (const pick of state.picks) if (pick.groupBy?.length) p.append('g', `${pick.name}:${pick.groupBy.join(',')}`);
  for (const pick of state.picks) if (pick.chart) p.append('c', `${pick.name}:${pick.chart}`);
  for (const pick of state.picks) if (pick.across) p.append('x', `${pick.name}:${pick.across}`);
  for (const key of ['from', 'to', 'gran', 'agg', 'tab', 'refresh', 'tz']) {
    if (state[key] !== DEFAULTS[key]) p.set(key, state[key]);
  }
  if (state.page !== DEFAULTS.page) p.set('page', state.page);
  if (state.dash) p.set('d', state.dash);
  for (const [k, values] of Object.entries(state.vars || {})) for (const v of values) p.append(`var-${k}`, v);
  if (state.zoom) {
    p.set('zs', String(Math.round(state.zoom[0])));
    p.set('ze', String(Math.round(state.zoom[1])));
  }
  return p.toString();
}
