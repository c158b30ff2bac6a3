// @ts-check
// Waiting room: the reception's forms — check-in (a registered patient found by a search, or
// a walk-in's name; a patient with an appointment today checks in for it) and "Chamar
// próximo" for a chosen professional and room.

import { api, ApiError, qs, seg } from '../api.js';
import { h, clear, displayName, errorMessage, plural, uid } from '../ui.js';
import {
  callNextError, fillProfessionals, PRIORITIES, roomKey, storageGet, storageSet, trackerNodes,
} from './queue-parts.js';

/**
 * An appointment of today, with its time shown in the clinic's zone.
 * @typedef {import('../types.js').Appointment & {time: string}} TodayAppointment
 */

/**
 * Check-in: a registered patient (search) or a walk-in name.
 * @param {string} clinicId
 * @param {(entry: object) => void} onCheckedIn
 * @param {{appointmentsOf?: (patientId: string) => TodayAppointment[],
 *   checkInAppointment?: ((appointment: TodayAppointment) => Promise<unknown>)|null}} [opts]
 */
export function checkInForm(clinicId, onCheckedIn, { appointmentsOf = () => [], checkInAppointment = null } = {}) {
  const id = uid('checkin');
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });
  const nameInput = h('input', {
    id: `${id}-name`, name: 'full_name', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: 200,
    'aria-describedby': `${id}-name-hint ${id}-name-error`,
  });
  const nameError = h('p', { class: 'field-error', id: `${id}-name-error`, hidden: true });
  const suggestions = h('ul', { class: 'queue-suggestions', 'aria-label': 'Pacientes cadastrados' });
  const suggestionsStatus = h('p', { class: 'muted small queue-suggest-status', role: 'status' });
  const chosenBox = h('div', { class: 'queue-chosen', hidden: true });
  const profSelect = h('select', { id: `${id}-prof`, name: 'professional_user_id' },
    h('option', { value: '', text: 'Qualquer profissional' }));
  const prioSelect = h('select', { id: `${id}-prio`, name: 'priority' },
    PRIORITIES.map(([value, label]) => h('option', { value, text: label })));
  // 60+ and 80+ go by age: a walk-in (no record) gives the birth date, which the server checks.
  const birthInput = h('input', {
    id: `${id}-birth`, name: 'birth_date', type: 'date', autocomplete: 'off',
    'aria-describedby': `${id}-birth-hint`,
  });
  const birthWrap = h('div', { class: 'field', hidden: true },
    h('label', { for: birthInput.id, text: 'Data de nascimento' }),
    h('p', { class: 'field-hint', id: `${id}-birth-hint`, text: 'A prioridade 60+ ou 80+ é pela idade.' }),
    birthInput);
  const byAge = () => prioSelect.value === 'elderly' || prioSelect.value === 'elderly_80';
  const showBirth = () => { birthWrap.hidden = !(byAge() && !chosen); };
  prioSelect.addEventListener('change', showBirth);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Registrar chegada' });
  const trackerBox = h('div', { class: 'queue-tracker', hidden: true });

  /** The registered patient chosen, or null for a walk-in. */
  let chosen = null;
  let searchSeq = 0;
  let debounce = 0;

  function choose(patient) {
    chosen = patient;
    showBirth();
    clear(suggestions);
    suggestionsStatus.textContent = '';
    if (!patient) {
      chosenBox.hidden = true;
      nameWrap.hidden = false;
      return;
    }
    clear(chosenBox).append(
      h('span', null, 'Paciente cadastrado: ', h('strong', { text: displayName(patient) }),
        patient.cpf ? h('span', { class: 'muted', text: ` · CPF ${patient.cpf}` }) : null),
      h('button', {
        type: 'button', class: 'btn btn-link', text: 'Trocar paciente',
        onclick: () => {
          choose(null);
          nameInput.focus();
        },
      }));
    // Came for an appointment of today? Then the check-in should carry it (place in line
    // by its time, and the agenda follows).
    for (const appt of checkInAppointment ? appointmentsOf(patient.id) : []) {
      chosenBox.append(h('p', { class: 'queue-chosen-appt' },
        `Tem consulta hoje às ${appt.time}${appt.professional_name ? ` com ${appt.professional_name}` : ''}. `,
        h('button', {
          type: 'button',
          class: 'btn btn-secondary btn-small',
          text: `Check-in da consulta das ${appt.time}`,
          onclick: async (event) => {
            const button = event.currentTarget;
            button.disabled = true;
            const done = await checkInAppointment(appt);
            if (!done) {
              button.disabled = false;
              return;
            }
            form.reset();
            choose(null);
          },
        })));
    }
    chosenBox.hidden = false;
    nameWrap.hidden = true;
  }

  async function search() {
    searchSeq += 1;
    const mine = searchSeq;
    const q = nameInput.value.trim();
    if (q.length < 2) {
      clear(suggestions);
      suggestionsStatus.textContent = '';
      return;
    }
    try {
      const list = await api.get(`/api/clinics/${seg(clinicId)}/patients${qs({ q })}`);
      if (mine !== searchSeq) return;
      const found = (Array.isArray(list) ? list : []).slice(0, 5);
      clear(suggestions).append(...found.map((p) => h('li', null, h('button', {
        type: 'button',
        class: 'btn btn-secondary btn-small queue-suggestion',
        'aria-label': `Usar cadastro de ${displayName(p)}`,
        onclick: () => {
          choose(p);
          prioSelect.focus();
        },
      }, displayName(p), p.cpf ? h('span', { class: 'muted small', text: ` · CPF ${p.cpf}` }) : null))));
      suggestionsStatus.textContent = found.length
        ? `${plural(found.length, 'paciente cadastrado encontrado', 'pacientes cadastrados encontrados')}. Escolha um ou registre pelo nome digitado.`
        : 'Nenhum cadastro encontrado: a chegada será registrada pelo nome digitado.';
    } catch {
      if (mine !== searchSeq) return;
      clear(suggestions);
      suggestionsStatus.textContent = '';
    }
  }

  nameInput.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(search, 300);
  });

  const nameWrap = h('div', { class: 'field field-wide' },
    h('label', { for: nameInput.id, text: 'Paciente' }),
    h('p', { class: 'field-hint', id: `${id}-name-hint`, text: 'Digite o nome: escolha um cadastro da lista ou registre só pelo nome.' }),
    nameInput, nameError, suggestionsStatus, suggestions);

  const form = h('form', { class: 'form queue-checkin', novalidate: true, 'aria-label': 'Registrar chegada' },
    h('h3', { class: 'h3', text: 'Registrar chegada' }),
    errorBox,
    h('div', { class: 'form-fields' },
      nameWrap,
      chosenBox,
      h('div', { class: 'field' },
        h('label', { for: profSelect.id }, 'Profissional', h('span', { class: 'optional', text: ' (opcional)' })),
        profSelect),
      h('div', { class: 'field' }, h('label', { for: prioSelect.id, text: 'Prioridade' }), prioSelect),
      birthWrap),
    h('div', { class: 'form-actions' }, submit),
    statusBox,
    trackerBox);

  /** After a check-in: the patient's phone page, to hand over. */
  function showTracker(entry) {
    if (!entry || !entry.tracker_path) {
      trackerBox.hidden = true;
      clear(trackerBox);
      return;
    }
    clear(trackerBox).append(...trackerNodes(entry));
    trackerBox.hidden = false;
  }

  function fail(message, onName) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    if (onName && !nameWrap.hidden) {
      nameError.textContent = message;
      nameError.hidden = false;
      nameInput.setAttribute('aria-invalid', 'true');
      nameInput.focus();
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    errorBox.hidden = true;
    nameError.hidden = true;
    nameInput.removeAttribute('aria-invalid');
    statusBox.textContent = '';
    showTracker(null);
    const body = { priority: prioSelect.value };
    if (profSelect.value) body.professional_user_id = profSelect.value;
    if (chosen) body.patient_id = chosen.id;
    else {
      const name = nameInput.value.trim();
      if (!name) {
        fail('Informe o nome do paciente.', true);
        return;
      }
      body.full_name = name;
      if (byAge() && birthInput.value) body.birth_date = birthInput.value;
    }
    submit.disabled = true;
    submit.textContent = 'Registrando…';
    try {
      const entry = await api.post(`/api/clinics/${seg(clinicId)}/queue`, body);
      onCheckedIn(entry);
      form.reset();
      choose(null);
      showBirth();
      statusBox.textContent = `Chegada registrada: senha ${entry.ticket} — ${entry.full_name}.`;
      showTracker(entry);
      nameInput.focus();
    } catch (err) {
      fail(errorMessage(err), err instanceof ApiError && err.code === 'invalid_name');
    } finally {
      submit.disabled = false;
      submit.textContent = 'Registrar chegada';
    }
  });

  return {
    node: form,
    setProfessionals: (profs) => fillProfessionals(profSelect, profs, 'Qualquer profissional'),
  };
}

/** "Chamar próximo" for a chosen professional and room (reception). */
export function callNextForm(clinicId, onCalled) {
  const id = uid('callnext');
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });
  const profSelect = h('select', { id: `${id}-prof`, name: 'professional_user_id', required: true },
    h('option', { value: '', text: 'Selecione…' }));
  const roomInput = h('input', {
    id: `${id}-room`, name: 'room', type: 'text', autocomplete: 'off', maxlength: 60, required: true,
    value: storageGet(roomKey(clinicId)) || '',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Chamar próximo' });
  const form = h('form', { class: 'form queue-callnext', novalidate: true, 'aria-label': 'Chamar próximo' },
    h('h3', { class: 'h3', text: 'Chamar próximo' }),
    errorBox,
    h('div', { class: 'form-fields' },
      h('div', { class: 'field' }, h('label', { for: profSelect.id, text: 'Profissional' }), profSelect),
      h('div', { class: 'field' }, h('label', { for: roomInput.id, text: 'Sala ou consultório' }), roomInput)),
    h('div', { class: 'form-actions' }, submit),
    statusBox);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    errorBox.hidden = true;
    statusBox.textContent = '';
    const room = roomInput.value.trim();
    const missing = !profSelect.value ? profSelect : !room ? roomInput : null;
    if (missing) {
      errorBox.textContent = !profSelect.value ? 'Escolha o profissional.' : 'Informe a sala ou o consultório.';
      errorBox.hidden = false;
      missing.focus();
      return;
    }
    storageSet(roomKey(clinicId), room);
    submit.disabled = true;
    submit.textContent = 'Chamando…';
    try {
      const entry = await api.post(`/api/clinics/${seg(clinicId)}/queue/call-next`,
        { room, professional_user_id: profSelect.value });
      onCalled(entry);
      statusBox.textContent = `Senha ${entry.ticket} — ${entry.full_name} chamado(a) para ${entry.room || room}.`;
    } catch (err) {
      errorBox.textContent = callNextError(err);
      errorBox.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Chamar próximo';
    }
  });

  return {
    node: form,
    setProfessionals: (profs) => fillProfessionals(profSelect, profs, 'Selecione…'),
  };
}
