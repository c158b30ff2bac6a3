// @ts-check
// Pieces shared by the staff agenda's dialogs (views/agenda.js) and the clinic's waitlist
// drawer (views/waitlist.js): a modal dialog, an inline error box, a labelled control and
// the patient search of the booking dialog.

import { api, qs, seg } from '../api.js';
import { h, clear, displayName, errorMessage, plural, uid } from '../ui.js';

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
