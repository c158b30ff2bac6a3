// @ts-check
// Signed documents (prescriptions, certificates, exam requests) in the staff's patient
// record: the "Documentos" section of #/clinica/{id}/paciente/{pid}.
//
//   GET  /api/clinics/{c}/patients/{p}/documents   the list (professionals and admins)
//   GET  /api/me/documents                          a professional's own, with their codes
//   POST /api/documents                             issue → 202 {id, status: pending, code}
//   POST /api/documents/preview                     same body → unsigned PDF
//   GET  /api/documents/{id}[/pdf]                  summary / signed PDF
//   POST /api/documents/{id}/send | revoke          issuer only
//
// Signing runs in the background: the issuer's `user:<id>` topic pushes
// `document.updated {document}` when a document is signed, fails, is sent or revoked.
// Pending documents are polled (GET /api/documents/{id}, every 2 s) only while that topic
// is not joined, or for documents another professional issued (their pushes go to them).
//
// Professionals of the clinic issue (forms in views/document-forms.js) only the kinds their
// council allows (GET /api/me/document-scope: psychologists, for instance, see no
// prescription); a banner warns while the verification URL printed on documents points to
// this machine. Admins see the list read-only. The PDF preview opens as a blob: URL in a new tab or downloads: the
// CSP (src/startup.rs) has no frame-src, so a blob: <iframe> would be blocked.

import { api, seg } from '../api.js';
import { joinWithStatus, liveList } from '../live-list.js';
import { h, clear, errorMessage, loadingNode, uid } from '../ui.js';
import { DEFAULT_TZ, fullDate, localDate, timeIn } from '../agenda-util.js';
import { capitalize, documentName, documentState, documentWith, documentWord } from '../messages.js';
import { documentEditor } from './document-forms.js';

/** pt-BR names of the document kinds (from the message catalog). */
export const DOC_KINDS = Object.fromEntries(
  ['prescription', 'special_prescription', 'certificate', 'exam_request', 'attendance_declaration', 'psychological_report'].map((k) => [k, documentName(k)]),
);

export function kindLabel(kind) {
  return documentName(kind);
}

/** The kind with a participle that agrees: kindWith('prescription', 'emitid') → "Receita simples emitida". */
export function kindWith(kind, stem) {
  return documentWith(kind, stem);
}

/** "23/11/2026 às 10:15" in the clinics' zone. */
export function docWhen(iso, timeZone = DEFAULT_TZ) {
  if (!iso || Number.isNaN(Date.parse(iso))) return '';
  return `${fullDate(localDate(iso, timeZone))} às ${timeIn(iso, timeZone)}`;
}

/** The state shown for a document: revoked wins over the signing status. */
export function docState(doc) {
  if (doc.revoked) return 'revoked';
  if (doc.status === 'signed' || doc.status === 'failed') return doc.status;
  return 'pending';
}

/** The state's badge, agreeing with the kind ("Receita … Assinada", "Atestado … Assinado"). */
export function stateBadge(doc) {
  const state = docState(doc);
  return h('span', { class: `badge doc-badge doc-st-${state}`, text: documentState(doc.kind, state) });
}

function slug(text) {
  return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** "receita-simples-ABCDE-FGH23.pdf" (or the date when the code is not known). */
export function pdfFileName(doc) {
  const tail = doc.code || (doc.signed_at || doc.created_at ? localDate(doc.signed_at || doc.created_at, DEFAULT_TZ) : doc.id);
  return `${slug(kindLabel(doc.kind))}-${tail}.pdf`;
}

/** Hand a Blob to the browser as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once may cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Download a signed PDF with the login's token. */
export async function downloadDocument(doc) {
  const blob = await api.download(`/api/documents/${seg(doc.id)}/pdf`);
  saveBlob(blob, pdfFileName(doc));
}

/**
 * Rebuild the list in `container` with `fn` without losing the keyboard focus: the same
 * element when it survived, else the same action of the same document (data-id/action).
 */
export function keepFocus(container, fn) {
  const active = document.activeElement;
  const inside = /** @type {HTMLElement|null} */ (active && active !== container && container.contains(active) ? active : null);
  const li = /** @type {HTMLElement|null} */ (inside && inside.closest('[data-id]'));
  const where = li ? { id: li.dataset.id, action: inside.dataset.action || null } : null;
  fn();
  if (!inside) return;
  if (inside.isConnected) {
    inside.focus();
    return;
  }
  const item = where && [...container.querySelectorAll('[data-id]')].find((el) => el.dataset.id === where.id);
  if (!item) return;
  const target = (where.action && item.querySelector(`[data-action="${where.action}"]`))
    || item.querySelector('button:not(:disabled), a[href]');
  if (target) target.focus();
}

/**
 * Merge a newer copy of a document into `before`. A late answer saying "pending" never
 * hides a push that already said "signed" or "failed".
 */
export function mergeDoc(before, next) {
  if (!before) return { ...next };
  const out = { ...before, ...next };
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined || (value === null && before[key])) out[key] = before[key];
  }
  if (before.status && before.status !== 'pending' && next.status === 'pending') {
    out.status = before.status;
    out.signed_at = before.signed_at;
    out.sha256 = before.sha256;
    out.failure = before.failure;
  }
  if (before.revoked && next.revoked === false) {
    out.revoked = true;
    out.revoked_at = before.revoked_at;
    out.revoked_reason = before.revoked_reason;
  }
  return out;
}

function roleIn(me, clinicId, role) {
  return (me.memberships || []).some((m) => String(m.clinic_id) === String(clinicId) && m.role === role);
}

/** Whether `me` may see the documents section of a patient of `clinicId`. */
export function canSeeDocuments(me, clinicId) {
  return roleIn(me, clinicId, 'professional') || roleIn(me, clinicId, 'clinic_admin');
}

const POLL_MS = 2000;

/**
 * Section "Documentos" of the staff patient record. Professionals of the clinic issue,
 * preview, send and revoke; admins see the list and download.
 * @param {import('../types.js').ViewContext} ctx
 * @param {{me: import('../types.js').Me, clinicId: string, patient: import('../types.js').PatientRecord}} opts
 */
export function documentsSection(ctx, { me, clinicId, patient }) {
  const canIssue = roleIn(me, clinicId, 'professional');
  const live = h('p', { class: 'muted small doc-live', role: 'status', text: '' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const notice = h('div', { class: 'doc-notice' });
  const editorBox = h('div', { class: 'doc-editor-box' });
  const listBox = h('div', { class: 'doc-list' }, loadingNode());
  const kindButtons = new Map();
  const root = h('section', {
    class: 'panel doc-panel',
    'aria-labelledby': 'pd-docs',
    dataset: { documents: 'staff', live: 'false' },
  },
  h('div', { class: 'doc-panel-head' }, h('h2', { id: 'pd-docs', text: 'Documentos' }), live),
  announce);

  /** GET /api/me/document-scope, once loaded: what this professional may issue. */
  let scope = null;
  const urlWarning = h('p', { class: 'alert alert-error doc-url-warning', role: 'alert', hidden: true });
  root.append(urlWarning);
  if (canIssue) {
    const buttons = Object.entries(DOC_KINDS).map(([kind, label]) => {
      const button = h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small',
        text: kind === 'certificate' ? 'Atestado' : label,
        'aria-expanded': 'false',
        // Shown once the scope says this professional may issue it.
        hidden: true,
        dataset: { kind },
        onclick: () => openEditor(kind),
      });
      kindButtons.set(kind, button);
      return button;
    });
    root.append(
      h('div', { class: 'doc-new', role: 'group', 'aria-label': 'Emitir novo documento' },
        h('span', { class: 'doc-new-label', text: 'Emitir:' }), buttons),
      editorBox);
    api.get('/api/me/document-scope').then((s) => {
      if (!ctx.isCurrent()) return;
      scope = s;
      const kinds = new Set((s && s.kinds) || []);
      for (const [kind, button] of kindButtons) button.hidden = !kinds.has(kind);
      if (s && s.verification_url_warning) {
        urlWarning.textContent = s.verification_url_warning;
        urlWarning.hidden = false;
      }
    }).catch(() => {
      // Without the scope, the server still refuses what is outside it (403).
      for (const button of kindButtons.values()) button.hidden = false;
    });
  } else {
    root.append(h('p', { class: 'muted small', text: 'Somente os profissionais de saúde da clínica emitem documentos.' }));
  }
  root.append(notice, listBox);

  /** id → verification code (the issuer's own documents) */
  const codes = new Map();
  /** id → a short confirmation shown under the item for a few seconds */
  const flashes = new Map();
  /** id of the document whose revoke form is open, and the form (kept across re-renders) */
  let revoking = null;
  let revokeNode = null;
  let editor = null;
  /** The document issued last on this page: its state is told above the list. */
  let lastIssued = null;

  const listPath = `/api/clinics/${seg(clinicId)}/patients/${seg(patient.id)}/documents`;
  /** Whether the clinic grants this user's role the content of documents others issued. */
  let contentReadable = false;

  /** id → document summary; documents pushed or issued meanwhile survive a reload. */
  const docList = liveList(ctx, {
    box: listBox,
    load: () => Promise.all([
      api.get(listPath),
      canIssue ? api.get('/api/me/documents').catch(() => null) : null,
    ]),
    itemsOf: ([res, own]) => {
      contentReadable = Boolean(res && res.content_readable);
      for (const d of (own && own.documents) || []) if (d.code) codes.set(d.id, d.code);
      return res && res.documents;
    },
    merge: mergeDoc,
    render,
  });
  const docs = docList.items;

  function upsert(doc, { fromPush = false } = {}) {
    if (!doc || !doc.id) return;
    if (String(doc.clinic_id) !== String(clinicId) || String(doc.patient_id) !== String(patient.id)) return;
    const before = docs.get(doc.id);
    const next = mergeDoc(before, doc);
    docs.set(doc.id, next);
    docList.remember(next);
    if (doc.code) codes.set(doc.id, doc.code);
    if (fromPush && before && docState(before) !== docState(next)) {
      if (docState(next) === 'signed') announce.textContent = `${kindWith(next.kind, 'assinad')}.`;
      else if (docState(next) === 'failed') announce.textContent = `${kindLabel(next.kind)}: a assinatura falhou.`;
      else if (docState(next) === 'revoked') announce.textContent = `${kindWith(next.kind, 'revogad')}.`;
    }
    if (docList.loaded && ctx.isCurrent()) render();
  }

  function sorted() {
    return [...docs.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  }

  /** The notice about the document just issued, following its state. */
  function renderNotice() {
    const doc = lastIssued && docs.get(lastIssued.id);
    if (!doc) return;
    const state = docState(doc);
    if (lastIssued.state === state) return;
    lastIssued.state = state;
    const code = doc.code || codes.get(doc.id);
    const codeText = code ? [' Código de verificação: ', h('span', { class: 'doc-code', text: code }), '.'] : null;
    let node;
    if (state === 'pending') {
      node = h('p', { class: 'alert alert-info doc-issued', dataset: { state } },
        h('strong', { text: `${kindWith(doc.kind, 'emitid')}. ` }),
        'A assinatura digital está sendo feita; a lista abaixo se atualiza sozinha.', codeText);
    } else if (state === 'signed') {
      node = h('p', { class: 'alert alert-info doc-issued', dataset: { state } },
        h('strong', { text: `${kindWith(doc.kind, 'emitid')} e ${documentWord(doc.kind, 'assinad')} digitalmente. ` }),
        'Use “Enviar ao paciente” para avisá-lo pelo atende.', codeText);
    } else if (state === 'failed') {
      node = h('p', { class: 'alert alert-error doc-issued', dataset: { state } },
        `A assinatura falhou${doc.failure ? `: ${doc.failure}` : '.'} Emita o documento de novo.`);
    } else {
      clear(notice);
      return;
    }
    clear(notice).append(node);
  }

  function render() {
    renderNotice();
    keepFocus(listBox, () => {
      const list = sorted();
      clear(listBox);
      if (!list.length) {
        listBox.append(h('p', { class: 'empty', text: 'Nenhum documento emitido para este paciente nesta clínica.' }));
        return;
      }
      listBox.append(h('ul', { class: 'card-list doc-items', 'aria-label': 'Documentos do paciente' }, list.map(item)));
    });
  }

  function item(doc) {
    const state = docState(doc);
    const mine = String(doc.professional_user_id) === String(me.id);
    const code = doc.code || codes.get(doc.id);
    const errors = h('p', { class: 'alert alert-error doc-error', role: 'alert', hidden: true });
    const li = h('li', { class: `card doc-item doc-item-${state}`, dataset: { id: doc.id, status: state } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title', text: kindLabel(doc.kind) }),
        stateBadge(doc)),
      h('span', { class: 'card-meta' },
        h('span', { text: `${capitalize(documentWord(doc.kind, 'emitid'))} em ${docWhen(doc.created_at)}` }),
        doc.professional_name
          ? h('span', { text: [doc.professional_name, doc.council].filter(Boolean).join(' · ') })
          : null,
        code ? h('span', null, 'Código ', h('span', { class: 'doc-code', text: code })) : null),
      state === 'signed' && doc.signed_at ? h('p', { class: 'small doc-info', text: `${capitalize(documentWord(doc.kind, 'assinad'))} digitalmente em ${docWhen(doc.signed_at)}.` }) : null,
      doc.sent_at ? h('p', { class: 'small doc-info doc-sent', text: `Enviado ao paciente em ${docWhen(doc.sent_at)}.` }) : null,
      state === 'failed'
        ? h('p', { class: 'small doc-info doc-failure', text: `A assinatura falhou${doc.failure ? `: ${doc.failure}` : '.'}` })
        : null,
      state === 'revoked'
        ? h('p', {
          class: 'small doc-info doc-revoked',
          text: `Revogado em ${docWhen(doc.revoked_at)}${doc.revoked_reason ? ` — motivo: ${doc.revoked_reason}` : ''}.`,
        })
        : null,
      !mine && !contentReadable && state === 'signed'
        ? h('p', { class: 'small muted doc-info doc-restricted', text: 'Conteúdo visível só para quem emitiu e para o paciente.' })
        : null,
      errors);

    const actions = [];
    if (doc.status === 'signed' && (mine || contentReadable)) {
      actions.push(h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small',
        text: 'Baixar PDF',
        dataset: { action: 'download' },
        'aria-label': `Baixar PDF: ${kindLabel(doc.kind)} de ${docWhen(doc.created_at)}`,
        onclick: (event) => act(event.currentTarget, errors, () => downloadDocument({ ...doc, code })),
      }));
    }
    if (mine && doc.status === 'signed' && !doc.revoked) {
      actions.push(h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small',
        text: doc.sent_at ? 'Enviar de novo ao paciente' : 'Enviar ao paciente',
        dataset: { action: 'send' },
        onclick: (event) => act(event.currentTarget, errors, async () => {
          const updated = await api.post(`/api/documents/${seg(doc.id)}/send`);
          upsert(updated);
          announce.textContent = `${kindWith(doc.kind, 'enviad')} ao paciente.`;
          flash(doc.id, `${kindWith(doc.kind, 'enviad')} ao paciente.`);
        }),
      }));
    }
    if (mine && doc.status === 'signed' && !doc.revoked && revoking !== doc.id) {
      actions.push(h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small ag-action-danger',
        text: 'Revogar',
        dataset: { action: 'revoke' },
        'aria-expanded': 'false',
        onclick: () => {
          revoking = doc.id;
          render();
          const input = /** @type {HTMLElement|null} */ (listBox.querySelector(`[data-id="${doc.id}"] textarea`));
          if (input) input.focus();
        },
      }));
    }
    if (actions.length) li.append(h('div', { class: 'queue-actions doc-actions' }, actions));
    if (mine && doc.status === 'signed' && !doc.revoked && revoking === doc.id) {
      // The same form across re-renders (a push must not wipe a reason being typed).
      if (!revokeNode || revokeNode.dataset.id !== doc.id) revokeNode = revokeForm(doc);
      li.append(revokeNode);
    }
    const flashText = flashes.get(doc.id);
    if (flashText) li.append(h('p', { class: 'form-status doc-flash', text: flashText }));
    return li;
  }

  /** Show a short confirmation under an item, kept across re-renders for a few seconds. */
  function flash(id, text) {
    flashes.set(id, text);
    render();
    const timer = setTimeout(() => {
      if (flashes.get(id) !== text) return;
      flashes.delete(id);
      if (ctx.isCurrent()) render();
    }, 8000);
    ctx.onCleanup(() => clearTimeout(timer));
  }

  async function act(button, errors, fn) {
    button.disabled = true;
    errors.hidden = true;
    try {
      await fn();
    } catch (err) {
      errors.textContent = errorMessage(err);
      errors.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  function revokeForm(doc) {
    const id = uid('doc-revoke');
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const reason = h('textarea', { id, name: 'reason', rows: 2, maxlength: 500, required: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-danger', text: 'Revogar documento' });
    const form = h('form', {
      class: 'form doc-revoke-form', novalidate: true, 'aria-label': 'Revogar documento', dataset: { id: doc.id },
    },
      errors,
      h('p', { class: 'small', text: 'A revogação não pode ser desfeita: a página pública de verificação passa a informar que o documento foi revogado, com o motivo.' }),
      h('div', { class: 'field' }, h('label', { for: id, text: 'Motivo da revogação' }), reason),
      h('div', { class: 'form-actions' }, submit,
        h('button', {
          type: 'button',
          class: 'btn btn-secondary',
          text: 'Voltar',
          onclick: () => {
            revoking = null;
            revokeNode = null;
            render();
            const again = /** @type {HTMLElement|null} */ (listBox.querySelector(`[data-id="${doc.id}"] [data-action="revoke"]`));
            if (again) again.focus();
          },
        })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.hidden = true;
      const text = reason.value.trim();
      if (!text) {
        errors.textContent = 'Informe o motivo da revogação.';
        errors.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      submit.disabled = true;
      try {
        const updated = await api.post(`/api/documents/${seg(doc.id)}/revoke`, { reason: text });
        revoking = null;
        revokeNode = null;
        upsert(updated);
        announce.textContent = `${kindWith(doc.kind, 'revogad')}.`;
        flash(doc.id, 'Documento revogado.');
      } catch (err) {
        errors.textContent = errorMessage(err);
        errors.hidden = false;
        submit.disabled = false;
      }
    });
    return form;
  }

  // ------------------------------------------------------------- editor ---

  function openEditor(kind) {
    const wasOpen = editor && editor.kind === kind;
    closeEditor();
    if (wasOpen) return;
    lastIssued = null;
    clear(notice);
    editor = documentEditor({
      kind,
      clinicId,
      patient,
      scope,
      onIssued: issued,
      onClose: () => {
        const button = kindButtons.get(kind);
        closeEditor();
        if (button) button.focus();
      },
    });
    editorBox.append(editor.element);
    const button = kindButtons.get(kind);
    if (button) button.setAttribute('aria-expanded', 'true');
    editor.focus();
  }

  function closeEditor() {
    if (!editor) return;
    editor.destroy();
    editor = null;
    clear(editorBox);
    for (const button of kindButtons.values()) button.setAttribute('aria-expanded', 'false');
  }

  /** POST /api/documents answered 202: show it as "Assinando…" until the push. */
  function issued(res, content) {
    const kind = (res && res.kind) || content.kind;
    closeEditor();
    const doc = {
      id: res.id,
      kind,
      status: res.status || 'pending',
      failure: null,
      clinic_id: clinicId,
      patient_id: patient.id,
      patient_name: patient.full_name,
      professional_user_id: me.id,
      professional_name: me.full_name,
      council: null,
      created_at: new Date().toISOString(),
      signed_at: null,
      sent_at: null,
      revoked: false,
      code: res.code,
    };
    const before = docs.get(doc.id);
    const next = before ? mergeDoc(doc, before) : doc;
    docs.set(doc.id, next);
    docList.remember(next);
    if (res.code) codes.set(res.id, res.code);
    docList.markLoaded();
    lastIssued = { id: res.id, state: null };
    render();
    announce.textContent = `${kindWith(kind, 'emitid')}; a assinatura digital está sendo feita.`;
    const first = kindButtons.get(kind);
    if (first) first.focus();
    // The full summary (council, server time); a push may already have arrived.
    api.get(`/api/documents/${seg(res.id)}`).then((d) => upsert(d)).catch(() => {});
  }

  // --------------------------------------------------------------- live ---

  const handle = joinWithStatus(`user:${me.id}`, {
    root,
    status: live,
    liveText: 'Atualizado ao vivo.',
    errorText: 'Sem atualização ao vivo: a lista é consultada a cada 2 segundos enquanto houver documentos assinando.',
    events: {
      'document.updated': (payload) => upsert(payload && payload.document, { fromPush: true }),
    },
    // Pushes sent before this (re)join are not replayed.
    onJoin: () => docList.reload(),
  });
  ctx.onCleanup(() => handle.leave());

  let polling = false;
  async function poll() {
    if (polling || !docList.loaded || !ctx.isCurrent()) return;
    const pending = [...docs.values()].filter((d) => d.status === 'pending'
      && (!handle.joined || String(d.professional_user_id) !== String(me.id)));
    if (!pending.length) return;
    polling = true;
    try {
      await Promise.all(pending.map((d) => api.get(`/api/documents/${seg(d.id)}`)
        .then((fresh) => upsert(fresh, { fromPush: true }))
        .catch(() => {})));
    } finally {
      polling = false;
    }
  }
  const poller = setInterval(poll, POLL_MS);
  ctx.onCleanup(() => clearInterval(poller));
  ctx.onCleanup(() => closeEditor());

  docList.reload();
  return root;
}
