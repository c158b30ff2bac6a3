// web/js/api.js with a fake fetch and in-memory storages: the access token's refresh on a
// 401 `token_expired` (one refresh, one retry), concurrent 401s sharing one refresh, and a
// refused refresh ending the session. The refresh token is a cookie the browser sends: the
// client only knows (in localStorage) that a session exists, and marks refresh and logout
// with the CSRF header.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApiClient } from '../../web/js/api.js';
import { MemoryStorage, jsonResponse, settle } from './fakes.mjs';

/**
 * A client whose tab holds access token `a1` and whose browser holds a session (the refresh
 * cookie; `refresh: null` for none). `routes(call)` answers each fetch (`call`: {method,
 * path, token, csrf, body}); every call is kept in `calls`.
 */
function setup(routes, { access = 'a1', refresh = 'r1', now = 1_000_000 } = {}) {
  const calls = [];
  const session = new MemoryStorage(access ? { 'atende.access': access } : {});
  const local = new MemoryStorage(refresh ? { 'atende.session': '1' } : {});
  const clock = { now };
  const env = {
    fetch: async (path, init) => {
      const auth = init.headers.Authorization || '';
      const call = {
        method: init.method,
        path,
        token: auth.startsWith('Bearer ') ? auth.slice(7) : null,
        csrf: init.headers['X-Atende-CSRF'] || null,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
      };
      calls.push(call);
      return routes(call);
    },
    session,
    local,
    locks: null,
    now: () => clock.now,
    window: new EventTarget(),
  };
  const client = createApiClient(env);
  const events = [];
  for (const type of ['login', 'refresh', 'logout']) {
    client.authEvents.addEventListener(type, (e) => events.push([type, /** @type {CustomEvent} */ (e).detail]));
  }
  return { client, calls, session, local, events, env, clock };
}

const expired = () => jsonResponse(401, { code: 'token_expired', message: 'token expirado' });
const refreshed = (n) => jsonResponse(200, { access_token: `a${n}`, expires_in: 900 });

test('a 401 token_expired refreshes the session once and retries the request with the new token', async () => {
  const t = setup((c) => {
    if (c.path === '/api/auth/refresh') return refreshed(2);
    return c.token === 'a2' ? jsonResponse(200, { ok: true }) : expired();
  });
  assert.deepEqual(await t.client.api.get('/api/me'), { ok: true });
  assert.deepEqual(t.calls.map((c) => [c.method, c.path, c.token]), [
    ['GET', '/api/me', 'a1'],
    ['POST', '/api/auth/refresh', null],
    ['GET', '/api/me', 'a2'],
  ]);
  assert.deepEqual(t.calls[1].body, {}, 'the refresh token is the cookie, never in the body');
  assert.equal(t.calls[1].csrf, '1');
  assert.equal(t.session.getItem('atende.access'), 'a2');
  assert.equal(t.local.getItem('atende.session'), '1');
  assert.deepEqual(t.events.map(([type]) => type), ['refresh']);
});

test('the retry is made once: a second token_expired is an error, not a loop', async () => {
  const t = setup((c) => (c.path === '/api/auth/refresh' ? refreshed(2) : expired()));
  await assert.rejects(t.client.api.get('/api/x'), (err) => err instanceof ApiError && err.status === 401);
  assert.equal(t.calls.filter((c) => c.path === '/api/auth/refresh').length, 1);
  assert.equal(t.calls.filter((c) => c.path === '/api/x').length, 2);
});

test('concurrent 401s share one refresh, and each request is retried with its result', async () => {
  let finishRefresh;
  const t = setup((c) => {
    if (c.path === '/api/auth/refresh') return new Promise((resolve) => { finishRefresh = () => resolve(refreshed(2)); });
    return c.token === 'a2' ? jsonResponse(200, { path: c.path }) : expired();
  });
  const pending = ['/api/a', '/api/b', '/api/c'].map((p) => t.client.api.get(p));
  await settle();
  // All three got their 401 while the one refresh is still in flight.
  assert.equal(t.calls.filter((c) => c.path === '/api/auth/refresh').length, 1);
  finishRefresh();
  assert.deepEqual(await Promise.all(pending), [{ path: '/api/a' }, { path: '/api/b' }, { path: '/api/c' }]);
  assert.equal(t.calls.filter((c) => c.path === '/api/auth/refresh').length, 1);
  assert.deepEqual(t.calls.filter((c) => c.token === 'a2').map((c) => c.path).sort(), ['/api/a', '/api/b', '/api/c']);
});

test('a refused refresh logs out: tokens forgotten, `logout` with the reason, session_expired thrown', async () => {
  const t = setup((c) => (c.path === '/api/auth/refresh'
    ? jsonResponse(401, { code: 'invalid_refresh_token', message: 'refresh inválido' })
    : expired()));
  await assert.rejects(t.client.api.get('/api/me'), (err) => err instanceof ApiError && err.code === 'session_expired');
  assert.deepEqual(t.events, [['logout', { reason: 'invalid_refresh_token' }]]);
  assert.equal(t.client.isLoggedIn(), false);
  assert.equal(t.session.getItem('atende.access'), null);
  assert.equal(t.local.getItem('atende.session'), null);
  assert.equal(t.calls.filter((c) => c.path === '/api/me').length, 1, 'no retry after a failed refresh');
});

test('a refresh that fails for a busy server (503) keeps the session: the user may try again', async () => {
  const t = setup((c) => (c.path === '/api/auth/refresh'
    ? jsonResponse(503, { code: 'unavailable', message: 'indisponível' })
    : expired()));
  await assert.rejects(t.client.api.get('/api/me'), (err) => err instanceof ApiError && err.status === 503);
  assert.deepEqual(t.events, []);
  assert.equal(t.client.isLoggedIn(), true);
  assert.equal(t.local.getItem('atende.session'), '1');
});

test('any other 401 to a request with a token ends the session without trying a refresh', async () => {
  const t = setup(() => jsonResponse(401, { code: 'session_revoked', message: 'sessão revogada' }));
  await assert.rejects(t.client.api.get('/api/me'), { code: 'session_expired' });
  assert.deepEqual(t.events, [['logout', { reason: 'session_revoked' }]]);
  assert.equal(t.calls.some((c) => c.path === '/api/auth/refresh'), false);
});

test('a new tab with only the shared session (the cookie) refreshes before its first request', async () => {
  const t = setup((c) => (c.path === '/api/auth/refresh' ? refreshed(2) : jsonResponse(200, { token: c.token })), { access: null });
  assert.deepEqual(await t.client.api.get('/api/me'), { token: 'a2' });
  assert.deepEqual(t.calls.map((c) => c.path), ['/api/auth/refresh', '/api/me']);
});

test('login stores the tokens; a request just before expiry refreshes first, none after a fresh login', async () => {
  const t = setup((c) => {
    if (c.path === '/api/auth/login') {
      return jsonResponse(200, { access_token: 'L1', expires_in: 900, user: { id: 'u1' } });
    }
    if (c.path === '/api/auth/refresh') return refreshed(4);
    return jsonResponse(200, { token: c.token });
  }, { access: null, refresh: null });
  assert.deepEqual(await t.client.login('ana@aurora.demo', 'segredo'), { id: 'u1' });
  assert.deepEqual(await t.client.api.get('/api/me'), { token: 'L1' });
  t.clock.now += 900_000 - 10_000 + 1; // within the last 10 s of the token's 900 s
  assert.deepEqual(await t.client.api.get('/api/me'), { token: 'a4' });
  assert.deepEqual(t.calls.map((c) => c.path), ['/api/auth/login', '/api/me', '/api/auth/refresh', '/api/me']);
  assert.deepEqual(t.events.map(([type]) => type), ['login', 'refresh']);
});

test('logging out in another tab (the shared session marker removed) ends this tab\'s session', async () => {
  const t = setup(() => jsonResponse(200, {}));
  t.local.removeItem('atende.session');
  const event = new Event('storage');
  Object.defineProperty(event, 'key', { value: 'atende.session' });
  t.env.window.dispatchEvent(event);
  assert.deepEqual(t.events, [['logout', { reason: 'other_tab' }]]);
  assert.equal(t.client.isLoggedIn(), false);
});

test('no refresh token is ever stored: login keeps a marker only, and an old stored token is removed', async () => {
  const t = setup((c) => (c.path === '/api/auth/login'
    ? jsonResponse(200, { access_token: 'L1', expires_in: 900, user: { id: 'u1' } })
    : jsonResponse(200, {})), { access: null, refresh: null });
  t.local.setItem('atende.refresh', 'legacy');
  const client = createApiClient(t.env);
  assert.equal(t.local.getItem('atende.refresh'), null, 'a token left by an earlier version is dropped');
  await client.login('ana@aurora.demo', 'segredo');
  assert.deepEqual([...t.local.map.entries()], [['atende.session', '1']]);
  await client.logout();
  const logout = t.calls.find((c) => c.path === '/api/auth/logout');
  assert.deepEqual([logout.body, logout.csrf, logout.token], [{}, '1', 'L1']);
  assert.equal(t.local.getItem('atende.session'), null);
});
