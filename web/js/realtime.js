// @ts-check
// Real-time client: one WebSocket per tab, shared by every view.
//
//   import { realtime } from './realtime.js';
//   realtime.connect();                       // app.js does this once logged in
//   const room = realtime.join('chat:<id>', {
//     since: 0,                               // replay history (omit: only new events)
//     events: { 'chat.message': (payload, frame) => … },
//     onEvent: (event, payload, frame) => …,  // every push of the topic
//     onPresence: (people) => …,              // [{user_id, name, key, role}], one per user
//     onJoin: ({seq, resync, rejoin, presence}) => …,
//     onError: (err) => …,                    // the join was refused for good ({code, message})
//     onStatus: (state, label) => …,          // connection status (see STATUS_LABELS)
//   });
//   await room.ready;                         // first successful join (rejects like onError)
//   await room.push('message.send', {…});     // resolves with the reply's `response`
//   room.on('chat.typing', fn);               // → unsubscribe function
//   room.leave();
//
// Guests (the TV call panel, a patient's phone page) have no login: they get their own
// client that authenticates with a first frame instead of a ticket, and otherwise behaves
// the same (reconnects, heartbeats, rejoins):
//
//   const client = createGuestClient({ panel: token });   // or { tracker }, { consult }
//   client.onAuthError((err) => …);         // the credential was refused for good
//   client.connect();
//   const feed = client.join('clinic:<id>:panel', { events: {…}, onJoin, onStatus });
//   client.destroy();                       // when the page goes away
//
// Protocol (docs in src/actors/protocol.rs and ws_session.rs):
// - A fresh single-use ticket (POST /api/ws/ticket) authenticates every connection
//   attempt of a logged-in tab (a guest client sends `system`/`auth` with its credential as
//   the first frame instead, and joins nothing before the `ok`). The browser cannot see why an upgrade failed (a spent ticket answers
//   401), so each attempt simply asks for a new ticket; api.js refreshes the access
//   token and emits `logout` when the session is gone.
// - Per topic the last seq seen is kept; pushes with seq <= last are dropped and a
//   rejoin sends `since` so the server replays exactly what was missed (or answers
//   `resync: true` when it cannot).
// - An app-level heartbeat every 25 s; no reply within 10 s means the link is dead.
// - Reconnects use exponential backoff with full jitter (500 ms base, 15 s cap),
//   reset once a connection has stayed up for a while. The browser's `offline`
//   event drops the socket at once (a socket over a vanished network may stay
//   "open" for a long time) and `online` reconnects right away.
// - A join refused for good (forbidden, not_found…) is reported and never retried;
//   transient failures are retried a few times.
// - A close with 4002 (access changed: a role taken away, a patient link revoked) tells
//   the `onAccessChanged` listeners, so the app re-reads who the user is; the client
//   reconnects and rejoins what is still allowed.

import { api, authEvents, isLoggedIn, refreshSession } from './api.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const STABLE_AFTER_MS = 10_000;
const HEARTBEAT_EVERY_MS = 25_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;
const OPEN_TIMEOUT_MS = 10_000;
const TICKET_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const JOIN_RETRIES = 5;
/** WebSocket readyState values (the standard's numbers; a test's fake socket uses them too). */
const CONNECTING = 0;
const OPEN = 1;

/** Join errors worth retrying (the server or the room actor was busy or restarting). */
const TRANSIENT_CODES = new Set(['internal_error', 'unavailable', 'rate_limited', 'timeout']);
/** Join errors that mean the login session is gone: reconnecting makes the ticket request
 * answer 401, and api.js then ends the session (logout event). */
const SESSION_CODES = new Set(['session_revoked', 'invalid_token', 'unauthenticated', 'token_expired']);

/** Guest credential refusals that retrying cannot fix (the server closes the socket). A
 * teleconsultation link may also be `too_early` (the room is not open yet), for a
 * cancelled appointment, or a guest's whose invitation was taken back (`link_revoked`:
 * the server first closes the guest's sockets with 1008, and the reconnect lands here):
 * the page decides whether and when to try again. */
const FATAL_AUTH_CODES = new Set(['invalid_token', 'invalid_payload', 'too_early', 'consult_cancelled', 'link_revoked']);

/** Connection states and their pt-BR labels. */
export const STATUS_LABELS = {
  connecting: 'conectando…',
  connected: 'conectado',
  reconnecting: 'reconectando…',
  disconnected: 'desconectado',
};

/**
 * A socket as the client uses it: the browser's WebSocket, or a test's fake.
 * @typedef {object} SocketLike
 * @property {number} readyState 0 connecting, 1 open, 2 closing, 3 closed
 * @property {(data: string) => void} send
 * @property {(code?: number, reason?: string) => void} close
 * @property {(() => void)|null} onopen
 * @property {((event: {data: any}) => void)|null} onmessage
 * @property {((event: {code: number}) => void)|null} onclose
 * @property {(() => void)|null} onerror
 */

/**
 * What the client takes from its surroundings. `browserEnv()` gives the page's; the unit
 * tests (tests/web/realtime.test.mjs) pass a fake socket, timers they advance and fixed dice.
 * @typedef {object} RealtimeEnv
 * @property {new (url: string) => SocketLike} WebSocket
 * @property {(fn: () => void, ms?: number) => any} setTimeout
 * @property {(id: any) => void} clearTimeout
 * @property {(fn: () => void, ms?: number) => any} setInterval
 * @property {(id: any) => void} clearInterval
 * @property {() => number} random in [0, 1): the reconnect backoff's jitter
 * @property {() => string} wsUrl the socket's address without a ticket: `ws[s]://<host>/ws`
 * @property {() => boolean} offline the browser knows it has no network
 * @property {() => Promise<any>} ticket a single-use ticket (`POST /api/ws/ticket`)
 * @property {(() => Promise<any>)=} reauthenticate refresh the login (after a close with 4001)
 * @property {() => boolean} isLoggedIn
 * @property {EventTarget|null} authEvents its `logout` disconnects a logged-in client
 * @property {EventTarget|null} window its `online`/`offline` events
 * @property {(EventTarget & {visibilityState: string})|null} document its `visibilitychange`
 */

/**
 * The page's surroundings (globals looked up when the client is made; none is needed to
 * import this module, so node can load it).
 * @returns {RealtimeEnv}
 */
export function browserEnv() {
  const g = /** @type {any} */ (globalThis);
  return {
    WebSocket: g.WebSocket,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (id) => clearInterval(id),
    random: () => Math.random(),
    wsUrl: () => `${g.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${g.location.host}/ws`,
    offline: () => Boolean(g.navigator && g.navigator.onLine === false),
    ticket: () => api.post('/api/ws/ticket'),
    reauthenticate: () => refreshSession(),
    isLoggedIn,
    authEvents,
    window: typeof g.window !== 'undefined' ? g.window : null,
    document: typeof g.document !== 'undefined' ? g.document : null,
  };
}

/**
 * An error reply (or a local failure such as `not_connected`): `{code, message}`, and for
 * refusals about load (`overloaded`) when to try again.
 */
export class RealtimeError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {number|null} [retryAfterMs]
   */
  constructor(code, message, retryAfterMs = null) {
    super(message || code);
    this.name = 'RealtimeError';
    this.code = code;
    /** @type {number|null} */
    this.retryAfterMs = retryAfterMs;
  }
}

const LOCAL_MESSAGES = {
  not_connected: 'Sem conexão com o servidor no momento.',
  disconnected: 'A conexão caiu antes da resposta.',
  timeout: 'O servidor não respondeu a tempo.',
  left: 'Você saiu deste canal.',
};

function localError(code) {
  return new RealtimeError(code, LOCAL_MESSAGES[code] || code);
}

/** A v4 UUID; `crypto.randomUUID` only exists in secure contexts (https, localhost). */
export function uuidv4() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function safeCall(fn, ...args) {
  if (typeof fn !== 'function') return;
  try {
    fn(...args);
  } catch (err) {
    // A bug in a view must not break the socket loop; keep it visible.
    console.error(err);
  }
}

/** Presence entries (one per connection) → one per user, sorted by name. */
function peopleOf(presence) {
  const byUser = new Map();
  for (const entry of presence.values()) {
    if (entry && entry.user_id && !byUser.has(entry.user_id)) byUser.set(entry.user_id, entry);
  }
  return [...byUser.values()].sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
}

class Topic {
  constructor(name, since) {
    this.name = name;
    /** Last seq seen (null: not known yet; the join reply's head is used). */
    this.lastSeq = typeof since === 'number' && since >= 0 ? since : null;
    this.handles = new Set();
    this.joined = false;
    this.joining = false;
    this.everJoined = false;
    this.failures = 0;
    this.retryTimer = 0;
    /** key → {key, user_id, name, role} */
    this.presence = new Map();
    this.lastJoin = null;
  }
}

export class Handle {
  constructor(client, topic, opts) {
    this.client = client;
    this.topic = topic;
    this.opts = opts;
    this.listeners = new Map();
    this.dead = false;
    this.offStatus = null;
    for (const [event, fn] of Object.entries(opts.events || {})) this.on(event, fn);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only use onError must not see "unhandled rejection".
    this.ready.catch(() => {});
  }

  get name() {
    return this.topic.name;
  }

  /** Joined right now (pushes can be sent). */
  get joined() {
    return !this.dead && this.topic.joined && this.client.isOpen();
  }

  get lastSeq() {
    return this.topic.lastSeq;
  }

  /** People online on the topic, one entry per user. */
  get presence() {
    return peopleOf(this.topic.presence);
  }

  /** Listen to one event of this topic; returns an unsubscribe function. */
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event)?.delete(fn);
  }

  /** Send `event` on the topic; resolves with the reply's response. */
  push(event, payload = {}, { timeout = REQUEST_TIMEOUT_MS } = {}) {
    if (this.dead) return Promise.reject(localError('left'));
    if (!this.topic.joined || !this.client.isOpen()) return Promise.reject(localError('not_connected'));
    return this.client.request(this.topic.name, event, payload, timeout);
  }

  leave() {
    if (this.dead) return;
    this.kill();
    this.client.release(this);
  }

  kill() {
    this.dead = true;
    this.listeners.clear();
    if (this.offStatus) this.offStatus();
    this.offStatus = null;
  }

  emit(event, payload, frame) {
    if (this.dead) return;
    for (const fn of this.listeners.get(event) || []) safeCall(fn, payload, frame);
    safeCall(this.opts.onEvent, event, payload, frame);
  }
}

export class RealtimeClient {
  /**
   * @param {{guest?: object|null, env?: RealtimeEnv}} [options] `guest`: the payload of a
   *   first-frame `system`/`auth` (`{panel}`, `{tracker}` or `{consult}`) for a connection
   *   without a login; `env`: the browser's (tests pass a fake socket, timers and dice).
   */
  constructor({ guest = null, env = browserEnv() } = {}) {
    this.env = env;
    this.guest = guest && typeof guest === 'object' ? { ...guest } : null;
    /** The socket is authenticated (at once with a ticket; after the auth reply for a guest). */
    this.authed = false;
    /** The guest auth reply (e.g. `{clinic_id}`). */
    this.authInfo = null;
    this.authErrorListeners = new Set();
    this.state = 'disconnected';
    this.wanted = false;
    /** Whether this session ever got a connection ("reconectando…" vs "conectando…"). */
    this.everConnected = false;
    this.ws = null;
    this.generation = 0;
    this.attempt = 0;
    /** The server closed with 4001: refresh the login before the next ticket. */
    this.reauthenticate = false;
    this.nextRef = 1;
    /** ref → {resolve, reject, timer} */
    this.replies = new Map();
    /** name → Topic */
    this.topics = new Map();
    this.statusListeners = new Set();
    /** @type {Set<() => void>} */
    this.accessListeners = new Set();
    this.timers = { reconnect: 0, stable: 0, heartbeat: 0, open: 0 };

    this.onLogout = () => this.disconnect();
    this.onOffline = () => this.handleOffline();
    this.onOnline = () => this.handleOnline();
    this.onVisibility = () => {
      // Back to a tab whose reconnect is waiting on a long backoff: try now.
      if (env.document && env.document.visibilityState === 'visible' && this.wanted && !this.ws
        && this.timers.reconnect) {
        this.reconnectNow();
      }
    };
    // A guest connection does not belong to the login session: a logout leaves it alone.
    if (!this.guest && env.authEvents) env.authEvents.addEventListener('logout', this.onLogout);
    if (env.window) {
      env.window.addEventListener('offline', this.onOffline);
      env.window.addEventListener('online', this.onOnline);
    }
    if (env.document) env.document.addEventListener('visibilitychange', this.onVisibility);
  }

  // ------------------------------------------------------------ public ---

  get statusLabel() {
    return STATUS_LABELS[this.state];
  }

  /** Start (idempotent). Needs a logged-in session (or a guest credential). */
  connect() {
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    this.setState('connecting');
    this.open();
  }

  /** Close the connection and forget every topic (logout). */
  disconnect() {
    this.wanted = false;
    this.generation += 1;
    this.clearTimer('reconnect');
    this.dropSocket(1000, 'logout');
    for (const topic of this.topics.values()) {
      this.env.clearTimeout(topic.retryTimer);
      for (const handle of topic.handles) handle.kill();
    }
    this.topics.clear();
    this.everConnected = false;
    this.setState('disconnected');
  }

  /** Guest clients: fn(err) when the credential is refused for good (the client then stops). */
  onAuthError(fn) {
    this.authErrorListeners.add(fn);
    return () => this.authErrorListeners.delete(fn);
  }

  /** Disconnect and drop every listener (a guest client whose page went away). */
  destroy() {
    this.disconnect();
    this.statusListeners.clear();
    this.authErrorListeners.clear();
    const { env } = this;
    if (env.authEvents) env.authEvents.removeEventListener('logout', this.onLogout);
    if (env.window) {
      env.window.removeEventListener('offline', this.onOffline);
      env.window.removeEventListener('online', this.onOnline);
    }
    if (env.document) env.document.removeEventListener('visibilitychange', this.onVisibility);
  }

  /** Listen to connection status: fn(state, label), called now and on each change. */
  /** `fn()` when the server says this user's access changed (close code 4002). */
  onAccessChanged(fn) {
    this.accessListeners.add(fn);
    return () => this.accessListeners.delete(fn);
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    safeCall(fn, this.state, this.statusLabel);
    return () => this.statusListeners.delete(fn);
  }

  /** Join `topic` (see the top of this file). Returns a handle. */
  join(name, opts = {}) {
    let topic = this.topics.get(name);
    const isNew = !topic;
    if (isNew) {
      topic = new Topic(name, opts.since);
      this.topics.set(name, topic);
    } else if (!topic.handles.size && !topic.everJoined && typeof opts.since === 'number') {
      // Left and joined again while the first join was in flight: reuse it (a second join
      // of the same topic would get no reply), with the new starting point.
      topic.lastSeq = opts.since;
    }
    const handle = new Handle(this, topic, opts);
    topic.handles.add(handle);
    if (opts.onStatus) {
      // Deferred: the caller has not stored the handle yet while join() runs.
      queueMicrotask(() => {
        if (!handle.dead) handle.offStatus = this.onStatus(opts.onStatus);
      });
    }
    if (isNew) {
      if (this.isOpen()) this.sendJoin(topic);
    } else if (topic.joined && topic.lastJoin) {
      // The topic is already joined for another view: this one starts from now.
      const info = { ...topic.lastJoin, presence: handle.presence, rejoin: false };
      queueMicrotask(() => {
        if (handle.dead) return;
        handle.resolveReady(info);
        safeCall(opts.onJoin, info);
        safeCall(opts.onPresence, handle.presence);
      });
    }
    return handle;
  }

  // ---------------------------------------------------------- internals ---

  /** Connected and authenticated: topics can be joined and pushes sent. */
  isOpen() {
    return this.authed && this.socketOpen();
  }

  socketOpen() {
    return Boolean(this.ws && this.ws.readyState === OPEN);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const fn of [...this.statusListeners]) safeCall(fn, state, STATUS_LABELS[state]);
  }

  clearTimer(name) {
    this.env.clearTimeout(this.timers[name]);
    this.env.clearInterval(this.timers[name]);
    this.timers[name] = 0;
  }

  async open() {
    this.clearTimer('reconnect');
    const gen = ++this.generation;
    if (!this.wanted) return;
    if (!this.guest && !this.env.isLoggedIn()) {
      this.disconnect();
      return;
    }
    if (this.env.offline()) {
      // Wait for the `online` event; retry later anyway in case onLine is wrong.
      this.setState(this.everConnected ? 'reconnecting' : 'connecting');
      this.timers.reconnect = this.env.setTimeout(() => this.open(), MAX_DELAY_MS);
      return;
    }

    const url = this.env.wsUrl();
    if (this.guest) {
      this.attach(url);
      return;
    }

    let ticket;
    try {
      if (this.reauthenticate && this.env.reauthenticate) {
        // The server ended the connection at its maximum lifetime (4001): show it a fresh
        // login before the next ticket.
        this.reauthenticate = false;
        await this.env.reauthenticate();
      }
      // fetch() has no deadline of its own: a server that hangs must not stall reconnecting.
      let timer = 0;
      const res = await Promise.race([
        this.env.ticket(),
        new Promise((_, reject) => {
          timer = this.env.setTimeout(() => reject(localError('timeout')), TICKET_TIMEOUT_MS);
        }),
      ]).finally(() => this.env.clearTimeout(timer));
      ticket = res && res.ticket;
      if (typeof ticket !== 'string' || !ticket) throw localError('bad_ticket');
    } catch (err) {
      if (gen !== this.generation || !this.wanted) return;
      if (!this.env.isLoggedIn()) {
        // api.js ended the session (and emitted `logout`).
        this.disconnect();
        return;
      }
      const retryAfter = err && typeof err.retryAfter === 'number' ? err.retryAfter * 1000 : 0;
      this.scheduleReconnect(retryAfter);
      return;
    }
    if (gen !== this.generation || !this.wanted) return;
    this.attach(`${url}?ticket=${encodeURIComponent(ticket)}`);
  }

  /** Open the socket at `url` and wire its events. */
  attach(url) {
    let ws;
    try {
      ws = new this.env.WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.timers.open = this.env.setTimeout(() => {
      if (this.ws === ws && ws.readyState === CONNECTING) this.dropSocket(4000, 'open timeout');
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      if (this.ws === ws) this.handleOpen();
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.handleFrame(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this.handleClose(event.code);
    };
    ws.onerror = () => {
      // `close` always follows.
    };
  }

  handleOpen() {
    this.clearTimer('open');
    if (this.guest) {
      this.authenticateGuest();
      return;
    }
    this.authed = true;
    this.handleReady();
  }

  /** Guest: the first frame is `system`/`auth` with the credential; nothing else before `ok`. */
  authenticateGuest() {
    const ws = this.ws;
    this.request('system', 'auth', this.guest, HEARTBEAT_TIMEOUT_MS).then((res) => {
      if (this.ws !== ws) return;
      this.authInfo = res;
      this.authed = true;
      this.handleReady();
    }, (err) => {
      if (this.ws !== ws) return;
      if (FATAL_AUTH_CODES.has(err.code)) {
        this.failAuth(err);
        return;
      }
      // Busy server, timeout, lost connection: try again with backoff.
      this.dropSocket(4000, 'auth failed');
    });
  }

  /** The guest credential was refused for good: stop and tell the views. */
  failAuth(err) {
    for (const topic of this.topics.values()) {
      this.env.clearTimeout(topic.retryTimer);
      for (const handle of [...topic.handles]) {
        handle.kill();
        handle.rejectReady(err);
        safeCall(handle.opts.onError, err);
      }
      topic.handles.clear();
    }
    this.disconnect();
    for (const fn of [...this.authErrorListeners]) safeCall(fn, err);
  }

  /** Authenticated: status, heartbeat, (re)join every topic. */
  handleReady() {
    this.everConnected = true;
    this.setState('connected');
    // Only a connection that stays up resets the backoff (no tight flapping loop).
    this.timers.stable = this.env.setTimeout(() => {
      this.attempt = 0;
    }, STABLE_AFTER_MS);
    this.timers.heartbeat = this.env.setInterval(() => this.heartbeat(), HEARTBEAT_EVERY_MS);
    for (const topic of this.topics.values()) this.sendJoin(topic);
  }

  heartbeat() {
    const ws = this.ws;
    if (!this.isOpen()) return;
    this.request('system', 'heartbeat', {}, HEARTBEAT_TIMEOUT_MS).catch((err) => {
      if (err.code === 'timeout' && this.ws === ws) this.dropSocket(4000, 'heartbeat timeout');
    });
  }

  /** The socket is gone (closed by the server, the network or us). */
  handleClose(code) {
    this.ws = null;
    this.authed = false;
    this.clearTimer('open');
    this.clearTimer('stable');
    this.clearTimer('heartbeat');
    for (const [, pending] of this.replies) {
      this.env.clearTimeout(pending.timer);
      pending.reject(localError('disconnected'));
    }
    this.replies.clear();
    for (const topic of [...this.topics.values()]) {
      topic.joined = false;
      topic.joining = false;
      this.env.clearTimeout(topic.retryTimer);
      if (!topic.handles.size) this.topics.delete(topic.name);
    }
    if (!this.wanted) return;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting');
    if (this.env.offline()) {
      this.open(); // waits for `online`
      return;
    }
    if (code === 4002) {
      for (const fn of [...this.accessListeners]) safeCall(fn);
    }
    // 4001: the connection reached its maximum lifetime: refresh the login, come back soon.
    if (code === 4001) {
      this.reauthenticate = true;
      this.scheduleReconnect(0);
      return;
    }
    // 1012: the server is restarting (maybe behind a balancer): come back soon.
    // 1008 (policy) and others: plain backoff.
    this.scheduleReconnect(code === 1008 ? 1000 : 0);
  }

  /** Close our socket now, without waiting for a closing handshake that may never come. */
  dropSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
    try {
      if (ws.readyState === OPEN) ws.close(code, reason);
      else if (ws.readyState === CONNECTING) {
        // Closing a connecting socket logs a browser error: let it finish, then close.
        ws.onopen = () => ws.close(code, reason);
      }
    } catch {
      // already closing
    }
    this.handleClose(code);
  }

  scheduleReconnect(minDelay = 0) {
    this.clearTimer('reconnect');
    if (!this.wanted) return;
    this.attempt += 1;
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = Math.max(minDelay, this.env.random() * ceiling);
    this.timers.reconnect = this.env.setTimeout(() => {
      this.timers.reconnect = 0;
      this.open();
    }, delay);
  }

  reconnectNow() {
    this.clearTimer('reconnect');
    this.open();
  }

  handleOffline() {
    if (!this.wanted) return;
    this.clearTimer('reconnect');
    if (this.ws) this.dropSocket(4000, 'offline');
    else this.setState(this.everConnected ? 'reconnecting' : 'connecting');
  }

  handleOnline() {
    if (!this.wanted || this.ws) return;
    this.attempt = 0;
    this.reconnectNow();
  }

  send(frame) {
    if (!this.socketOpen()) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Send a frame expecting a reply; resolves with `response`, rejects with RealtimeError. */
  request(topic, event, payload, timeout = REQUEST_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const ref = String(this.nextRef++);
      const timer = this.env.setTimeout(() => {
        this.replies.delete(ref);
        reject(localError('timeout'));
      }, timeout);
      this.replies.set(ref, { resolve, reject, timer });
      if (!this.send({ ref, topic, event, payload })) {
        this.env.clearTimeout(timer);
        this.replies.delete(ref);
        reject(localError('not_connected'));
      }
    });
  }

  handleFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    if (frame.event === 'reply') {
      const pending = frame.ref !== null && frame.ref !== undefined ? this.replies.get(String(frame.ref)) : null;
      if (!pending) return; // e.g. a rate_limited notice with ref null
      this.replies.delete(String(frame.ref));
      this.env.clearTimeout(pending.timer);
      const p = frame.payload || {};
      if (p.status === 'ok') pending.resolve(p.response ?? {});
      else {
        const retry = typeof p.retry_after_ms === 'number' ? p.retry_after_ms : null;
        pending.reject(new RealtimeError(p.code || 'error', p.message || 'Erro no servidor.', retry));
      }
      return;
    }
    const topic = this.topics.get(frame.topic);
    if (!topic || !topic.joined) return;
    if (typeof frame.seq === 'number') {
      if (topic.lastSeq !== null && frame.seq <= topic.lastSeq) return; // already seen
      topic.lastSeq = frame.seq;
    }
    const payload = frame.payload ?? {};
    if (frame.event === 'presence.join' || frame.event === 'presence.leave') {
      if (payload.key) {
        if (frame.event === 'presence.join') topic.presence.set(payload.key, payload);
        else topic.presence.delete(payload.key);
        const people = peopleOf(topic.presence);
        for (const handle of topic.handles) safeCall(handle.opts.onPresence, people);
      }
    }
    for (const handle of [...topic.handles]) handle.emit(frame.event, payload, frame);
  }

  sendJoin(topic) {
    if (topic.joining || topic.joined || !this.isOpen()) return;
    this.env.clearTimeout(topic.retryTimer);
    topic.joining = true;
    const ws = this.ws;
    const payload = topic.lastSeq !== null ? { since: topic.lastSeq } : {};
    this.request(topic.name, 'join', payload).then((res) => {
      topic.joining = false;
      if (this.ws !== ws) return;
      if (this.topics.get(topic.name) !== topic) {
        // Left while the join was in flight.
        this.request(topic.name, 'leave', {}).catch(() => {});
        return;
      }
      if (!topic.handles.size) {
        // Every view left while the join was in flight.
        this.topics.delete(topic.name);
        this.request(topic.name, 'leave', {}).catch(() => {});
        return;
      }
      const head = typeof res.seq === 'number' ? res.seq : 0;
      const resync = Boolean(res.resync);
      // Without `since`, or when the server cannot replay, live events start after the head.
      if (resync || topic.lastSeq === null) topic.lastSeq = head;
      topic.joined = true;
      topic.failures = 0;
      topic.presence = new Map((Array.isArray(res.presence) ? res.presence : [])
        .filter((p) => p && p.key).map((p) => [p.key, p]));
      const rejoin = topic.everJoined;
      topic.everJoined = true;
      topic.lastJoin = { seq: head, resync };
      const people = peopleOf(topic.presence);
      const info = { seq: head, resync, rejoin, presence: people };
      for (const handle of [...topic.handles]) {
        handle.resolveReady(info);
        safeCall(handle.opts.onJoin, info);
        safeCall(handle.opts.onPresence, people);
      }
    }, (err) => {
      topic.joining = false;
      if (this.topics.get(topic.name) !== topic) return;
      if (err.code === 'disconnected' || err.code === 'not_connected') return; // rejoined on reconnect
      if (!topic.handles.size) {
        this.topics.delete(topic.name);
        return;
      }
      if (err.code === 'already_joined') {
        topic.joined = true;
        return;
      }
      if (SESSION_CODES.has(err.code) && this.ws === ws) {
        this.dropSocket(4000, 'session check');
        return;
      }
      if (err.code === 'timeout' && this.ws === ws) {
        // The server stopped answering: treat the connection as dead.
        this.dropSocket(4000, 'join timeout');
        return;
      }
      if (TRANSIENT_CODES.has(err.code) && topic.failures < JOIN_RETRIES) {
        topic.failures += 1;
        const delay = this.env.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** topic.failures);
        topic.retryTimer = this.env.setTimeout(() => this.sendJoin(topic), delay);
        return;
      }
      // Refused for good (forbidden, not_found, unknown_topic…): report, never retry.
      this.topics.delete(topic.name);
      for (const handle of [...topic.handles]) {
        handle.kill();
        handle.rejectReady(err);
        safeCall(handle.opts.onError, err);
      }
      topic.handles.clear();
    });
  }

  /** A handle left: leave the topic when nobody else listens to it. */
  release(handle) {
    const topic = handle.topic;
    topic.handles.delete(handle);
    if (topic.handles.size || this.topics.get(topic.name) !== topic) return;
    this.env.clearTimeout(topic.retryTimer);
    // Still joining: keep it until the reply, which then sends the leave (or a new view
    // joining meanwhile takes it over).
    if (topic.joining) return;
    this.topics.delete(topic.name);
    if (topic.joined && this.isOpen()) {
      this.request(topic.name, 'leave', {}).catch(() => {});
    }
  }
}

/** The tab's one real-time client (the logged-in user's). */
export const realtime = new RealtimeClient();

/**
 * A separate client for a page without a login, authenticated by `credential`
 * (`{panel: token}`, `{tracker}` or `{consult: link token}`). Call `destroy()` when the
 * page goes away.
 */
export function createGuestClient(credential) {
  return new RealtimeClient({ guest: credential });
}
