// @ts-check
// Chat ("Mensagens"): room list with unread counts, conversation over the WebSocket,
// and, for receptionists and clinic admins, opening a conversation between a patient
// and a professional of the clinic.
//
// Opening a conversation loads its latest page over HTTP
// (`GET /api/chat/rooms/{id}/messages`), then joins the `chat:<room>` topic with
// `since: last_seq`, so the socket only brings what is new. Older pages load on
// scroll-up or with "Mensagens anteriores". Sent messages wait in an outbox (per
// room, kept across navigation until logout) and are re-sent with the same
// `client_id` after every (re)join: the server never stores a retry twice.
//
// Also here: read receipts (`read` → `chat.read`), editing and deleting one's own
// messages within the server's window (`message.edit` / `message.delete`), and
// attachments (uploaded over HTTP, then sent with `attachment_id`; downloaded with
// the Bearer token). The CSP allows `img-src 'self' data:` only, so image thumbnails
// are data: URLs made from the downloaded bytes (never blob: URLs).

import { api, authEvents, qs, seg } from '../api.js';
import { realtime, uuidv4 } from '../realtime.js';
import {
  h, clear, alertNode, displayName, errorMessage, loadingNode, plural, professionLabel, sentence, uid,
} from '../ui.js';
import { badgeText, unread, unreadText } from '../unread.js';

const MAX_BODY_CHARS = 4000;
const COUNTER_FROM = 3500;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 5000;
const RETRY_SEND_MS = 3000;
const RATE_LIMIT_WAIT_MS = 60_000;
const PAGE_SIZE = 50;
/** At most one `read` per this interval. */
const READ_EVERY_MS = 1000;
/** The server's default edit window; the server has the last word. */
const EDIT_WINDOW_MS = 15 * 60 * 1000;
const ACTIONS_REFRESH_MS = 20_000;
const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
/** Images up to this size show as a thumbnail at once; larger ones on request. */
const AUTO_THUMB_BYTES = 2 * 1024 * 1024;
const ATTACHMENT_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'pdf']);
const ATTACHMENT_ACCEPT = '.png,.jpg,.jpeg,.webp,.pdf,image/png,image/jpeg,image/webp,application/pdf';
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const RATE_LIMIT_MESSAGE = 'Muitas mensagens em pouco tempo; aguarde um minuto.';

/** Send errors that a retry cannot fix. */
const PERMANENT_SEND_ERRORS = new Set([
  'invalid_payload', 'forbidden', 'not_found', 'unknown_event', 'invalid_attachment',
]);
/** Edit/delete errors after which the message cannot be changed any more. */
const LOCKING_ERRORS = new Set(['edit_window_expired', 'message_deleted', 'forbidden', 'not_found']);

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

// ----------------------------------------------------------------- icons ---

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  clip: ['M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48'],
  file: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M8 13h8', 'M8 17h5'],
  image: ['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M21 15l-5-5L5 21',
    'M8.5 10a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z'],
  download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
};

/** A decorative stroke icon (SVG built with the DOM: no markup strings). */
function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/** "68 bytes", "12 KB", "1,4 MB" */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  const fmt = (v) => new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  if (n < 1024 * 1024) return `${fmt(n / 1024)} KB`;
  return `${fmt(n / (1024 * 1024))} MB`;
}

/** "Mensagens" panel for the homes, with the unread total (live). */
export function messagesPanel(intro) {
  const count = h('p', { class: 'messages-unread', hidden: true });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'messages-heading' },
    h('h2', { id: 'messages-heading', text: 'Mensagens' }),
    h('p', { class: 'muted', text: intro }),
    count,
    h('a', { class: 'btn btn-secondary', href: '#/mensagens', text: 'Abrir mensagens' }));
  const update = () => {
    const n = unread.total();
    count.hidden = !n;
    count.textContent = n ? `Você tem ${unreadText(n)}.` : '';
  };
  update();
  // The homes have no cleanup hook for this panel: stop listening once it is gone.
  const off = unread.onChange(() => {
    if (!section.isConnected) {
      off();
      return;
    }
    update();
  });
  return section;
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

  /** room id → {badge, text} of the list's unread markers */
  const badges = new Map();

  function updateBadges() {
    for (const [id, { badge, text }] of badges) {
      const n = unread.of(id);
      badge.hidden = !n;
      badge.textContent = n ? badgeText(n) : '';
      text.textContent = n ? `, ${unreadText(n)}` : '';
    }
  }

  function renderRooms(rooms) {
    clear(listBox);
    badges.clear();
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
      const badge = h('span', { class: 'chat-unread', 'aria-hidden': 'true', hidden: true });
      const text = h('span', { class: 'visually-hidden' });
      badges.set(String(room.id), { badge, text });
      ul.append(h('li', null,
        h('a', {
          class: `card-link chat-room-link${room.kind === 'staff' ? ' chat-room-staff' : ''}`,
          href: chatHref(room.id),
          'aria-current': current ? 'page' : null,
          dataset: { roomId: room.id },
        },
        h('span', { class: 'chat-room-head' }, h('span', { class: 'card-title', text: roomTitle(room, me) }), badge),
        h('span', { class: 'card-meta' }, h('span', { text: roomSubtitle(room, me) })),
        text)));
    }
    listBox.append(ul);
    updateBadges();
  }

  ctx.onCleanup(unread.onChange(updateBadges));

  let conversationOpened = false;
  function loadRooms() {
    listBox.setAttribute('aria-busy', 'true');
    if (!listBox.firstChild) listBox.append(loadingNode());
    unread.fetchRooms().then((rooms) => {
      if (!ctx.isCurrent()) return;
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

/** A Blob as a data: URL of the given type (the CSP allows data: images only). */
function dataUrl(blob, type) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(type && blob.type !== type ? new Blob([blob], { type }) : blob);
  });
}

function extensionOf(name) {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i + 1).toLowerCase() : '';
}

/** pt-BR message for a refused upload. */
function uploadErrorMessage(name, err) {
  const prefix = `Não foi possível anexar “${name}”`;
  if (err && err.code === 'unsupported_attachment_type') {
    return `${prefix}: o arquivo não é uma imagem (PNG, JPEG ou WebP) nem um PDF.`;
  }
  if (err && err.code === 'attachment_type_mismatch') {
    return `${prefix}: o conteúdo do arquivo não corresponde à extensão do nome.`;
  }
  if (err && (err.code === 'body_too_large' || err.status === 413)) {
    return `${prefix}: o arquivo passa do limite de 10 MB.`;
  }
  if (err && err.code === 'invalid_filename') {
    return `${prefix}: o nome do arquivo não é aceito. Renomeie o arquivo e tente de novo.`;
  }
  return `${prefix}. ${errorMessage(err)}`;
}

function conversation(ctx, me, room, heading) {
  const myId = String(me.id);
  const myName = displayName(me.patient) || me.full_name || '';
  const base = `/api/chat/rooms/${seg(room.id)}`;
  const outbox = outboxFor(String(room.id));
  /**
   * id → {id, seq, body, sender, created_at, edited_at, deleted, attachment, state,
   *       error, retryAt, locked, editing, busy, …nodes}
   */
  const messages = new Map();
  /** user id → last read seq (read receipts) */
  const reads = new Map();
  /** attachment id → Promise<Blob> (downloaded once per visit) */
  const blobs = new Map();
  let disposed = false;
  let historyDone = false;
  let nextBefore = null;
  let loadingOlder = false;
  let handle = null;
  let retryTimer = 0;
  let rateTimer = 0;
  let readTimer = 0;
  let lastReadPush = 0;
  /** Highest seq this view told the server it read. */
  let readSent = 0;
  /** Highest seq of a message from someone else. */
  let lastOtherSeq = 0;
  let lastTypingSent = 0;
  /** user_id → {name, timer} */
  const typers = new Map();
  /** The uploaded file waiting to be sent: {id, filename, content_type, size, file}. */
  let attachment = null;
  let uploading = false;

  const list = h('ol', {
    class: 'chat-messages',
    role: 'log',
    'aria-live': 'polite',
    'aria-relevant': 'additions',
    'aria-label': 'Mensagens',
    // Busy while the history loads: screen readers wait instead of reading it all.
    'aria-busy': 'true',
  });
  const empty = h('p', { class: 'chat-empty', text: 'Carregando mensagens…' });
  const olderButton = h('button', {
    type: 'button', class: 'btn btn-secondary chat-older', text: 'Mensagens anteriores', hidden: true,
  });
  const olderStatus = h('p', { class: 'chat-older-status muted small', role: 'status' });
  const startNote = h('p', { class: 'chat-start muted small', text: 'Início da conversa', hidden: true });
  const scroller = h('div', {
    class: 'chat-scroll',
    tabindex: '0',
    role: 'region',
    'aria-label': `Histórico da conversa: ${roomTitle(room, me)}`,
  }, h('div', { class: 'chat-older-box' }, olderButton, olderStatus, startNote), empty, list);
  const newBelow = h('button', {
    type: 'button', class: 'btn btn-secondary chat-new-below', hidden: true, text: '↓ Novas mensagens',
  });
  const notes = h('div', { class: 'chat-notes' });
  const presenceLine = h('p', { class: 'chat-presence muted small' });
  const typingLine = h('p', { class: 'chat-typing', 'aria-live': 'polite' });
  const hoursNote = isPatientOf(me, room) && room.professional_available === false
    ? h('div', { class: 'chat-hours', role: 'note' },
      h('p', { class: 'chat-hours-title', text: 'Fora do horário de atendimento — as respostas podem demorar.' }),
      room.office_hours_note ? h('p', { class: 'chat-hours-note', text: room.office_hours_note }) : null)
    : null;

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
  const fileInput = h('input', { type: 'file', name: 'attachment', accept: ATTACHMENT_ACCEPT, hidden: true });
  const attachButton = h('button', {
    type: 'button', class: 'btn btn-secondary chat-attach', title: 'Anexar imagem ou PDF',
  }, icon('clip'), h('span', { class: 'chat-attach-label', text: 'Anexar' }));
  const attachBox = h('div', { class: 'chat-attachment', hidden: true });
  const attachStatus = h('p', { class: 'field-hint chat-attach-status', role: 'status' });
  const counter = h('p', { class: 'field-hint chat-counter', id: counterId, hidden: true });
  const composerError = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const composer = h('form', { class: 'chat-composer', novalidate: true, 'aria-label': 'Enviar mensagem' },
    h('label', { class: 'visually-hidden', for: inputId, text: `Mensagem para ${roomTitle(room, me)}` }),
    attachBox,
    h('div', { class: 'chat-compose-row' }, attachButton, textarea, sendButton),
    fileInput,
    h('p', {
      class: 'field-hint chat-hint',
      id: hintId,
      text: 'Enter envia · Shift+Enter quebra a linha · Anexos: imagens (PNG, JPEG, WebP) ou PDF, até 10 MB',
    }),
    counter, attachStatus, composerError);

  const dialog = deleteDialog();
  const element = h('section', { class: 'panel chat-conversation', 'aria-labelledby': heading.id || null },
    hoursNote, presenceLine, notes, h('div', { class: 'chat-scroll-wrap' }, scroller, newBelow), typingLine,
    composer, dialog.element);

  // -- rendering --

  const isOwn = (m) => Boolean(m.sender && String(m.sender.user_id) === myId);

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    newBelow.hidden = true;
  }

  function canModify(m) {
    if (!isOwn(m) || m.deleted || m.locked || m.state !== 'sent' || typeof m.seq !== 'number') return false;
    const at = Date.parse(m.created_at);
    return Number.isFinite(at) && Date.now() - at < EDIT_WINDOW_MS;
  }

  function readStatus(m) {
    let n = 0;
    for (const [user, seq] of reads) if (user !== myId && seq >= m.seq) n += 1;
    if (!n) return 'Enviada';
    return room.kind === 'staff' ? `Lida por ${plural(n, 'pessoa', 'pessoas')}` : 'Lida';
  }

  function statusText(m) {
    if (m.state === 'sent') return readStatus(m);
    if (m.state === 'failed') return 'Não enviada';
    return realtime.state === 'connected' ? 'Enviando…' : 'Aguardando conexão…';
  }

  function showMessageError(m, text) {
    if (!m.errorNode) return;
    m.errorNode.textContent = text;
    m.errorNode.hidden = !text;
  }

  function updateActions(m) {
    if (!m.actionsBox) return;
    const show = canModify(m) && !m.editing && !m.busy;
    if (show && !m.actionsBox.firstChild) {
      m.actionsBox.append(
        h('button', {
          type: 'button',
          class: 'btn-link msg-action',
          text: 'Editar',
          'aria-describedby': m.bodyNode.id,
          onclick: () => openEditor(m),
        }),
        h('button', {
          type: 'button',
          class: 'btn-link msg-action msg-action-danger',
          text: 'Apagar',
          'aria-describedby': m.bodyNode.id,
          onclick: (event) => dialog.open(m, event.currentTarget),
        }));
    } else if (!show && m.actionsBox.firstChild) {
      m.actionsBox.replaceChildren();
    }
  }

  function updateFoot(m) {
    if (!m.footNode) return;
    m.footNode.hidden = Boolean(m.deleted);
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
          m.retryAt = 0;
          outbox.set(m.id, m);
          updateNode(m);
          flush();
        },
      }));
    }
    updateActions(m);
  }

  function updateNode(m) {
    m.node.dataset.state = m.state;
    m.node.classList.toggle('msg-is-deleted', Boolean(m.deleted));
    if (m.deleted) {
      m.bodyNode.textContent = 'Mensagem apagada';
      m.bodyNode.classList.add('msg-deleted');
      m.bodyNode.hidden = false;
    } else {
      m.bodyNode.textContent = m.body || '';
      m.bodyNode.classList.remove('msg-deleted');
      m.bodyNode.hidden = Boolean(m.editing) || !m.body;
    }
    m.timeNode.textContent = timeText(m.created_at);
    m.timeNode.setAttribute('datetime', m.created_at || '');
    m.timeNode.title = fullTime(m.created_at);
    m.editedNode.hidden = !m.edited_at || Boolean(m.deleted);
    m.editedNode.title = m.edited_at ? `Editada: ${fullTime(m.edited_at)}` : '';
    const showAttachment = Boolean(m.attachment && !m.deleted);
    if (showAttachment && !m.attachNode) {
      m.attachNode = attachmentNode(m.attachment);
      m.bodyNode.after(m.attachNode);
    } else if (!showAttachment && m.attachNode) {
      m.attachNode.remove();
      m.attachNode = null;
    }
    if (m.deleted && m.editor) closeEditor(m, false);
    updateFoot(m);
  }

  function buildNode(m) {
    const own = isOwn(m);
    m.attachNode = null;
    m.editor = null;
    m.editing = false;
    m.bodyNode = h('p', { class: 'msg-body', id: uid('msg-body') });
    m.timeNode = h('time', { class: 'msg-time' });
    m.editedNode = h('span', { class: 'msg-edited', hidden: true },
      h('span', { 'aria-hidden': 'true', text: ' · ' }), '(editada)');
    m.statusNode = own ? h('span', { class: 'msg-status' }) : null;
    m.actionsBox = own ? h('span', { class: 'msg-actions' }) : null;
    m.footNode = own ? h('p', { class: 'msg-foot' }, m.statusNode, m.actionsBox) : null;
    m.errorNode = own ? h('p', { class: 'msg-error', role: 'alert', hidden: true }) : null;
    m.bubble = h('div', { class: 'msg-bubble' },
      h('p', { class: 'msg-meta' },
        h('span', { class: 'msg-sender', text: own ? 'Você' : (m.sender && m.sender.name) || 'Participante' }),
        h('span', { 'aria-hidden': 'true', text: ' · ' }),
        m.timeNode,
        m.editedNode),
      m.bodyNode,
      m.footNode,
      m.errorNode);
    m.node = h('li', { class: `msg ${own ? 'msg-own' : 'msg-other'}`, dataset: { id: m.id } }, m.bubble);
    updateNode(m);
  }

  /** Put the node in seq order; unsent messages stay at the bottom. */
  function place(m) {
    let before = null;
    if (typeof m.seq === 'number') {
      for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
        if (node === m.node) continue;
        const other = messages.get(/** @type {HTMLElement} */ (node).dataset.id);
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

  /**
   * @param {object} m a message of `messages`
   * @param {{scroll?: boolean}} [opts] `scroll`: to the bottom, wherever the reader was
   */
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

  function updateOlder() {
    const more = nextBefore !== null;
    olderButton.hidden = !more;
    startNote.hidden = more || ![...messages.values()].some((m) => typeof m.seq === 'number');
  }

  function refreshReadMarks() {
    for (const m of messages.values()) if (m.footNode && m.state === 'sent') updateFoot(m);
  }

  // -- attachments --

  function attachmentBlob(att) {
    let p = blobs.get(att.id);
    if (!p) {
      p = api.download(`/api/chat/attachments/${seg(att.id)}`);
      blobs.set(att.id, p);
      p.catch(() => {
        if (blobs.get(att.id) === p) blobs.delete(att.id);
      });
    }
    return p;
  }

  async function showThumb(att, box) {
    box.replaceChildren(h('span', { class: 'msg-thumb-status', text: 'Carregando imagem…' }));
    try {
      const blob = await attachmentBlob(att);
      const url = await dataUrl(blob, att.content_type);
      if (disposed) return;
      box.replaceChildren(h('img', { class: 'msg-thumb', alt: `Imagem anexada: ${att.filename}`, src: url }));
    } catch (err) {
      if (disposed) return;
      box.replaceChildren(
        h('span', { class: 'msg-thumb-status', text: 'Não foi possível mostrar a imagem.' }),
        h('button', { type: 'button', class: 'btn-link', text: 'Tentar de novo', onclick: () => showThumb(att, box) }));
    }
  }

  async function download(att, button, error) {
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    error.hidden = true;
    try {
      const blob = await attachmentBlob(att);
      if (disposed) return;
      // The file is already here (fetched with the Bearer token): hand it over as a download.
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: att.filename || 'anexo', hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      error.textContent = `Não foi possível baixar “${att.filename}”. ${errorMessage(err)}`;
      error.hidden = false;
    } finally {
      button.removeAttribute('aria-busy');
    }
  }

  function attachmentNode(att) {
    const isImage = IMAGE_TYPES.has(att.content_type);
    const error = h('p', { class: 'msg-attachment-error', role: 'alert', hidden: true });
    const fileButton = h('button', { type: 'button', class: 'msg-file', title: 'Baixar o arquivo' },
      icon(isImage ? 'image' : 'file'),
      h('span', { class: 'msg-file-text' },
        h('span', { class: 'visually-hidden', text: 'Baixar ' }),
        h('span', { class: 'msg-file-name', text: att.filename || 'anexo' }),
        h('span', { class: 'msg-file-size', text: formatSize(att.size) })),
      icon('download'));
    fileButton.addEventListener('click', () => download(att, fileButton, error));
    const box = h('div', { class: `msg-attachment${isImage ? ' msg-attachment-image' : ''}` });
    if (isImage) {
      // Fixed-size box: the layout does not jump when the image arrives.
      const thumb = h('div', { class: 'msg-thumb-box' });
      box.append(thumb);
      if (att.size <= AUTO_THUMB_BYTES) showThumb(att, thumb);
      else {
        thumb.append(h('button', {
          type: 'button', class: 'btn-link', text: 'Mostrar imagem', onclick: () => showThumb(att, thumb),
        }));
      }
    }
    box.append(fileButton, error);
    return box;
  }

  function setAttachment(att) {
    attachment = att;
    attachBox.replaceChildren(
      icon(IMAGE_TYPES.has(att.content_type) ? 'image' : 'file'),
      h('span', { class: 'chat-attachment-name', text: att.filename }),
      h('span', { class: 'chat-attachment-size', text: formatSize(att.size) }),
      h('button', {
        type: 'button',
        class: 'btn-link',
        text: 'Remover',
        'aria-label': `Remover o anexo ${att.filename}`,
        onclick: () => {
          clearAttachment();
          attachStatus.textContent = 'Anexo removido.';
          attachButton.focus();
        },
      }));
    attachBox.hidden = false;
  }

  function clearAttachment() {
    attachment = null;
    attachBox.hidden = true;
    attachBox.replaceChildren();
  }

  function showComposerError(text) {
    composerError.textContent = text;
    composerError.hidden = !text;
  }

  async function upload(file) {
    showComposerError('');
    const name = file.name || 'arquivo';
    if (!ATTACHMENT_EXTENSIONS.has(extensionOf(name))) {
      showComposerError(`Não foi possível anexar “${name}”: envie imagens (PNG, JPEG ou WebP) ou PDF.`);
      return;
    }
    if (file.size > MAX_ATTACHMENT_BYTES) {
      showComposerError(`Não foi possível anexar “${name}”: o arquivo passa do limite de 10 MB.`);
      return;
    }
    if (!file.size) {
      showComposerError(`Não foi possível anexar “${name}”: o arquivo está vazio.`);
      return;
    }
    uploading = true;
    attachButton.setAttribute('aria-disabled', 'true');
    composer.setAttribute('aria-busy', 'true');
    attachStatus.textContent = `Enviando o anexo “${name}”…`;
    try {
      const att = await api.upload(`${base}/attachments${qs({ filename: name })}`, file);
      if (disposed) return;
      if (!att || !att.id) throw new Error('bad upload answer');
      setAttachment({
        id: att.id,
        filename: att.filename || name,
        content_type: att.content_type,
        size: typeof att.size === 'number' ? att.size : file.size,
        file,
      });
      attachStatus.textContent = `Anexo pronto: ${att.filename || name}. Escreva uma mensagem, se quiser, e envie.`;
    } catch (err) {
      if (disposed) return;
      attachStatus.textContent = '';
      showComposerError(uploadErrorMessage(name, err));
    } finally {
      uploading = false;
      attachButton.removeAttribute('aria-disabled');
      composer.removeAttribute('aria-busy');
    }
  }

  // -- edit and delete --

  function openEditor(m) {
    if (m.editing || !canModify(m)) return;
    m.editing = true;
    const id = uid('msg-edit');
    const area = h('textarea', {
      id, name: 'edit', rows: Math.min(6, Math.max(2, (m.body || '').split('\n').length)), maxlength: MAX_BODY_CHARS,
    });
    area.value = m.body || '';
    const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small', text: 'Salvar' });
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Cancelar' });
    const form = h('form', { class: 'msg-edit', novalidate: true, 'aria-label': 'Editar mensagem' },
      h('label', { class: 'visually-hidden', for: id, text: 'Editar mensagem' }),
      area,
      h('div', { class: 'msg-edit-actions' }, cancel, save));
    m.editor = { form, area, save };
    showMessageError(m, '');
    m.bodyNode.after(form);
    updateNode(m);
    cancel.addEventListener('click', () => closeEditor(m, true));
    area.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeEditor(m, true);
      } else if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey
        && !event.isComposing) {
        event.preventDefault();
        saveEdit(m);
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      saveEdit(m);
    });
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  function focusMessage(m, preferActions) {
    const button = preferActions && m.actionsBox && m.actionsBox.querySelector('button');
    if (button) {
      button.focus();
      return;
    }
    m.bubble.setAttribute('tabindex', '-1');
    m.bubble.focus();
  }

  function closeEditor(m, focusBack) {
    if (!m.editor) return;
    m.editor.form.remove();
    m.editor = null;
    m.editing = false;
    updateNode(m);
    if (focusBack) focusMessage(m, true);
  }

  async function saveEdit(m) {
    const editor = m.editor;
    if (!editor || m.busy) return;
    const body = editor.area.value.trim();
    if (!body) {
      showMessageError(m, 'A mensagem não pode ficar vazia. Para tirá-la da conversa, use “Apagar”.');
      return;
    }
    if ([...body].length > MAX_BODY_CHARS) {
      showMessageError(m, `A mensagem pode ter até ${MAX_BODY_CHARS} caracteres.`);
      return;
    }
    if (body === m.body) {
      closeEditor(m, true);
      return;
    }
    if (!handle || !handle.joined) {
      showMessageError(m, 'Sem conexão com o servidor no momento. Tente de novo quando a conexão voltar.');
      return;
    }
    m.busy = true;
    editor.save.setAttribute('aria-disabled', 'true');
    editor.save.textContent = 'Salvando…';
    try {
      const res = await handle.push('message.edit', { id: m.id, body });
      if (disposed) return;
      m.body = body;
      m.edited_at = (res && res.edited_at) || new Date().toISOString();
      m.busy = false;
      showMessageError(m, '');
      closeEditor(m, true);
    } catch (err) {
      if (disposed) return;
      m.busy = false;
      editor.save.removeAttribute('aria-disabled');
      editor.save.textContent = 'Salvar';
      showMessageError(m, sentence(err.message));
      if (LOCKING_ERRORS.has(err.code)) {
        m.locked = true;
        closeEditor(m, false);
        focusMessage(m, false);
      }
    }
  }

  function markDeleted(m) {
    m.deleted = true;
    m.body = '';
    if (m.editor) closeEditor(m, false);
    updateNode(m);
  }

  async function deleteMessage(m) {
    if (!handle || !handle.joined) {
      showMessageError(m, 'Sem conexão com o servidor no momento. Tente de novo quando a conexão voltar.');
      focusMessage(m, true);
      return;
    }
    m.busy = true;
    updateActions(m);
    showMessageError(m, '');
    try {
      await handle.push('message.delete', { id: m.id });
      if (disposed) return;
      m.busy = false;
      markDeleted(m);
      focusMessage(m, false);
    } catch (err) {
      if (disposed) return;
      m.busy = false;
      if (LOCKING_ERRORS.has(err.code)) m.locked = true;
      updateNode(m);
      showMessageError(m, sentence(err.message));
      focusMessage(m, true);
    }
  }

  /** "Apagar esta mensagem?" confirmation (<dialog>, not window.confirm). */
  function deleteDialog() {
    const titleId = uid('delete-title');
    const descId = uid('delete-desc');
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancelar' });
    const confirmButton = h('button', { type: 'button', class: 'btn btn-danger', text: 'Apagar mensagem' });
    const el = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': descId },
      h('h2', { id: titleId, text: 'Apagar esta mensagem?' }),
      h('p', {
        id: descId,
        text: 'Ela sai da conversa para todos, que passam a ver “Mensagem apagada”. Não é possível desfazer.',
      }),
      h('div', { class: 'form-actions' }, cancel, confirmButton));
    let target = null;
    let opener = null;
    cancel.addEventListener('click', () => el.close('cancel'));
    confirmButton.addEventListener('click', () => el.close('confirm'));
    el.addEventListener('close', () => {
      const m = target;
      target = null;
      if (!m) return;
      if (el.returnValue === 'confirm') deleteMessage(m);
      else if (opener && opener.isConnected) opener.focus();
    });
    return {
      element: el,
      open(m, from) {
        if (el.open) return;
        target = m;
        opener = from;
        el.returnValue = '';
        el.showModal();
        cancel.focus();
      },
    };
  }

  // -- read receipts --

  function applyRead(userId, seq) {
    if (!userId || typeof seq !== 'number') return;
    const user = String(userId);
    if (seq <= (reads.get(user) || 0)) return;
    reads.set(user, seq);
    if (user === myId) {
      readSent = Math.max(readSent, seq);
      unread.noteRead(room.id, seq);
    } else refreshReadMarks();
  }

  function myReadSeq() {
    return Math.max(reads.get(myId) || 0, readSent);
  }

  function canMarkRead() {
    return !disposed && historyDone && Boolean(handle && handle.joined)
      && document.visibilityState === 'visible' && nearBottom();
  }

  /** Tell the server what this person has seen (conversation visible, at the bottom). */
  function maybeMarkRead() {
    if (readTimer || !canMarkRead() || lastOtherSeq <= myReadSeq()) return;
    readTimer = setTimeout(sendRead, Math.max(0, lastReadPush + READ_EVERY_MS - Date.now()));
  }

  function sendRead() {
    readTimer = 0;
    if (!canMarkRead() || lastOtherSeq <= myReadSeq()) return;
    const seq = Math.max(lastOtherSeq, typeof handle.lastSeq === 'number' ? handle.lastSeq : 0);
    const previous = readSent;
    readSent = seq;
    lastReadPush = Date.now();
    handle.push('read', { seq }).then((res) => {
      if (!res) return;
      unread.noteRead(room.id, res.last_read_seq, res.unread);
      if (!disposed) applyRead(myId, res.last_read_seq);
    }).catch(() => {
      if (readSent === seq) readSent = previous;
    });
  }

  // -- incoming --

  /** Add or refresh a message from a `chat.message` payload (push or history page). */
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
      state: 'sent',
      error: null,
    };
    let m = messages.get(id);
    const isNew = !m;
    if (m) {
      if (typeof fields.seq !== 'number') fields.seq = m.seq;
      Object.assign(m, fields);
      outbox.delete(id);
      updateNode(m);
    } else {
      m = { id, ...fields };
      messages.set(id, m);
      outbox.delete(id);
      buildNode(m);
    }
    if (!isOwn(m) && typeof m.seq === 'number' && m.seq > lastOtherSeq) lastOtherSeq = m.seq;
    return { m, isNew };
  }

  /** A page of `GET …/messages` (oldest first). */
  function applyPage(data) {
    for (const r of Array.isArray(data && data.reads) ? data.reads : []) applyRead(r.user_id, r.last_read_seq);
    for (const p of Array.isArray(data && data.messages) ? data.messages : []) {
      const r = ingest(p, p.seq);
      if (r) place(r.m);
    }
    nextBefore = data && typeof data.next_before === 'number' ? data.next_before : null;
    updateOlder();
    refreshReadMarks();
  }

  function onMessage(p, frame) {
    const r = ingest(p, typeof frame.seq === 'number' ? frame.seq : null);
    if (!r) return;
    addOrUpdate(r.m);
    if (r.isNew && r.m.sender) stopTyping(r.m.sender.user_id);
    updateOlder();
    maybeMarkRead();
  }

  function onEdited(p) {
    const m = p && p.id ? messages.get(String(p.id)) : null;
    if (!m || m.deleted || typeof p.body !== 'string') return;
    m.body = p.body;
    m.edited_at = p.edited_at || m.edited_at || new Date().toISOString();
    updateNode(m);
  }

  function onDeleted(p) {
    const m = p && p.id ? messages.get(String(p.id)) : null;
    if (m && !m.deleted) markDeleted(m);
  }

  function onRead(p) {
    if (p) applyRead(p.user_id, p.seq);
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
    if (!p || !p.user_id || String(p.user_id) === myId) return;
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

  function showNote(text, kind = 'info', action = null) {
    clear(notes).append(kind === 'error'
      ? alertNode(text)
      : h('p', { class: 'alert alert-info', text }));
    if (action) notes.append(action);
  }

  // -- outgoing --

  function confirm(m, res) {
    if (typeof m.seq !== 'number' && res && typeof res.seq === 'number') m.seq = res.seq;
    if (res && res.created_at) m.created_at = res.created_at;
    m.state = 'sent';
    m.error = null;
    outbox.delete(m.id);
    updateNode(m);
    place(m);
    updateOlder();
    if (composerError.textContent === RATE_LIMIT_MESSAGE) showComposerError('');
  }

  const isRateLimited = (m) => m.state === 'failed' && m.error && m.error.code === 'rate_limited';

  /** Rate-limited messages go back to the queue once their minute is over. */
  function scheduleRateRetry() {
    clearTimeout(rateTimer);
    const waiting = [...outbox.values()].filter(isRateLimited);
    if (!waiting.length || disposed) return;
    const due = Math.min(...waiting.map((m) => m.retryAt || 0));
    rateTimer = setTimeout(() => {
      const now = Date.now();
      for (const m of outbox.values()) {
        if (isRateLimited(m) && (m.retryAt || 0) <= now + 250) {
          m.state = 'pending';
          m.error = null;
          m.retryAt = 0;
          updateNode(m);
        }
      }
      flush();
      scheduleRateRetry();
    }, Math.max(0, due - Date.now()));
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
          const payload = { client_id: next.id, body: next.body };
          if (next.attachment) payload.attachment_id = next.attachment.id;
          // Sequential: the room stores messages in the order they are sent.
          const res = await handle.push('message.send', payload);
          if (!disposed) confirm(next, res);
        } catch (err) {
          if (disposed) break;
          if (err.code === 'rate_limited') {
            // The per-sender limit: everything still queued would be refused too. Keep it
            // all in the outbox, marked as not sent, and try again after a minute.
            const retryAt = Date.now() + RATE_LIMIT_WAIT_MS;
            for (const m of outbox.values()) {
              if (m.state !== 'pending') continue;
              m.state = 'failed';
              m.error = { code: 'rate_limited', message: RATE_LIMIT_MESSAGE };
              m.retryAt = retryAt;
              updateNode(m);
            }
            showComposerError(RATE_LIMIT_MESSAGE);
            scheduleRateRetry();
            break;
          }
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
    showComposerError('');
    if (uploading) {
      showComposerError('Aguarde o anexo terminar de carregar.');
      return;
    }
    const body = textarea.value.trim();
    if (!body && !attachment) {
      textarea.focus();
      return;
    }
    if ([...body].length > MAX_BODY_CHARS) {
      showComposerError(`A mensagem pode ter até ${MAX_BODY_CHARS} caracteres.`);
      return;
    }
    let att = null;
    if (attachment) {
      att = {
        id: attachment.id,
        filename: attachment.filename,
        content_type: attachment.content_type,
        size: attachment.size,
      };
      // Our own file: show it without downloading it back.
      if (attachment.file) blobs.set(att.id, Promise.resolve(attachment.file));
      clearAttachment();
      attachStatus.textContent = '';
    }
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
  attachButton.addEventListener('click', () => {
    if (!uploading && !attachButton.disabled) fileInput.click();
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (file) upload(file);
  });
  scroller.addEventListener('scroll', () => {
    if (nearBottom()) newBelow.hidden = true;
    if (historyDone && scroller.scrollTop < 40 && nextBefore !== null) loadOlder();
    maybeMarkRead();
  });
  newBelow.addEventListener('click', () => {
    scrollToBottom();
    scroller.focus();
    maybeMarkRead();
  });
  olderButton.addEventListener('click', () => loadOlder());
  const onVisibility = () => maybeMarkRead();
  document.addEventListener('visibilitychange', onVisibility);
  // Editar/Apagar disappear when the window is over.
  const actionsTimer = setInterval(() => {
    for (const m of messages.values()) if (m.actionsBox) updateActions(m);
  }, ACTIONS_REFRESH_MS);

  // Messages still waiting from an earlier visit to this room.
  for (const m of outbox.values()) {
    if (isRateLimited(m) && (m.retryAt || 0) <= Date.now()) {
      m.state = 'pending';
      m.error = null;
    }
    messages.set(m.id, m);
    buildNode(m);
    place(m);
  }
  scheduleRateRetry();

  // -- history --

  async function loadOlder() {
    if (loadingOlder || nextBefore === null || disposed) return;
    loadingOlder = true;
    const hadFocus = document.activeElement === olderButton;
    olderButton.setAttribute('aria-disabled', 'true');
    olderStatus.textContent = 'Carregando mensagens anteriores…';
    try {
      const data = await api.get(`${base}/messages${qs({ before: nextBefore, limit: PAGE_SIZE })}`);
      if (disposed) return;
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
      if (disposed) return;
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
      if (disposed) return;
      empty.hidden = true;
      showNote(`Não foi possível carregar as mensagens. ${errorMessage(err)}`, 'error',
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: start }));
      return;
    }
    if (disposed) return;
    applyPage(data);
    finishHistory();
    join(data && typeof data.last_seq === 'number' ? data.last_seq : 0);
  }

  /** After a resync the socket could not replay what was missed: start over from the latest page. */
  async function reloadLatest() {
    try {
      const data = await api.get(`${base}/messages${qs({ limit: PAGE_SIZE })}`);
      if (disposed) return;
      for (const m of [...messages.values()]) {
        if (typeof m.seq === 'number') {
          m.node.remove();
          messages.delete(m.id);
        }
      }
      applyPage(data);
      empty.hidden = messages.size > 0;
      scrollToBottom();
      clear(notes);
      maybeMarkRead();
    } catch {
      if (disposed) return;
      showNote('A conexão ficou fora por muito tempo e não foi possível atualizar a conversa. Recarregue a página.', 'error');
    }
  }

  function join(since) {
    handle = realtime.join(room.topic || `chat:${room.id}`, {
      since,
      events: {
        'chat.message': onMessage,
        'chat.message_edited': onEdited,
        'chat.message_deleted': onDeleted,
        'chat.read': onRead,
        'chat.typing': onTyping,
      },
      onJoin: (info) => {
        if (disposed) return;
        if (info.resync) reloadLatest();
        renderPresence(info.presence);
        flush();
        maybeMarkRead();
      },
      onPresence: renderPresence,
      onError: (err) => {
        if (disposed) return;
        finishHistory();
        empty.hidden = true;
        showNote(`Não foi possível abrir esta conversa: ${sentence(err.message)}`, 'error');
        textarea.disabled = true;
        sendButton.disabled = true;
        attachButton.disabled = true;
      },
      onStatus: (state) => {
        if (disposed) return;
        for (const m of messages.values()) if (m.state === 'pending') updateNode(m);
        if (state !== 'connected') typers.forEach((_, id) => stopTyping(id));
        renderPresence();
      },
    });
  }

  start();

  ctx.onCleanup(() => {
    disposed = true;
    clearTimeout(retryTimer);
    clearTimeout(rateTimer);
    clearTimeout(readTimer);
    clearInterval(actionsTimer);
    document.removeEventListener('visibilitychange', onVisibility);
    typers.forEach((t) => clearTimeout(t.timer));
    blobs.clear();
    if (dialog.element.open) dialog.element.close();
    if (handle) handle.leave();
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
    const checked = /** @type {HTMLInputElement|null} */ (form.querySelector('input[name="patient"]:checked'));
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
    const checked = /** @type {HTMLInputElement|null} */ (form.querySelector('input[name="patient"]:checked'));
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
