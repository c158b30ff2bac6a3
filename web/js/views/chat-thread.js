// @ts-check
// Chat: the thread of one conversation, what the user reads: the scrolling log of messages
// (in seq order, unsent ones at the bottom), each bubble with its time, "(editada)", its
// attachment and, for one's own, the delivery or read status, "Tentar de novo", and
// "Editar"/"Apagar" within the server's edit window (an inline editor, a confirmation
// dialog). Loading pages, the socket and the outbox are chat-conversation.js's.

import { realtime } from '../realtime.js';
import { h, plural, sentence, uid } from '../ui.js';
import { attachmentNode } from './chat-attachments.js';

/** @typedef {import('./chat-attachments.js').ChatAttachment} ChatAttachment */
/** @typedef {import('./chat-attachments.js').AttachmentFiles} AttachmentFiles */
/** @typedef {import('./chat-rooms.js').ChatRoom} ChatRoom */

export const MAX_BODY_CHARS = 4000;
/** The server's default edit window; the server has the last word. */
const EDIT_WINDOW_MS = 15 * 60 * 1000;
const ACTIONS_REFRESH_MS = 20_000;
/** Edit/delete errors after which the message cannot be changed any more. */
const LOCKING_ERRORS = new Set(['edit_window_expired', 'message_deleted', 'forbidden', 'not_found']);
const OFFLINE_MESSAGE = 'Sem conexão com o servidor no momento. Tente de novo quando a conexão voltar.';

/**
 * A message on screen: the server's fields, its delivery state and the nodes that show it.
 * Ours carry the `client_id` they were sent with as `id` (the server keeps it).
 * @typedef {object} ChatMessage
 * @property {string} id
 * @property {number|null} seq the room topic's seq (null until the server stored it)
 * @property {string} body
 * @property {{user_id: string, name: string}|null} sender
 * @property {string} created_at
 * @property {string|null} edited_at
 * @property {boolean} deleted
 * @property {ChatAttachment|null} attachment
 * @property {'pending'|'sent'|'failed'} state
 * @property {{code: string, message: string}|null} [error] why it was not sent
 * @property {number} [retryAt] a rate-limited message goes back to the queue then
 * @property {boolean} [locked] the server refused a change for good
 * @property {boolean} [editing]
 * @property {boolean} [busy] an edit or delete is in flight
 * @property {HTMLLIElement} [node]
 * @property {HTMLDivElement} [bubble]
 * @property {HTMLParagraphElement} [bodyNode]
 * @property {HTMLTimeElement} [timeNode]
 * @property {HTMLSpanElement} [editedNode]
 * @property {HTMLSpanElement|null} [statusNode] own messages only (like the next four)
 * @property {HTMLSpanElement|null} [actionsBox]
 * @property {HTMLParagraphElement|null} [footNode]
 * @property {HTMLParagraphElement|null} [errorNode]
 * @property {HTMLDivElement|null} [attachNode]
 * @property {{form: HTMLFormElement, area: HTMLTextAreaElement, save: HTMLButtonElement}|null} [editor]
 */

/**
 * What the parts of one conversation view share (chat-conversation.js owns it).
 * @typedef {object} ConversationState
 * @property {string} myId
 * @property {ChatRoom} room
 * @property {string} title the room's title for this user
 * @property {Map<string, ChatMessage>} messages by id
 * @property {Map<string, number>} reads user id → last read seq (read receipts)
 * @property {Map<string, ChatMessage>} outbox this room's messages not yet acknowledged
 * @property {import('../realtime.js').Handle|null} handle the room topic, once joined
 * @property {boolean} disposed the view went away
 * @property {boolean} historyDone the latest page is shown
 * @property {number|null} nextBefore where the next older page starts (null: none left)
 * @property {AttachmentFiles} files
 */

/** "10:42" today, "03/11 10:42" this year, "03/11/2025 10:42" before. @param {string} iso */
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

/** "segunda-feira, 3 de novembro de 2025 10:42" (a tooltip). @param {string} iso */
function fullTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat('pt-BR', { dateStyle: 'full', timeStyle: 'short' }).format(date);
}

/**
 * The thread of `conv`'s room. `onRetry()` runs after "Tentar de novo" put a failed
 * message back in the outbox (the conversation sends it).
 * @param {ConversationState} conv
 * @param {{onRetry: () => void}} opts
 */
export function messageThread(conv, { onRetry }) {
  const { messages, reads, myId } = conv;

  // A list of messages that announces the new ones (a live region: role "log" would hide
  // the list's items from assistive technology).
  const list = h('ol', {
    class: 'chat-messages',
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
    'aria-label': `Histórico da conversa: ${conv.title}`,
  }, h('div', { class: 'chat-older-box' }, olderButton, olderStatus, startNote), empty, list);
  const newBelow = h('button', {
    type: 'button', class: 'btn btn-secondary chat-new-below', hidden: true, text: '↓ Novas mensagens',
  });
  const dialog = deleteDialog((m) => deleteMessage(m));

  /** @param {ChatMessage} m */
  const isOwn = (m) => Boolean(m.sender && String(m.sender.user_id) === myId);

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    newBelow.hidden = true;
  }

  /** @param {ChatMessage} m */
  function canModify(m) {
    if (!isOwn(m) || m.deleted || m.locked || m.state !== 'sent' || typeof m.seq !== 'number') return false;
    const at = Date.parse(m.created_at);
    return Number.isFinite(at) && Date.now() - at < EDIT_WINDOW_MS;
  }

  /** @param {ChatMessage} m */
  function readStatus(m) {
    let n = 0;
    for (const [user, seq] of reads) if (user !== myId && seq >= m.seq) n += 1;
    if (!n) return 'Enviada';
    return conv.room.kind === 'staff' ? `Lida por ${plural(n, 'pessoa', 'pessoas')}` : 'Lida';
  }

  /** @param {ChatMessage} m */
  function statusText(m) {
    if (m.state === 'sent') return readStatus(m);
    if (m.state === 'failed') return 'Não enviada';
    return realtime.state === 'connected' ? 'Enviando…' : 'Aguardando conexão…';
  }

  /** @param {ChatMessage} m @param {string} text */
  function showMessageError(m, text) {
    if (!m.errorNode) return;
    m.errorNode.textContent = text;
    m.errorNode.hidden = !text;
  }

  /** @param {ChatMessage} m */
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

  /** @param {ChatMessage} m */
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
          conv.outbox.set(m.id, m);
          updateNode(m);
          onRetry();
        },
      }));
    }
    updateActions(m);
  }

  /** Show `m` as it is now. @param {ChatMessage} m */
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
      m.attachNode = attachmentNode(m.attachment, conv.files, () => conv.disposed);
      m.bodyNode.after(m.attachNode);
    } else if (!showAttachment && m.attachNode) {
      m.attachNode.remove();
      m.attachNode = null;
    }
    if (m.deleted && m.editor) closeEditor(m, false);
    updateFoot(m);
  }

  /** Build the nodes of a new message (not in the list yet: see `place`). @param {ChatMessage} m */
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

  /** Put the node in seq order; unsent messages stay at the bottom. @param {ChatMessage} m */
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
   * @param {ChatMessage} m
   * @param {{scroll?: boolean}} [opts] `scroll`: to the bottom, wherever the reader was
   */
  function addOrUpdate(m, { scroll } = {}) {
    const stick = !conv.historyDone || nearBottom() || scroll;
    place(m);
    if (stick) scrollToBottom();
    else if (!isOwn(m)) newBelow.hidden = false;
  }

  function finishHistory() {
    if (conv.historyDone) return;
    conv.historyDone = true;
    list.removeAttribute('aria-busy');
    empty.textContent = 'Nenhuma mensagem ainda. Escreva a primeira!';
    empty.hidden = messages.size > 0;
    scrollToBottom();
  }

  function updateOlder() {
    const more = conv.nextBefore !== null;
    olderButton.hidden = !more;
    startNote.hidden = more || ![...messages.values()].some((m) => typeof m.seq === 'number');
  }

  function refreshReadMarks() {
    for (const m of messages.values()) if (m.footNode && m.state === 'sent') updateFoot(m);
  }

  // -- edit and delete --

  /** @param {ChatMessage} m */
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

  /** @param {ChatMessage} m @param {boolean} preferActions */
  function focusMessage(m, preferActions) {
    const button = preferActions && m.actionsBox && m.actionsBox.querySelector('button');
    if (button) {
      button.focus();
      return;
    }
    m.bubble.setAttribute('tabindex', '-1');
    m.bubble.focus();
  }

  /** @param {ChatMessage} m @param {boolean} focusBack */
  function closeEditor(m, focusBack) {
    if (!m.editor) return;
    m.editor.form.remove();
    m.editor = null;
    m.editing = false;
    updateNode(m);
    if (focusBack) focusMessage(m, true);
  }

  /** @param {ChatMessage} m */
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
    const handle = conv.handle;
    if (!handle || !handle.joined) {
      showMessageError(m, OFFLINE_MESSAGE);
      return;
    }
    m.busy = true;
    editor.save.setAttribute('aria-disabled', 'true');
    editor.save.textContent = 'Salvando…';
    try {
      const res = await handle.push('message.edit', { id: m.id, body });
      if (conv.disposed) return;
      m.body = body;
      m.edited_at = (res && res.edited_at) || new Date().toISOString();
      m.busy = false;
      showMessageError(m, '');
      closeEditor(m, true);
    } catch (err) {
      if (conv.disposed) return;
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

  /** @param {ChatMessage} m */
  function markDeleted(m) {
    m.deleted = true;
    m.body = '';
    if (m.editor) closeEditor(m, false);
    updateNode(m);
  }

  /** @param {ChatMessage} m */
  async function deleteMessage(m) {
    const handle = conv.handle;
    if (!handle || !handle.joined) {
      showMessageError(m, OFFLINE_MESSAGE);
      focusMessage(m, true);
      return;
    }
    m.busy = true;
    updateActions(m);
    showMessageError(m, '');
    try {
      await handle.push('message.delete', { id: m.id });
      if (conv.disposed) return;
      m.busy = false;
      markDeleted(m);
      focusMessage(m, false);
    } catch (err) {
      if (conv.disposed) return;
      m.busy = false;
      if (LOCKING_ERRORS.has(err.code)) m.locked = true;
      updateNode(m);
      showMessageError(m, sentence(err.message));
      focusMessage(m, true);
    }
  }

  // Editar/Apagar disappear when the window is over.
  const actionsTimer = setInterval(() => {
    for (const m of messages.values()) if (m.actionsBox) updateActions(m);
  }, ACTIONS_REFRESH_MS);

  return {
    /** The scrolling log and its "↓ Novas mensagens" button. */
    element: h('div', { class: 'chat-scroll-wrap' }, scroller, newBelow),
    dialog: dialog.element,
    list,
    empty,
    scroller,
    newBelow,
    olderButton,
    olderStatus,
    nearBottom,
    scrollToBottom,
    buildNode,
    updateNode,
    place,
    addOrUpdate,
    finishHistory,
    updateOlder,
    refreshReadMarks,
    markDeleted,
    /** The view went away: stop the clock, close the dialog. */
    stop() {
      clearInterval(actionsTimer);
      if (dialog.element.open) dialog.element.close();
    },
  };
}

/**
 * "Apagar esta mensagem?" confirmation (<dialog>, not window.confirm); `onConfirm(m)`
 * deletes it.
 * @param {(m: ChatMessage) => void} onConfirm
 */
function deleteDialog(onConfirm) {
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
  /** @type {ChatMessage|null} */
  let target = null;
  /** @type {HTMLElement|null} */
  let opener = null;
  cancel.addEventListener('click', () => el.close('cancel'));
  confirmButton.addEventListener('click', () => el.close('confirm'));
  el.addEventListener('close', () => {
    const m = target;
    target = null;
    if (!m) return;
    if (el.returnValue === 'confirm') onConfirm(m);
    else if (opener && opener.isConnected) opener.focus();
  });
  return {
    element: el,
    /** @param {ChatMessage} m @param {HTMLElement} from the button that opened it */
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
