// @ts-check
// A patient's page, for the clinic's admins: "Direitos do titular (LGPD)" — export everything
// the clinic holds about the record (JSON for portability, or a readable PDF summary), and
// anonymise it on the data subject's request, typing the patient's full name to confirm.
// The API (`GET …/export`, `POST …/anonymise`) audits both with the legal basis given here;
// what the law keeps (the clinical record for 20 years, payments, the audit log) stays and
// the report says until when.

import { api, qs, seg } from '../api.js';
import { h, errorMessage, uid } from '../ui.js';
import { saveBlob } from './documents.js';

/** Legal bases offered for an export; the admin may also type another. */
const EXPORT_BASES = [
  'LGPD art. 18, II: pedido de acesso do titular à clínica',
  'LGPD art. 18, V: portabilidade dos dados a outro fornecedor, a pedido do titular',
];

const ANONYMISE_BASIS = 'LGPD art. 18, IV e VI: pedido do titular de anonimização e eliminação';

/** Portuguese names of what an anonymisation erased and what the law keeps. */
const WHAT = {
  identity: 'Dados de identificação',
  account_links: 'Vínculos com contas de paciente',
  sessions: 'Sessões abertas',
  chat_attachments: 'Anexos de conversas',
  message_recipients: 'Destinatários de mensagens',
  future_appointments: 'Consultas futuras (canceladas)',
  waitlist: 'Lista de espera',
  message_consents: 'Consentimentos de mensagens',
  live_events: 'Eventos ao vivo',
  clinical_record: 'Prontuário',
  documents: 'Documentos assinados',
  chat_messages: 'Mensagens de conversas',
  payments: 'Pagamentos',
  appointments: 'Consultas',
  audit_log: 'Registro de auditoria',
};

/**
 * Whether `me` is an admin of the clinic (the only role these requests belong to).
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 */
export function isClinicAdmin(me, clinicId) {
  return (me.memberships || []).some((m) => String(m.clinic_id) === String(clinicId) && m.role === 'clinic_admin');
}

/**
 * The panel.
 * @param {{clinicId: string, patient: {id: string, full_name: string}, onAnonymised: () => void}} opts
 */
export function lgpdPanel({ clinicId, patient, onAnonymised }) {
  const base = `/api/clinics/${seg(clinicId)}/patients/${seg(patient.id)}`;
  const headingId = uid('lgpd-heading');
  const status = h('p', { class: 'form-status', role: 'status' });
  const error = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });

  // ---- export ----
  const basisId = uid('lgpd-basis');
  const basis = /** @type {HTMLSelectElement} */ (h('select', { id: basisId, name: 'legal_basis' },
    EXPORT_BASES.map((b) => h('option', { value: b, text: b }))));
  /** @param {'json'|'pdf'} format */
  const exportButton = (format) => {
    const label = format === 'pdf' ? 'Baixar resumo (PDF)' : 'Baixar dados (JSON)';
    const b = /** @type {HTMLButtonElement} */ (h('button', {
      type: 'button', class: 'btn btn-secondary', text: label, dataset: { action: `lgpd-export-${format}` },
    }));
    b.addEventListener('click', async () => {
      error.hidden = true;
      b.disabled = true;
      status.textContent = 'Preparando o arquivo…';
      try {
        const blob = await api.download(`${base}/export${qs({ format, legal_basis: basis.value })}`);
        saveBlob(blob, `dados-paciente-${new Date().toISOString().slice(0, 10)}.${format}`);
        status.textContent = 'Arquivo gerado. A exportação ficou registrada na auditoria com o motivo escolhido.';
      } catch (err) {
        status.textContent = '';
        error.textContent = errorMessage(err);
        error.hidden = false;
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };

  // ---- anonymise ----
  const confirmId = uid('lgpd-confirm');
  const confirm = /** @type {HTMLInputElement} */ (h('input', {
    id: confirmId, name: 'confirmation', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': `${confirmId}-hint`,
  }));
  const anonReasonId = uid('lgpd-anon-basis');
  const anonReason = /** @type {HTMLInputElement} */ (h('input', {
    id: anonReasonId, name: 'legal_basis', value: ANONYMISE_BASIS, maxlength: 500,
  }));
  const anonButton = /** @type {HTMLButtonElement} */ (h('button', {
    type: 'submit', class: 'btn btn-danger', text: 'Anonimizar paciente',
  }));
  const report = h('div', { class: 'lgpd-report', 'aria-live': 'polite' });
  const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Anonimizar paciente' },
    h('div', { class: 'field' },
      h('label', { for: anonReasonId, text: 'Base legal' }), anonReason),
    h('div', { class: 'field' },
      h('label', { for: confirmId, text: 'Nome completo do paciente' }),
      h('p', { class: 'field-hint', id: `${confirmId}-hint`, text: 'Digite o nome como está no cadastro para confirmar. Não pode ser desfeito.' }),
      confirm),
    h('div', { class: 'form-actions' }, anonButton));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!confirm.value.trim()) {
      error.textContent = 'Digite o nome completo do paciente para confirmar.';
      error.hidden = false;
      confirm.focus();
      return;
    }
    anonButton.disabled = true;
    anonButton.textContent = 'Anonimizando…';
    try {
      const done = await api.post(`${base}/anonymise`, {
        legal_basis: anonReason.value,
        confirmation: confirm.value,
      });
      form.replaceWith(reportNode(done));
      onAnonymised();
    } catch (err) {
      error.textContent = errorMessage(err);
      error.hidden = false;
      anonButton.disabled = false;
      anonButton.textContent = 'Anonimizar paciente';
    }
  });

  return h('section', { class: 'panel lgpd-panel', 'aria-labelledby': headingId, dataset: { panel: 'lgpd' } },
    h('h2', { id: headingId, text: 'Direitos do titular (LGPD)' }),
    error,
    h('h3', { text: 'Exportar dados' }),
    h('p', { class: 'muted', text: 'Tudo o que a clínica guarda sobre este paciente, para entregar a ele ou a quem ele indicar.' }),
    h('div', { class: 'field' }, h('label', { for: basisId, text: 'Motivo da exportação' }), basis),
    h('div', { class: 'form-actions' }, exportButton('json'), exportButton('pdf')),
    status,
    h('h3', { text: 'Anonimizar' }),
    h('p', { class: 'muted', text: 'Apaga os dados que identificam o paciente. O prontuário, os pagamentos e a auditoria ficam guardados pelo prazo que a lei exige, sem o nome.' }),
    form,
    report);
}

/**
 * What the anonymisation did, as the API reported it.
 * @param {{display_name: string, erased: Array<{what: string, count: number}>, retained: Array<{what: string, rows: number, until: string|null, why: string}>}} done
 */
export function reportNode(done) {
  const until = (d) => (d ? `até ${d.split('-').reverse().join('/')}` : 'enquanto a instalação existir');
  return h('div', { class: 'lgpd-done' },
    h('p', { class: 'note', text: `Paciente anonimizado. O cadastro passa a aparecer como “${done.display_name}”.` }),
    h('h4', { text: 'Apagado' }),
    h('ul', {}, done.erased.filter((e) => e.count).map((e) => h('li', { text: `${WHAT[e.what] || e.what}: ${e.count}` }))),
    h('h4', { text: 'Guardado por obrigação legal' }),
    h('ul', {}, done.retained.map((r) => h('li', { text: `${WHAT[r.what] || r.what}: ${r.rows} (${until(r.until)}) — ${r.why}` }))));
}
