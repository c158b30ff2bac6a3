// @ts-check
// "Meus documentos" (#/meus-documentos): a patient's signed prescriptions, certificates and
// exam requests, from every clinic, with the verification code and the PDF.
//
//   GET /api/me/documents            {documents: [summary + code]} (signed only)
//   GET /api/documents/{id}/pdf       the signed PDF (with the login's token)
//
// Live on the patient's `user:<id>` topic: `document.received {document}` when a
// professional sends one, `document.updated {document}` when one is revoked.

import { capitalize, documentWord } from '../messages.js';
import { api, seg } from '../api.js';
import { joinWithStatus, liveList } from '../live-list.js';
import { h, clear, errorMessage, loadingNode } from '../ui.js';
import {
  docState, docWhen, downloadDocument, keepFocus, kindLabel, kindWith, mergeDoc, stateBadge,
} from './documents.js';

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 */
export function renderMyDocuments(ctx, me) {
  document.title = 'Meus documentos — atende';
  const live = h('p', { class: 'muted small doc-live', role: 'status', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const notice = h('div', { class: 'doc-notice' });
  const listBox = h('div', { class: 'doc-list' }, loadingNode());
  const root = h('div', { class: 'view view-medium doc-view', dataset: { view: 'my-documents', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Meus documentos' }), live),
    h('p', { class: 'lead', text: 'Receitas, atestados e pedidos de exames assinados digitalmente pelos profissionais que atendem você.' }),
    announce, notice,
    h('section', { class: 'panel', 'aria-labelledby': 'md-list' },
      h('h2', { id: 'md-list', class: 'visually-hidden', text: 'Documentos' }),
      listBox),
    h('section', { class: 'panel', 'aria-labelledby': 'md-help' },
      h('h2', { id: 'md-help', text: 'Na farmácia ou no trabalho' }),
      h('p', null, 'Cada documento traz um QR code e um código de verificação. Quem recebe o documento confere a autenticidade em ',
        h('a', { href: '#/verificar', text: 'Verificar documento' }),
        ' — ou no validador do ITI, ',
        h('a', { href: 'https://validar.iti.gov.br', target: '_blank', rel: 'noopener', text: 'validar.iti.gov.br' }), '.')));

  /** Ids that arrived live on this page (marked "Novo"). */
  const fresh = new Set();
  const docList = liveList(ctx, {
    box: listBox,
    load: () => api.get('/api/me/documents'),
    itemsOf: (res) => res && res.documents,
    merge: mergeDoc,
    render,
  });
  const docs = docList.items;

  function upsert(doc, { received = false } = {}) {
    if (!doc || !doc.id) return;
    // Only signed documents are the patient's to see.
    if (doc.status !== 'signed') return;
    docList.remember(doc);
    if (!docList.loaded) return;
    const before = docs.get(doc.id);
    const next = mergeDoc(before, doc);
    docs.set(doc.id, next);
    if (received) {
      fresh.add(doc.id);
      const who = doc.professional_name ? ` de ${doc.professional_name}` : '';
      announce.textContent = `Novo documento: ${kindLabel(doc.kind)}${who}.`;
      clear(notice).append(h('p', { class: 'alert alert-info doc-received', role: 'status' },
        h('strong', { text: 'Você recebeu um documento: ' }),
        `${kindLabel(doc.kind)}${who}${doc.clinic_name ? ` (${doc.clinic_name})` : ''}.`));
    } else if (before && docState(before) !== docState(next) && docState(next) === 'revoked') {
      announce.textContent = `${kindWith(doc.kind, 'revogad')} pelo profissional: ${docWhen(doc.created_at)}.`;
    }
    if (ctx.isCurrent()) render();
  }

  function render() {
    const list = [...docs.values()].sort((a, b) =>
      String(b.signed_at || b.created_at).localeCompare(String(a.signed_at || a.created_at)));
    keepFocus(listBox, () => {
      clear(listBox);
      if (!list.length) {
        listBox.append(h('p', { class: 'empty', text: 'Você ainda não tem documentos assinados.' }));
        return;
      }
      listBox.append(h('ul', { class: 'card-list doc-items', 'aria-label': 'Meus documentos' }, list.map(item)));
    });
  }

  function item(doc) {
    const state = docState(doc);
    const errors = h('p', { class: 'alert alert-error doc-error', role: 'alert', hidden: true });
    const download = h('button', {
      type: 'button',
      class: 'btn btn-primary btn-small',
      text: 'Baixar PDF',
      dataset: { action: 'download' },
      'aria-label': `Baixar PDF: ${kindLabel(doc.kind)} de ${docWhen(doc.signed_at || doc.created_at)}`,
    });
    download.addEventListener('click', async () => {
      download.disabled = true;
      errors.hidden = true;
      try {
        await downloadDocument(doc);
      } catch (err) {
        errors.textContent = errorMessage(err);
        errors.hidden = false;
      } finally {
        download.disabled = false;
      }
    });
    return h('li', { class: `card doc-item doc-item-${state}`, dataset: { id: doc.id, status: state } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title' }, kindLabel(doc.kind),
          fresh.has(doc.id) ? h('span', { class: 'badge doc-new-badge', text: 'Novo' }) : null),
        stateBadge(doc)),
      h('span', { class: 'card-meta' },
        h('span', { text: [doc.professional_name, doc.council].filter(Boolean).join(' · ') }),
        doc.clinic_name ? h('span', { text: doc.clinic_name }) : null,
        h('span', { text: `${capitalize(documentWord(doc.kind, 'assinad'))} em ${docWhen(doc.signed_at || doc.created_at)}` })),
      doc.code ? h('p', { class: 'small doc-info' }, 'Código de verificação: ', h('span', { class: 'doc-code', text: doc.code })) : null,
      state === 'revoked'
        ? h('p', {
          class: 'small doc-info doc-revoked',
          text: `Revogado pelo profissional em ${docWhen(doc.revoked_at)}${doc.revoked_reason ? ` — motivo: ${doc.revoked_reason}` : ''}. Este documento não vale mais.`,
        })
        : null,
      errors,
      h('div', { class: 'queue-actions doc-actions' }, download));
  }

  const handle = joinWithStatus(`user:${me.id}`, {
    root,
    status: live,
    liveText: 'Atualizado ao vivo.',
    errorText: 'Sem atualização ao vivo.',
    events: {
      'document.received': (payload) => {
        const doc = payload && payload.document;
        upsert(doc, { received: true });
        // The push carries the summary only: the verification code comes with the document.
        if (doc && doc.id && !doc.code) {
          api.get(`/api/documents/${seg(doc.id)}`).then((full) => {
            if (full && full.code && ctx.isCurrent()) upsert({ ...doc, ...full, content: undefined });
          }).catch(() => {});
        }
      },
      'document.updated': (payload) => upsert(payload && payload.document),
    },
    // Pushes sent before this (re)join are not replayed.
    onJoin: () => docList.reload(),
  });
  ctx.onCleanup(() => handle.leave());
  docList.reload();

  return root;
}

/** A small panel for the patient home with a link to "Meus documentos". */
export function myDocumentsLink() {
  return h('section', { class: 'panel', 'aria-labelledby': 'md-link-heading' },
    h('h2', { id: 'md-link-heading', text: 'Meus documentos' }),
    h('p', { class: 'muted', text: 'Receitas, atestados e pedidos de exames assinados digitalmente.' }),
    h('p', null, h('a', { class: 'btn btn-secondary', href: '#/meus-documentos', text: 'Ver meus documentos' })));
}
