// @ts-check
// "Mensagens aos pacientes" (#/clinica/{id}/mensagens-enviadas): the clinic administrator's
// view of the outbox — every message the clinic sent or means to send (reminders, booking
// notices, documents…), newest first, with its channel, state, recipient (mostly hidden),
// patient and appointment, attempts and the provider's last error; filtered by state and
// channel. Without a configured channel, messages stay "Na fila" here. Below the list, how
// the clinic sends them (views/messaging-settings.js) and the words of its e-mails
// (views/message-texts.js).
//
//   GET /api/clinics/{id}/messages?status=&channel=&before=   200 at a time, newest first
//     (administrators); "Carregar mais antigas" asks for the page before the last one shown

import { api, qs, seg } from '../api.js';
import {
  MESSAGE_CHANNELS, MESSAGE_STATES, join, maskedRecipient, messageKind, text,
} from '../messages.js';
import { h, alertNode, errorMessage, formatDateTime, loadInto, plural } from '../ui.js';
import { messageTextsPanel } from './message-texts.js';
import { messagingSettingsPanel } from './messaging-settings.js';

/** Messages in one page of the server's list. */
const PAGE = 200;

/**
 * @typedef {{id: string, channel: string, template: string, status: string, attempts: number,
 *   last_error: string|null, to_address: string|null, created_at: string,
 *   next_attempt_at: string|null, patient_id: string|null, patient_name: string|null,
 *   appointment_id: string|null, appointment_starts_at: string|null}} OutboxMessage
 */

/** States in the order a message lives them. */
const STATE_ORDER = ['queued', 'sending', 'failed', 'sent', 'delivered', 'read', 'dead', 'cancelled'];
const TZ = 'America/Sao_Paulo';
const COLUMNS = ['Criada em', 'Canal', 'Mensagem', 'Estado', 'Destinatário', 'Paciente e consulta', 'Tentativas', 'Último erro'];
const CELL_CLASS = /** @type {Record<number, string>} */ ({ 4: 'ob-to', 7: 'ob-error' });
/** How each state looks: reached the patient, needs a look, or nothing more to do. */
const BADGE = /** @type {Record<string, string>} */ ({
  sent: 'badge-ok', delivered: 'badge-ok', read: 'badge-ok',
  failed: 'badge-warn', dead: 'badge-warn', cancelled: 'badge-muted',
});

/**
 * @param {{select: HTMLSelectElement}} f
 * @param {string} id @param {string} label
 * @param {[string, string][]} options
 */
function filterSelect(f, id, label, options) {
  f.select = /** @type {HTMLSelectElement} */ (h('select', { id, name: id },
    h('option', { value: '', text: 'Todos' }),
    options.map(([value, name]) => h('option', { value, text: name }))));
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), f.select);
}

/**
 * One message as a table row.
 * @param {string} clinicId
 * @param {OutboxMessage} m
 */
function row(clinicId, m) {
  const state = MESSAGE_STATES[/** @type {keyof typeof MESSAGE_STATES} */ (m.status)] || m.status;
  const retry = m.status === 'failed' && m.next_attempt_at
    ? `nova tentativa ${formatDateTime(m.next_attempt_at, TZ)}` : '';
  const patient = m.patient_id
    ? h('a', { href: `#/clinica/${seg(clinicId)}/paciente/${seg(m.patient_id)}`,
      text: text(m.patient_name) || 'Paciente' })
    : h('span', { class: 'muted', text: '—' });
  const about = m.appointment_starts_at ? `Consulta ${formatDateTime(m.appointment_starts_at, TZ)}` : '';
  /** A cell labelled for small screens (the table becomes cards there). */
  const cell = (/** @type {number} */ i, /** @type {any[]} */ ...content) =>
    h('td', { 'data-label': COLUMNS[i], class: CELL_CLASS[i] || null }, h('div', null, ...content));
  return h('tr', { dataset: { message: m.id, status: m.status, channel: m.channel } },
    cell(0, formatDateTime(m.created_at, TZ)),
    cell(1, MESSAGE_CHANNELS[/** @type {keyof typeof MESSAGE_CHANNELS} */ (m.channel)] || m.channel),
    cell(2, messageKind(m.template)),
    cell(3, h('span', { class: `badge ${BADGE[m.status] || ''} ob-state`, text: state }),
      retry ? h('div', { class: 'small muted', text: retry }) : null),
    cell(4, maskedRecipient(m.to_address) || '—'),
    cell(5, patient, about ? h('div', { class: 'small muted', text: about }) : null),
    cell(6, String(m.attempts)),
    cell(7, text(m.last_error) || '—'));
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{membership: import('../types.js').Membership, homeHref: string}} opts
 */
export function renderOutbox(ctx, { membership, homeHref }) {
  const clinicId = membership.clinic_id;
  document.title = `Mensagens aos pacientes — ${membership.clinic_name} — atende`;
  const stateF = /** @type {{select: HTMLSelectElement}} */ ({});
  const channelF = /** @type {{select: HTMLSelectElement}} */ ({});
  const box = h('div', { class: 'ob-list' });
  const form = h('form', { class: 'ob-filters', 'aria-label': 'Filtrar mensagens' },
    filterSelect(stateF, 'ob-status', 'Estado',
      STATE_ORDER.map((s) => /** @type {[string, string]} */ (
        [s, MESSAGE_STATES[/** @type {keyof typeof MESSAGE_STATES} */ (s)]]))),
    filterSelect(channelF, 'ob-channel', 'Canal', Object.entries(MESSAGE_CHANNELS)),
    h('button', { type: 'submit', class: 'btn btn-secondary', text: 'Atualizar' }));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  for (const f of [stateF, channelF]) f.select.addEventListener('change', () => load());

  function load() {
    const filters = { status: stateF.select.value || null, channel: channelF.select.value || null };
    const url = (/** @type {string|null} */ before) =>
      `/api/clinics/${seg(clinicId)}/messages${qs({ ...filters, before })}`;
    return loadInto(box, () => api.get(url(null)),
      (/** @type {OutboxMessage[]} */ first) => {
        if (!ctx.isCurrent()) return [];
        if (!first.length) return [h('p', { class: 'muted ob-empty', text: 'Nenhuma mensagem com estes filtros.' })];
        const filtered = filters.status || filters.channel;
        let shown = 0;
        let last = '';
        const status = h('p', { class: 'muted', role: 'status' });
        const tbody = h('tbody');
        const more = h('button', { type: 'button', class: 'btn btn-secondary ob-more', text: 'Carregar mais antigas' });
        const moreError = h('div');
        const add = (/** @type {OutboxMessage[]} */ page) => {
          tbody.append(...page.map((m) => row(clinicId, m)));
          shown += page.length;
          if (page.length) last = page[page.length - 1].id;
          const complete = page.length < PAGE;
          more.hidden = complete;
          status.textContent = join([plural(shown, 'mensagem', 'mensagens'), filtered ? 'com estes filtros' : '',
            complete ? '' : '(as mais recentes; há mais antigas)'], ' ');
        };
        more.addEventListener('click', async () => {
          more.disabled = true;
          moreError.replaceChildren();
          try {
            const page = /** @type {OutboxMessage[]} */ (await api.get(url(last)));
            if (ctx.isCurrent()) add(page);
          } catch (err) {
            moreError.replaceChildren(alertNode(errorMessage(err)));
          } finally {
            more.disabled = false;
          }
        });
        add(first);
        return [
          status,
          h('div', { class: 'table-wrap' },
            h('table', { class: 'table ob-table' },
              h('caption', { class: 'visually-hidden', text: 'Mensagens aos pacientes, das mais recentes às mais antigas' }),
              h('thead', null, h('tr', null,
                COLUMNS.map((c) => h('th', { scope: 'col', text: c })))),
              tbody)),
          moreError,
          h('div', { class: 'form-actions' }, more),
        ];
      });
  }

  const root = h('div', { class: 'view ob-view', dataset: { view: 'outbox' } },
    h('div', { class: 'view-header' },
      h('h1', { tabindex: '-1', text: 'Mensagens aos pacientes' }),
      h('a', { href: homeHref, text: `Voltar para ${membership.clinic_name}` })),
    h('p', { class: 'lead', text: 'Lembretes, avisos de agendamento e documentos enviados por e-mail, WhatsApp e SMS: o estado de cada um, as tentativas e o motivo de cada falha.' }),
    h('section', { class: 'panel', 'aria-labelledby': 'ob-heading' },
      h('h2', { id: 'ob-heading', class: 'visually-hidden', text: 'Mensagens' }),
      form, box),
    membership.role === 'clinic_admin' ? messagingSettingsPanel(membership.clinic_id) : null,
    membership.role === 'clinic_admin' ? messageTextsPanel(membership.clinic_id) : null);
  load();
  return root;
}
