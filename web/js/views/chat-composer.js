// @ts-check
// Chat: the composer under a conversation, where the user writes: the text box (Enter
// sends, Shift+Enter breaks the line, a counter near the limit), "Anexar" with the file
// uploaded at once and shown until it is sent or removed, the "typing" signal, and the
// composer's own errors. What happens to a sent message is chat-conversation.js's.

import { api, qs, seg } from '../api.js';
import { h, uid } from '../ui.js';
import {
  ATTACHMENT_ACCEPT, attachmentProblem, fileIcon, formatSize, icon, uploadErrorMessage,
} from './chat-attachments.js';
import { MAX_BODY_CHARS } from './chat-thread.js';

/** @typedef {import('./chat-attachments.js').ChatAttachment} ChatAttachment */
/** @typedef {import('./chat-thread.js').ConversationState} ConversationState */

const COUNTER_FROM = 3500;
const TYPING_SEND_EVERY_MS = 3000;

/**
 * The composer of `conv`'s room. `onSend(body, attachment)` gets a message that passed the
 * checks (a body, an attachment or both); the text box is emptied afterwards.
 * @param {ConversationState} conv
 * @param {{onSend: (body: string, attachment: ChatAttachment|null) => void}} opts
 */
export function messageComposer(conv, { onSend }) {
  const base = `/api/chat/rooms/${seg(conv.room.id)}`;
  /** The uploaded file waiting to be sent, with its bytes (`file`). */
  /** @type {(ChatAttachment & {file: File})|null} */
  let attachment = null;
  let uploading = false;
  let lastTypingSent = 0;

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
  const form = h('form', { class: 'chat-composer', novalidate: true, 'aria-label': 'Enviar mensagem' },
    h('label', { class: 'visually-hidden', for: inputId, text: `Mensagem para ${conv.title}` }),
    attachBox,
    h('div', { class: 'chat-compose-row' }, attachButton, textarea, sendButton),
    fileInput,
    h('p', {
      class: 'field-hint chat-hint',
      id: hintId,
      text: 'Enter envia · Shift+Enter quebra a linha · Anexos: imagens (PNG, JPEG, WebP) ou PDF, até 10 MB',
    }),
    counter, attachStatus, composerError);

  /** @param {ChatAttachment & {file: File}} att */
  function setAttachment(att) {
    attachment = att;
    attachBox.replaceChildren(
      fileIcon(att.content_type),
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

  /** @param {string} text '' hides it */
  function showError(text) {
    composerError.textContent = text;
    composerError.hidden = !text;
  }

  /** @param {File} file */
  async function upload(file) {
    showError('');
    const name = file.name || 'arquivo';
    const problem = attachmentProblem(file, name);
    if (problem) {
      showError(problem);
      return;
    }
    uploading = true;
    attachButton.setAttribute('aria-disabled', 'true');
    form.setAttribute('aria-busy', 'true');
    attachStatus.textContent = `Enviando o anexo “${name}”…`;
    try {
      const att = await api.upload(`${base}/attachments${qs({ filename: name })}`, file);
      if (conv.disposed) return;
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
      if (conv.disposed) return;
      attachStatus.textContent = '';
      showError(uploadErrorMessage(name, err));
    } finally {
      uploading = false;
      attachButton.removeAttribute('aria-disabled');
      form.removeAttribute('aria-busy');
    }
  }

  function updateCounter() {
    const n = textarea.value.length;
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = `${n} de ${MAX_BODY_CHARS} caracteres`;
  }

  function send() {
    showError('');
    if (uploading) {
      showError('Aguarde o anexo terminar de carregar.');
      return;
    }
    const body = textarea.value.trim();
    if (!body && !attachment) {
      textarea.focus();
      return;
    }
    if ([...body].length > MAX_BODY_CHARS) {
      showError(`A mensagem pode ter até ${MAX_BODY_CHARS} caracteres.`);
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
      if (attachment.file) conv.files.keep(att.id, attachment.file);
      clearAttachment();
      attachStatus.textContent = '';
    }
    onSend(body, att);
    textarea.value = '';
    updateCounter();
    lastTypingSent = 0;
  }

  form.addEventListener('submit', (event) => {
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
    const handle = conv.handle;
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

  return {
    element: form,
    showError,
    /** The error shown now ('' when none). */
    get error() {
      return composerError.textContent;
    },
    /** The room cannot be opened: nothing can be written or attached. */
    disable() {
      textarea.disabled = true;
      sendButton.disabled = true;
      attachButton.disabled = true;
    },
  };
}
