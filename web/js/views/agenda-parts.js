// @ts-check
// Pieces shared by the staff agenda (views/agenda*.js, views/my-agenda.js) and the clinic's
// waitlist drawer (views/waitlist.js): a modal dialog, an inline error box, a labelled
// control, the patient search of the booking dialog, the free-slot chips and the
// "Teleconsulta" badge.

import { api, qs, seg } from '../api.js';
import { KIND_LABELS, timeIn } from '../agenda-util.js';
import { h, alertNode, clear, displayName, errorMessage, loadingNode, plural, uid } from '../ui.js';

/** @typedef {import('../types.js').Service} Service */
/** @typedef {import('../types.js').Slot} Slot */

/**
 * A professional as the clinic's booking page lists them (`GET /api/public/clinics/{id}/booking`).
 * @typedef {object} BookingProfessional
 * @property {string} user_id
 * @property {string} name
 * @property {string} profession
 * @property {string|null} specialty
 */

/**
 * A clinic's agenda set-up (views/agenda.js, loadSetup): what its dialogs and grid need.
 * @typedef {object} AgendaSetup
 * @property {string} clinicId
 * @property {string} clinicName
 * @property {string} tz the clinic's time zone
 * @property {BookingProfessional[]} pros by name
 * @property {Service[]} services
 * @property {Map<string, any>} schedules professional → schedule (`hours`, `rules`), null when unreadable
 */

/** Replace the URL's hash without a new history entry (and without re-rendering). @param {string} hash */
export function replaceHash(hash) {
  history.replaceState(null, '', hash);
}

/** "Teleconsulta" badge of a video appointment. */
export function teleBadge() {
  return h('span', { class: 'badge ag-tele-badge', text: KIND_LABELS.teleconsultation });
}

/**
 * Free slots as a radio group of chips.
 * Returns {node, set(slots, selectedIso), loading(), error(message), value(), focus()}.
 * @param {{name: string, legend: string, timeZone: string, empty?: string}} opts
 */
export function slotPicker({ name, legend, timeZone, empty = 'Nenhum horário livre nesta data.' }) {
  const list = h('div', { class: 'ag-slot-chips' });
  const node = h('fieldset', { class: 'ag-slot-picker' },
    h('legend', { text: legend }),
    list);
  let current = [];
  return {
    node,
    /**
     * Show `slots`, `selectedIso` checked; returns whether it was among them.
     * @param {Slot[]} slots
     * @param {string|null} [selectedIso]
     */
    set(slots, selectedIso) {
      current = slots || [];
      clear(list);
      if (!current.length) {
        list.append(h('p', { class: 'empty', text: empty }));
        return false;
      }
      let found = false;
      for (const s of current) {
        const id = uid(`${name}-slot`);
        const checked = Boolean(selectedIso) && Date.parse(s.starts_at) === Date.parse(selectedIso);
        if (checked) found = true;
        list.append(h('span', { class: 'ag-chip' },
          h('input', { type: 'radio', id, name, value: s.starts_at, checked }),
          h('label', { for: id, text: timeIn(s.starts_at, timeZone) })));
      }
      return found;
    },
    loading() {
      clear(list).append(loadingNode('Buscando horários livres…'));
    },
    /** @param {string} message */
    error(message) {
      clear(list).append(alertNode(message));
    },
    value() {
      const checked = /** @type {HTMLInputElement|null} */ (list.querySelector('input[type="radio"]:checked'));
      return checked ? checked.value : null;
    },
    focus() {
      const first = /** @type {HTMLElement|null} */ (list.querySelector('input[type="radio"]:checked') || list.querySelector('input[type="radio"]'));
      if (first) first.focus();
    },
  };
}

/** A modal <dialog> with a title and a close button; focus returns to the opener. */
export function modal(title, className = '') {
  const titleId = uid('dlg-title');
  const heading = h('h2', { id: titleId, text: title });
  const body = h('div', { class: 'ag-dialog-body' });
  const closeButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small ag-dialog-close', text: 'Fechar' });
  const element = h('dialog', { class: `dialog ag-dialog ${className}`.trim(), 'aria-labelledby': titleId },
    h('div', { class: 'ag-dialog-head' }, heading, closeButton),
    body);
  let opener = null;
  const closeHandlers = [];
  closeButton.addEventListener('click', () => element.close());
  element.addEventListener('close', () => {
    for (const fn of closeHandlers) fn();
    if (opener && opener.isConnected) opener.focus();
    element.remove();
  });
  return {
    element,
    body,
    setTitle(text) {
      heading.textContent = text;
    },
    onClose(fn) {
      closeHandlers.push(fn);
    },
    open(host, from) {
      opener = from || document.activeElement;
      host.append(element);
      element.showModal();
    },
    close() {
      if (element.open) element.close();
    },
  };
}

/** An inline error box (role=alert) that can be shown and cleared. */
export function errorBox() {
  const node = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  return {
    node,
    show(message) {
      node.textContent = message;
      node.hidden = false;
    },
    clear() {
      node.textContent = '';
      node.hidden = true;
    },
  };
}

export function labeled(labelText, control, { optional = false, hint = null, wide = false } = {}) {
  const hintId = hint ? uid('hint') : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: `field${wide ? ' field-wide' : ''}` },
    h('label', { for: control.id }, labelText, optional ? h('span', { class: 'optional', text: ' (opcional)' }) : null),
    hint ? h('p', { class: 'field-hint', id: hintId, text: hint }) : null,
    control);
}

/**
 * Search the clinic's patients by name, social name or CPF and pick one. `id`: the input's
 * id. `onChosen(patient)` after a pick. Returns {searchWrap, chosenBox, value, focus()}:
 * the search field and the chosen patient's box (one of them is shown), the chosen patient.
 */
export function patientSearch(clinicId, id, { onChosen = null, label = 'Paciente' } = {}) {
  const search = h('input', {
    id, type: 'search', name: 'patient', autocomplete: 'off', spellcheck: 'false',
  });
  const suggestions = h('ul', { class: 'ag-suggestions', 'aria-label': 'Pacientes encontrados' });
  const searchStatus = h('p', { class: 'muted small', role: 'status' });
  const chosenBox = h('div', { class: 'ag-chosen', hidden: true });
  const searchWrap = h('div', { class: 'field' },
    h('label', { for: search.id, text: label }),
    h('p', { class: 'field-hint', id: `${id}-hint`, text: 'Nome, nome social ou CPF' }),
    search, searchStatus, suggestions);
  search.setAttribute('aria-describedby', `${id}-hint`);
  let patient = null;
  let searchSeq = 0;
  let debounce = 0;

  function choose(p) {
    patient = p;
    clear(suggestions);
    searchStatus.textContent = '';
    if (!p) {
      chosenBox.hidden = true;
      searchWrap.hidden = false;
      return;
    }
    clear(chosenBox).append(
      h('span', null, `${label}: `, h('strong', { class: 'ag-chosen-name', text: displayName(p) }),
        p.cpf ? h('span', { class: 'muted', text: ` · CPF ${p.cpf}` }) : null),
      h('button', {
        type: 'button', class: 'btn btn-link', text: 'Trocar paciente',
        onclick: () => {
          choose(null);
          search.focus();
        },
      }));
    chosenBox.hidden = false;
    searchWrap.hidden = true;
  }

  async function runSearch() {
    searchSeq += 1;
    const mine = searchSeq;
    const q = search.value.trim();
    if (q.length < 2) {
      clear(suggestions);
      searchStatus.textContent = q ? 'Digite pelo menos 2 letras.' : '';
      return;
    }
    try {
      const list = await api.get(`/api/clinics/${seg(clinicId)}/patients${qs({ q })}`);
      if (mine !== searchSeq) return;
      const found = (Array.isArray(list) ? list : []).slice(0, 6);
      clear(suggestions).append(...found.map((p) => h('li', null, h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small ag-suggestion',
        onclick: () => {
          choose(p);
          if (onChosen) onChosen(p);
        },
      }, displayName(p), p.cpf ? h('span', { class: 'muted small', text: ` · CPF ${p.cpf}` }) : null))));
      searchStatus.textContent = found.length
        ? `${plural(found.length, 'paciente encontrado', 'pacientes encontrados')}. Escolha um.`
        : 'Nenhum paciente encontrado. Cadastre o paciente na página da clínica.';
    } catch (err) {
      if (mine !== searchSeq) return;
      clear(suggestions);
      searchStatus.textContent = errorMessage(err);
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(runSearch, 300);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      clearTimeout(debounce);
      runSearch();
    }
  });

  return {
    searchWrap,
    chosenBox,
    get value() {
      return patient;
    },
    focus() {
      if (!searchWrap.hidden) search.focus();
      else {
        const change = chosenBox.querySelector('button');
        if (change) change.focus();
      }
    },
    reset() {
      search.value = '';
      choose(null);
    },
  };
}
