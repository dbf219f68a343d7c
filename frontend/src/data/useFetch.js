// Fetch hooks: JSON by URL, cancelled when the URL changes, keeping the last data while the next loads.
import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { activity, getJson } from '../api/client.js';

// Requests started as the page loads, before React has drawn anything (main.jsx), each handed to the first
// hook that asks for its URL: the page's data requests leave with the page, not after the app's start-up.
const early = new Map();

/** Starts GETting a URL now; the first useFetchAll/useFetch of that URL takes the answer instead of asking again. */
export function prefetch(url) {
  const ctrl = new AbortController();
  const answer = getJson(url, { signal: ctrl.signal });
  answer.catch(() => {}); // a failure is reported by the hook that takes it
  early.set(url, answer);
  setTimeout(() => early.get(url) === answer && (early.delete(url), ctrl.abort()), 10_000); // nobody came
}

const take = (url) => {
  const answer = early.get(url);
  early.delete(url);
  return answer;
};

// GETs in flight by URL, shared by every hook that asks for the same one meanwhile: a dashboard's panels often
// repeat a query (a stat beside the line of the same metric), and the server then did the same work twice while
// the other panels waited (issue 26). The request is cancelled when the last hook that asked lets go of it.
const inflight = new Map();

const aborted = () => new DOMException('The request was cancelled', 'AbortError');

/** getJson(url), shared with the other hooks asking for it now; `signal` cancels this asker's share. */
function sharedGet(url, signal) {
  let entry = inflight.get(url);
  if (!entry) {
    const ctrl = new AbortController();
    const answer = getJson(url, { signal: ctrl.signal });
    entry = { ctrl, answer, users: 0 };
    inflight.set(url, entry);
    const forget = () => inflight.get(url) === entry && inflight.delete(url);
    answer.then(forget, forget);
  }
  const mine = entry;
  mine.users += 1;
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => {
      mine.users -= 1;
      if (mine.users === 0) {
        if (inflight.get(url) === mine) inflight.delete(url);
        mine.ctrl.abort();
      }
      reject(aborted());
    }, { once: true });
    mine.answer.then(resolve, reject);
  });
}

// Charts' data first: a browser opens at most six connections to a server, and a page's side requests (label
// values for the filters, alert rules and history, the firing count) took them all while the chart's own query
// waited in the queue (measured: it left after eight others). Requests not marked `first` wait until no `first`
// one holds them, at most MAX_WAIT. A `first` request holds them until its answer is drawn and painted: released
// when the data came back, they started while the chart was being drawn, and on a machine that runs the server
// too their answers took its processors from the drawing (issue 26).
const MAX_WAIT = 3000;
let holds = 0;
let waiting = [];

/** Holds the side requests back until the returned function is called (once; later calls do nothing). */
function holdSideRequests() {
  holds += 1;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    holds -= 1;
    if (holds > 0) return;
    for (const go of waiting) go();
    waiting = [];
  };
}

/** Calls f once the browser has painted what was committed before: after the next frame. */
const afterPaint = (f) => requestAnimationFrame(() => setTimeout(f, 0));

// A page opened on charts holds the side requests from the start (their hooks run before the charts' own):
// expectCharts() is a hold until the first `first` request starts, or MAX_WAIT.
let pageHold = null;
const passPageHold = () => {
  pageHold?.();
  pageHold = null;
};
export function expectCharts() {
  pageHold = holdSideRequests();
  setTimeout(passPageHold, MAX_WAIT);
}
const afterFirst = () => (holds === 0 ? Promise.resolve()
  : new Promise((go) => {
    waiting.push(go);
    setTimeout(go, MAX_WAIT);
  }));

/** Fetches every URL in `urls`; returns {data: [..], error, loading}. `first`: a chart's data (see above). */
export function useFetchAll(urls, reloadKey = 0, { first = false } = {}) {
  const key = urls.join('\n');
  const [state, setState] = useState({ data: null, error: null, loading: false, key: null, request: 0 });
  const latest = useRef(key);
  const requests = useRef(0);
  const hold = useRef(null); // {request, release} of the `first` request whose answer is not yet drawn

  useEffect(() => {
    latest.current = key;
    const list = key ? key.split('\n') : [];
    if (!list.length) {
      // Nothing asked (yet): no data, rather than an empty answer a panel would show as "no data" (issue 26).
      setState({ data: null, error: null, loading: false, key, request: 0 });
      return undefined;
    }
    const request = (requests.current += 1);
    const ctrl = new AbortController();
    const release = first ? holdSideRequests() : null;
    if (first) {
      hold.current = { request, release };
      passPageHold();
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    const ask = (u) => take(u) || (first ? sharedGet(u, ctrl.signal)
      : afterFirst().then(() => sharedGet(u, ctrl.signal)));
    Promise.all(list.map(ask))
      .then((data) => latest.current === key && setState({ data, error: null, loading: false, key, request }))
      .catch((error) => {
        if (error.name === 'AbortError' || latest.current !== key) return;
        setState({ data: null, error, loading: false, key, request });
      });
    return () => {
      ctrl.abort();
      release?.();
    };
  }, [key, reloadKey, first]);

  // The answer is committed (drawn by whoever renders it): the side requests go once it is painted.
  useEffect(() => {
    if (!hold.current || hold.current.request !== state.request) return;
    afterPaint(hold.current.release);
    hold.current = null;
  }, [state.request]);

  return state;
}

/** Fetches one URL (or nothing for null); returns {data, error, loading}. */
export function useFetch(url, reloadKey = 0, options = undefined) {
  const s = useFetchAll(url ? [url] : [], reloadKey, options);
  return { ...s, data: s.data && s.data.length ? s.data[0] : null };
}

/**
 * Width of an element in CSS pixels (its border box, rounded down), following resizes. The first is read before
 * the browser paints, so the chart's requests leave in the same task as the first render; later ones come from
 * the ResizeObserver's own measurement, made after the browser's layout: reading the box again forced a layout
 * of the page each time a panel's content changed (150 ms of a 6-panel dashboard's drawing, issue 26).
 */
export function useWidth(ref) {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    setWidth(Math.floor(el.getBoundingClientRect().width));
    const ro = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.borderBoxSize[0].inlineSize)));
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return width;
}

/** The value after it stopped changing for `ms` milliseconds. */
export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

/** True while any request of the page is in flight. */
export const useBusy = () => useSyncExternalStore(activity.subscribe, () => activity.count() > 0);
