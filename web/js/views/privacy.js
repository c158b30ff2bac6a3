// @ts-check
// What the patient portal and the public booking page show about privacy: the data
// protection officer's contact (from GET /api/terms, `[lgpd] dpo_*`), and the patient's
// own export ("Baixar meus dados": GET /api/me/export, JSON or a PDF summary).

import { api } from '../api.js';
import { dpoContact } from '../messages.js';
import { h, errorMessage } from '../ui.js';
import { saveBlob } from './documents.js';

/**
 * A paragraph that fills itself with the officer's contact, and stays hidden when none is
 * configured (or the terms cannot be read).
 * @param {string} [className]
 */
export function dpoNode(className = 'muted small') {
  const node = h('p', { class: `${className} dpo-contact`, hidden: true });
  api.get('/api/terms').then((terms) => {
    const line = dpoContact(terms && terms.dpo);
    node.textContent = line;
    node.hidden = !line;
  }).catch(() => {
    node.hidden = true;
  });
  return node;
}

/** The footer of the public booking page: who answers for the clinic's personal data. */
export function privacyFooter() {
  return h('footer', { class: 'bk-footer' }, dpoNode());
}

/**
 * "Baixar meus dados": the patient's whole export, as JSON or as a PDF summary.
 */
export function exportPanel() {
  const status = h('p', { class: 'form-status', role: 'status' });
  /** @param {'json'|'pdf'} format @param {string} label */
  function button(format, label) {
    const b = h('button', { type: 'button', class: 'btn btn-secondary', text: label, dataset: { action: `export-${format}` } });
    b.addEventListener('click', async () => {
      b.disabled = true;
      status.textContent = 'Preparando seus dados…';
      try {
        const blob = await api.download(`/api/me/export${format === 'pdf' ? '?format=pdf' : ''}`);
        const day = new Date().toISOString().slice(0, 10);
        saveBlob(blob, `meus-dados-${day}.${format}`);
        status.textContent = 'Download iniciado.';
      } catch (err) {
        status.textContent = errorMessage(err);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }
  return h('div', { class: 'privacy-export' },
    h('h3', { text: 'Seus dados' }),
    h('p', null,
      'Você pode baixar tudo o que o atende guarda sobre você: cadastro, consultas, prontuário, documentos, mensagens e pagamentos (LGPD, art. 18, II).'),
    h('div', { class: 'form-actions' },
      button('json', 'Baixar meus dados'),
      button('pdf', 'Baixar resumo em PDF')),
    status);
}
