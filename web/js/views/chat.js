// Chat ("Mensagens"): room list, conversation over the WebSocket, and, for
// receptionists and clinic admins, opening a conversation between a patient and a
// professional of the clinic.
//
// Messages travel on the `chat:<room>` topic. History comes from joining with
// `since: 0` (the server replays up to 1000 events). Sent messages wait in an
// outbox (per room, kept across navigation until logout) and are re-sent with the
// same `client_id` after every (re)join: the server never stores a retry twice.

import { api, authEvents, qs, seg } from '../api.js';
import { realtime, uuidv4 } from '../realtime.js';
import {
  h, clear, alertNode, displayName, errorMessage, loadingNode, professionLabel, sentence, uid,
} from '../ui.js';

const MAX_BODY_CHARS = 4000;
const COUNTER_FROM = 3500;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 5000;
const RETRY_SEND_MS = 3000;
const HISTORY_WAIT_MS = 8000;

/** Send errors that a retry cannot fix. */
const PERMANENT_SEND_ERRORS = new Set(['invalid_payload', 'forbidden', 'not_found', 'unknown_event']);

/** room id → Map(message id → message) of messages not yet acknowledged. */
const outboxes = new Map();
authEvents.addEventListener('logout', () => outboxes.clear());

function outboxFor(roomId) {
  if (!outboxes.has(roomId)) outboxes.set(roomId, new Map());
  return outboxes.get(roomId);
}

/** Whether `me` has anyone to talk to (patients and clinic staff). */
export function canChat(me) {
  return Boolean(me && ((me.memberships && me.memberships.length) || me.patient));
}

export function chatHref(roomId) {
  return roomId ? `#/mensagens/${seg(roomId)}` : '#/mensagens';
}

/** Clinics where `me` may open patient–professional conversations. */
function openerClinics(me) {
  const seen = new Map();
  for (const m of me.memberships || []) {
    if ((m.role === 'receptionist' || m.role === 'clinic_admin') && !seen.has(m.clinic_id)) {
      seen.set(m.clinic_id, m.clinic_name);
    }
  }
  return [...seen.entries()]
    .map(([id, name]) => ({ id, name }))
    .sort((a, b) => a.name.localeCompare(b.name, 'pt-BR'));
}

function isPatientOf(me, room) {
  return Boolean(me.patient && room.patient_id && String(room.patient_id) === String(me.patient.id));
}

function isProfessionalOf(me, room) {
  return Boolean(room.professional_user_id && String(room.professional_user_id) === String(me.id));
}

export function roomTitle(room, me) {
  if (room.kind === 'staff') return `Equipe — ${room.clinic_name}`;
  if (isPatientOf(me, room)) return room.professional_name || 'Profissional';
  if (isProfessionalOf(me, room)) return room.patient_name || 'Paciente';
  return `${room.patient_name || 'Paciente'} e ${room.professional_name || 'profissional'}`;
}

function roomSubtitle(room, me) {
  if (room.kind === 'staff') return 'Conversa da equipe da clínica';
  if (isPatientOf(me, room)) return `${room.clinic_name} · conversa com profissional`;
  if (isProfessionalOf(me, room)) return `${room.clinic_name} · paciente`;
  return room.clinic_name;
}

/** "Mensagens" panel for the homes. */
export function messagesPanel(intro) {
  return h('section', { class: 'panel', 'aria-labelledby': 'messages-heading' },
    h('h2', { id: 'messages-heading', text: 'Mensagens' }),
    h('p', { class: 'muted', text: intro }),
    h('a', { class: 'btn btn-secondary', href: '#/mensagens', text: 'Abrir mensagens' }));
}

// ------------------------------------------------------------------- view ---

/** View "chat": #/mensagens and #/mensagens/{room_id}. */
export function renderChat(ctx, me, roomId) {
  document.title = 'Mensagens — atende';
  const heading = h('h1', { id: 'chat-heading', tabindex: '-1', text: 'Mensagens' });
  const subtitle = h('p', { class: 'muted chat-subtitle', hidden: true });
  const listBox = h('div', { class: 'chat-rooms' });
  const openers = openerClinics(me);

  const sidebar = h('section', { class: 'panel chat-sidebar', 'aria-labelledby': 'rooms-heading' },
    h('h2', { id: 'rooms-heading', text: 'Conversas' }),
    listBox,
    roomId && openers.length
      ? h('p', { class: 'chat-new-link' }, h('a', { href: '#/mensagens', text: '+ Nova conversa' }))
      : null);
  const mainBox = h('div', { class: 'chat-main' });

  const root = h('div', { class: `view chat-view${roomId ? ' has-room' : ''}`, dataset: { view: 'chat' } },
    roomId ? h('p', { class: 'breadcrumb chat-back' }, h('a', { href: '#/mensagens', text: '← Conversas' })) : null,
    h('div', { class: 'chat-title' }, heading, subtitle),
    h('div', { class: 'chat-layout' }, sidebar, mainBox));

  if (!roomId) {
    mainBox.append(h('section', { class: 'panel chat-placeholder' },
      h('p', { class: 'muted', text: 'Escolha uma conversa na lista para ler e enviar mensagens.' })));
    if (openers.length) {
      mainBox.append(newConversationPanel(ctx, me, openers, () => loadRooms()));
    }
  }

  function renderRooms(rooms) {
    clear(listBox);
    if (!rooms.length) {
      listBox.append(h('p', { class: 'empty', text: 'Nenhuma conversa ainda.' }));
      if (me.patient) {
        listBox.append(h('p', {
          class: 'muted small',
          text: 'Quando a clínica abrir uma conversa entre você e um profissional, ela aparecerá aqui.',
        }));
      }
      return;
    }
    const ul = h('ul', { class: 'card-list chat-room-list' });
    for (const room of rooms) {
      const current = roomId && String(room.id) === String(roomId);
      ul.append(h('li', null,
        h('a', {
          class: `card-link chat-room-link${room.kind === 'staff' ? ' chat-room-staff' : ''}`,
          href: chatHref(room.id),
          'aria-current': current ? 'page' : null,
          dataset: { roomId: room.id },
        },
        h('span', { class: 'card-title', text: roomTitle(room, me) }),
        h('span', { class: 'card-meta' }, h('span', { text: roomSubtitle(room, me) })))));
    }
    listBox.append(ul);
  }

  let conversationOpened = false;
  function loadRooms() {
    listBox.setAttribute('aria-busy', 'true');
    if (!listBox.firstChild) listBox.append(loadingNode());
    api.get('/api/chat/rooms').then((data) => {
      if (!ctx.isCurrent()) return;
      const rooms = Array.isArray(data) ? data : [];
      listBox.removeAttribute('aria-busy');
      renderRooms(rooms);
      if (!roomId || conversationOpened) return;
      conversationOpened = true;
      const room = rooms.find((r) => String(r.id) === String(roomId));
      if (!room) {
        mainBox.replaceChildren(h('section', { class: 'panel' },
          alertNode('Conversa não encontrada, ou você não participa dela.'),
          h('a', { href: '#/mensagens', text: 'Ver suas conversas' })));
        return;
      }
      heading.textContent = roomTitle(room, me);
      subtitle.textContent = roomSubtitle(room, me);
      subtitle.hidden = false;
      document.title = `${roomTitle(room, me)} — Mensagens — atende`;
      mainBox.replaceChildren(conversation(ctx, me, room, heading));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      clear(listBox).append(
        alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: loadRooms }),
      );
    });
  }
  loadRooms();
  return root;
}

// ----------------------------------------------------------- conversation ---

function timeText(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  const time = new Intl.DateTimeFormat('pt-BR', { hour: '2-digit', minute: '2-digit' }).format(date);
  if (sameDay) return time;
  const day = new Intl.DateTimeFormat('pt-BR', {
    day: '2-digit', month: '2-digit', year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
  }).format(date);
  return `${day} ${time}`;
}

function fullTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat('pt-BR', { dateStyle: 'full', timeStyle: 'short' }).format(date);
}

function conversation(ctx, me, room, heading) {
  const myName = displayName(me.patient) || me.full_name || '';
  const outbox = outboxFor(String(room.id));
  /** id → {id, seq, body, sender, created_at, state, node, statusNode} */
  const messages = new Map();
  let disposed = false;
  let historyDone = false;
  let headAtJoin = 0;
  let retryTimer = 0;
  let lastTypingSent = 0;
  /** user_id → {name, timer} */
  const typers = new Map();

  const list = h('ol', {
    class: 'chat-messages',
    role: 'log',
    'aria-live': 'polite',
    'aria-relevant': 'additions',
    'aria-label': 'Mensagens',
    // Busy while the history replays: screen readers wait instead of reading it all.
    'aria-busy': 'true',
  });
  const empty = h('p', { class: 'chat-empty', text: 'Carregando mensagens…' });
  const scroller = h('div', {
    class: 'chat-scroll',
    tabindex: '0',
    role: 'region',
    'aria-label': `Histórico da conversa: ${roomTitle(room, me)}`,
  }, empty, list);
  const newBelow = h('button', {
    type: 'button', class: 'btn btn-secondary chat-new-below', hidden: true, text: '↓ Novas mensagens',
  });
  const notes = h('div', { class: 'chat-notes' });
  const presenceLine = h('p', { class: 'chat-presence muted small' });
  const typingLine = h('p', { class: 'chat-typing', 'aria-live': 'polite' });

  const inputId = uid('chat-input');
  const hintId = `${inputId}-hint`;
  const counterId = `${inputId}-counter`;
  const textarea = h('textarea', {
    id: inputId,
    name: 'body',
    rows: 2,
    maxlength: MAX_BODY_CHARS,
    placeholder: 'Escreva uma mensagem',
    'aria-describedby': `${hintId} ${counterId}`,
  });
  const sendButton = h('button', { type: 'submit', class: 'btn btn-primary chat-send', text: 'Enviar' });
  const counter = h('p', { class: 'field-hint chat-counter', id: counterId, hidden: true });
  const composerError = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const composer = h('form', { class: 'chat-composer', novalidate: true, 'aria-label': 'Enviar mensagem' },
    h('label', { class: 'visually-hidden', for: inputId, text: `Mensagem para ${roomTitle(room, me)}` }),
    h('div', { class: 'chat-compose-row' }, textarea, sendButton),
    h('p', { class: 'field-hint chat-hint', id: hintId, text: 'Enter envia · Shift+Enter quebra a linha' }),
    counter, composerError);

  const element = h('section', { class: 'panel chat-conversation', 'aria-labelledby': heading.id || null },
    presenceLine, notes, h('div', { class: 'chat-scroll-wrap' }, scroller, newBelow), typingLine, composer);

  // -- rendering --

  const isOwn = (m) => Boolean(m.sender && String(m.sender.user_id) === String(me.id));

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    newBelow.hidden = true;
  }

  function statusText(m) {
    if (m.state === 'sent') return 'Enviada';
    if (m.state === 'failed') return 'Não enviada';
    return realtime.state === 'connected' ? 'Enviando…' : 'Aguardando conexão…';
  }

  function updateNode(m) {
    m.node.dataset.state = m.state;
    m.bodyNode.textContent = m.body;
    m.timeNode.textContent = timeText(m.created_at);
    m.timeNode.setAttribute('datetime', m.created_at || '');
    m.timeNode.title = fullTime(m.created_at);
    if (!m.statusNode) return;
    m.statusNode.replaceChildren(statusText(m));
    if (m.state === 'failed') {
      const reason = m.error && m.error.message ? ` (${sentence(m.error.message)})` : '';
      m.statusNode.append(reason, ' ', h('button', {
        type: 'button',
        class: 'btn-link',
        text: 'Tentar de novo',
        onclick: () => {
          m.state = 'pending';
          m.error = null;
          outbox.set(m.id, m);
          updateNode(m);
          flush();
        },
      }));
    }
  }

  function buildNode(m) {
    const own = isOwn(m);
    m.bodyNode = h('p', { class: 'msg-body' });
    m.timeNode = h('time', { class: 'msg-time' });
    m.statusNode = own ? h('span', { class: 'msg-status' }) : null;
    m.node = h('li', { class: `msg ${own ? 'msg-own' : 'msg-other'}`, dataset: { id: m.id } },
      h('div', { class: 'msg-bubble' },
        h('p', { class: 'msg-meta' },
          h('span', { class: 'msg-sender', text: own ? 'Você' : (m.sender && m.sender.name) || 'Participante' }),
          h('span', { 'aria-hidden': 'true', text: ' · ' }),
          m.timeNode),
        m.bodyNode,
        m.statusNode ? h('p', { class: 'msg-foot' }, m.statusNode) : null));
    updateNode(m);
  }

  /** Put the node in seq order; unsent messages stay at the bottom. */
  function place(m) {
    let before = null;
    if (typeof m.seq === 'number') {
      for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
        if (node === m.node) continue;
        const other = messages.get(node.dataset.id);
        if (other && typeof other.seq === 'number' && other.seq < m.seq) break;
        before = node;
      }
    }
    if (m.node.parentNode === list && (before === m.node.nextElementSibling || (!before && !m.node.nextElementSibling))) {
      return;
    }
    list.insertBefore(m.node, before);
    empty.hidden = true;
  }

  function addOrUpdate(m, { scroll } = {}) {
    const stick = !historyDone || nearBottom() || scroll;
    place(m);
    if (stick) scrollToBottom();
    else if (!isOwn(m)) newBelow.hidden = false;
  }

  function finishHistory() {
    if (historyDone) return;
    historyDone = true;
    list.removeAttribute('aria-busy');
    empty.textContent = 'Nenhuma mensagem ainda. Escreva a primeira!';
    empty.hidden = messages.size > 0;
    scrollToBottom();
  }

  // -- incoming --

  function onMessage(p, frame) {
    if (!p || !p.id) return;
    const seq = typeof frame.seq === 'number' ? frame.seq : null;
    const existing = messages.get(p.id);
    if (existing && typeof existing.seq === 'number') {
      // Already shown (the reply confirmed it first, or a duplicate).
    } else if (existing) {
      existing.seq = seq;
      existing.state = 'sent';
      existing.body = typeof p.body === 'string' ? p.body : existing.body;
      existing.created_at = p.created_at || existing.created_at;
      outbox.delete(p.id);
      updateNode(existing);
      addOrUpdate(existing);
    } else {
      const m = {
        id: p.id,
        seq,
        body: typeof p.body === 'string' ? p.body : '',
        sender: p.sender || null,
        created_at: p.created_at,
        state: 'sent',
      };
      messages.set(m.id, m);
      outbox.delete(m.id);
      buildNode(m);
      addOrUpdate(m);
      if (m.sender) stopTyping(m.sender.user_id);
    }
    if (!historyDone && seq !== null && seq >= headAtJoin) finishHistory();
  }

  function renderTyping() {
    const names = [...typers.values()].map((t) => t.name);
    if (!names.length) typingLine.textContent = '';
    else if (names.length === 1) typingLine.textContent = `${names[0]} está digitando…`;
    else typingLine.textContent = `${names.slice(0, -1).join(', ')} e ${names[names.length - 1]} estão digitando…`;
  }

  function stopTyping(userId) {
    const t = typers.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    typers.delete(userId);
    renderTyping();
  }

  function onTyping(p) {
    if (!p || !p.user_id || String(p.user_id) === String(me.id)) return;
    const prev = typers.get(p.user_id);
    if (prev) clearTimeout(prev.timer);
    typers.set(p.user_id, {
      name: p.name || 'Alguém',
      timer: setTimeout(() => stopTyping(p.user_id), TYPING_SHOW_MS),
    });
    renderTyping();
  }

  let lastPeople = [];
  function renderPresence(people = lastPeople) {
    lastPeople = people;
    const offline = realtime.state !== 'connected';
    const joined = Boolean(handle && handle.joined);
    const others = joined && !offline
      ? people.filter((p) => String(p.user_id) !== String(me.id)).map((p) => p.name)
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

  function showNote(text, kind = 'info') {
    clear(notes).append(kind === 'error'
      ? alertNode(text)
      : h('p', { class: 'alert alert-info', text }));
  }

  // -- outgoing --

  function confirm(m, res) {
    if (typeof m.seq !== 'number' && res && typeof res.seq === 'number') m.seq = res.seq;
    if (res && res.created_at) m.created_at = res.created_at;
    m.state = 'sent';
    outbox.delete(m.id);
    updateNode(m);
    place(m);
  }

  let flushing = false;
  async function flush() {
    if (flushing || disposed) return;
    flushing = true;
    clearTimeout(retryTimer);
    try {
      while (!disposed && handle && handle.joined) {
        const next = [...outbox.values()].find((m) => m.state === 'pending');
        if (!next) break;
        try {
          // Sequential: the room stores messages in the order they are sent.
          const res = await handle.push('message.send', { client_id: next.id, body: next.body });
          if (!disposed) confirm(next, res);
        } catch (err) {
          if (disposed) break;
          if (PERMANENT_SEND_ERRORS.has(err.code)) {
            next.state = 'failed';
            next.error = err;
            outbox.delete(next.id);
            updateNode(next);
            continue;
          }
          // Transient: try again soon, and in any case after the next (re)join.
          retryTimer = setTimeout(flush, RETRY_SEND_MS);
          break;
        }
      }
    } finally {
      flushing = false;
    }
  }

  function send() {
    composerError.hidden = true;
    const body = textarea.value.trim();
    if (!body) {
      textarea.focus();
      return;
    }
    if ([...body].length > MAX_BODY_CHARS) {
      composerError.textContent = `A mensagem pode ter até ${MAX_BODY_CHARS} caracteres.`;
      composerError.hidden = false;
      return;
    }
    const m = {
      id: uuidv4(),
      seq: null,
      body,
      sender: { user_id: me.id, name: myName },
      created_at: new Date().toISOString(),
      state: 'pending',
    };
    messages.set(m.id, m);
    outbox.set(m.id, m);
    buildNode(m);
    addOrUpdate(m, { scroll: true });
    textarea.value = '';
    updateCounter();
    lastTypingSent = 0;
    flush();
  }

  function updateCounter() {
    const n = textarea.value.length;
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = `${n} de ${MAX_BODY_CHARS} caracteres`;
  }

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
    textarea.focus();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey
      && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', () => {
    updateCounter();
    const now = Date.now();
    if (textarea.value.trim() && handle && handle.joined && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
      lastTypingSent = now;
      handle.push('typing', {}).catch(() => {});
    }
  });
  scroller.addEventListener('scroll', () => {
    if (nearBottom()) newBelow.hidden = true;
  });
  newBelow.addEventListener('click', () => {
    scrollToBottom();
    scroller.focus();
  });

  // Messages still waiting from an earlier visit to this room.
  for (const m of outbox.values()) {
    messages.set(m.id, m);
    buildNode(m);
    place(m);
  }

  // -- topic --

  let handle = null;
  handle = realtime.join(room.topic || `chat:${room.id}`, {
    since: 0,
    events: {
      'chat.message': onMessage,
      'chat.typing': onTyping,
    },
    onJoin: (info) => {
      if (disposed) return;
      if (!info.rejoin) {
        headAtJoin = info.seq;
        if (info.resync) {
          showNote('Esta conversa tem mensagens demais para carregar aqui: são mostradas apenas as novas.');
        }
        if (info.resync || handle.lastSeq >= headAtJoin) finishHistory();
        else setTimeout(finishHistory, HISTORY_WAIT_MS);
      } else if (info.resync) {
        showNote('A conexão ficou fora por muito tempo: algumas mensagens desse período podem não aparecer aqui.');
      }
      renderPresence(info.presence);
      flush();
    },
    onPresence: renderPresence,
    onError: (err) => {
      if (disposed) return;
      finishHistory();
      empty.hidden = true;
      showNote(`Não foi possível abrir esta conversa: ${sentence(err.message)}`, 'error');
      textarea.disabled = true;
      sendButton.disabled = true;
    },
    onStatus: (state) => {
      if (disposed) return;
      for (const m of messages.values()) if (m.state === 'pending') updateNode(m);
      if (state !== 'connected') typers.forEach((_, id) => stopTyping(id));
      renderPresence();
    },
  });

  ctx.onCleanup(() => {
    disposed = true;
    clearTimeout(retryTimer);
    typers.forEach((t) => clearTimeout(t.timer));
    handle.leave();
  });

  return element;
}

// ------------------------------------------------------- new conversation ---

function newConversationPanel(ctx, me, clinics, onOpened) {
  const headingId = 'new-chat-heading';
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });

  const clinicId = uid('nc-clinic');
  const clinicSelect = clinics.length > 1
    ? h('select', { id: clinicId, name: 'clinic' }, clinics.map((c) => h('option', { value: c.id, text: c.name })))
    : null;
  const currentClinic = () => (clinicSelect ? clinicSelect.value : clinics[0].id);

  const searchId = uid('nc-search');
  const search = h('input', {
    id: searchId, type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': `${searchId}-hint`,
  });
  const searchButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Buscar' });
  const results = h('div', { class: 'nc-results' });
  const resultsCount = h('p', { class: 'muted small nc-count', role: 'status' });
  const patientError = h('p', { class: 'field-error', id: uid('nc-patient-error'), hidden: true });
  const patientSet = h('fieldset', { class: 'nc-patients', 'aria-describedby': patientError.id },
    h('legend', { text: 'Paciente' }), resultsCount, results, patientError);

  const profId = uid('nc-prof');
  const profError = h('p', { class: 'field-error', id: `${profId}-error`, hidden: true });
  const profSelect = h('select', { id: profId, name: 'professional', 'aria-describedby': profError.id },
    h('option', { value: '', text: 'Carregando…' }));

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Abrir conversa' });
  const form = h('form', { class: 'form nc-form', novalidate: true, 'aria-label': 'Nova conversa' },
    errorBox,
    h('div', { class: 'form-fields' },
      clinicSelect ? h('div', { class: 'field' }, h('label', { for: clinicId, text: 'Clínica' }), clinicSelect) : null,
      h('div', { class: 'field' },
        h('label', { for: searchId, text: 'Buscar paciente' }),
        h('p', { class: 'field-hint', id: `${searchId}-hint`, text: 'Nome, nome social ou CPF' }),
        h('div', { class: 'search-row' }, search, searchButton)),
      patientSet,
      h('div', { class: 'field' }, h('label', { for: profId, text: 'Profissional' }), profSelect, profError)),
    h('div', { class: 'form-actions' }, submit),
    statusBox);

  /** Patients shown, by id (for the success message). */
  const shown = new Map();
  let searchSeq = 0;
  let debounce = 0;

  async function runSearch() {
    searchSeq += 1;
    const mine = searchSeq;
    const q = search.value.trim();
    const clinic = currentClinic();
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(loadingNode());
    try {
      const list = await api.get(`/api/clinics/${seg(clinic)}/patients${qs({ q })}`);
      if (mine !== searchSeq || !ctx.isCurrent()) return;
      renderPatients(Array.isArray(list) ? list : [], q);
    } catch (err) {
      if (mine !== searchSeq || !ctx.isCurrent()) return;
      clear(results).append(alertNode(errorMessage(err)));
      resultsCount.textContent = '';
    } finally {
      if (mine === searchSeq) results.removeAttribute('aria-busy');
    }
  }

  function renderPatients(list, q) {
    const checked = form.querySelector('input[name="patient"]:checked');
    const keep = checked ? checked.value : null;
    clear(results);
    shown.clear();
    resultsCount.textContent = list.length
      ? `${list.length} ${list.length === 1 ? 'paciente encontrado' : 'pacientes encontrados'}`
      : '';
    if (!list.length) {
      results.append(h('p', {
        class: 'empty',
        text: q ? `Nenhum paciente encontrado para “${q}”.` : 'Nenhum paciente cadastrado.',
      }));
      return;
    }
    const ul = h('ul', { class: 'nc-patient-list' });
    for (const p of list) {
      shown.set(String(p.id), p);
      const id = uid('nc-p');
      ul.append(h('li', { class: 'checkbox-row nc-patient' },
        h('input', { type: 'radio', name: 'patient', id, value: p.id, checked: String(p.id) === keep }),
        h('label', { for: id },
          h('span', { class: 'nc-patient-name', text: displayName(p) }),
          h('span', { class: 'muted small', text: ` · CPF ${p.cpf || '—'}` }))));
    }
    results.append(ul);
  }

  async function loadProfessionals() {
    const clinic = currentClinic();
    profSelect.disabled = true;
    profSelect.replaceChildren(h('option', { value: '', text: 'Carregando…' }));
    try {
      const members = await api.get(`/api/clinics/${seg(clinic)}/members`);
      if (!ctx.isCurrent() || clinic !== currentClinic()) return;
      const profs = (Array.isArray(members) ? members : [])
        .filter((m) => m.role === 'professional')
        .sort((a, b) => String(a.full_name).localeCompare(String(b.full_name), 'pt-BR'));
      profSelect.replaceChildren(h('option', {
        value: '',
        text: profs.length ? 'Selecione…' : 'Nenhum profissional na clínica',
      }));
      for (const m of profs) {
        const detail = m.professional
          ? [professionLabel(m.professional.profession), m.professional.specialty].filter(Boolean).join(', ')
          : '';
        profSelect.append(h('option', { value: m.user_id, text: detail ? `${m.full_name} (${detail})` : m.full_name }));
      }
    } catch (err) {
      if (!ctx.isCurrent()) return;
      profSelect.replaceChildren(h('option', { value: '', text: 'Não foi possível carregar' }));
      errorBox.textContent = errorMessage(err);
      errorBox.hidden = false;
    } finally {
      profSelect.disabled = false;
    }
  }

  function clearErrors() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    for (const el of [patientError, profError]) {
      el.hidden = true;
      el.textContent = '';
    }
    patientSet.removeAttribute('aria-invalid');
    profSelect.removeAttribute('aria-invalid');
  }

  search.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(runSearch, 350);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      window.clearTimeout(debounce);
      runSearch();
    }
  });
  searchButton.addEventListener('click', () => {
    window.clearTimeout(debounce);
    runSearch();
  });
  if (clinicSelect) {
    clinicSelect.addEventListener('change', () => {
      clear(results);
      runSearch();
      loadProfessionals();
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    statusBox.replaceChildren();
    const checked = form.querySelector('input[name="patient"]:checked');
    const patientId = checked ? checked.value : '';
    const professionalId = profSelect.value;
    let firstInvalid = null;
    if (!patientId) {
      patientError.textContent = 'Selecione um paciente.';
      patientError.hidden = false;
      firstInvalid = firstInvalid || search;
    }
    if (!professionalId) {
      profError.textContent = 'Selecione um profissional.';
      profError.hidden = false;
      profSelect.setAttribute('aria-invalid', 'true');
      firstInvalid = firstInvalid || profSelect;
    }
    if (firstInvalid) {
      errorBox.textContent = 'Escolha o paciente e o profissional da conversa.';
      errorBox.hidden = false;
      firstInvalid.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Abrindo…';
    form.setAttribute('aria-busy', 'true');
    try {
      const room = await api.post(`/api/clinics/${seg(currentClinic())}/chat/rooms`, {
        patient_id: patientId,
        professional_user_id: professionalId,
      });
      if (!ctx.isCurrent()) return;
      const patient = shown.get(String(patientId));
      const patientName = (patient && displayName(patient)) || (room && room.patient_name) || 'o paciente';
      const profName = (room && room.professional_name) || profSelect.selectedOptions[0]?.textContent || 'o profissional';
      const member = room && (isPatientOf(me, room) || isProfessionalOf(me, room));
      statusBox.append(`Conversa aberta entre ${patientName} e ${profName}. `,
        member
          ? h('a', { href: chatHref(room.id), text: 'Abrir conversa' })
          : 'Os dois já podem trocar mensagens pelo atende.');
      onOpened(room);
    } catch (err) {
      errorBox.textContent = errorMessage(err);
      errorBox.hidden = false;
      errorBox.setAttribute('tabindex', '-1');
      errorBox.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Abrir conversa';
      form.removeAttribute('aria-busy');
    }
  });

  runSearch();
  loadProfessionals();

  return h('section', { class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: 'Nova conversa' }),
    h('p', {
      class: 'muted',
      text: 'Abra uma conversa entre um paciente e um profissional da clínica. Só os dois participam dela.',
    }),
    form);
}
