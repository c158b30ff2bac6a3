// @ts-check
// Chat: one open conversation. It puts together what the user sees (the office-hours note,
// who is online, notes, the thread of chat-thread.js, "… está digitando…", the composer of
// chat-composer.js) and keeps them fed:
//
// - History: the latest page over HTTP (`GET /api/chat/rooms/{id}/messages`), then the
//   `chat:<room>` topic joined with `since: last_seq`, so the socket only brings what is
//   new. Older pages load on scroll-up or with "Mensagens anteriores".
// - Outbox: sent messages wait in an outbox (per room, kept across navigation until
//   logout) and are re-sent with the same `client_id` after every (re)join: the server
//   never stores a retry twice. Rate-limited messages go back to the queue after a minute.
// - Read receipts (`read` → `chat.read`), at most one `read` a second, only while the
//   conversation is visible and scrolled to the bottom.
// - Edits and deletions of others (`chat.message_edited`, `chat.message_deleted`), typing
//   (`chat.typing`) and presence.

import { api, authEvents, qs, seg } from '../api.js';
import { realtime, uuidv4 } from '../realtime.js';
import { h, clear, alertNode, displayName, errorMessage, plural, sentence } from '../ui.js';
import { unread } from '../unread.js';
import { attachmentFiles } from './chat-attachments.js';
import { messageComposer } from './chat-composer.js';
import { isPatientOf, roomTitle } from './chat-rooms.js';
import { messageThread } from './chat-thread.js';

/** @typedef {import('./chat-thread.js').ChatMessage} ChatMessage */
/** @typedef {import('./chat-thread.js').ConversationState} ConversationState */
/** @typedef {import('./chat-rooms.js').ChatRoom} ChatRoom */

const TYPING_SHOW_MS = 5000;
const RETRY_SEND_MS = 3000;
const RATE_LIMIT_WAIT_MS = 60_000;
const PAGE_SIZE = 50;
/** At most one `read` per this interval. */
const READ_EVERY_MS = 1000;
const RATE_LIMIT_MESSAGE = 'Muitas mensagens em pouco tempo; aguarde um minuto.';

/** Send errors that a retry cannot fix. */
const PERMANENT_SEND_ERRORS = new Set([
  'invalid_payload', 'forbidden', 'not_found', 'unknown_event', 'invalid_attachment',
]);

/** room id → Map(message id → message) of messages not yet acknowledged. */
const outboxes = new Map();
authEvents.addEventListener('logout', () => outboxes.clear());

/** @param {string} roomId @returns {Map<string, ChatMessage>} */
function outboxFor(roomId) {
  if (!outboxes.has(roomId)) outboxes.set(roomId, new Map());
  return outboxes.get(roomId);
}

/**
 * A page of messages (`GET …/messages`), oldest first.
 * @typedef {object} MessagePage
 * @property {object[]} messages `chat.message` payloads, each with its `seq`
 * @property {Array<{user_id: string, last_read_seq: number}>} [reads]
 * @property {number|null} next_before where the next older page starts
 * @property {number} [last_seq] the topic's head when the page was read
 */

/**
 * The open conversation of `room`, in a panel labelled by `heading`.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {ChatRoom} room
 * @param {HTMLElement} heading
 */
export function conversation(ctx, me, room, heading) {
  const myId = String(me.id);
  const myName = displayName(me.patient) || me.full_name || '';
  const base = `/api/chat/rooms/${seg(room.id)}`;
  /** @type {ConversationState} */
  const conv = {
    myId,
    room,
    title: roomTitle(room, me),
    messages: new Map(),
    reads: new Map(),
    outbox: outboxFor(String(room.id)),
    handle: null,
    disposed: false,
    historyDone: false,
    nextBefore: null,
    files: attachmentFiles(),
  };
  const { messages, reads, outbox } = conv;
  let loadingOlder = false;
  let retryTimer = 0;
  let rateTimer = 0;
  let readTimer = 0;
  let lastReadPush = 0;
  /** Highest seq this view told the server it read. */
  let readSent = 0;
  /** Highest seq of a message from someone else. */
  let lastOtherSeq = 0;
  /** @type {Map<string, {name: string, timer: number}>} user_id → who is typing */
  const typers = new Map();

  const thread = messageThread(conv, { onRetry: () => flush() });
  const composer = messageComposer(conv, { onSend: send });
  const { list, empty, scroller } = thread;
  const notes = h('div', { class: 'chat-notes' });
  const presenceLine = h('p', { class: 'chat-presence muted small' });
  const typingLine = h('p', { class: 'chat-typing', 'aria-live': 'polite' });
  const hoursNote = isPatientOf(me, room) && room.professional_available === false
    ? h('div', { class: 'chat-hours', role: 'note' },
      h('p', { class: 'chat-hours-title', text: 'Fora do horário de atendimento — as respostas podem demorar.' }),
      room.office_hours_note ? h('p', { class: 'chat-hours-note', text: room.office_hours_note }) : null)
    : null;

  const element = h('section', { class: 'panel chat-conversation', 'aria-labelledby': heading.id || null },
    hoursNote, presenceLine, notes, thread.element, typingLine, composer.element, thread.dialog);

  // -- read receipts --

  /** @param {string} userId @param {number} seq */
  function applyRead(userId, seq) {
    if (!userId || typeof seq !== 'number') return;
    const user = String(userId);
    if (seq <= (reads.get(user) || 0)) return;
    reads.set(user, seq);
    if (user === myId) {
      readSent = Math.max(readSent, seq);
      unread.noteRead(room.id, seq);
    } else thread.refreshReadMarks();
  }

  function myReadSeq() {
    return Math.max(reads.get(myId) || 0, readSent);
  }

  function canMarkRead() {
    return !conv.disposed && conv.historyDone && Boolean(conv.handle && conv.handle.joined)
      && document.visibilityState === 'visible' && thread.nearBottom();
  }

  /** Tell the server what this person has seen (conversation visible, at the bottom). */
  function maybeMarkRead() {
    if (readTimer || !canMarkRead() || lastOtherSeq <= myReadSeq()) return;
    readTimer = setTimeout(sendRead, Math.max(0, lastReadPush + READ_EVERY_MS - Date.now()));
  }

  function sendRead() {
    readTimer = 0;
    if (!canMarkRead() || lastOtherSeq <= myReadSeq()) return;
    const handle = conv.handle;
    const seq = Math.max(lastOtherSeq, typeof handle.lastSeq === 'number' ? handle.lastSeq : 0);
    const previous = readSent;
    readSent = seq;
    lastReadPush = Date.now();
    handle.push('read', { seq }).then((res) => {
      if (!res) return;
      unread.noteRead(room.id, res.last_read_seq, res.unread);
      if (!conv.disposed) applyRead(myId, res.last_read_seq);
    }).catch(() => {
      if (readSent === seq) readSent = previous;
    });
  }

  // -- incoming --

  /**
   * Add or refresh a message from a `chat.message` payload (push or history page).
   * @param {any} p
   * @param {number|null} seq
   * @returns {{m: ChatMessage, isNew: boolean}|null}
   */
  function ingest(p, seq) {
    if (!p || !p.id) return null;
    const id = String(p.id);
    const fields = {
      seq: typeof seq === 'number' ? seq : (typeof p.seq === 'number' ? p.seq : null),
      body: typeof p.body === 'string' ? p.body : '',
      sender: p.sender || null,
      created_at: p.created_at,
      edited_at: p.edited_at || null,
      deleted: Boolean(p.deleted),
      attachment: p.attachment && p.attachment.id ? p.attachment : null,
      state: /** @type {const} */ ('sent'),
      error: null,
    };
    let m = messages.get(id);
    const isNew = !m;
    if (m) {
      if (typeof fields.seq !== 'number') fields.seq = m.seq;
      Object.assign(m, fields);
      outbox.delete(id);
      thread.updateNode(m);
    } else {
      m = { id, ...fields };
      messages.set(id, m);
      outbox.delete(id);
      thread.buildNode(m);
    }
    if (!(m.sender && String(m.sender.user_id) === myId) && typeof m.seq === 'number' && m.seq > lastOtherSeq) {
      lastOtherSeq = m.seq;
    }
    return { m, isNew };
  }

  /** A page of `GET …/messages` (oldest first). @param {MessagePage} data */
  function applyPage(data) {
    for (const r of Array.isArray(data && data.reads) ? data.reads : []) applyRead(r.user_id, r.last_read_seq);
    for (const p of Array.isArray(data && data.messages) ? data.messages : []) {
      const r = ingest(p, /** @type {any} */ (p).seq);
      if (r) thread.place(r.m);
    }
    conv.nextBefore = data && typeof data.next_before === 'number' ? data.next_before : null;
    thread.updateOlder();
    thread.refreshReadMarks();
  }

  /** @param {any} p @param {{seq?: number}} frame */
  function onMessage(p, frame) {
    const r = ingest(p, typeof frame.seq === 'number' ? frame.seq : null);
    if (!r) return;
    thread.addOrUpdate(r.m);
    if (r.isNew && r.m.sender) stopTyping(r.m.sender.user_id);
    thread.updateOlder();
    maybeMarkRead();
  }

  /** @param {any} p */
  function onEdited(p) {
    const m = p && p.id ? messages.get(String(p.id)) : null;
    if (!m || m.deleted || typeof p.body !== 'string') return;
    m.body = p.body;
    m.edited_at = p.edited_at || m.edited_at || new Date().toISOString();
    thread.updateNode(m);
  }

  /** @param {any} p */
  function onDeleted(p) {
    const m = p && p.id ? messages.get(String(p.id)) : null;
    if (m && !m.deleted) thread.markDeleted(m);
  }

  /** @param {any} p */
  function onRead(p) {
    if (p) applyRead(p.user_id, p.seq);
  }

  // -- typing and presence --

  function renderTyping() {
    const names = [...typers.values()].map((t) => t.name);
    if (!names.length) typingLine.textContent = '';
    else if (names.length === 1) typingLine.textContent = `${names[0]} está digitando…`;
    else typingLine.textContent = `${names.slice(0, -1).join(', ')} e ${names[names.length - 1]} estão digitando…`;
  }

  /** @param {string} userId */
  function stopTyping(userId) {
    const t = typers.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    typers.delete(userId);
    renderTyping();
  }

  /** @param {any} p */
  function onTyping(p) {
    if (!p || !p.user_id || String(p.user_id) === myId) return;
    const prev = typers.get(p.user_id);
    if (prev) clearTimeout(prev.timer);
    typers.set(p.user_id, {
      name: p.name || 'Alguém',
      timer: setTimeout(() => stopTyping(p.user_id), TYPING_SHOW_MS),
    });
    renderTyping();
  }

  /** @type {Array<{user_id: string, name: string}>} */
  let lastPeople = [];
  function renderPresence(people = lastPeople) {
    lastPeople = people;
    const offline = realtime.state !== 'connected';
    const joined = Boolean(conv.handle && conv.handle.joined);
    const others = joined && !offline
      ? people.filter((p) => String(p.user_id) !== myId).map((p) => p.name)
      : [];
    presenceLine.classList.toggle('is-online', others.length > 0);
    presenceLine.classList.toggle('is-offline', offline);
    if (offline) {
      presenceLine.textContent = 'Sem conexão. Suas mensagens serão enviadas quando a conexão voltar.';
    } else if (!joined) {
      presenceLine.textContent = '';
    } else if (!others.length) {
      presenceLine.textContent = 'Ninguém mais está nesta conversa agora.';
    } else {
      presenceLine.textContent = `Online agora: ${others.join(', ')}`;
    }
  }

  /**
   * @param {string} text
   * @param {'info'|'error'} [kind]
   * @param {HTMLElement|null} [action]
   */
  function showNote(text, kind = 'info', action = null) {
    clear(notes).append(kind === 'error'
      ? alertNode(text)
      : h('p', { class: 'alert alert-info', text }));
    if (action) notes.append(action);
  }

  // -- outgoing --

  /** The server stored `m`. @param {ChatMessage} m @param {any} res the reply */
  function confirm(m, res) {
    if (typeof m.seq !== 'number' && res && typeof res.seq === 'number') m.seq = res.seq;
    if (res && res.created_at) m.created_at = res.created_at;
    m.state = 'sent';
    m.error = null;
    outbox.delete(m.id);
    thread.updateNode(m);
    thread.place(m);
    thread.updateOlder();
    if (composer.error === RATE_LIMIT_MESSAGE) composer.showError('');
  }

  /** @param {ChatMessage} m */
  const isRateLimited = (m) => m.state === 'failed' && m.error && m.error.code === 'rate_limited';

  /** Rate-limited messages go back to the queue once their minute is over. */
  function scheduleRateRetry() {
    clearTimeout(rateTimer);
    const waiting = [...outbox.values()].filter(isRateLimited);
    if (!waiting.length || conv.disposed) return;
    const due = Math.min(...waiting.map((m) => m.retryAt || 0));
    rateTimer = setTimeout(() => {
      const now = Date.now();
      for (const m of outbox.values()) {
        if (isRateLimited(m) && (m.retryAt || 0) <= now + 250) {
          m.state = 'pending';
          m.error = null;
          m.retryAt = 0;
          thread.updateNode(m);
        }
      }
      flush();
      scheduleRateRetry();
    }, Math.max(0, due - Date.now()));
  }

  let flushing = false;
  /** Send the outbox's pending messages, one at a time, while joined. */
  async function flush() {
    if (flushing || conv.disposed) return;
    flushing = true;
    clearTimeout(retryTimer);
    try {
      while (!conv.disposed && conv.handle && conv.handle.joined) {
        const next = [...outbox.values()].find((m) => m.state === 'pending');
        if (!next) break;
        try {
          /** @type {{client_id: string, body: string, attachment_id?: string}} */
          const payload = { client_id: next.id, body: next.body };
          if (next.attachment) payload.attachment_id = next.attachment.id;
          // Sequential: the room stores messages in the order they are sent.
          const res = await conv.handle.push('message.send', payload);
          if (!conv.disposed) confirm(next, res);
        } catch (err) {
          if (conv.disposed) break;
          if (err.code === 'rate_limited') {
            // The per-sender limit: everything still queued would be refused too. Keep it
            // all in the outbox, marked as not sent, and try again after a minute.
            const retryAt = Date.now() + RATE_LIMIT_WAIT_MS;
            for (const m of outbox.values()) {
              if (m.state !== 'pending') continue;
              m.state = 'failed';
              m.error = { code: 'rate_limited', message: RATE_LIMIT_MESSAGE };
              m.retryAt = retryAt;
              thread.updateNode(m);
            }
            composer.showError(RATE_LIMIT_MESSAGE);
            scheduleRateRetry();
            break;
          }
          if (PERMANENT_SEND_ERRORS.has(err.code)) {
            next.state = 'failed';
            next.error = err;
            outbox.delete(next.id);
            thread.updateNode(next);
            continue;
          }
          // Transient (the room or server is saturated: `overloaded` says when; the
          // connection dropped): the same message (same client_id) again soon, and in any
          // case after the next (re)join. Nothing was stored twice or lost.
          const wait = typeof err.retryAfterMs === 'number' ? err.retryAfterMs : RETRY_SEND_MS;
          retryTimer = setTimeout(flush, wait);
          break;
        }
      }
    } finally {
      flushing = false;
    }
  }

  /**
   * A message from the composer: shown at once (pending), queued, sent.
   * @param {string} body
   * @param {import('./chat-attachments.js').ChatAttachment|null} att
   */
  function send(body, att) {
    /** @type {ChatMessage} */
    const m = {
      id: uuidv4(),
      seq: null,
      body,
      sender: { user_id: me.id, name: myName },
      created_at: new Date().toISOString(),
      edited_at: null,
      deleted: false,
      attachment: att,
      state: 'pending',
    };
    messages.set(m.id, m);
    outbox.set(m.id, m);
    thread.buildNode(m);
    thread.addOrUpdate(m, { scroll: true });
    flush();
  }

  scroller.addEventListener('scroll', () => {
    if (thread.nearBottom()) thread.newBelow.hidden = true;
    if (conv.historyDone && scroller.scrollTop < 40 && conv.nextBefore !== null) loadOlder();
    maybeMarkRead();
  });
  thread.newBelow.addEventListener('click', () => {
    thread.scrollToBottom();
    scroller.focus();
    maybeMarkRead();
  });
  thread.olderButton.addEventListener('click', () => loadOlder());
  const onVisibility = () => maybeMarkRead();
  document.addEventListener('visibilitychange', onVisibility);

  // Messages still waiting from an earlier visit to this room.
  for (const m of outbox.values()) {
    if (isRateLimited(m) && (m.retryAt || 0) <= Date.now()) {
      m.state = 'pending';
      m.error = null;
    }
    messages.set(m.id, m);
    thread.buildNode(m);
    thread.place(m);
  }
  scheduleRateRetry();

  // -- history --

  async function loadOlder() {
    if (loadingOlder || conv.nextBefore === null || conv.disposed) return;
    loadingOlder = true;
    const { olderButton, olderStatus } = thread;
    const hadFocus = document.activeElement === olderButton;
    olderButton.setAttribute('aria-disabled', 'true');
    olderStatus.textContent = 'Carregando mensagens anteriores…';
    try {
      const data = await api.get(`${base}/messages${qs({ before: conv.nextBefore, limit: PAGE_SIZE })}`);
      if (conv.disposed) return;
      const n = Array.isArray(data && data.messages) ? data.messages.length : 0;
      const oldHeight = scroller.scrollHeight;
      const oldTop = scroller.scrollTop;
      // Old messages are not news: keep the log from announcing each of them.
      list.setAttribute('aria-live', 'off');
      applyPage(data);
      scroller.scrollTop = oldTop + (scroller.scrollHeight - oldHeight);
      setTimeout(() => list.setAttribute('aria-live', 'polite'), 0);
      olderStatus.textContent = n ? `${plural(n, 'mensagem anterior carregada', 'mensagens anteriores carregadas')}.` : '';
      if (hadFocus && olderButton.hidden) scroller.focus();
    } catch (err) {
      if (conv.disposed) return;
      olderStatus.textContent = `Não foi possível carregar as mensagens anteriores. ${errorMessage(err)}`;
    } finally {
      loadingOlder = false;
      olderButton.removeAttribute('aria-disabled');
    }
  }

  /** The latest page, then the topic from its `last_seq` on. */
  async function start() {
    clear(notes);
    empty.hidden = messages.size > 0;
    let data;
    try {
      data = await api.get(`${base}/messages${qs({ limit: PAGE_SIZE })}`);
    } catch (err) {
      if (conv.disposed) return;
      empty.hidden = true;
      showNote(`Não foi possível carregar as mensagens. ${errorMessage(err)}`, 'error',
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: start }));
      return;
    }
    if (conv.disposed) return;
    applyPage(data);
    thread.finishHistory();
    join(data && typeof data.last_seq === 'number' ? data.last_seq : 0);
  }

  /** After a resync the socket could not replay what was missed: start over from the latest page. */
  async function reloadLatest() {
    try {
      const data = await api.get(`${base}/messages${qs({ limit: PAGE_SIZE })}`);
      if (conv.disposed) return;
      for (const m of [...messages.values()]) {
        if (typeof m.seq === 'number') {
          m.node.remove();
          messages.delete(m.id);
        }
      }
      applyPage(data);
      empty.hidden = messages.size > 0;
      thread.scrollToBottom();
      clear(notes);
      maybeMarkRead();
    } catch {
      if (conv.disposed) return;
      showNote('A conexão ficou fora por muito tempo e não foi possível atualizar a conversa. Recarregue a página.', 'error');
    }
  }

  /** @param {number} since */
  function join(since) {
    conv.handle = realtime.join(room.topic || `chat:${room.id}`, {
      since,
      events: {
        'chat.message': onMessage,
        'chat.message_edited': onEdited,
        'chat.message_deleted': onDeleted,
        'chat.read': onRead,
        'chat.typing': onTyping,
      },
      onJoin: (info) => {
        if (conv.disposed) return;
        if (info.resync) reloadLatest();
        renderPresence(info.presence);
        flush();
        maybeMarkRead();
      },
      onPresence: renderPresence,
      onError: (err) => {
        if (conv.disposed) return;
        thread.finishHistory();
        empty.hidden = true;
        showNote(`Não foi possível abrir esta conversa: ${sentence(err.message)}`, 'error');
        composer.disable();
      },
      onStatus: (state) => {
        if (conv.disposed) return;
        for (const m of messages.values()) if (m.state === 'pending') thread.updateNode(m);
        if (state !== 'connected') typers.forEach((_, id) => stopTyping(id));
        renderPresence();
      },
    });
  }

  start();

  ctx.onCleanup(() => {
    conv.disposed = true;
    clearTimeout(retryTimer);
    clearTimeout(rateTimer);
    clearTimeout(readTimer);
    thread.stop();
    document.removeEventListener('visibilitychange', onVisibility);
    typers.forEach((t) => clearTimeout(t.timer));
    conv.files.clear();
    if (conv.handle) conv.handle.leave();
  });

  return element;
}
