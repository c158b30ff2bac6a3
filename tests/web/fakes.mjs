// Fakes for the browser app's unit tests: a clock with timers the test advances, a
// WebSocket the test drives, an in-memory Storage, and a fetch that answers by route.

/** Let pending promise callbacks run (a few turns of the microtask queue and one macrotask). */
export async function settle() {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * setTimeout/setInterval on a clock that only moves when the test says so.
 * `advance(ms)` fires what falls due, in order, letting promises settle after each.
 */
export class FakeClock {
  constructor() {
    this.now = 0;
    this.nextId = 1;
    /** id → {at, fn, every} */
    this.timers = new Map();
  }

  setTimeout(fn, ms = 0) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + Math.max(0, ms), fn, every: 0 });
    return id;
  }

  setInterval(fn, ms = 0) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn, every: Math.max(1, ms) });
    return id;
  }

  clear(id) {
    this.timers.delete(id);
  }

  /** Delays of the timers waiting now (ms from now), soonest first. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  async advance(ms) {
    const until = this.now + ms;
    for (;;) {
      let nextId = null;
      let next = null;
      for (const [id, t] of this.timers) {
        if (t.at <= until && (!next || t.at < next.at)) {
          next = t;
          nextId = id;
        }
      }
      if (!next) break;
      this.now = next.at;
      if (next.every) next.at += next.every;
      else this.timers.delete(nextId);
      next.fn();
      await settle();
    }
    this.now = until;
    await settle();
  }
}

/** A WebSocket the test opens, feeds and closes; every instance is kept in `FakeSocket.all`. */
export class FakeSocket {
  /** @type {FakeSocket[]} */
  static all = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    /** Frames the client sent, parsed. */
    this.sent = [];
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    FakeSocket.all.push(this);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // -- the server's side --

  open() {
    this.readyState = 1;
    if (this.onopen) this.onopen();
  }

  receive(frame) {
    if (this.onmessage) this.onmessage({ data: JSON.stringify(frame) });
  }

  /** The connection is lost (or closed by the server) with `code`. */
  drop(code = 1006) {
    this.readyState = 3;
    if (this.onclose) this.onclose({ code });
  }

  /** The frames sent with `event` (e.g. 'join'). */
  sentOf(event) {
    return this.sent.filter((f) => f.event === event);
  }

  /** Answer the client's frame `frame` with `response` (status ok). */
  reply(frame, response = {}) {
    this.receive({ event: 'reply', ref: frame.ref, topic: frame.topic, payload: { status: 'ok', response } });
  }
}

/** sessionStorage/localStorage in memory. */
export class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }

  getItem(key) {
    return this.map.has(key) ? this.map.get(key) : null;
  }

  setItem(key, value) {
    this.map.set(key, String(value));
  }

  removeItem(key) {
    this.map.delete(key);
  }
}

/** A fetch Response with a JSON body. */
export function jsonResponse(status, body, headers = {}) {
  return new Response(body === undefined ? '' : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}
