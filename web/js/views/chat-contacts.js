// @ts-check
// Chat: "Nova conversa" for a patient — the professionals who have already seen them, per
// clinic (`GET /api/me/chat/contacts`); choosing one opens (or reopens) their conversation
// (`POST /api/me/chat/rooms`). Staff open conversations for any pair in chat-new.js.

import { api } from '../api.js';
import { clinicName, professionalLine } from '../messages.js';
import { h, clear, alertNode, errorMessage, loadingNode } from '../ui.js';
import { chatHref } from './chat-rooms.js';

/**
 * @typedef {object} ChatContact
 * @property {string} clinic_id
 * @property {string} clinic_name
 * @property {string} patient_id
 * @property {string} professional_user_id
 * @property {string} professional_name
 * @property {string|null} [profession]
 * @property {string|null} [gender]
 * @property {string|null} [room_id]
 */

/**
 * Whether `me` is a patient (their own profile, or a clinic record linked to the account).
 * The contacts come from the server: a record linked since the page loaded (by booking at
 * a new clinic) counts at once.
 * @param {import('../types.js').Me} me
 */
export function canStartAsPatient(me) {
  return Boolean(me.patient || (me.linked_records && me.linked_records.length));
}

/**
 * The patient's "Nova conversa" panel.
 * @param {import('../types.js').ViewContext} ctx
 */
export function patientContactsPanel(ctx) {
  const headingId = 'contacts-heading';
  const body = h('div', { class: 'chat-contacts', 'aria-live': 'polite' }, loadingNode());
  const section = h('section', { class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: 'Nova conversa' }),
    h('p', { class: 'muted', text: 'Escreva para um profissional que já atendeu você. A resposta chega aqui e pelo aviso do atende.' }),
    body);

  /** @param {ChatContact} c @param {HTMLButtonElement} button */
  async function open(c, button) {
    button.disabled = true;
    button.textContent = 'Abrindo…';
    try {
      const room = await api.post('/api/me/chat/rooms', {
        clinic_id: c.clinic_id,
        professional_user_id: c.professional_user_id,
      });
      if (!ctx.isCurrent()) return;
      location.hash = chatHref(room.id);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      button.disabled = false;
      button.textContent = c.room_id ? 'Abrir conversa' : 'Conversar';
      const alert = alertNode(errorMessage(err));
      body.prepend(alert);
    }
  }

  /** @param {ChatContact[]} list */
  function render(list) {
    clear(body);
    if (!list.length) {
      body.append(h('p', {
        class: 'empty',
        text: 'Depois da sua primeira consulta, você poderá escrever para o profissional que atendeu você.',
      }));
      return;
    }
    const ul = h('ul', { class: 'chat-contact-list' });
    for (const c of list) {
      const who = professionalLine({ name: c.professional_name, profession: c.profession, gender: c.gender });
      const label = c.room_id ? 'Abrir conversa' : 'Conversar';
      const button = /** @type {HTMLButtonElement} */ (h('button', {
        type: 'button',
        class: 'btn btn-secondary',
        text: label,
        'aria-label': `${label} com ${who}`,
      }));
      button.addEventListener('click', () => open(c, button));
      ul.append(h('li', { class: 'chat-contact' },
        h('div', {},
          h('strong', { text: who }),
          h('span', { class: 'muted small', text: ` · ${clinicName(c.clinic_name)}` })),
        button));
    }
    body.append(ul);
  }

  api.get('/api/me/chat/contacts').then((list) => {
    if (!ctx.isCurrent()) return;
    render(Array.isArray(list) ? list : []);
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    clear(body).append(alertNode(errorMessage(err)));
  });
  return section;
}
