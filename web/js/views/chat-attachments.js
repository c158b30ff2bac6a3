// @ts-check
// Chat attachments: the file shown in a message (an image's thumbnail, a download button),
// the checks before an upload and their pt-BR messages, and the small stroke icons.
//
// Files are uploaded over HTTP, then sent with `attachment_id`; they are downloaded with the
// Bearer token. The CSP allows `img-src 'self' data:` only, so image thumbnails are data:
// URLs made from the downloaded bytes (never blob: URLs).

import { api, seg } from '../api.js';
import { strokeIcon } from '../icons.js';
import { h, errorMessage } from '../ui.js';

/**
 * An attachment as the API gives it (upload answer, a message's `attachment`).
 * @typedef {object} ChatAttachment
 * @property {string} id
 * @property {string} filename
 * @property {string} content_type
 * @property {number} size bytes
 */

export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
/** Images up to this size show as a thumbnail at once; larger ones on request. */
const AUTO_THUMB_BYTES = 2 * 1024 * 1024;
const ATTACHMENT_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'pdf']);
export const ATTACHMENT_ACCEPT = '.png,.jpg,.jpeg,.webp,.pdf,image/png,image/jpeg,image/webp,application/pdf';
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);

// ----------------------------------------------------------------- icons ---

/** @type {Record<string, string[]>} */
const ICONS = {
  clip: ['M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48'],
  file: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M8 13h8', 'M8 17h5'],
  image: ['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M21 15l-5-5L5 21',
    'M8.5 10a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z'],
  download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
};

/**
 * A decorative stroke icon of the chat.
 * @param {'clip'|'file'|'image'|'download'} name
 */
export function icon(name) {
  return strokeIcon(name, ICONS[name] || []);
}

/** The icon for an attachment of `contentType`. @param {string} contentType */
export function fileIcon(contentType) {
  return icon(IMAGE_TYPES.has(contentType) ? 'image' : 'file');
}

// ------------------------------------------------------------ formatting ---

/**
 * "68 bytes", "12 KB", "1,4 MB"
 * @param {number|string|null|undefined} bytes
 */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  /** @param {number} v */
  const fmt = (v) => new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  if (n < 1024 * 1024) return `${fmt(n / 1024)} KB`;
  return `${fmt(n / (1024 * 1024))} MB`;
}

/**
 * A Blob as a data: URL of the given type (the CSP allows data: images only).
 * @param {Blob} blob
 * @param {string} [type]
 * @returns {Promise<string>}
 */
function dataUrl(blob, type) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(type && blob.type !== type ? new Blob([blob], { type }) : blob);
  });
}

/** "pdf" for "Exame.PDF"; "" without one. @param {string} name */
export function extensionOf(name) {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i + 1).toLowerCase() : '';
}

/**
 * Why `file` cannot be attached (checked before uploading), or null.
 * @param {File} file
 * @param {string} name the name shown in the message
 * @returns {string|null}
 */
export function attachmentProblem(file, name) {
  if (!ATTACHMENT_EXTENSIONS.has(extensionOf(name))) {
    return `Não foi possível anexar “${name}”: envie imagens (PNG, JPEG ou WebP) ou PDF.`;
  }
  if (file.size > MAX_ATTACHMENT_BYTES) {
    return `Não foi possível anexar “${name}”: o arquivo passa do limite de 10 MB.`;
  }
  if (!file.size) return `Não foi possível anexar “${name}”: o arquivo está vazio.`;
  return null;
}

/**
 * pt-BR message for a refused upload.
 * @param {string} name
 * @param {any} err an ApiError (its `code`, `status`) or anything thrown
 */
export function uploadErrorMessage(name, err) {
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

// ------------------------------------------------------------- in a message ---

/**
 * The files of one conversation view, each downloaded at most once per visit.
 * @typedef {object} AttachmentFiles
 * @property {(att: ChatAttachment) => Promise<Blob>} blob
 * @property {(id: string, file: Blob) => void} keep our own upload: shown without downloading it back
 * @property {() => void} clear
 */

/** @returns {AttachmentFiles} */
export function attachmentFiles() {
  /** attachment id → Promise<Blob> */
  const blobs = new Map();
  return {
    blob(att) {
      let p = blobs.get(att.id);
      if (!p) {
        p = api.download(`/api/chat/attachments/${seg(att.id)}`);
        blobs.set(att.id, p);
        p.catch(() => {
          if (blobs.get(att.id) === p) blobs.delete(att.id);
        });
      }
      return p;
    },
    keep(id, file) {
      blobs.set(id, Promise.resolve(file));
    },
    clear() {
      blobs.clear();
    },
  };
}

/**
 * The attachment in a message: a thumbnail for an image, a button that downloads the file.
 * @param {ChatAttachment} att
 * @param {AttachmentFiles} files
 * @param {() => boolean} gone the conversation view went away (drop late answers)
 */
export function attachmentNode(att, files, gone) {
  async function showThumb(box) {
    box.replaceChildren(h('span', { class: 'msg-thumb-status', text: 'Carregando imagem…' }));
    try {
      const blob = await files.blob(att);
      const url = await dataUrl(blob, att.content_type);
      if (gone()) return;
      box.replaceChildren(h('img', { class: 'msg-thumb', alt: `Imagem anexada: ${att.filename}`, src: url }));
    } catch {
      if (gone()) return;
      box.replaceChildren(
        h('span', { class: 'msg-thumb-status', text: 'Não foi possível mostrar a imagem.' }),
        h('button', { type: 'button', class: 'btn-link', text: 'Tentar de novo', onclick: () => showThumb(box) }));
    }
  }

  /**
   * @param {HTMLButtonElement} button
   * @param {HTMLParagraphElement} error
   */
  async function download(button, error) {
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    error.hidden = true;
    try {
      const blob = await files.blob(att);
      if (gone()) return;
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

  const isImage = IMAGE_TYPES.has(att.content_type);
  const error = h('p', { class: 'msg-attachment-error', role: 'alert', hidden: true });
  const fileButton = h('button', { type: 'button', class: 'msg-file', title: 'Baixar o arquivo' },
    icon(isImage ? 'image' : 'file'),
    h('span', { class: 'msg-file-text' },
      h('span', { class: 'visually-hidden', text: 'Baixar ' }),
      h('span', { class: 'msg-file-name', text: att.filename || 'anexo' }),
      h('span', { class: 'msg-file-size', text: formatSize(att.size) })),
    icon('download'));
  fileButton.addEventListener('click', () => download(fileButton, error));
  const box = h('div', { class: `msg-attachment${isImage ? ' msg-attachment-image' : ''}` });
  if (isImage) {
    // Fixed-size box: the layout does not jump when the image arrives.
    const thumb = h('div', { class: 'msg-thumb-box' });
    box.append(thumb);
    if (att.size <= AUTO_THUMB_BYTES) showThumb(thumb);
    else {
      thumb.append(h('button', {
        type: 'button', class: 'btn-link', text: 'Mostrar imagem', onclick: () => showThumb(thumb),
      }));
    }
  }
  box.append(fileButton, error);
  return box;
}
