// @ts-check
// Shared HTTP client for the atende API.
//
// - Sends and receives JSON, with `Authorization: Bearer <access token>`.
// - Access token lives in memory and in sessionStorage (per tab). The refresh
//   token never reaches this code: the server keeps it in the `atende_refresh`
//   cookie (HttpOnly, Secure, SameSite=Strict, Path=/api/auth), which the browser
//   sends with refresh and logout (shared by the tabs). Those two requests carry
//   the `X-Atende-CSRF: 1` header the server requires. localStorage holds only a
//   marker, `atende.session` = "1", that a login session exists (so a new tab knows
//   to refresh, and other tabs see a logout).
// - A 401 with code `token_expired` triggers ONE refresh (concurrent callers
//   share the same promise) and the request is retried once.
// - When the refresh is rejected by the server, or any other 401 answers a
//   request that carried a token (e.g. `session_revoked`), tokens are cleared
//   and a `logout` event is emitted on `authEvents`. Network failures and 5xx/429
//   answers during a refresh keep the session (the user may simply be offline).
// - Every failure is thrown as an `ApiError {status, code, message}`.
//
// The session lives in a client made by `createApiClient(env)`; this module's exports are
// the page's one client, on the browser's fetch, storages and locks. The unit tests
// (tests/web/api.test.mjs) make their own with a fake fetch and in-memory storages.

import { statusPage } from './messages.js';

const ACCESS_KEY = 'atende.access';
const ACCESS_EXPIRES_KEY = 'atende.access_expires_at';
const SESSION_KEY = 'atende.session';
// Where earlier versions kept the refresh token itself: removed on start.
const LEGACY_REFRESH_KEY = 'atende.refresh';
const REFRESH_LOCK = 'atende.refresh-lock';
// Refresh proactively when the access token is this close to expiring
// (at most a quarter of its lifetime).
const EXPIRY_MARGIN_MS = 10_000;

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 for network failures)
   * @param {string} code machine-readable snake_case code
   * @param {string} message human-readable message (pt-BR)
   * @param {{retryAfter?: number|null, body?: unknown}} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = extra.retryAfter ?? null;
    this.body = extra.body ?? null;
  }
}

/**
 * The password was right and the account has two-factor: no session yet. `mfaToken` goes
 * with a code to `completeMfaLogin` (single use, short-lived).
 */
export class MfaRequired extends Error {
  /**
   * @param {string} mfaToken
   * @param {string[]} methods `totp`, `recovery_code`, `passkey`
   */
  constructor(mfaToken, methods) {
    super('Informe o código de verificação.');
    this.name = 'MfaRequired';
    this.mfaToken = mfaToken;
    this.methods = methods;
  }
}

/**
 * What a client takes from the browser.
 * @typedef {object} ApiEnv
 * @property {(path: string, init: RequestInit) => Promise<Response>} fetch
 * @property {Storage|null} session per tab: the access token
 * @property {Storage|null} local shared by the tabs: the marker that a login session exists
 * @property {{request: (name: string, fn: () => Promise<any>) => Promise<any>}|null} locks
 *   serialises refreshes across tabs (navigator.locks), when there is one
 * @property {() => number} now ms since the epoch
 * @property {EventTarget|null} window its `storage` events (another tab logged out)
 */

/**
 * The page's surroundings (looked up when the client is made; a module without them, as
 * in node, still loads).
 * @returns {ApiEnv}
 */
export function browserApiEnv() {
  const g = /** @type {any} */ (globalThis);
  /** @param {string} name */
  const storage = (name) => {
    try {
      return g[name] || null;
    } catch {
      return null; // a browser that forbids storage throws on the mere access
    }
  };
  return {
    fetch: (path, init) => g.fetch(path, init),
    session: storage('sessionStorage'),
    local: storage('localStorage'),
    locks: g.navigator && g.navigator.locks && g.navigator.locks.request ? g.navigator.locks : null,
    now: () => Date.now(),
    window: typeof g.window !== 'undefined' ? g.window : null,
  };
}

/** @param {Storage|null} storage @param {string} key */
function storageGet(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {Storage|null} storage @param {string} key @param {string} value */
function storageSet(storage, key, value) {
  try {
    storage.setItem(key, value);
  } catch {
    // Storage may be unavailable (private mode, quota); memory still works.
  }
}

/** @param {Storage|null} storage @param {string} key */
function storageRemove(storage, key) {
  try {
    storage.removeItem(key);
  } catch {
    // ignore
  }
}

function sessionExpiredError() {
  return new ApiError(401, 'session_expired', 'Sua sessão expirou. Entre novamente.');
}

/**
 * The text of a status without a message of its own, from the message catalog.
 * @param {number} status
 * @param {number|null} [retryAfter]
 */
function fallbackMessage(status, retryAfter = null) {
  return statusPage(status, { retryAfter }).text;
}

/**
 * Seconds to wait from a `Retry-After` header (seconds or an HTTP date), or null.
 * @param {string|null} value
 */
function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number.parseInt(value, 10);
  if (Number.isFinite(seconds) && String(seconds) === value.trim()) return Math.max(0, seconds);
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return null;
}

/** @param {Response} res @returns {Promise<any>} the JSON body, or null */
async function readBody(res) {
  if (res.status === 204 || res.status === 205) return null;
  let text = '';
  try {
    text = await res.text();
  } catch {
    return null;
  }
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** @param {Response} res @param {any} data its body */
function toError(res, data) {
  // `{code, message}`; also accepted nested as `{error: {code, message}}`.
  const body = data && data.error && typeof data.error === 'object' ? data.error : data;
  const code = body && typeof body.code === 'string' ? body.code : `http_${res.status}`;
  const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
  const message =
    body && typeof body.message === 'string' && body.message
      ? body.message
      : fallbackMessage(res.status, retryAfter);
  return new ApiError(res.status, code, message, { retryAfter, body: data });
}

/** @param {Response} res */
async function parse(res) {
  const data = await readBody(res);
  if (res.ok) return data;
  throw toError(res, data);
}

/** @param {Response} res @returns {Promise<Blob>} */
async function parseBlob(res) {
  if (!res.ok) throw toError(res, await readBody(res));
  try {
    return await res.blob();
  } catch {
    throw new ApiError(0, 'network_error', 'O download foi interrompido. Tente novamente.');
  }
}

/**
 * Options of a request: `raw` sends `body` (a Blob) as octet-stream; `as: 'blob'` resolves
 * with a Blob; `csrf` adds the header refresh and logout require.
 * @typedef {{raw?: boolean, as?: 'blob', csrf?: boolean}} RequestOptions
 */

/**
 * A client of the API with its own session (tokens, refresh, `authEvents`).
 * @param {ApiEnv} [env]
 */
export function createApiClient(env = browserApiEnv()) {
  const { session, local } = env;

  /** Emits `login`, `refresh` and `logout` (detail: {reason}) events. */
  const authEvents = new EventTarget();

  let accessToken = storageGet(session, ACCESS_KEY);
  let accessExpiresAt = Number(storageGet(session, ACCESS_EXPIRES_KEY)) || 0;
  /** @type {Promise<unknown>|null} */
  let refreshInFlight = null;
  storageRemove(local, LEGACY_REFRESH_KEY);

  /** Whether a login session (its refresh cookie) probably exists. */
  function hasSession() {
    return storageGet(local, SESSION_KEY) === '1';
  }

  /** @param {any} data a login or refresh answer */
  function storeSession(data) {
    if (!data || typeof data.access_token !== 'string') {
      throw new ApiError(0, 'bad_response', 'Resposta inesperada do servidor.');
    }
    accessToken = data.access_token;
    const ttlMs = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in * 1000 : 0;
    // 0 = unknown: rely on the server's `token_expired` answers alone.
    accessExpiresAt = ttlMs ? env.now() + ttlMs - Math.min(EXPIRY_MARGIN_MS, ttlMs / 4) : 0;
    storageSet(session, ACCESS_KEY, accessToken);
    storageSet(session, ACCESS_EXPIRES_KEY, String(accessExpiresAt));
    storageSet(local, SESSION_KEY, '1');
  }

  /** Forget every token held by this tab (and the shared session marker). */
  function clearTokens() {
    accessToken = null;
    accessExpiresAt = 0;
    storageRemove(session, ACCESS_KEY);
    storageRemove(session, ACCESS_EXPIRES_KEY);
    storageRemove(local, SESSION_KEY);
  }

  /** @param {string} type @param {unknown} detail */
  function emit(type, detail) {
    authEvents.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @param {string} reason */
  function endSession(reason) {
    clearTokens();
    emit('logout', { reason });
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {string|null} [token]
   * @param {RequestOptions} [opts]
   * @returns {Promise<Response>}
   */
  async function send(method, path, body, token, opts = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: opts.as === 'blob' ? '*/*' : 'application/json' };
    /** @type {RequestInit} */
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (opts.raw) {
      // A file's bytes as they are (a Blob can be sent again after a token refresh).
      headers['Content-Type'] = 'application/octet-stream';
      init.body = /** @type {Blob} */ (body);
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.csrf) headers['X-Atende-CSRF'] = '1';
    try {
      return await env.fetch(path, init);
    } catch {
      throw new ApiError(
        0,
        'network_error',
        'Não foi possível conectar ao servidor. Verifique sua conexão e tente novamente.',
      );
    }
  }

  // Serialise refreshes across tabs: refresh tokens rotate, and two tabs
  // presenting the same one would look like token theft to the server.
  /** @param {() => Promise<any>} fn */
  function withRefreshLock(fn) {
    if (env.locks) return env.locks.request(REFRESH_LOCK, fn);
    return fn();
  }

  async function doRefresh() {
    if (!hasSession()) {
      endSession('no_refresh_token');
      throw sessionExpiredError();
    }
    // The token is the cookie, sent by the browser; the body stays empty.
    const res = await send('POST', '/api/auth/refresh', {}, null, { csrf: true });
    const data = await readBody(res);
    if (!res.ok) {
      if (res.status >= 500 || res.status === 429) throw toError(res, data);
      endSession((data && data.code) || 'refresh_failed');
      throw sessionExpiredError();
    }
    storeSession(data);
    emit('refresh', data);
    return data;
  }

  /**
   * Take up a session the server opened by redirect (single sign-on): its refresh
   * cookie is set, this tab has no token yet. Resolves with the refresh answer.
   */
  function adoptSession() {
    storageSet(local, SESSION_KEY, '1');
    return refreshSession();
  }

  /** Refresh the session; concurrent calls share one request. */
  function refreshSession() {
    if (!refreshInFlight) {
      refreshInFlight = withRefreshLock(doRefresh).finally(() => {
        refreshInFlight = null;
      });
    }
    return refreshInFlight;
  }

  function accessLooksExpired() {
    return accessExpiresAt > 0 && env.now() > accessExpiresAt;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async function request(method, path, body, opts = {}) {
    const finish = opts.as === 'blob' ? parseBlob : parse;
    // A new tab has no access token but may share the refresh cookie; an access
    // token we know to be expired would only earn a 401 round trip.
    if ((!accessToken || accessLooksExpired()) && hasSession()) {
      await refreshSession();
    }
    const sentToken = accessToken;
    let res = await send(method, path, body, sentToken, opts);
    if (res.status !== 401 || !sentToken) return finish(res);

    const data = await readBody(res);
    const code = data && data.code;
    if (code !== 'token_expired') {
      // Any other 401 to a request that carried a token (`session_revoked`,
      // `invalid_token`…) means the session is gone for good.
      endSession(code || 'unauthorized');
      throw sessionExpiredError();
    }

    // Another request may already have refreshed while this one was in flight.
    if (accessToken === sentToken) await refreshSession();
    res = await send(method, path, body, accessToken, opts);
    return finish(res);
  }

  const api = {
    /** @param {string} path */
    get: (path) => request('GET', path),
    /** @param {string} path @param {unknown} [body] */
    post: (path, body) => request('POST', path, body === undefined ? {} : body),
    /** PUT a JSON body; `null` is sent as JSON `null` (e.g. to clear a setting). @param {string} path @param {unknown} [body] */
    put: (path, body) => request('PUT', path, body === undefined ? null : body),
    /** @param {string} path @param {unknown} [body] */
    patch: (path, body) => request('PATCH', path, body === undefined ? {} : body),
    /** @param {string} path @param {unknown} [body] */
    del: (path, body) => request('DELETE', path, body),
    /** POST a file's raw bytes (application/octet-stream); resolves with the JSON answer. @param {string} path @param {Blob} blob */
    upload: (path, blob) => request('POST', path, blob, { raw: true }),
    /** GET a file (with the Bearer token); resolves with a Blob. @param {string} path @returns {Promise<Blob>} */
    download: (path) => request('GET', path, undefined, { as: 'blob' }),
    /** POST a JSON body and resolve with the answer as a Blob (e.g. a PDF preview). @param {string} path @param {unknown} [body] @returns {Promise<Blob>} */
    postForBlob: (path, body) => request('POST', path, body === undefined ? {} : body, { as: 'blob' }),
  };

  /**
   * POST to a public endpoint (TV panel, phone page, self check-in) without the login's
   * token and without session handling: a 401 there is about the link, not the login.
   * @param {string} path
   * @param {unknown} [body]
   */
  async function publicPost(path, body) {
    const res = await send('POST', path, body === undefined ? {} : body);
    return parse(res);
  }

  /** GET a public endpoint (document verification) without the login's token. @param {string} path */
  async function publicGet(path) {
    const res = await send('GET', path);
    return parse(res);
  }

  /** DELETE on a public endpoint (a teleconsultation link leaving the relay). @param {string} path */
  async function publicDelete(path) {
    const res = await send('DELETE', path);
    return parse(res);
  }

  /** POST a file's raw bytes to a public endpoint without the login's token. @param {string} path @param {Blob} blob */
  async function publicUpload(path, blob) {
    const res = await send('POST', path, blob, null, { raw: true });
    return parse(res);
  }

  /** @param {string} path @param {unknown} body */
  async function startSession(path, body) {
    const res = await send('POST', path, body);
    const data = await parse(res);
    if (data && data.mfa_required === true && typeof data.mfa_token === 'string') {
      throw new MfaRequired(data.mfa_token, Array.isArray(data.methods) ? data.methods : ['totp']);
    }
    storeSession(data);
    emit('login', data.user ?? null);
    return data.user ?? null;
  }

  /**
   * Log in; resolves to the `Me` object. Throws ApiError (401, 429 with retryAfter…), or
   * MfaRequired when the account logs in with a second step.
   * @param {string} email
   * @param {string} password
   */
  function login(email, password) {
    return startSession('/api/auth/login', { email, password });
  }

  /**
   * The login's second step: the authenticator's code or a recovery code; resolves to the
   * `Me` object. Throws ApiError (401 `invalid_mfa_code`, `mfa_code_used`,
   * `invalid_mfa_token`; 429 with retryAfter).
   * @param {string} mfaToken
   * @param {{code?: string, recovery_code?: string, passkey?: object}} answer
   */
  function completeMfaLogin(mfaToken, answer) {
    return startSession('/api/auth/mfa', { mfa_token: mfaToken, ...answer });
  }

  /**
   * Finish a passwordless login with a passkey's answer; resolves to the `Me` object.
   * Throws ApiError (401 `invalid_passkey`, 429 with retryAfter).
   * @param {string} stateId the `state_id` of `POST /api/auth/passkey/start`
   * @param {object} credential `navigator.credentials.get`'s answer, binary fields in base64url
   */
  function passkeyLogin(stateId, credential) {
    return startSession('/api/auth/passkey/finish', { state_id: stateId, credential });
  }

  /**
   * Patient sign-up, first step: the server e-mails a link to the address (the same answer
   * whether or not the address has an account); no account exists yet. Throws ApiError
   * (422 for a bad field, 429 with retryAfter). @param {object} payload
   */
  async function signup(payload) {
    await publicPost('/api/auth/signup', payload);
  }

  /**
   * Patient sign-up, second step: the e-mailed link's token creates the account and logs in;
   * resolves to the `Me` object. Throws ApiError (400 `invalid_signup_token`, 409
   * `email_taken`, 429). @param {string} token
   */
  function confirmSignup(token) {
    return startSession('/api/auth/signup/confirm', { token });
  }

  /** Revoke the session (best effort; the server also deletes the cookie) and forget it. */
  async function logout() {
    const known = hasSession() || Boolean(accessToken);
    const bearer = accessToken;
    clearTokens();
    if (known) {
      try {
        await send('POST', '/api/auth/logout', {}, bearer, { csrf: true });
      } catch {
        // Offline: the tokens are gone from this browser anyway.
      }
    }
    emit('logout', { reason: 'user' });
  }

  /** Current user (`GET /api/me`). @returns {Promise<import('./types.js').Me>} */
  function me() {
    return api.get('/api/me');
  }

  function isLoggedIn() {
    return Boolean(accessToken || hasSession());
  }

  // Logging out in another tab removes the shared session marker: follow suit.
  if (env.window) {
    env.window.addEventListener('storage', (event) => {
      const { key } = /** @type {StorageEvent} */ (event);
      if ((key === SESSION_KEY || key === null) && !hasSession() && accessToken) {
        endSession('other_tab');
      }
    });
  }

  return {
    authEvents,
    api,
    clearTokens,
    refreshSession,
    adoptSession,
    publicPost,
    publicGet,
    publicDelete,
    publicUpload,
    login,
    completeMfaLogin,
    signup,
    confirmSignup,
    logout,
    me,
    isLoggedIn,
    passkeyLogin,
  };
}

/**
 * Build a query string, skipping empty values: qs({q: 'ana'}) → "?q=ana".
 * @param {Record<string, unknown>} params
 */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** Encode one path segment (ids coming from the server or the URL). @param {unknown} value */
export function seg(value) {
  return encodeURIComponent(String(value));
}

/** The page's client. */
const client = createApiClient();

export const {
  /** Emits `login`, `refresh` and `logout` (detail: {reason}) events. */
  authEvents,
  api,
  /** Forget every token held by this tab (and the shared session marker). */
  clearTokens,
  /** Refresh the session; concurrent calls share one request. */
  refreshSession,
  /** Take up a session the server opened by redirect (single sign-on). */
  adoptSession,
  publicPost,
  publicGet,
  publicDelete,
  publicUpload,
  login,
  completeMfaLogin,
  signup,
  confirmSignup,
  logout,
  me,
  isLoggedIn,
  passkeyLogin,
} = client;
