// @ts-check
// Agenda: "Novo agendamento", the staff's booking dialog — professional, service, patient
// (search or quick registration), date and a free slot (or a fitted-in time), then the
// patient's one-click links to hand over.

import { professionalName, whenPhrase } from '../messages.js';
import { api, qs, seg } from '../api.js';
import { h, clear, copyField, uid } from '../ui.js';
import {
  agendaError, hhmm, isCode, isYmd, KIND_LABELS, parseHhmm, servicesFor, serviceText, timeIn,
  zonedToUtc,
} from '../agenda-util.js';
import { errorBox, labeled, modal, patientSearch, slotPicker } from './agenda-parts.js';

/** @typedef {import('./agenda-parts.js').AgendaSetup} AgendaSetup */

/**
 * "Novo agendamento" (staff). `setup`: {clinicId, tz, pros, services}; `preset`:
 * {proId, date, startsAt, fitIn}. `onBooked(appointment)` after a success.
 * @param {HTMLElement} host where the dialog goes
 * @param {HTMLElement|null} opener focus goes back there
 * @param {AgendaSetup} setup
 * @param {{proId?: string, date?: string, startsAt?: string, fitIn?: boolean}} preset
 * @param {(appointment: import('../types.js').Appointment) => void} onBooked
 */
export function openBookingDialog(host, opener, setup, preset, onBooked) {
  const { clinicId, tz, pros, services } = setup;
  const dlg = modal('Novo agendamento', 'ag-book-dialog');
  const errors = errorBox();
  const id = uid('book');

  // Patient search.
  const patientField = patientSearch(clinicId, `${id}-patient`, { onChosen: () => proSelect.focus() });
  const { searchWrap, chosenBox } = patientField;
  const proSelect = h('select', { id: `${id}-pro`, name: 'professional_user_id' },
    pros.map((p) => h('option', { value: p.user_id, text: p.name })));
  if (preset.proId) proSelect.value = preset.proId;
  const serviceSelect = h('select', { id: `${id}-service`, name: 'service_id' });
  const dateInput = h('input', { id: `${id}-date`, type: 'date', name: 'date', value: preset.date });
  const picker = slotPicker({ name: `${id}-slot`, legend: 'Horário livre', timeZone: tz });
  const fitIn = h('input', { type: 'checkbox', id: `${id}-fitin`, name: 'fit_in', checked: Boolean(preset.fitIn) });
  const fitTime = h('input', {
    id: `${id}-time`, type: 'time', name: 'time', step: 300,
    value: preset.startsAt ? timeIn(preset.startsAt, tz) : '',
  });
  const durationInput = h('input', {
    id: `${id}-duration`, type: 'number', name: 'duration_minutes', min: 5, max: 480, step: 5, value: 30, inputmode: 'numeric',
  });
  const durationField = labeled('Duração (minutos)', durationInput);
  const fitBox = h('div', { class: 'ag-fit-fields' },
    labeled('Horário do encaixe', fitTime), durationField);
  const kindSelect = h('select', { id: `${id}-kind`, name: 'kind' },
    Object.entries(KIND_LABELS).map(([value, label]) => h('option', { value, text: label })));
  const notes = h('textarea', { id: `${id}-notes`, name: 'notes', rows: 2, maxlength: 500 });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Agendar' });
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancelar', onclick: () => dlg.close() });

  searchWrap.classList.add('field-wide');
  chosenBox.classList.add('field-wide');
  picker.node.classList.add('field-wide');
  fitBox.classList.add('field-wide');
  const form = h('form', { class: 'form form-grid ag-book-form', novalidate: true, 'aria-label': 'Novo agendamento' },
    errors.node,
    h('div', { class: 'form-fields' },
      searchWrap, chosenBox,
      labeled('Profissional', proSelect),
      labeled('Serviço', serviceSelect),
      labeled('Data', dateInput),
      labeled('Tipo de atendimento', kindSelect),
      picker.node,
      h('div', { class: 'field field-checkbox' },
        h('div', { class: 'checkbox-row' }, fitIn,
          h('label', { for: fitIn.id, text: 'Encaixe (fora dos horários livres)' })),
        h('p', { class: 'field-hint', text: 'Use para atender alguém fora da agenda. Nunca por cima de outra consulta.' })),
      fitBox,
      labeled('Observações', notes, { optional: true, wide: true })),
    h('div', { class: 'form-actions' }, submit, cancel));
  dlg.body.append(form);

  function fillServices() {
    const list = servicesFor(services, proSelect.value);
    const keep = serviceSelect.value;
    serviceSelect.replaceChildren(
      h('option', { value: '', text: 'Sem serviço definido' }),
      ...list.map((s) => h('option', { value: s.id, text: serviceText(s) })));
    if (keep && list.some((s) => s.id === keep)) serviceSelect.value = keep;
    else if (list.length === 1) serviceSelect.value = list[0].id;
    syncFit();
  }

  function syncFit() {
    const on = fitIn.checked;
    picker.node.hidden = on;
    fitBox.hidden = !on;
    durationField.hidden = Boolean(serviceSelect.value);
  }

  let slotSeq = 0;
  let wanted = preset.startsAt || null;
  async function loadSlots() {
    slotSeq += 1;
    const mine = slotSeq;
    if (!isYmd(dateInput.value) || !proSelect.value) {
      picker.set([], null);
      return;
    }
    const keep = picker.value() || wanted;
    picker.loading();
    try {
      const res = await api.get(`/api/clinics/${seg(clinicId)}/slots${qs({
        professional_user_id: proSelect.value,
        service_id: serviceSelect.value,
        from: dateInput.value,
        to: dateInput.value,
      })}`);
      if (mine !== slotSeq) return;
      const found = picker.set(res && Array.isArray(res.slots) ? res.slots : [], keep);
      if (keep && !found && wanted && !fitIn.checked) {
        errors.show(`O horário ${timeIn(keep, tz)} não está livre para este serviço. Escolha outro ou marque “Encaixe”.`);
      }
      wanted = null;
    } catch (err) {
      if (mine !== slotSeq) return;
      picker.error(agendaError(err));
    }
  }

  proSelect.addEventListener('change', () => {
    fillServices();
    loadSlots();
  });
  serviceSelect.addEventListener('change', () => {
    syncFit();
    errors.clear();
    loadSlots();
  });
  dateInput.addEventListener('change', () => {
    errors.clear();
    loadSlots();
  });
  fitIn.addEventListener('change', () => {
    syncFit();
    if (fitIn.checked && !fitTime.value) {
      const picked = picker.value();
      if (picked) fitTime.value = timeIn(picked, tz);
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    errors.clear();
    const patient = patientField.value;
    if (!patient) {
      errors.show('Escolha o paciente.');
      patientField.focus();
      return;
    }
    if (!isYmd(dateInput.value)) {
      errors.show('Informe a data.');
      dateInput.focus();
      return;
    }
    const body = {
      professional_user_id: proSelect.value,
      patient_id: patient.id,
      kind: kindSelect.value,
    };
    if (serviceSelect.value) body.service_id = serviceSelect.value;
    if (notes.value.trim()) body.notes = notes.value.trim();
    if (fitIn.checked) {
      const minutes = parseHhmm(fitTime.value);
      if (Number.isNaN(minutes)) {
        errors.show('Informe o horário do encaixe.');
        fitTime.focus();
        return;
      }
      body.fit_in = true;
      body.starts_at = zonedToUtc(dateInput.value, hhmm(minutes), tz);
      if (!serviceSelect.value) {
        const d = Number(durationInput.value);
        if (!Number.isInteger(d) || d < 5 || d > 480) {
          errors.show('A duração deve ser de 5 a 480 minutos.');
          durationInput.focus();
          return;
        }
        body.duration_minutes = d;
      }
    } else {
      const starts = picker.value();
      if (!starts) {
        errors.show('Escolha um horário livre (ou marque “Encaixe”).');
        picker.focus();
        return;
      }
      body.starts_at = starts;
    }
    submit.disabled = true;
    submit.textContent = 'Agendando…';
    try {
      const appt = await api.post(`/api/clinics/${seg(clinicId)}/appointments`, body);
      onBooked(appt);
      if (appt && appt.links && (appt.links.confirm_path || appt.links.cancel_path)) showLinks(appt);
      else dlg.close();
    } catch (err) {
      errors.show(agendaError(err));
      if (isCode(err, 'slot_taken', 'slot_unavailable')) loadSlots();
      errors.node.setAttribute('tabindex', '-1');
      errors.node.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Agendar';
    }
  });

  /** Booked: the one-click links for the reception to send (WhatsApp, SMS, e-mail). */
  function showLinks(appt) {
    dlg.setTitle('Consulta agendada');
    const absolute = (path) => new URL(path, location.origin).href;
    const fields = [];
    if (appt.links.confirm_path) {
      fields.push(copyField({
        label: 'Link para confirmar presença', value: absolute(appt.links.confirm_path), name: 'confirm-link',
      }).node);
    }
    if (appt.links.cancel_path) {
      fields.push(copyField({
        label: 'Link para cancelar', value: absolute(appt.links.cancel_path), name: 'cancel-link',
      }).node);
    }
    const done = h('button', { type: 'button', class: 'btn btn-primary', text: 'Concluir', onclick: () => dlg.close() });
    const pane = h('div', { class: 'ag-booked', dataset: { id: appt.id } },
      h('p', { class: 'alert alert-info ag-booked-summary', role: 'status' },
        'Consulta de ', h('strong', { text: appt.patient_name || 'paciente' }),
        ` com ${professionalName({ name: appt.professional_name, profession: appt.professional_profession, gender: appt.professional_gender }) || 'o profissional'}, ${whenPhrase(appt.starts_at, tz)}.`),
      h('p', { class: 'muted small', text: 'Envie os links ao paciente (WhatsApp, SMS ou e-mail): ele confirma ou cancela sem entrar no atende. Cada link funciona uma vez e vale até o horário da consulta.' }),
      fields,
      h('div', { class: 'form-actions' }, done));
    clear(dlg.body).append(pane);
    done.focus();
  }

  fillServices();
  syncFit();
  dlg.open(host, opener);
  loadSlots();
  patientField.focus();
  return dlg;
}
