// @ts-check
// In-call chat of a teleconsultation ("Chat da consulta"), on both call pages
// (views/teleconsult.js for the professional, views/consult.js for the patient and guests).
//
//   WS consult:<id>  chat {client_id, body (1–2000 chars)} → ok {id, seq}
//        push        consult.chat {id, client_id, role, name, body, at}, with a `seq`
//
// The messages are stored events of the topic: a fresh page joins with `since: 0` (the
// whole chat replays), a page that joins again passes the last seq it saw, and the realtime
// client asks for what it missed after a reconnect. Each message is shown once (by id).
// A send whose reply was lost (connection dropped, timeout) is sent again with the same
// `client_id` after the next join, or on "Tentar de novo": the server stores it once.
// Chat works while the call is on (`in_call`); before and after, the form is disabled.
// Text from the server goes in with textContent only.

import { h, clear, plural, sentence, uid } from '../ui.js';
import { uuidv4 } from '../realtime.js';
import { timeIn } from '../agenda-util.js';

const MAX_BODY_CHARS = 2000;
/** Errors after which the message may or may not have been stored: send it again, same id. */
const RETRY_CODES = new Set(['not_connected', 'disconnected', 'timeout']);

/** pt-BR messages of the chat's error codes. */
const CHAT_ERRORS = {
  invalid_payload: 'A mensagem precisa ter de 1 a 2.000 caracteres.',
  rate_limited: 'Muitas mensagens seguidas. Aguarde um pouco e envie de novo.',
  consult_ended: 'A teleconsulta foi encerrada: o chat está fechado.',
  not_admitted: 'O chat fica disponível quando a chamada começar.',
  not_connected: 'Sem conexão com a sala no momento. Tente de novo em instantes.',
  disconnected: 'A conexão caiu antes do envio. Tente de novo.',
  timeout: 'O servidor não respondeu a tempo. Tente de novo.',
};

function chatError(err) {
  if (err && Object.hasOwn(CHAT_ERRORS, err.code)) return CHAT_ERRORS[err.code];
  return sentence((err && err.message) || 'Não foi possível enviar a mensagem.');
}

/**
 * The chat panel. `push(event, payload)` sends on the consult topic (rejects when not
 * joined); `timeZone()` the clinic's zone for the times; `me` {role, name} tells which
 * messages are this page's after a reload; `open`: expanded at first.
 *
 * Returns {node, receive(payload, frame), joined(info), setAvailable(on, note), lastSeq}:
 * `receive` takes a `consult.chat` push, `joined` the topic's join info (the history
 * replayed right after the first join is not counted as unread).
 */
export function consultChat({ push, timeZone, me, open = false }) {
  const listId = uid('tc-chat-list');
  const bodyId = uid('tc-chat-body');
  const inputId = uid('tc-chat-input');
  /** id → <li> */
  const shown = new Map();
  /** client_id → {li, body, failed} of a message being sent */
  const pending = new Map();
  const sentIds = new Set();
  let unreadCount = 0;
  let historyUpTo = 0;
  let firstJoin = true;
  let lastSeq = 0;
  let available = false;
  let sending = false;

  const badge = h('span', { class: 'chat-unread tc-chat-unread', hidden: true });
  const toggle = h('button', {
    type: 'button', class: 'tc-chat-toggle', 'aria-expanded': String(open), 'aria-controls': bodyId,
  }, h('span', { class: 'tc-chat-title', text: 'Chat da consulta' }), badge);
  const empty = h('p', { class: 'muted small tc-chat-empty', text: 'Nenhuma mensagem ainda.' });
  const list = h('ol', { id: listId, class: 'tc-chat-list', 'aria-live': 'polite', 'aria-label': 'Mensagens do chat' });
  const input = h('textarea', {
    id: inputId, name: 'message', rows: '2', maxlength: String(MAX_BODY_CHARS), class: 'tc-chat-input',
    placeholder: 'Escreva uma mensagem', autocomplete: 'off',
  });
  const send = h('button', { type: 'submit', class: 'btn btn-primary btn-small', text: 'Enviar' });
  const note = h('p', { class: 'muted small tc-chat-note', hidden: true });
  const error = h('p', { class: 'alert alert-error tc-chat-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'tc-chat-form', novalidate: true },
    h('label', { for: inputId, class: 'visually-hidden', text: 'Mensagem' }),
    input, send);
  const body = h('div', { id: bodyId, class: 'tc-chat-body', hidden: !open }, empty, list, note, error, form);
  const node = h('section', { class: 'panel tc-chat', 'aria-label': 'Chat da consulta', dataset: { open: String(open) } },
    h('h2', { class: 'tc-chat-heading' }, toggle), body);

  function isOpen() {
    return node.dataset.open === 'true';
  }

  function setOpen(value) {
    node.dataset.open = String(value);
    toggle.setAttribute('aria-expanded', String(value));
    body.hidden = !value;
    if (value) {
      unreadCount = 0;
      renderBadge();
      list.scrollTop = list.scrollHeight;
    }
  }

  function renderBadge() {
    badge.hidden = !unreadCount;
    badge.textContent = unreadCount > 99 ? '99+' : String(unreadCount);
    badge.setAttribute('aria-label', plural(unreadCount, 'mensagem nova', 'mensagens novas'));
    node.dataset.unread = String(unreadCount);
  }

  toggle.addEventListener('click', () => {
    setOpen(!isOpen());
    if (isOpen() && !input.disabled) input.focus();
  });

  function isMine(msg) {
    if (msg.client_id && sentIds.has(msg.client_id)) return true;
    if (msg.role !== me.role) return false;
    return me.role !== 'guest' || msg.name === me.name;
  }

  function messageNode(msg, mine) {
    const at = msg.at ? timeIn(msg.at, timeZone()) : '';
    return h('li', { class: 'tc-chat-msg', dataset: { id: msg.id || '', mine: String(mine), role: msg.role || '' } },
      h('p', { class: 'tc-chat-meta' },
        h('span', { class: 'tc-chat-name', text: mine ? 'Você' : msg.name || 'Participante' }),
        at ? h('time', { class: 'tc-chat-time', datetime: msg.at, text: at }) : null),
      h('p', { class: 'tc-chat-text', text: msg.body || '' }));
  }

  function appendNode(li) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(li);
    empty.hidden = true;
    if (atBottom || li.dataset.mine === 'true') list.scrollTop = list.scrollHeight;
  }

  /** A `consult.chat` push (live or replayed). */
  function receive(msg, frame) {
    if (!msg || !msg.id) return;
    const seq = frame && typeof frame.seq === 'number' ? frame.seq : null;
    if (seq !== null && seq > lastSeq) lastSeq = seq;
    const known = shown.get(msg.id);
    if (known) {
      // Shown from the send's reply: the server's copy has the server's time.
      if (known.dataset.local === 'true') {
        const li = messageNode(msg, true);
        known.replaceWith(li);
        shown.set(msg.id, li);
      }
      return;
    }
    const mine = isMine(msg);
    const li = messageNode(msg, mine);
    shown.set(msg.id, li);
    const waiting = msg.client_id ? pending.get(msg.client_id) : null;
    if (waiting) {
      pending.delete(msg.client_id);
      waiting.li.replaceWith(li);
      return;
    }
    appendNode(li);
    const history = seq !== null && seq <= historyUpTo;
    if (!mine && !history && !isOpen()) {
      unreadCount += 1;
      renderBadge();
    }
  }

  /** The topic's join info: the first join's head bounds the replayed history. Messages
   * whose send failed on the way go again (after the replay, which may already hold them). */
  function joined(info) {
    if (firstJoin && info && typeof info.seq === 'number') historyUpTo = info.seq;
    firstJoin = false;
    setTimeout(() => {
      for (const [clientId, entry] of pending) if (entry.failed) deliver(clientId);
    }, 0);
  }

  function setAvailable(on, text = '') {
    available = Boolean(on);
    input.disabled = !available;
    send.disabled = !available || sending;
    note.textContent = text;
    note.hidden = !text;
  }

  async function submit() {
    const text = input.value.trim();
    error.hidden = true;
    if (!text) return;
    if (text.length > MAX_BODY_CHARS) {
      error.textContent = CHAT_ERRORS.invalid_payload;
      error.hidden = false;
      return;
    }
    const clientId = uuidv4();
    sentIds.add(clientId);
    // Shown at once, with this device's time until the server's copy replaces it.
    const li = messageNode({ body: text, role: me.role, name: me.name, at: new Date().toISOString() }, true);
    li.dataset.pending = 'true';
    const status = h('span', { class: 'tc-chat-sending', text: 'enviando…' });
    li.querySelector('.tc-chat-meta').append(status);
    pending.set(clientId, { li, body: text, status, failed: false });
    appendNode(li);
    input.value = '';
    sending = true;
    send.disabled = true;
    await deliver(clientId);
    sending = false;
    send.disabled = !available;
  }

  /** Send (or send again, same client_id) the pending message `clientId`. */
  async function deliver(clientId) {
    const entry = pending.get(clientId);
    if (!entry) return;
    entry.failed = false;
    entry.status.replaceChildren('enviando…');
    try {
      const res = await push('chat', { client_id: clientId, body: entry.body });
      // The push may not be here yet: show the message as sent with the id it got.
      if (res && res.id && pending.get(clientId) === entry) {
        pending.delete(clientId);
        const { li } = entry;
        delete li.dataset.pending;
        delete li.dataset.failed;
        li.dataset.id = res.id;
        li.dataset.local = 'true';
        entry.status.remove();
        if (!shown.has(res.id)) shown.set(res.id, li);
        else li.remove();
      }
    } catch (err) {
      if (pending.get(clientId) !== entry) return;
      if (err && RETRY_CODES.has(err.code)) {
        // Maybe stored: keep it, and send it again (same id) after the next join.
        entry.failed = true;
        entry.li.dataset.failed = 'true';
        entry.status.replaceChildren('não enviada · ', h('button', {
          type: 'button', class: 'btn-link tc-chat-retry', text: 'Tentar de novo', onclick: () => deliver(clientId),
        }));
        return;
      }
      pending.delete(clientId);
      entry.li.remove();
      if (!list.children.length) empty.hidden = false;
      if (!input.value) input.value = entry.body;
      error.textContent = chatError(err);
      error.hidden = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (event) => {
    // Enter sends; Shift+Enter breaks the line.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });

  renderBadge();
  setAvailable(false);
  return {
    node,
    receive,
    joined,
    setAvailable,
    get lastSeq() {
      return lastSeq;
    },
    /** Forget the messages (not used across pages: each page has its own chat). */
    clear() {
      shown.clear();
      pending.clear();
      clear(list);
      empty.hidden = false;
    },
  };
}
