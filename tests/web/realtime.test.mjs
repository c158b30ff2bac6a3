// web/js/realtime.js with a fake WebSocket, a fake clock and fixed dice: reconnection with
// exponential backoff and full jitter, and resuming topics from the last seq seen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealtimeClient } from '../../web/js/realtime.js';
import { FakeClock, FakeSocket, settle } from './fakes.mjs';

/** A client on fakes; `dice` are the values `random()` returns, the last one repeated. */
function setup({ dice = [0.5], offline = false } = {}) {
  const clock = new FakeClock();
  FakeSocket.all = [];
  const rolls = [...dice];
  const state = { tickets: 0, offline };
  const env = {
    WebSocket: FakeSocket,
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clear(id),
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
    clearInterval: (id) => clock.clear(id),
    random: () => (rolls.length > 1 ? rolls.shift() : rolls[0]),
    wsUrl: () => 'ws://atende.test/ws',
    offline: () => state.offline,
    ticket: async () => {
      state.tickets += 1;
      return { ticket: `t${state.tickets}` };
    },
    isLoggedIn: () => true,
    authEvents: new EventTarget(),
    window: new EventTarget(),
    document: Object.assign(new EventTarget(), { visibilityState: 'visible' }),
  };
  const client = new RealtimeClient({ env });
  return { client, clock, env, state, last: () => FakeSocket.all[FakeSocket.all.length - 1] };
}

/** Connect and open the first socket. */
async function connected(t) {
  t.client.connect();
  await settle();
  const ws = t.last();
  ws.open();
  await settle();
  return ws;
}

/** Drop `ws` and return the delay before the client's next socket (50 ms steps). */
async function delayAfterDrop(t, ws, code = 1006) {
  const before = FakeSocket.all.length;
  const t0 = t.clock.now;
  ws.drop(code);
  await settle();
  while (FakeSocket.all.length === before) {
    assert.ok(t.clock.now - t0 < 60_000, 'no reconnect within a minute');
    await t.clock.advance(50);
  }
  return t.clock.now - t0;
}

test('connects with a fresh ticket each attempt and reports its status', async () => {
  const t = setup();
  const states = [];
  t.client.onStatus((s) => states.push(s));
  const ws = await connected(t);
  assert.equal(ws.url, 'ws://atende.test/ws?ticket=t1');
  assert.equal(t.client.state, 'connected');
  await delayAfterDrop(t, ws);
  assert.equal(t.last().url, 'ws://atende.test/ws?ticket=t2');
  assert.deepEqual(states, ['disconnected', 'connecting', 'connected', 'reconnecting']);
});

test('reconnect delays grow exponentially (500 ms base, 15 s cap) with the jitter applied', async () => {
  // random() = 0.5: each delay is half its ceiling, min(15 s, 500 ms · 2^attempt).
  const t = setup({ dice: [0.5] });
  let ws = await connected(t);
  const delays = [];
  for (let i = 0; i < 7; i += 1) {
    delays.push(await delayAfterDrop(t, ws));
    ws = t.last(); // never opened: each failure counts as another attempt
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 7500, 7500, 7500]);
});

test('full jitter: the delay is random() times the ceiling, from 0 up to it', async () => {
  const t = setup({ dice: [0, 0.999, 0.25] });
  const ws = await connected(t);
  ws.drop(1006);
  await settle();
  assert.deepEqual(t.clock.pending(), [0], 'random() = 0 → at once');
  await t.clock.advance(0);
  t.last().drop(1006);
  await settle();
  assert.deepEqual(t.clock.pending(), [0.999 * 2000], 'second attempt: ceiling 2 s');
  await t.clock.advance(2000);
  t.last().drop(1006);
  await settle();
  assert.deepEqual(t.clock.pending(), [0.25 * 4000], 'third attempt: ceiling 4 s');
});

test('a connection that stays up 10 s resets the backoff; a shorter one does not', async () => {
  const t = setup({ dice: [0.5] });
  let ws = await connected(t);
  assert.equal(await delayAfterDrop(t, ws), 500);
  ws = t.last();
  ws.open();
  await t.clock.advance(9_000);
  assert.equal(await delayAfterDrop(t, ws), 1000, 'up 9 s: the next attempt backs off further');
  ws = t.last();
  ws.open();
  await t.clock.advance(10_000);
  assert.equal(await delayAfterDrop(t, ws), 500, 'up 10 s: back to the first delay');
});

test('a policy close (1008) waits at least a second even when the dice say 0', async () => {
  const t = setup({ dice: [0] });
  const ws = await connected(t);
  assert.equal(await delayAfterDrop(t, ws, 1008), 1000);
});

test('a close at the maximum lifetime (4001) refreshes the login before the next ticket', async () => {
  const t = setup({ dice: [0] });
  const order = [];
  t.env.reauthenticate = async () => { order.push('refresh'); };
  const ticket = t.env.ticket;
  t.env.ticket = async () => { order.push('ticket'); return ticket(); };
  const ws = await connected(t);
  assert.deepEqual(order, ['ticket'], 'no refresh on a first connect');
  await delayAfterDrop(t, ws, 4001);
  assert.deepEqual(order, ['ticket', 'refresh', 'ticket']);
  assert.equal(t.last().url, 'ws://atende.test/ws?ticket=t2');
  // Other closes do not refresh.
  const next = t.last();
  next.open();
  await settle();
  await delayAfterDrop(t, next, 1006);
  assert.deepEqual(order, ['ticket', 'refresh', 'ticket', 'ticket']);
});

test('going offline drops the socket at once; coming back online reconnects without waiting', async () => {
  const t = setup({ dice: [0.9] });
  const ws = await connected(t);
  t.state.offline = true;
  t.env.window.dispatchEvent(new Event('offline'));
  await settle();
  assert.deepEqual(ws.closedWith, { code: 4000, reason: 'offline' });
  assert.equal(t.client.state, 'reconnecting');
  assert.equal(FakeSocket.all.length, 1, 'no socket while offline');
  t.state.offline = false;
  t.env.window.dispatchEvent(new Event('online'));
  await settle();
  assert.equal(FakeSocket.all.length, 2, 'online: a new socket right away');
});

test('a rejoin resumes from the last seq seen: the server replays only what was missed', async () => {
  const t = setup({ dice: [0] });
  const seen = [];
  const joins = [];
  const room = t.client.join('chat:1', {
    since: 0,
    events: { 'chat.message': (payload, frame) => seen.push(frame.seq) },
    onJoin: (info) => joins.push(info),
  });
  let ws = await connected(t);
  let [join] = ws.sentOf('join');
  assert.deepEqual({ topic: join.topic, payload: join.payload }, { topic: 'chat:1', payload: { since: 0 } });
  ws.reply(join, { seq: 5 });
  await settle();
  assert.equal(room.joined, true);
  // History replayed after `since`, then live pushes; a repeated seq is dropped.
  for (const seq of [1, 2, 3, 4, 5, 6, 7, 7]) ws.receive({ topic: 'chat:1', event: 'chat.message', seq, payload: {} });
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(room.lastSeq, 7);

  await delayAfterDrop(t, ws);
  assert.equal(room.joined, false);
  ws = t.last();
  ws.open();
  await settle();
  [join] = ws.sentOf('join');
  assert.deepEqual(join.payload, { since: 7 }, 'the rejoin asks for what came after seq 7');
  ws.reply(join, { seq: 9 });
  await settle();
  ws.receive({ topic: 'chat:1', event: 'chat.message', seq: 8, payload: {} });
  ws.receive({ topic: 'chat:1', event: 'chat.message', seq: 9, payload: {} });
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(joins.map((j) => [j.seq, j.rejoin, j.resync]), [[5, false, false], [9, true, false]]);
});

test('a join without `since` starts at the head: older pushes are ignored, newer resume', async () => {
  const t = setup({ dice: [0] });
  const seen = [];
  t.client.join('clinic:c1:queue', { events: { 'queue.updated': (p, frame) => seen.push(frame.seq) } });
  let ws = await connected(t);
  let [join] = ws.sentOf('join');
  assert.deepEqual(join.payload, {}, 'only new events');
  ws.reply(join, { seq: 10 });
  await settle();
  ws.receive({ topic: 'clinic:c1:queue', event: 'queue.updated', seq: 10, payload: {} });
  ws.receive({ topic: 'clinic:c1:queue', event: 'queue.updated', seq: 11, payload: {} });
  assert.deepEqual(seen, [11]);
  await delayAfterDrop(t, ws);
  ws = t.last();
  ws.open();
  await settle();
  [join] = ws.sentOf('join');
  assert.deepEqual(join.payload, { since: 11 });
});

test('when the server cannot replay (resync), live events continue from its head', async () => {
  const t = setup({ dice: [0] });
  const joins = [];
  const room = t.client.join('chat:2', { since: 3, onJoin: (info) => joins.push(info) });
  let ws = await connected(t);
  ws.reply(ws.sentOf('join')[0], { seq: 3 });
  await settle();
  await delayAfterDrop(t, ws);
  ws = t.last();
  ws.open();
  await settle();
  ws.reply(ws.sentOf('join')[0], { seq: 40, resync: true });
  await settle();
  assert.equal(room.lastSeq, 40);
  assert.equal(joins[1].resync, true);
});

test('pushes sent while disconnected fail fast; replies pending when the socket drops are rejected', async () => {
  const t = setup({ dice: [0] });
  const room = t.client.join('chat:3', {});
  const ws = await connected(t);
  ws.reply(ws.sentOf('join')[0], { seq: 0 });
  await settle();
  const pending = room.push('message.send', { body: 'oi' });
  ws.drop(1006);
  await assert.rejects(pending, { code: 'disconnected' });
  await assert.rejects(room.push('message.send', { body: 'oi' }), { code: 'not_connected' });
});
