// Sign-in state and the auth API. The session lives in an HttpOnly cookie the page cannot read; the CSRF token
// comes from /api/auth/me and sign-in and is kept in this module's memory only (never localStorage), and sent as
// X-CSRF-Token on every request that changes something.
import { send } from '../api/http.js';

let csrfToken = '';

export class AuthError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
  }
}

/** Sends a request with the session cookie (and the CSRF token unless it is a GET) and returns its JSON. */
export async function call(method, url, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await send(url, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new AuthError((data && data.error) || `HTTP ${res.status}`, res.status);
  return data;
}

function remember(answer) {
  csrfToken = answer.csrf_token || '';
  return answer;
}

/** Who is signed in, or null when nobody is (401). */
export async function whoAmI() {
  try {
    return remember(await call('GET', '/api/auth/me'));
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

export const signIn = (username, password) => call('POST', '/api/auth/login', { username, password }).then(remember);
export const setUp = (code, username, password) =>
  call('POST', '/api/auth/setup', { code, username, password }).then(remember);
export const signOut = () => call('POST', '/api/auth/logout').finally(() => { csrfToken = ''; });
// A password change ends every other session; this one goes on with a new cookie and CSRF token.
export const changePassword = (current, next) =>
  call('POST', '/api/auth/password', { current_password: current, new_password: next }).then(remember);

export const tokens = {
  list: () => call('GET', '/api/auth/tokens'),
  create: (spec) => call('POST', '/api/auth/tokens', spec),
  revoke: (id) => call('DELETE', `/api/auth/tokens/${encodeURIComponent(id)}`),
};

export const users = {
  list: () => call('GET', '/api/auth/users'),
  create: (spec) => call('POST', '/api/auth/users', spec),
  remove: (name) => call('DELETE', `/api/auth/users/${encodeURIComponent(name)}`),
};

/** The one-time setup code in the page's address (`#setup=<code>`, as `make up` prints it), or ''. */
export function setupCode(hash) {
  const match = /(?:^#|&)setup=([^&]+)/.exec(hash || '');
  return match ? decodeURIComponent(match[1]) : '';
}

/** The CSRF header for a change the rest of the dashboard makes with the session (e.g. saving a dashboard). */
export const csrfHeaders = () => (csrfToken ? { 'X-CSRF-Token': csrfToken } : {});
