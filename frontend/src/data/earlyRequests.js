// What the page asks for first, asked before React starts (issue 26: the first data request left 160–260 ms
// after navigation, behind the app's own start-up): the metric catalog, which every page lists, on a dashboard's
// link the dashboard itself, and on an Explore link its chart's data. The hooks that ask for them later take
// these answers (useFetch.js). A page opened on charts keeps its side requests back until the charts are drawn.
import { urls } from '../api/client.js';
import { zoneOf } from '../chart/format.js';
import { decodeState } from '../state/urlState.js';
import { resolveView } from '../time/range.js';
import { lineQueryUrls } from './useLineData.js';
import { expectCharts, prefetch } from './useFetch.js';

// The elements around Explore's chart, as App.jsx and LinePanel.jsx nest them (only the classes that size them).
const EXPLORE_SKELETON = '<div class="app"><main class="content"><div class="panels"><section class="panel panel-main">'
  + '<div class="chart-area"></div></section></div></main></div>';

/**
 * The width useWidth() will measure for Explore's chart area, known before React draws it: the page's own styles
 * (sidebar, paddings, borders at this window's size) laid out on an empty copy of the elements around it, which
 * goes again at once. The styles are in: a module script runs after the style sheets before it have loaded.
 */
export function exploreChartWidth(root = document.getElementById('root')) {
  root.innerHTML = EXPLORE_SKELETON;
  const width = Math.floor(root.querySelector('.chart-area').getBoundingClientRect().width);
  root.replaceChildren();
  return width;
}

/**
 * Starts the page's first requests. `now`: the clock its relative range resolves against, which the App then
 * keeps (so that it asks for the very same URLs); `chartWidth()`: the Explore chart area's width.
 */
export function startEarlyRequests({ search = window.location.search, now = Date.now(), chartWidth = exploreChartWidth } = {}) {
  const state = decodeState(search);
  prefetch(urls.metrics());
  if (state.dash) prefetch(urls.dashboard(state.dash));
  const explore = !state.dash && state.page === 'explore' && state.picks.length > 0;
  if (state.dash || explore) expectCharts();
  if (!explore || state.tab !== 'graph') return;
  // Before the catalog every pick is drawn as a line, its type unknown (as App.jsx does until the catalog is in).
  const { range, view } = resolveView(state, now);
  const { mainUrls, overviewUrls } = lineQueryUrls({
    picks: state.picks, typeOf: () => undefined, agg: state.agg, gran: state.gran, tz: zoneOf(state.tz), range, view,
    width: chartWidth(),
  });
  for (const url of new Set([...mainUrls, ...overviewUrls])) prefetch(url);
}
