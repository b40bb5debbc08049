// api.js - the one door to the console's JSON API (docs/CONSOLE.md).  It
// sends the session's CSRF token in X-CSRF-Token on every POST, turns an
// error reply into an ApiError carrying the status and the server's
// message, and tells the app when the session is gone (401) so it can show
// the login page.

let csrf = null;
let onUnauthorized = null;

export function setCsrf(token) { csrf = token || null; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function send(method, path, body, accept) {
  const headers = { Accept: accept || 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    init.body = JSON.stringify(body || {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, null);
  }
  if (!res.ok) {
    let message = null;
    try { message = (await res.json()).error || null; } catch (e) { /* not JSON */ }
    const err = new ApiError(res.status, message, res.headers.get('Retry-After'));
    if (res.status === 401 && path !== '/api/login' && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  return res;
}

export async function get(path, query) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const qs = q.toString();
    if (qs) url += `?${qs}`;
  }
  return (await send('GET', url)).json();
}

export async function post(path, body) {
  const res = await send('POST', path, body);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

// POST that answers a file (the CSV export): {blob, filename}.
export async function postFile(path, body) {
  const res = await send('POST', path, body, 'text/csv');
  const disp = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(disp);
  return { blob: await res.blob(), filename: m ? m[1] : 'contacts.csv' };
}
