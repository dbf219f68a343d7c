// JSON requests under /api, with the API's {"error": "..."} turned into ApiError (sent by api/http.js, which
// retries a refusal for load).
import { csrfHeaders } from '../auth/session.js';
import { send } from './http.js';
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
export const getJson = (url, { signal } = {}) => sendJson('GET', url, undefined, { signal });

/** GETs a URL's text (a CSV answer), throwing ApiError with the start of the answer on failure. */
export async function getText(url) {
  changed(1);
  try {
    const res = await send(url, { headers: { Accept: 'text/csv, text/plain, */*' } });
    const text = await res.text();
    if (!res.ok) throw new ApiError(`${text.slice(0, 200) || res.statusText} (HTTP ${res.status})`, res.status);
    return text;
  } finally {
    changed(-1);
  }
}

/** Sends a JSON body (POST, PUT, DELETE) and returns the JSON answer, throwing ApiError like getJson. */
export async function sendJson(method, url, body, { signal } = {}) {
  changed(1);
  try {
    return await fetchJson(method, url, body, signal);
  } finally {
    changed(-1);
  }
}

async function fetchJson(method, url, body, signal) {
  let res;
  try {
    const headers = {
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(method === 'GET' ? {} : csrfHeaders()), // a change made with the session cookie carries its CSRF token
    };
    res = await send(url, { method, signal, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(`Cannot reach the server (${err.message})`, 0);
  }
  const text = await res.text();
  let answer;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    answer = null;
  }
  if (!res.ok) {
    const message = (answer && (answer.error || answer.message)) || text.slice(0, 200) || res.statusText;
    throw new ApiError(`${message} (HTTP ${res.status})`, res.status);
  }
  if (res.status === 204) return null; // No Content: a DELETE that succeeded
  if (answer === null) throw new ApiError('The server sent a response that is not JSON', res.status);
  return answer;
}

const enc = encodeURIComponent;

export const urls = {
  metrics: (search) => `${API}/metrics${search ? `?search=${enc(search)}` : ''}`,
  series: (name) => `${API}/metrics/${enc(name)}/series`,
  query: (qs) => `${API}/query?${qs}`,
  states: (name, opts) => `${API}/metrics/${enc(name)}/states?${buildMetricQueryString(opts)}`,
  heatmap: (name, opts) => `${API}/metrics/${enc(name)}/heatmap?${buildMetricQueryString(opts)}`,
  dashboards: (search) => `${API}/dashboards${search ? `?search=${enc(search)}` : ''}`,
  dashboard: (id) => `${API}/dashboards/${enc(id)}`,
  dashboardVersions: (id) => `${API}/dashboards/${enc(id)}/versions`,
  dashboardRestore: (id) => `${API}/dashboards/${enc(id)}/restore`,
  alerts: () => `${API}/alerts`,
  rules: () => `${API}/v1/rules`,
  ruleGroups: () => `${API}/alerts/rules`,
  ruleGroup: (name) => `${API}/alerts/rules/${enc(name)}`,
  ruleChanges: (name) => `${API}/alerts/changes?group=${enc(name)}`,
  backtest: () => `${API}/alerts/backtest`,
  alertHistory: (start, end) => `${API}/alerts/history?start=${Math.floor(start / 1000)}&end=${Math.ceil(end / 1000)}`,
  queryRange: (expr, start, end, step) => `${API}/v1/query_range?query=${enc(expr)}&start=${start / 1000}&end=${end / 1000}&step=${step / 1000}`,
};
