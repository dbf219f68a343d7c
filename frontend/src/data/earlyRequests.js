// What the page asks for first, asked before React starts (issue 26: the first data request left 160–260 ms
// after navigation, behind the app's own start-up): the metric catalog, which every page lists, and on a
// dashboard's link the dashboard itself. The hooks that ask for them later take these answers (useFetch.js). A
// page opened on charts keeps its side requests back until the charts' data requests are out.
import { urls } from '../api/client.js';
import { decodeState } from '../state/urlState.js';
import { expectCharts, prefetch } from './useFetch.js';

export function startEarlyRequests(search = window.location.search) {
  const state = decodeState(search);
  prefetch(urls.metrics());
  if (state.dash) prefetch(urls.dashboard(state.dash));
  if (state.dash || (state.page === 'explore' && state.picks.length)) expectCharts();
}
