// The only module that talks HTTP: JSON GETs under /api, with the API's {"error": "..."} turned into ApiError.
import { buildMetricQueryString } from './query.js';

export const API = '/api';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

// How many requests are in flight, for the refresh button's activity; subscribe() follows it.
let inflight = 0;
const listeners = new Set();
const changed = (d) => {
  inflight += d;
  for (const f of listeners) f();
};
export const activity = {
  count: () => inflight,
  subscribe: (f) => {
    listeners.add(f);
    return () => listeners.delete(f);
  },
};

/** GETs a URL and returns its JSON, throwing ApiError with the server's message on failure. */
export async function getJson(url, { signal } = {}) {
  changed(1);
  try {
    return await fetchJson(url, signal);
  } finally {
    changed(-1);
  }
}

async function fetchJson(url, signal) {
  let res;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(`Cannot reach the server (${err.message})`, 0);
  }
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const message = (body && (body.error || body.message)) || text.slice(0, 200) || res.statusText;
    throw new ApiError(`${message} (HTTP ${res.status})`, res.status);
  }
  if (body === null) throw new ApiError('The server sent a response that is not JSON', res.status);
  return body;
}

const enc = encodeURIComponent;

export const urls = {
  metrics: (search) => `${API}/metrics${search ? `?search=${enc(search)}` : ''}`,
  series: (name) => `${API}/metrics/${enc(name)}/series`,
  query: (qs) => `${API}/query?${qs}`,
  states: (name, opts) => `${API}/metrics/${enc(name)}/states?${buildMetricQueryString(opts)}`,
  heatmap: (name, opts) => `${API}/metrics/${enc(name)}/heatmap?${buildMetricQueryString(opts)}`,
};
