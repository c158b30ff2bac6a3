// @ts-check
// Teleconsultation, the professional's side: "Convidar participante" (views/teleconsult.js's
// side column) — an interpreter or a family member gets a link of their own (the call then
// goes through the relay); the invitations are listed with their links to copy again, and
// "Remover" takes one back (the guest leaves the call, the link stops working).

import { api, seg } from '../api.js';
import { h, copyField, uid } from '../ui.js';
import { timeIn } from '../agenda-util.js';
import { consultError } from './call-parts.js';

/**
 * An invitation (`GET /api/consults/{id}/guests`, the answer of `POST …/guests`).
 * @typedef {object} GuestInvitation
 * @property {string} guest_id
 * @property {string} name
 * @property {string} relation `interpreter` or `family`
 * @property {string} invited_at
 * @property {string|null} revoked_at taken back: the link no longer works
 * @property {string} [link] the guest's page (`#/consulta/{token}`), while it holds
 */

/** pt-BR names of a guest's relation to the patient. */
export const GUEST_RELATIONS = {
  interpreter: 'Intérprete',
  family: 'Familiar',
};

/**
 * "Convidar participante": name + relation → a link to copy. The invitations are
 * listed from `GET …/guests` (a reload keeps them, with their links to copy again);
 * "Remover" takes one back (`DELETE …/guests/{guest_id}`). Returns {node, render(state)}:
 * `render` follows the session (hidden without the relay or once ended; who is in).
 * @param {object} o
 * @param {import('../types.js').ViewContext} o.ctx
 * @param {string} o.appointmentId
 * @param {{relay_mode: string, status: string}} o.consult the session when the page opened
 * @param {string} o.tz the clinic's time zone
 * @param {() => boolean} o.isEnded the consultation ended (no more invitations)
 */
export function invitePanel({ ctx, appointmentId, consult, tz, isEnded }) {
  const nameId = uid('tc-guest-name');
  const relationId = uid('tc-guest-relation');
  const nameInput = h('input', { id: nameId, name: 'guest-name', type: 'text', maxlength: '100', autocomplete: 'off', required: true });
  const relation = h('select', { id: relationId, name: 'guest-relation' },
    Object.entries(GUEST_RELATIONS).map(([value, text]) => h('option', { value, text })));
  const submit = h('button', { type: 'submit', class: 'btn btn-secondary', text: 'Convidar' });
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const invited = h('ul', { class: 'tc-invited', 'aria-label': 'Participantes convidados' });
  const listError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const present = h('p', { class: 'small tc-guests-present', hidden: true });
  /** guest_id → its list item */
  const items = new Map();
  const form = h('form', { class: 'tc-invite-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: nameId, text: 'Nome do participante' }), nameInput),
    h('div', { class: 'field' }, h('label', { for: relationId, text: 'Participação' }), relation),
    error,
    h('div', { class: 'form-actions' }, submit));
  const node = h('section', { class: 'panel tc-invite', 'aria-labelledby': 'tc-invite-title' },
    h('h2', { id: 'tc-invite-title', class: 'h3', text: 'Convidar participante' }),
    h('p', { class: 'muted small', text: 'Um intérprete ou um familiar entra na chamada por um link próprio, sem senha. Com três pessoas, a chamada passa pelo servidor do atende.' }),
    present, form, listError, invited);

  /**
   * One invitation (newest on top; `last`: below the others); `link` while it holds.
   * @param {GuestInvitation} g
   * @param {string|null} link
   * @param {{last?: boolean}} [opts]
   */
  function addItem(g, link, { last = false } = {}) {
    const who = g.name || 'Participante';
    const li = h('li', { class: 'tc-invited-item', dataset: { guestId: g.guest_id || '', revoked: 'false' } },
      h('p', { class: 'tc-invited-name' },
        h('strong', { text: who }), GUEST_RELATIONS[g.relation] ? ` — ${GUEST_RELATIONS[g.relation]}` : ''));
    const meta = h('p', { class: 'muted small tc-invited-meta', tabindex: '-1', text: g.invited_at ? `Convidado(a) às ${timeIn(g.invited_at, tz)}.` : '' });
    meta.hidden = !meta.textContent;
    li.append(meta);
    const field = link
      ? copyField({ label: `Link de ${who}`, value: new URL(link, location.origin).href, name: 'guest-link', buttonLabel: 'Copiar link' })
      : null;
    if (field) li.append(field.node);
    const removeButton = h('button', {
      type: 'button', class: 'btn btn-secondary btn-small ag-action-danger tc-invited-remove', text: 'Remover',
      'aria-label': `Remover ${who}`, dataset: { action: 'remove-guest' },
    });
    const removeError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, remover', dataset: { action: 'remove-guest-yes' } });
    const no = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Manter convite' });
    const confirm = h('div', { class: 'confirm-step tc-invited-confirm', role: 'group', 'aria-label': `Remover ${who}?`, hidden: true },
      h('p', { class: 'confirm-question', text: `Remover ${who}? O link deixa de funcionar e, se estiver na chamada, sai dela na hora.` }),
      removeError,
      h('div', { class: 'form-actions' }, yes, no));
    const actions = h('div', { class: 'form-actions tc-invited-actions' }, removeButton);
    li.append(actions, confirm);
    removeButton.addEventListener('click', () => {
      confirm.hidden = false;
      removeButton.disabled = true;
      no.focus();
    });
    no.addEventListener('click', () => {
      confirm.hidden = true;
      removeError.hidden = true;
      removeButton.disabled = false;
      removeButton.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      removeError.hidden = true;
      try {
        await api.del(`/api/consults/${seg(appointmentId)}/guests/${seg(g.guest_id)}`);
        if (!ctx.isCurrent()) return;
        const hadFocus = li.contains(document.activeElement);
        markRevoked();
        if (hadFocus) meta.focus();
      } catch (err) {
        if (!ctx.isCurrent()) return;
        removeError.textContent = consultError(err);
        removeError.hidden = false;
        yes.disabled = false;
      }
    });
    function markRevoked() {
      li.dataset.revoked = 'true';
      meta.textContent = 'Convite cancelado: o link não funciona mais.';
      meta.hidden = false;
      if (field) field.node.remove();
      actions.remove();
      confirm.remove();
    }
    if (g.revoked_at) markRevoked();
    items.set(g.guest_id, li);
    if (last) invited.append(li);
    else invited.prepend(li);
    return { li, field };
  }

  /** The invitations made so far (also those from before a reload). */
  async function loadGuests() {
    try {
      const list = await api.get(`/api/consults/${seg(appointmentId)}/guests`);
      if (!ctx.isCurrent()) return;
      listError.hidden = true;
      // Oldest first: newest on top, below any invited here meanwhile (already listed,
      // with its link).
      for (const g of (Array.isArray(list) ? list : []).reverse()) {
        if (g && g.guest_id && !items.has(g.guest_id)) addItem(g, g.revoked_at ? null : g.link, { last: true });
      }
    } catch (err) {
      if (!ctx.isCurrent()) return;
      listError.textContent = consultError(err);
      listError.hidden = false;
    }
  }
  if (consult.relay_mode !== 'never' && consult.status !== 'ended') loadGuests();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const name = nameInput.value.trim();
    if (!name) {
      error.textContent = 'Informe o nome do participante.';
      error.hidden = false;
      nameInput.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await api.post(`/api/consults/${seg(appointmentId)}/guests`, { name, relation: relation.value });
      if (!ctx.isCurrent()) return;
      const { field } = addItem({
        guest_id: res.guest_id || '',
        name: res.name || name,
        relation: res.relation || relation.value,
        invited_at: res.invited_at || new Date().toISOString(),
        revoked_at: null,
      }, res.link || '/');
      nameInput.value = '';
      field.input.focus();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      error.textContent = consultError(err);
      error.hidden = false;
    } finally {
      submit.disabled = isEnded();
    }
  });
  return {
    node,
    render(s) {
      node.hidden = s.relay_mode === 'never' || s.status === 'ended';
      submit.disabled = s.status === 'ended';
      const guests = (s.participants || []).filter((x) => x.role === 'guest');
      present.hidden = !guests.length;
      present.textContent = guests.length
        ? `Participantes convidados que já entraram: ${guests.map((x) => x.name).join(', ')}.`
        : '';
    },
  };
}
