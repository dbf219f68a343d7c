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

/** Fetches every URL in `urls`; returns {data: [..], error, loading}. */
export function useFetchAll(urls, reloadKey = 0) {
  const key = urls.join('\n');
  const [state, setState] = useState({ data: null, error: null, loading: false, key: null });
  const latest = useRef(key);

  useEffect(() => {
    latest.current = key;
    const list = key ? key.split('\n') : [];
    if (!list.length) {
      // Nothing asked (yet): no data, rather than an empty answer a panel would show as "no data" (issue 26).
      setState({ data: null, error: null, loading: false, key });
      return undefined;
    }
    const ctrl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: null }));
    Promise.all(list.map((u) => take(u) || getJson(u, { signal: ctrl.signal })))
      .then((data) => latest.current === key && setState({ data, error: null, loading: false, key }))
      .catch((error) => {
        if (error.name === 'AbortError' || latest.current !== key) return;
        setState({ data: null, error, loading: false, key });
      });
    return () => ctrl.abort();
  }, [key, reloadKey]);

  return state;
}

/** Fetches one URL (or nothing for null); returns {data, error, loading}. */
export function useFetch(url, reloadKey = 0) {
  const s = useFetchAll(url ? [url] : [], reloadKey);
  return { ...s, data: s.data && s.data.length ? s.data[0] : null };
}

/**
 * Width of an element in CSS pixels, following resizes (rounded, debounced to one frame). The first is read
 * before the browser paints, so the chart's requests leave in the same task as the first render.
 */
export function useWidth(ref) {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    let frame = 0;
    const measure = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setWidth(Math.floor(el.getBoundingClientRect().width)));
    };
    setWidth(Math.floor(el.getBoundingClientRect().width));
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      ro.disconnect();
    };
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
