// @ts-check
// Agenda ("Agenda") for the clinic staff and the professionals.
//
//   #/clinica/{id}/agenda[?data=YYYY-MM-DD&modo=dia|semana&prof={user_id}]
//       Reception/admin (and professionals): a day view with one column per professional
//       and a week view of one professional, on a time grid in the clinic's time zone.
//       Free slots are buttons (→ booking dialog); appointments are blocks (→ actions:
//       confirmar, check-in, iniciar, concluir, faltou, remarcar, cancelar).
//   #/minha-agenda[?data=YYYY-MM-DD&modo=dia|semana]
//       A professional's appointments in every clinic, with the clinic's name on each.
//
// Live: `clinic:<id>:agenda` pushes `agenda.updated {appointment}` after every booking,
// move, cancellation and status change. Every (re)join reloads over HTTP; pushes that
// arrive meanwhile are applied after the snapshot (like the waiting room). After a push
// the professional's free slots are fetched again (a booking or a cancellation changes
// them). The clinic agenda also follows `clinic:<id>:slots` (`slots.changed`): with no
// dates (hours or exceptions changed) it reloads the schedules and the whole range.

import { api, qs, seg } from '../api.js';
import { realtime } from '../realtime.js';
import {
  h, alertNode, clear, copyField, errorMessage, loadingNode, plural,
  professionLabel, uid,
} from '../ui.js';
import {
  KIND_LABELS, addDays, agendaError, byStart, daysBetween, durationText, fullDate, hhmm,
  holdsTime, isCode, isYmd, localDate, localMinutes, longDate, mediumDate, minutesBetween,
  mondayOf, parseHhmm, serviceText, servicesFor, shortDate, statusLabel, timeIn, todayIn,
  weekdayOf, weekdayShort, whenText, zonedToUtc,
} from '../agenda-util.js';
import { errorBox, labeled, modal, patientSearch } from './agenda-parts.js';
import { clinicWaitlist, openWaitlistDrawer } from './waitlist.js';

/** Pixels per minute on the time grid. */
const PX = 2;
const DEFAULT_START = 8 * 60;
const DEFAULT_END = 18 * 60;
const DEFAULT_STEP = 15;
const SLOT_MIN_GAP = 15;
const NOW_TICK_MS = 60_000;

/** Actions on an appointment: [status to set | 'reschedule' | 'cancel', label]. */
// A held slot (waitlist offer) has none: its patient answers it, or it lapses.
const ACTIONS = {
  scheduled: [['confirmed', 'Confirmar'], ['checked_in', 'Check-in'], ['no_show', 'Faltou'], ['reschedule', 'Remarcar'], ['cancel', 'Cancelar']],
  confirmed: [['checked_in', 'Check-in'], ['no_show', 'Faltou'], ['reschedule', 'Remarcar'], ['cancel', 'Cancelar']],
  checked_in: [['in_progress', 'Iniciar'], ['no_show', 'Faltou'], ['cancel', 'Cancelar']],
  in_progress: [['done', 'Concluir']],
};

const DONE_TEXT = {
  confirmed: 'confirmada',
  checked_in: 'com check-in feito',
  in_progress: 'em atendimento',
  done: 'concluída',
  no_show: 'marcada como falta',
};

function replaceHash(hash) {
  history.replaceState(null, '', hash);
}

/** "Teleconsulta" badge of a video appointment. */
function teleBadge() {
  return h('span', { class: 'badge ag-tele-badge', text: KIND_LABELS.teleconsultation });
}

function byName(a, b) {
  return String(a.name || a.full_name).localeCompare(String(b.name || b.full_name), 'pt-BR');
}

// ------------------------------------------------------------- dialogs ---

/**
 * Free slots as a radio group of chips. `onPick(slot)` when one is chosen.
 * Returns {node, set(slots, selectedIso), value(), focus()}.
 */
function slotPicker({ name, legend, timeZone, empty = 'Nenhum horário livre nesta data.' }) {
  const list = h('div', { class: 'ag-slot-chips' });
  const node = h('fieldset', { class: 'ag-slot-picker' },
    h('legend', { text: legend }),
    list);
  let current = [];
  return {
    node,
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

// ------------------------------------------------------ booking dialog ---

/**
 * "Novo agendamento" (staff). `setup`: {clinicId, tz, pros, services}; `preset`:
 * {proId, date, startsAt, fitIn}. `onBooked(appointment)` after a success.
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
        ` com ${appt.professional_name || 'o profissional'} em ${whenText(appt.starts_at, tz)}.`),
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

// --------------------------------------------------- appointment dialog ---

/**
 * Details and actions of one appointment (staff). `setup`: {clinicId, tz, services};
 * `onChanged(appointment)` after every change. `patientLink`: href of the patient's record.
 * `meId`: the viewer's user id (their own teleconsultations get "Abrir teleconsulta").
 */
export function openAppointmentDialog(host, opener, setup, appt, onChanged, { patientLink = null, clinicName = null, meId = null } = {}) {
  const { clinicId, tz } = setup;
  const dlg = modal('Consulta', 'ag-appt-dialog');
  const errors = errorBox();
  const status = h('p', { class: 'form-status', role: 'status' });
  const content = h('div', { class: 'ag-appt-content' });
  dlg.body.append(errors.node, content, status);
  let current = appt;
  let pane = 'details';

  function details(a) {
    const mins = minutesBetween(a.starts_at, a.ends_at);
    const rows = [
      ['Situação', h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })],
      ['Paciente', patientLink ? h('a', { href: patientLink, text: a.patient_name || 'Paciente' }) : (a.patient_name || '—')],
      ['Profissional', a.professional_name || '—'],
      clinicName ? ['Clínica', clinicName] : null,
      ['Quando', `${whenText(a.starts_at, tz)} até ${timeIn(a.ends_at, tz)} (${durationText(mins)})`],
      ['Serviço', a.service_name || 'Sem serviço definido'],
      ['Tipo', a.kind === 'teleconsultation' ? teleBadge() : (KIND_LABELS[a.kind] || a.kind || '—')],
      a.notes ? ['Observações', a.notes] : null,
      a.cancel_reason ? ['Motivo do cancelamento', a.cancel_reason] : null,
    ].filter(Boolean);
    const dl = h('dl', { class: 'details ag-details' });
    for (const [label, value] of rows) {
      dl.append(h('div', { class: 'details-row' }, h('dt', { text: label }), h('dd', null, value)));
    }
    return dl;
  }

  function actionBar(a) {
    if (a.status === 'held') {
      const until = a.hold_expires_at ? ` até ${timeIn(a.hold_expires_at, tz)}` : '';
      return h('p', { class: 'alert alert-info ag-held-note', text: `Horário oferecido a ${a.patient_name || 'um paciente'} pela lista de espera. Aguardando a resposta do paciente${until}; sem resposta, o horário vai para o próximo da lista.` });
    }
    const actions = ACTIONS[a.status] || [];
    if (!actions.length) return h('p', { class: 'muted', text: 'Nenhuma ação disponível para esta consulta.' });
    return h('div', { class: 'ag-actions', role: 'group', 'aria-label': 'Ações' }, actions.map(([action, label]) => h('button', {
      type: 'button',
      class: `btn btn-small ${action === 'cancel' || action === 'no_show' ? 'btn-secondary ag-action-danger' : action === 'reschedule' ? 'btn-secondary' : 'btn-primary'}`,
      text: label,
      dataset: { action },
      onclick: (event) => act(action, event.currentTarget),
    })));
  }

  /** The professional's own teleconsultation, still to happen: a way into the call. */
  function teleconsultLink(a) {
    if (a.kind !== 'teleconsultation' || !meId || a.professional_user_id !== meId) return null;
    if (!['scheduled', 'confirmed', 'checked_in', 'in_progress'].includes(a.status)) return null;
    return h('p', { class: 'ag-tele-open' }, h('a', {
      class: 'btn btn-primary btn-small', href: `#/teleconsulta/${seg(a.id)}`, text: 'Abrir teleconsulta',
    }));
  }

  function render() {
    errors.clear();
    dlg.setTitle(`Consulta — ${current.patient_name || 'Paciente'}`);
    if (pane === 'details') {
      clear(content).append(details(current), teleconsultLink(current) || '', actionBar(current));
    }
  }

  async function act(action, button) {
    errors.clear();
    status.textContent = '';
    if (action === 'reschedule') {
      showReschedule();
      return;
    }
    if (action === 'cancel') {
      showCancel();
      return;
    }
    button.disabled = true;
    try {
      const updated = await api.post(`/api/clinics/${seg(clinicId)}/appointments/${seg(current.id)}/status`, { status: action });
      current = { ...current, ...updated };
      onChanged(current);
      render();
      status.textContent = `Consulta ${DONE_TEXT[action] || 'atualizada'}.`;
      const first = /** @type {HTMLElement|null} */ (content.querySelector('.ag-actions button'));
      if (first) first.focus();
    } catch (err) {
      errors.show(agendaError(err));
      button.disabled = false;
    }
  }

  function backButton() {
    return h('button', {
      type: 'button', class: 'btn btn-secondary', text: 'Voltar',
      onclick: () => {
        pane = 'details';
        render();
      },
    });
  }

  function showCancel() {
    pane = 'cancel';
    const reasonId = uid('cancel-reason');
    const reason = h('textarea', { id: reasonId, name: 'reason', rows: 3, maxlength: 300, required: true });
    const confirm = h('button', { type: 'submit', class: 'btn btn-danger', text: 'Cancelar consulta' });
    const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Cancelar consulta' },
      h('p', null, `Cancelar a consulta de ${current.patient_name || 'paciente'} em ${whenText(current.starts_at, tz)}?`),
      h('div', { class: 'field' }, h('label', { for: reasonId, text: 'Motivo do cancelamento' }), reason),
      h('div', { class: 'form-actions' }, confirm, backButton()));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.clear();
      if (!reason.value.trim()) {
        errors.show('Informe o motivo do cancelamento.');
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      confirm.disabled = true;
      try {
        const updated = await api.post(`/api/clinics/${seg(clinicId)}/appointments/${seg(current.id)}/cancel`,
          { reason: reason.value.trim() });
        current = { ...current, ...updated };
        onChanged(current);
        pane = 'details';
        render();
        status.textContent = 'Consulta cancelada. O horário ficou livre.';
      } catch (err) {
        errors.show(agendaError(err));
        confirm.disabled = false;
      }
    });
    clear(content).append(form);
    reason.focus();
  }

  function showReschedule() {
    pane = 'reschedule';
    const id = uid('resched');
    const dateInput = h('input', { id: `${id}-date`, type: 'date', name: 'date', value: localDate(current.starts_at, tz) });
    const picker = slotPicker({ name: `${id}-slot`, legend: 'Novo horário', timeZone: tz });
    const fitIn = h('input', { type: 'checkbox', id: `${id}-fitin`, name: 'fit_in' });
    const fitTime = h('input', { id: `${id}-time`, type: 'time', name: 'time', step: 300 });
    const fitBox = h('div', { class: 'ag-fit-fields', hidden: true }, labeled('Horário do encaixe', fitTime));
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Remarcar' });
    const mins = minutesBetween(current.starts_at, current.ends_at);
    const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Remarcar consulta' },
      h('p', null, `Remarcar a consulta de ${current.patient_name || 'paciente'} (hoje em ${whenText(current.starts_at, tz)}). A duração continua ${durationText(mins)}.`),
      h('div', { class: 'form-fields' },
        labeled('Nova data', dateInput),
        picker.node,
        h('div', { class: 'field field-checkbox' },
          h('div', { class: 'checkbox-row' }, fitIn, h('label', { for: fitIn.id, text: 'Encaixe (fora dos horários livres)' }))),
        fitBox),
      h('div', { class: 'form-actions' }, confirm, backButton()));
    let seq = 0;
    async function load() {
      seq += 1;
      const mine = seq;
      if (!isYmd(dateInput.value)) {
        picker.set([], null);
        return;
      }
      picker.loading();
      try {
        const res = await api.get(`/api/clinics/${seg(clinicId)}/slots${qs({
          professional_user_id: current.professional_user_id,
          service_id: current.service_id,
          from: dateInput.value,
          to: dateInput.value,
        })}`);
        if (mine !== seq) return;
        // Without a service the offered slots are 30 min long: keep only those that fit.
        picker.set(res && Array.isArray(res.slots) ? res.slots : [], null);
      } catch (err) {
        if (mine !== seq) return;
        picker.error(agendaError(err));
      }
    }
    dateInput.addEventListener('change', load);
    fitIn.addEventListener('change', () => {
      picker.node.hidden = fitIn.checked;
      fitBox.hidden = !fitIn.checked;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.clear();
      const body = {};
      if (fitIn.checked) {
        const m = parseHhmm(fitTime.value);
        if (Number.isNaN(m) || !isYmd(dateInput.value)) {
          errors.show('Informe a data e o horário do encaixe.');
          fitTime.focus();
          return;
        }
        body.starts_at = zonedToUtc(dateInput.value, hhmm(m), tz);
        body.fit_in = true;
      } else {
        body.starts_at = picker.value();
        if (!body.starts_at) {
          errors.show('Escolha o novo horário.');
          picker.focus();
          return;
        }
      }
      confirm.disabled = true;
      try {
        const updated = await api.post(`/api/clinics/${seg(clinicId)}/appointments/${seg(current.id)}/reschedule`, body);
        current = { ...current, ...updated };
        onChanged(current);
        pane = 'details';
        render();
        status.textContent = `Consulta remarcada para ${whenText(current.starts_at, tz)}.`;
      } catch (err) {
        errors.show(agendaError(err));
        if (isCode(err, 'slot_taken', 'slot_unavailable')) load();
        confirm.disabled = false;
      }
    });
    clear(content).append(form);
    load();
    dateInput.focus();
  }

  render();
  dlg.open(host, opener);
  const first = /** @type {HTMLElement|null} */ (content.querySelector('.ag-actions button'));
  if (first) first.focus();
  return {
    /** A push for this appointment arrived while the dialog is open. */
    update(a) {
      if (a.id !== current.id) return;
      current = { ...current, ...a };
      if (pane === 'details') render();
    },
    get open() {
      return dlg.element.open;
    },
    id: appt.id,
  };
}

// ------------------------------------------------------------ live data ---

/**
 * Live appointments of one clinic: HTTP snapshot per range + `clinic:<id>:agenda` pushes.
 * `onChange(changed)` after each load (changed = null) and push (changed = appointment).
 */
function liveAgenda(ctx, clinicId, { load, onChange, onState }) {
  const byId = new Map();
  let loading = false;
  let buffered = [];
  let seq = 0;

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    onState('loading');
    try {
      const list = await load();
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of list) byId.set(a.id, a);
      for (const a of buffered) byId.set(a.id, { ...byId.get(a.id), ...a });
      buffered = [];
      loading = false;
      onState('ready');
      onChange(null);
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      loading = false;
      onState('error', err);
    }
  }

  function apply(a) {
    if (!a || !a.id) return;
    // Pushes and POST answers carry no clinic_name: keep what the list had.
    byId.set(a.id, { ...byId.get(a.id), ...a });
  }

  const handle = realtime.join(`clinic:${clinicId}:agenda`, {
    events: {
      'agenda.updated': (payload) => {
        const a = payload && payload.appointment;
        if (!a) return;
        if (loading) {
          buffered.push(a);
          return;
        }
        apply(a);
        onChange(a);
      },
    },
    // Every (re)join reloads: pushes sent while the connection was down may be gone.
    onJoin: () => reload(),
    onStatus: () => onState(handle && handle.joined ? 'live' : 'offline'),
    onError: (err) => onState('error', err),
  });
  ctx.onCleanup(() => handle.leave());

  return {
    reload,
    all: () => [...byId.values()],
    apply(a) {
      apply(a);
      onChange(a);
    },
    get joined() {
      return handle.joined;
    },
  };
}

function liveText(state, joined) {
  if (joined) return 'Atualizada ao vivo.';
  if (state === 'loading') return 'Carregando…';
  return realtime.state === 'reconnecting' ? 'Reconectando… a agenda pode estar desatualizada.' : 'Conectando…';
}

// -------------------------------------------------------- clinic agenda ---

/** Config of a clinic's agenda: time zone, professionals, services, schedules. */
async function loadSetup(clinicId) {
  const [info, services] = await Promise.all([
    api.get(`/api/public/clinics/${seg(clinicId)}/booking`),
    api.get(`/api/clinics/${seg(clinicId)}/services`),
  ]);
  const pros = [...((info && info.professionals) || [])].sort(byName);
  const schedules = new Map();
  await Promise.all(pros.map(async (p) => {
    try {
      schedules.set(p.user_id, await api.get(`/api/clinics/${seg(clinicId)}/professionals/${seg(p.user_id)}/schedule`));
    } catch {
      schedules.set(p.user_id, null);
    }
  }));
  return {
    clinicId,
    clinicName: info.clinic_name,
    tz: info.time_zone || 'America/Sao_Paulo',
    pros,
    services: Array.isArray(services) ? services : [],
    schedules,
  };
}

/**
 * The agenda's route for a day or week.
 * @param {string} clinicId
 * @param {{date?: string, mode?: string, pro?: string|null, roleParam?: string|null}} [opts] `mode`: 'day' or 'week'
 */
function agendaHref(clinicId, { date, mode, pro, roleParam } = {}) {
  const base = `#/clinica/${seg(clinicId)}/agenda`;
  return `${base}${qs({ data: date, modo: mode === 'week' ? 'semana' : null, prof: mode === 'week' ? pro : null, papel: roleParam })}`;
}

/** "Agenda" panel on the staff homes: links to the agenda, the hours and the booking page. */
export function agendaLinksPanel(me, membership, roleParam) {
  const clinicId = membership.clinic_id;
  const role = membership.role;
  const links = [
    h('a', { class: 'btn btn-primary', href: agendaHref(clinicId, { roleParam }), text: 'Abrir agenda da clínica' }),
  ];
  if (role === 'professional') {
    links.unshift(h('a', { class: 'btn btn-primary', href: '#/minha-agenda', text: 'Minha agenda' }));
    links[1].className = 'btn btn-secondary';
  }
  if (role === 'clinic_admin' || role === 'professional') {
    links.push(h('a', {
      class: 'btn btn-secondary',
      href: `#/clinica/${seg(clinicId)}/horarios${qs({ papel: roleParam })}`,
      text: role === 'clinic_admin' ? 'Horários e serviços' : 'Meus horários',
    }));
  }
  const intro = {
    clinic_admin: 'Consultas do dia por profissional, agendamentos e encaixes, horários de atendimento e serviços.',
    receptionist: 'Consultas do dia por profissional: agende, confirme, faça o check-in, remarque ou cancele.',
    professional: 'Suas consultas em todas as clínicas e seus horários de atendimento nesta clínica.',
  }[role] || '';
  return h('section', { class: 'panel ag-links', 'aria-labelledby': 'agenda-links-heading', dataset: { agenda: 'links' } },
    h('h2', { id: 'agenda-links-heading', text: 'Agenda' }),
    h('p', { class: 'muted', text: intro }),
    h('div', { class: 'ag-link-row' }, links));
}

/** The clinic's agenda (day: a column per professional; week: one professional). */
export function renderClinicAgenda(ctx, { me, membership, params, roleParam, homeHref }) {
  const clinicId = membership.clinic_id;
  const tzFallback = 'America/Sao_Paulo';
  document.title = `Agenda — ${membership.clinic_name} — atende`;

  const view = {
    date: isYmd(params.get('data')) ? params.get('data') : null,
    mode: params.get('modo') === 'semana' ? 'week' : 'day',
    proId: params.get('prof') || null,
    showCancelled: false,
  };

  const heading = h('h1', { tabindex: '-1', text: `Agenda — ${membership.clinic_name}` });
  const newButton = h('button', { type: 'button', class: 'btn btn-primary', text: 'Novo agendamento', disabled: true });
  const waitlistCount = h('span', { class: 'nav-badge wl-count-badge', hidden: true });
  const waitlistButton = h('button', {
    type: 'button', class: 'btn btn-secondary', disabled: true, 'aria-haspopup': 'dialog', dataset: { waitlist: 'open' },
  }, 'Lista de espera', waitlistCount);
  const newButtonBox = h('div', { class: 'ag-new' }, waitlistButton, newButton);
  const liveStatus = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const errorArea = h('div', { class: 'ag-error' });
  const body = h('div', { class: 'ag-body' }, loadingNode());
  const root = h('div', { class: 'view ag-view', dataset: { view: 'agenda', live: 'false' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: homeHref, text: `← ${membership.clinic_name}` })),
    h('div', { class: 'view-header' }, h('div', null, heading, liveStatus), newButtonBox),
    announce, errorArea, body);

  let setup = null;
  let model = null;
  /** proId → slots of the range */
  const slots = new Map();
  let exceptions = [];
  let openDialog = null;
  const waitlist = clinicWaitlist(ctx, clinicId);
  waitlist.on(() => {
    const n = waitlist.entries.length;
    waitlistCount.textContent = n ? String(n) : '';
    waitlistCount.hidden = !n;
    waitlistButton.setAttribute('aria-label', n ? `Lista de espera: ${n} ${n === 1 ? 'paciente' : 'pacientes'}` : 'Lista de espera');
  });

  // ----- toolbar
  const dateInput = h('input', { type: 'date', id: uid('ag-date'), name: 'date', class: 'ag-date-input' });
  const prevButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: '◀ Anterior' });
  const todayButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Hoje' });
  const nextButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Próximo ▶' });
  const dayButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Dia', 'aria-pressed': 'true' });
  const weekButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Semana', 'aria-pressed': 'false' });
  const proSelect = h('select', { id: uid('ag-pro'), name: 'professional' });
  const proField = h('div', { class: 'ag-pro-field' }, h('label', { for: proSelect.id, text: 'Profissional' }), proSelect);
  const cancelledBox = h('input', { type: 'checkbox', id: uid('ag-cancelled'), name: 'show_cancelled' });
  const rangeHeading = h('h2', { class: 'ag-range-heading', 'aria-live': 'polite' });
  const grid = h('div', { class: 'ag-grid-wrap' });
  const legend = statusLegend();

  function toolbar() {
    return h('div', { class: 'ag-toolbar' },
      h('div', { class: 'ag-nav', role: 'group', 'aria-label': 'Navegar pelas datas' },
        prevButton, todayButton, nextButton,
        h('label', { class: 'visually-hidden', for: dateInput.id, text: 'Data' }), dateInput),
      h('div', { class: 'ag-modes', role: 'group', 'aria-label': 'Visualização' }, dayButton, weekButton),
      proField,
      h('div', { class: 'checkbox-row ag-cancelled-toggle' }, cancelledBox,
        h('label', { for: cancelledBox.id, text: 'Mostrar canceladas e faltas' })));
  }

  function range() {
    if (view.mode === 'week') {
      const from = mondayOf(view.date);
      return { from, to: addDays(from, 6) };
    }
    return { from: view.date, to: view.date };
  }

  function syncUrl() {
    replaceHash(agendaHref(clinicId, { date: view.date, mode: view.mode, pro: view.proId, roleParam }));
  }

  function syncToolbar() {
    dateInput.value = view.date;
    dayButton.setAttribute('aria-pressed', String(view.mode === 'day'));
    weekButton.setAttribute('aria-pressed', String(view.mode === 'week'));
    dayButton.classList.toggle('btn-primary', view.mode === 'day');
    dayButton.classList.toggle('btn-secondary', view.mode !== 'day');
    weekButton.classList.toggle('btn-primary', view.mode === 'week');
    weekButton.classList.toggle('btn-secondary', view.mode !== 'week');
    proField.hidden = view.mode !== 'week';
    prevButton.textContent = view.mode === 'week' ? '◀ Semana anterior' : '◀ Dia anterior';
    nextButton.textContent = view.mode === 'week' ? 'Próxima semana ▶' : 'Próximo dia ▶';
    const { from, to } = range();
    rangeHeading.textContent = view.mode === 'week'
      ? `Semana de ${fullDate(from)} a ${fullDate(to)}`
      : longDate(view.date);
  }

  function go(change) {
    Object.assign(view, change);
    syncUrl();
    syncToolbar();
    // Until the new range is loaded, the grid shown is the old one: say so.
    grid.setAttribute('aria-busy', 'true');
    grid.classList.add('is-loading');
    model.reload();
  }

  prevButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'week' ? -7 : -1) }));
  nextButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'week' ? 7 : 1) }));
  todayButton.addEventListener('click', () => go({ date: todayIn(setup.tz) }));
  dateInput.addEventListener('change', () => {
    if (isYmd(dateInput.value)) go({ date: dateInput.value });
  });
  dayButton.addEventListener('click', () => go({ mode: 'day' }));
  weekButton.addEventListener('click', () => go({ mode: 'week' }));
  proSelect.addEventListener('change', () => go({ proId: proSelect.value }));
  cancelledBox.addEventListener('change', () => {
    view.showCancelled = cancelledBox.checked;
    renderGrid();
  });
  waitlistButton.addEventListener('click', () => {
    openWaitlistDrawer(root, waitlistButton, setup, waitlist, {
      date: view.date,
      appointment: (id) => model && model.all().find((a) => a.id === id),
    });
  });
  newButton.addEventListener('click', () => {
    openBooking(newButton, { proId: view.mode === 'week' ? view.proId : setup.pros[0]?.user_id, date: view.date });
  });

  // ----- data
  async function loadRange() {
    const { from, to } = range();
    const pros = visiblePros();
    const [list, exc] = await Promise.all([
      api.get(`/api/clinics/${seg(clinicId)}/appointments${qs({
        from, to, professional_user_id: view.mode === 'week' ? view.proId : null,
      })}`),
      api.get(`/api/clinics/${seg(clinicId)}/exceptions${qs({ from, to })}`).catch(() => []),
      ...pros.map((p) => loadSlots(p.user_id)),
    ]);
    exceptions = Array.isArray(exc) ? exc : [];
    return Array.isArray(list) ? list : [];
  }

  const slotSeq = new Map();
  async function loadSlots(proId) {
    const { from, to } = range();
    const mine = (slotSeq.get(proId) || 0) + 1;
    slotSeq.set(proId, mine);
    try {
      const res = await api.get(`/api/clinics/${seg(clinicId)}/slots${qs({ professional_user_id: proId, from, to })}`);
      if (slotSeq.get(proId) !== mine) return;
      slots.set(proId, res && Array.isArray(res.slots) ? res.slots : []);
    } catch {
      if (slotSeq.get(proId) !== mine) return;
      slots.set(proId, []);
    }
  }

  const slotTimers = new Map();
  function refreshSlotsSoon(proId) {
    if (!visiblePros().some((p) => p.user_id === proId)) return;
    clearTimeout(slotTimers.get(proId));
    slotTimers.set(proId, setTimeout(async () => {
      await loadSlots(proId);
      if (ctx.isCurrent()) renderGrid();
    }, 150));
  }
  ctx.onCleanup(() => {
    for (const t of slotTimers.values()) clearTimeout(t);
  });

  function visiblePros() {
    if (!setup) return [];
    if (view.mode === 'week') return setup.pros.filter((p) => p.user_id === view.proId);
    return setup.pros;
  }

  function onState(state, err) {
    const joined = Boolean(model && model.joined);
    if (state === 'error') {
      clear(errorArea).append(alertNode(err ? agendaError(err) : 'Não foi possível carregar a agenda.'),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: () => model.reload() }));
    } else if (state === 'ready') {
      clear(errorArea);
      // An offer (or its end) changes the waitlist; the server pushes no waitlist event.
      waitlist.refreshSoon(0);
    }
    liveStatus.textContent = liveText(state, joined);
    root.dataset.live = joined ? 'true' : 'false';
  }

  function onChange(changed) {
    if (changed) {
      if (openDialog && openDialog.open) openDialog.update(changed);
      refreshSlotsSoon(changed.professional_user_id);
      waitlist.refreshSoon();
    }
    renderGrid();
  }

  /** Hours, exceptions or another clinic's booking changed someone's free slots. */
  function followSlots() {
    let reloadTimer = 0;
    const handle = realtime.join(`clinic:${clinicId}:slots`, {
      events: {
        'slots.changed': (payload) => {
          if (!payload) return;
          const pro = payload.professional_user_id || null;
          const dates = Array.isArray(payload.dates) ? payload.dates : [];
          if (dates.length) {
            if (pro) refreshSlotsSoon(pro);
            else for (const p of visiblePros()) refreshSlotsSoon(p.user_id);
            return;
          }
          // Working hours or exceptions: schedules (grid shading) and the range again.
          clearTimeout(reloadTimer);
          reloadTimer = setTimeout(async () => {
            const pros = pro ? setup.pros.filter((p) => p.user_id === pro) : setup.pros;
            await Promise.all(pros.map(async (p) => {
              try {
                setup.schedules.set(p.user_id, await api.get(`/api/clinics/${seg(clinicId)}/professionals/${seg(p.user_id)}/schedule`));
              } catch {
                // keep the old one
              }
            }));
            if (ctx.isCurrent()) model.reload();
          }, 200);
        },
      },
    });
    ctx.onCleanup(() => {
      clearTimeout(reloadTimer);
      handle.leave();
    });
  }

  // ----- booking and actions
  function openBooking(opener, preset) {
    openBookingDialog(root, opener, setup, preset, (appt) => {
      model.apply(appt);
      refreshSlotsSoon(appt.professional_user_id);
      announce.textContent = `Consulta de ${appt.patient_name} agendada para ${whenText(appt.starts_at, setup.tz)}.`;
    });
  }

  function openAppointment(opener, appt) {
    openDialog = openAppointmentDialog(root, opener, setup, appt, (updated) => {
      model.apply(updated);
      refreshSlotsSoon(updated.professional_user_id);
    }, { patientLink: `#/clinica/${seg(clinicId)}/paciente/${seg(appt.patient_id)}${qs({ papel: roleParam })}`, meId: me.id });
  }

  // ----- grid
  function columns() {
    const { from } = range();
    if (view.mode === 'week') {
      const pro = setup.pros.find((p) => p.user_id === view.proId);
      return Array.from({ length: 7 }, (_, i) => {
        const date = addDays(from, i);
        return {
          key: date, date, pro,
          title: `${weekdayShort(date)} ${shortDate(date)}`,
          subtitle: date === todayIn(setup.tz) ? 'Hoje' : '',
        };
      });
    }
    return setup.pros.map((p) => ({
      key: p.user_id, date: view.date, pro: p,
      title: p.name,
      subtitle: [professionLabel(p.profession), p.specialty].filter(Boolean).join(' · '),
    }));
  }

  function hoursOf(proId, date) {
    const sched = setup.schedules.get(proId);
    const wd = weekdayOf(date);
    return ((sched && sched.hours) || []).filter((x) => x.weekday === wd)
      .map((x) => ({ start: parseHhmm(x.start), end: parseHhmm(x.end) }))
      .filter((x) => !Number.isNaN(x.start) && !Number.isNaN(x.end));
  }

  function stepOf(proId) {
    const sched = setup.schedules.get(proId);
    return (sched && sched.rules && sched.rules.slot_step_minutes) || DEFAULT_STEP;
  }

  /** Minutes of the day [start, end) of an instant range clipped to `date`. */
  function spanOn(startIso, endIso, date) {
    const tz = setup.tz;
    const sDate = localDate(startIso, tz);
    const eDate = localDate(endIso, tz);
    if (sDate > date || eDate < date) return null;
    const start = sDate < date ? 0 : localMinutes(startIso, tz);
    let end = eDate > date ? 1440 : localMinutes(endIso, tz);
    if (end <= start) end = Math.min(1440, start + 5);
    return { start, end };
  }

  function appointmentsOf(col) {
    return model.all()
      .filter((a) => a.professional_user_id === col.pro?.user_id)
      .filter((a) => view.showCancelled || holdsTime(a.status))
      .map((a) => ({ a, span: spanOn(a.starts_at, a.ends_at, col.date) }))
      .filter((x) => x.span)
      .sort((x, y) => byStart(x.a, y.a));
  }

  function slotsOf(col) {
    const list = (slots.get(col.pro?.user_id) || []).filter((s) => localDate(s.starts_at, setup.tz) === col.date);
    const out = [];
    let last = -Infinity;
    for (const s of list) {
      const start = localMinutes(s.starts_at, setup.tz);
      if (start - last < SLOT_MIN_GAP) continue;
      out.push({ s, start, end: localMinutes(s.ends_at, setup.tz) || 1440 });
      last = start;
    }
    return out;
  }

  function exceptionsOf(col) {
    return exceptions
      .filter((e) => !e.professional_user_id || e.professional_user_id === col.pro?.user_id)
      .map((e) => ({ e, span: spanOn(e.starts_at, e.ends_at, col.date) }))
      .filter((x) => x.span);
  }

  function renderGrid() {
    if (!setup || !model) return;
    clear(grid);
    grid.removeAttribute('aria-busy');
    grid.classList.remove('is-loading');
    const cols = columns();
    if (!cols.length || cols.some((c) => !c.pro)) {
      grid.append(h('p', { class: 'empty', text: 'Nenhum profissional nesta clínica.' }));
      return;
    }
    const data = cols.map((col) => ({
      col,
      hours: hoursOf(col.pro.user_id, col.date),
      appts: appointmentsOf(col),
      free: slotsOf(col),
      exc: exceptionsOf(col),
    }));
    // The grid spans the working hours and every appointment shown (whole hours).
    let start = Infinity;
    let end = -Infinity;
    for (const d of data) {
      for (const x of d.hours) {
        start = Math.min(start, x.start);
        end = Math.max(end, x.end);
      }
      for (const x of d.appts) {
        start = Math.min(start, x.span.start);
        end = Math.max(end, x.span.end);
      }
      for (const x of d.free) {
        start = Math.min(start, x.start);
        end = Math.max(end, x.end);
      }
    }
    if (!Number.isFinite(start)) {
      start = DEFAULT_START;
      end = DEFAULT_END;
    }
    start = Math.max(0, Math.floor(start / 60) * 60);
    end = Math.min(1440, Math.max(start + 60, Math.ceil(end / 60) * 60));
    const height = (end - start) * PX;

    const table = h('div', { class: `ag-grid ag-grid-${view.mode}`, role: 'group', 'aria-label': rangeHeading.textContent });
    table.style.gridTemplateColumns = `3.5rem repeat(${cols.length}, minmax(${view.mode === 'week' ? '7.5rem' : '11rem'}, 1fr))`;
    table.style.setProperty('--ag-hour', `${60 * PX}px`);

    // Header row.
    table.append(h('div', { class: 'ag-corner', 'aria-hidden': 'true' }));
    for (const { col } of data) {
      table.append(h('div', { class: 'ag-col-head' },
        h('span', { class: 'ag-col-title', text: col.title }),
        col.subtitle ? h('span', { class: 'ag-col-sub', text: col.subtitle }) : null));
    }

    // Time axis.
    const axis = h('div', { class: 'ag-axis', 'aria-hidden': 'true' });
    axis.style.height = `${height}px`;
    for (let m = start; m < end; m += 60) {
      const label = h('span', { class: 'ag-hour', text: hhmm(m) });
      label.style.top = `${(m - start) * PX}px`;
      axis.append(label);
    }
    table.append(axis);

    const today = todayIn(setup.tz);
    const nowMin = localMinutes(new Date(), setup.tz);
    for (const d of data) {
      const { col } = d;
      const colBody = h('div', {
        class: 'ag-col',
        role: 'group',
        'aria-label': view.mode === 'week' ? mediumDate(col.date) : col.pro.name,
        dataset: { pro: col.pro.user_id, date: col.date },
      });
      colBody.style.height = `${height}px`;
      for (const x of d.hours) {
        const work = h('div', { class: 'ag-work', 'aria-hidden': 'true' });
        place(work, Math.max(x.start, start), Math.min(x.end, end), start);
        colBody.append(work);
      }
      for (const { e, span } of d.exc) {
        const label = e.kind === 'extra' ? 'Horário extra' : (e.reason || 'Fechado');
        const block = h('div', { class: `ag-exc ag-exc-${e.kind}`, title: label },
          h('span', { class: 'ag-exc-label', text: label }));
        place(block, Math.max(span.start, start), Math.min(span.end, end), start);
        colBody.append(block);
      }
      for (const { s, start: sStart, end: sEnd } of d.free) {
        const step = stepOf(col.pro.user_id);
        const blockEnd = Math.min(sEnd, sStart + Math.max(step, SLOT_MIN_GAP));
        const t = timeIn(s.starts_at, setup.tz);
        const button = h('button', {
          type: 'button',
          class: 'ag-free',
          'aria-label': `Horário livre ${t} — ${col.pro.name}${view.mode === 'week' ? `, ${mediumDate(col.date)}` : ''}`,
          dataset: { startsAt: s.starts_at, pro: col.pro.user_id, time: t },
        }, h('span', { class: 'ag-free-time', text: t }), h('span', { class: 'ag-free-plus', 'aria-hidden': 'true', text: '+ agendar' }));
        place(button, sStart, blockEnd, start, 1);
        button.addEventListener('click', () => openBooking(button, {
          proId: col.pro.user_id, date: col.date, startsAt: s.starts_at,
        }));
        colBody.append(button);
      }
      // Appointments side by side when they overlap (a cancelled one under a new one).
      const lanes = [];
      const laid = d.appts.map((x) => {
        let lane = lanes.findIndex((endAt) => endAt <= x.span.start);
        if (lane < 0) {
          lane = lanes.length;
          lanes.push(0);
        }
        lanes[lane] = x.span.end;
        return { ...x, lane };
      });
      for (const x of laid) {
        const overlapping = laid.filter((y) => y.span.start < x.span.end && y.span.end > x.span.start);
        const laneCount = Math.max(...overlapping.map((y) => y.lane)) + 1;
        colBody.append(appointmentBlock(x.a, x.span, start, x.lane, laneCount));
      }
      if (col.date === today && nowMin >= start && nowMin <= end) {
        const line = h('div', { class: 'ag-now', 'aria-hidden': 'true' });
        line.style.top = `${(nowMin - start) * PX}px`;
        colBody.append(line);
      }
      // A click on the grid itself (mouse) proposes that time; keyboard users have
      // the free slot buttons and "Novo agendamento".
      colBody.addEventListener('click', (event) => {
        const target = /** @type {Element} */ (event.target);
        if (target !== colBody && !target.classList.contains('ag-work')) return;
        const rect = colBody.getBoundingClientRect();
        const minute = start + Math.floor((event.clientY - rect.top) / PX / 15) * 15;
        const time = hhmm(Math.max(start, Math.min(end - 15, minute)));
        openBooking(colBody, {
          proId: col.pro.user_id, date: col.date, startsAt: zonedToUtc(col.date, time, setup.tz), fitIn: true,
        });
      });
      table.append(colBody);
    }

    grid.dataset.start = String(start);
    grid.dataset.end = String(end);
    const total = data.reduce((n, d) => n + d.appts.filter((x) => holdsTime(x.a.status)).length, 0);
    grid.append(
      h('p', { class: 'muted small ag-count', text: total ? plural(total, 'consulta', 'consultas') : 'Nenhuma consulta marcada.' }),
      h('div', { class: 'ag-scroll' }, table));
  }

  function place(el, from, to, gridStart, inset = 0) {
    el.style.top = `${(from - gridStart) * PX + inset}px`;
    el.style.height = `${Math.max(6, (to - from) * PX - inset * 2)}px`;
  }

  function appointmentBlock(a, span, gridStart, lane, laneCount) {
    const t = `${timeIn(a.starts_at, setup.tz)}–${timeIn(a.ends_at, setup.tz)}`;
    const label = `${t}, ${a.patient_name || 'Paciente'}${a.kind === 'teleconsultation' ? ', teleconsulta' : ''}${a.service_name ? `, ${a.service_name}` : ''}: ${statusLabel(a.status)}`;
    const block = h('button', {
      type: 'button',
      class: `ag-appt ag-st-${a.status}${a.status === 'held' ? ' ag-appt-held' : ''}${span.end - span.start <= 20 ? ' ag-appt-short' : ''}`,
      'aria-label': label,
      'aria-haspopup': 'dialog',
      dataset: { id: a.id, status: a.status, startsAt: a.starts_at },
    },
    h('span', { class: 'ag-appt-line' },
      h('span', { class: 'ag-appt-time', text: timeIn(a.starts_at, setup.tz) }),
      h('span', { class: 'ag-appt-status', text: statusLabel(a.status) })),
    h('span', { class: 'ag-appt-name', text: a.patient_name || 'Paciente' }),
    a.kind === 'teleconsultation' ? teleBadge() : null,
    a.service_name ? h('span', { class: 'ag-appt-service', text: a.service_name }) : null);
    place(block, Math.max(span.start, gridStart), span.end, gridStart, 1);
    if (laneCount > 1) {
      block.style.left = `calc(${(lane * 100) / laneCount}% + 2px)`;
      block.style.width = `calc(${100 / laneCount}% - 4px)`;
      block.style.right = 'auto';
    }
    block.addEventListener('click', (event) => {
      event.stopPropagation();
      openAppointment(block, a);
    });
    return block;
  }

  // ----- start
  (async () => {
    try {
      setup = await loadSetup(clinicId);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      clear(body).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: () => ctx.navigate(location.hash) }));
      return;
    }
    if (!ctx.isCurrent()) return;
    if (!view.date) view.date = todayIn(setup.tz || tzFallback);
    const mine = setup.pros.find((p) => p.user_id === me.id);
    if (!view.proId || !setup.pros.some((p) => p.user_id === view.proId)) {
      view.proId = (mine || setup.pros[0] || {}).user_id || null;
    }
    proSelect.replaceChildren(...setup.pros.map((p) => h('option', { value: p.user_id, text: p.name })));
    if (view.proId) proSelect.value = view.proId;
    newButton.disabled = !setup.pros.length;
    waitlistButton.disabled = false;
    syncToolbar();
    const bookingUrl = new URL(`#/agendar/${seg(clinicId)}`, location.href).href;
    clear(body).append(
      toolbar(),
      rangeHeading,
      grid,
      legend,
      h('section', { class: 'panel ag-share', 'aria-labelledby': 'ag-share-heading' },
        h('h2', { id: 'ag-share-heading', class: 'h3', text: 'Agendamento online' }),
        h('p', { class: 'muted small', text: 'Pacientes podem marcar consultas nos horários livres por este link, sem ligar para a recepção.' }),
        copyField({ label: 'Link da página de agendamento', value: bookingUrl, name: 'booking-link' }).node));
    model = liveAgenda(ctx, clinicId, { load: loadRange, onChange, onState });
    model.reload();
    syncUrl();
    followSlots();
  })();

  // Move the "now" line along (without re-rendering: focus stays where it is).
  const timer = setInterval(() => {
    const line = /** @type {HTMLElement|null} */ (grid.querySelector('.ag-now'));
    if (!line || !setup) return;
    const nowMin = localMinutes(new Date(), setup.tz);
    const start = Number(grid.dataset.start);
    const end = Number(grid.dataset.end);
    line.hidden = nowMin < start || nowMin > end;
    line.style.top = `${(nowMin - start) * PX}px`;
  }, NOW_TICK_MS);
  ctx.onCleanup(() => clearInterval(timer));

  return root;
}

/**
 * "Assinar no celular (iCal)": a secret calendar address of the professional's agenda.
 * POST /api/me/ical makes a new one (the old stops working); DELETE /api/me/ical revokes it.
 * The server keeps only a hash: an address cannot be shown again, only replaced.
 */
function icalPanel() {
  const body = h('div', { class: 'ical-body' });
  const status = h('p', { class: 'form-status ical-status', role: 'status' });
  const errors = errorBox();
  const panel = h('section', { class: 'panel ical-panel', 'aria-labelledby': 'ical-heading', dataset: { ical: 'panel' } },
    h('h2', { id: 'ical-heading', class: 'h3', text: 'Assinar no celular (iCal)' }),
    h('p', { class: 'muted small', text: 'Veja suas consultas de todas as clínicas no calendário do celular ou do computador (Google Agenda, Calendário do iPhone, Outlook). O calendário se atualiza sozinho, com o primeiro nome e a inicial de cada paciente.' }),
    errors.node, body, status);

  async function run(button, fn) {
    errors.clear();
    status.textContent = '';
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      errors.show(errorMessage(err));
      button.disabled = false;
    }
  }

  function create(button, replaced) {
    return run(button, async () => {
      const res = await api.post('/api/me/ical');
      showAddress(res.path);
      status.textContent = replaced
        ? 'Novo endereço criado. O endereço anterior parou de funcionar: assine de novo nos seus aparelhos.'
        : 'Endereço criado. Adicione-o ao calendário do celular.';
    });
  }

  function revoke(button) {
    return run(button, async () => {
      await api.del('/api/me/ical');
      showStart();
      status.textContent = 'Endereço revogado: os calendários que o usavam param de receber suas consultas.';
    });
  }

  function showStart() {
    const start = h('button', { type: 'button', class: 'btn btn-primary', text: 'Assinar no celular (iCal)', dataset: { ical: 'create' } });
    start.addEventListener('click', () => create(start, false));
    const stop = h('button', { type: 'button', class: 'btn btn-link', text: 'Revogar o endereço atual', dataset: { ical: 'revoke' } });
    stop.addEventListener('click', () => revoke(stop));
    clear(body).append(
      h('div', { class: 'form-actions' }, start),
      h('p', { class: 'muted small' }, 'Já assinou antes? Um novo endereço substitui o anterior. Para parar de enviar sua agenda: ', stop, '.'));
  }

  function showAddress(path) {
    const url = new URL(path, location.origin);
    const webcal = `webcal://${url.host}${url.pathname}`;
    const field = copyField({ label: 'Endereço do calendário (secreto)', value: url.href, name: 'ical-url', buttonLabel: 'Copiar endereço' });
    const again = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Gerar novo endereço', dataset: { ical: 'renew' } });
    again.addEventListener('click', () => create(again, true));
    const stop = h('button', { type: 'button', class: 'btn btn-secondary btn-small ag-action-danger', text: 'Revogar', dataset: { ical: 'revoke' } });
    stop.addEventListener('click', () => {
      clear(actions).append(
        h('span', { text: 'Revogar o endereço? Os calendários que o usam param de receber suas consultas.' }),
        (() => {
          const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, revogar', dataset: { ical: 'revoke-yes' } });
          yes.addEventListener('click', () => revoke(yes));
          return yes;
        })(),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Voltar', onclick: () => showAddress(path) }));
      const yes = /** @type {HTMLElement|null} */ (actions.querySelector('[data-ical="revoke-yes"]'));
      if (yes) yes.focus();
    });
    const actions = h('div', { class: 'ical-actions' }, again, stop);
    clear(body).append(
      field.node,
      h('p', null, h('a', { class: 'btn btn-primary ical-webcal', href: webcal, text: 'Abrir no calendário do celular' })),
      h('p', { class: 'muted small', text: 'No Google Agenda (computador): “Outras agendas” → “Do URL” e cole o endereço. No iPhone: toque em “Abrir no calendário do celular”. Guarde o endereço só para você: quem o tiver vê seus horários.' }),
      actions);
  }

  showStart();
  return panel;
}

function statusLegend() {
  const shown = ['held', 'scheduled', 'confirmed', 'checked_in', 'in_progress', 'done', 'no_show', 'cancelled'];
  return h('div', { class: 'ag-legend' },
    h('span', { class: 'ag-legend-title', text: 'Legenda:' }),
    h('ul', { class: 'ag-legend-list' },
      h('li', null, h('span', { class: 'ag-legend-swatch ag-free-swatch', 'aria-hidden': 'true' }), 'Horário livre'),
      shown.map((s) => h('li', null,
        h('span', { class: `ag-legend-swatch ag-st-${s}`, 'aria-hidden': 'true' }), statusLabel(s)))));
}

// -------------------------------------------------- professional agenda ---

/** "Minha agenda": the professional's appointments in every clinic. */
export function renderMyAgenda(ctx, me, params) {
  document.title = 'Minha agenda — atende';
  const clinics = [];
  for (const m of me.memberships || []) {
    if (m.role === 'professional' && !clinics.some((c) => c.id === m.clinic_id)) {
      clinics.push({ id: m.clinic_id, name: m.clinic_name, tz: 'America/Sao_Paulo', services: null });
    }
  }
  const view = {
    date: isYmd(params.get('data')) ? params.get('data') : null,
    mode: params.get('modo') === 'dia' ? 'day' : 'week',
  };
  const liveStatus = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const errorArea = h('div', { class: 'ag-error' });
  const list = h('div', { class: 'ag-my-list' }, loadingNode());
  const rangeHeading = h('h2', { class: 'ag-range-heading', 'aria-live': 'polite' });
  const root = h('div', { class: 'view ag-view', dataset: { view: 'my-agenda', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Minha agenda' }), liveStatus),
    h('p', { class: 'muted', text: clinics.length > 1
      ? `Suas consultas em ${clinics.map((c) => c.name).join(' e ')}. Horários no fuso de cada clínica.`
      : 'Suas consultas. Horários no fuso da clínica.' }),
    errorArea);

  if (!clinics.length) {
    root.append(h('p', { class: 'empty', text: 'Você não atende em nenhuma clínica como profissional.' }));
    return root;
  }

  const byId = new Map();
  const handles = [];
  let loading = false;
  let buffered = [];
  let seq = 0;
  let openDialog = null;

  const dateInput = h('input', { type: 'date', id: uid('my-date'), name: 'date' });
  const prevButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small' });
  const todayButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Hoje' });
  const nextButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small' });
  const dayButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Dia' });
  const weekButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Próximos 7 dias' });
  const links = h('p', { class: 'ag-my-links small' }, 'Agenda de cada clínica: ',
    clinics.map((c, i) => [i ? ' · ' : '', h('a', { href: `#/clinica/${seg(c.id)}/agenda`, text: c.name })]));

  root.append(
    h('div', { class: 'ag-toolbar' },
      h('div', { class: 'ag-nav', role: 'group', 'aria-label': 'Navegar pelas datas' },
        prevButton, todayButton, nextButton,
        h('label', { class: 'visually-hidden', for: dateInput.id, text: 'Data' }), dateInput),
      h('div', { class: 'ag-modes', role: 'group', 'aria-label': 'Visualização' }, dayButton, weekButton)),
    rangeHeading, list, links, icalPanel());

  const clinicOf = (id) => clinics.find((c) => c.id === id);
  const tzOf = (id) => (clinicOf(id) || {}).tz || 'America/Sao_Paulo';

  function range() {
    return view.mode === 'day' ? { from: view.date, to: view.date } : { from: view.date, to: addDays(view.date, 6) };
  }

  function syncToolbar() {
    dateInput.value = view.date;
    for (const [b, mode] of /** @type {Array<[HTMLButtonElement, string]>} */ ([[dayButton, 'day'], [weekButton, 'week']])) {
      b.setAttribute('aria-pressed', String(view.mode === mode));
      b.classList.toggle('btn-primary', view.mode === mode);
      b.classList.toggle('btn-secondary', view.mode !== mode);
    }
    prevButton.textContent = view.mode === 'day' ? '◀ Dia anterior' : '◀ 7 dias antes';
    nextButton.textContent = view.mode === 'day' ? 'Próximo dia ▶' : '7 dias depois ▶';
    const { from, to } = range();
    rangeHeading.textContent = view.mode === 'day' ? longDate(from) : `De ${fullDate(from)} a ${fullDate(to)}`;
    replaceHash(`#/minha-agenda${qs({ data: view.date, modo: view.mode === 'day' ? 'dia' : null })}`);
  }

  function go(change) {
    Object.assign(view, change);
    syncToolbar();
    reload();
  }
  prevButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'day' ? -1 : -7) }));
  nextButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'day' ? 1 : 7) }));
  todayButton.addEventListener('click', () => go({ date: todayIn(clinics[0].tz) }));
  dateInput.addEventListener('change', () => {
    if (isYmd(dateInput.value)) go({ date: dateInput.value });
  });
  dayButton.addEventListener('click', () => go({ mode: 'day' }));
  weekButton.addEventListener('click', () => go({ mode: 'week' }));

  function apply(a) {
    if (!a || a.professional_user_id !== me.id) return;
    const clinic = clinicOf(a.clinic_id);
    byId.set(a.id, { clinic_name: clinic ? clinic.name : '', ...byId.get(a.id), ...a });
  }

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    list.setAttribute('aria-busy', 'true');
    const { from, to } = range();
    try {
      const rows = await api.get(`/api/me/agenda${qs({ from, to })}`);
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of Array.isArray(rows) ? rows : []) apply(a);
      for (const a of buffered) apply(a);
      buffered = [];
      clear(errorArea);
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      clear(errorArea).append(alertNode(agendaError(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reload }));
    } finally {
      if (mine === seq) {
        loading = false;
        list.removeAttribute('aria-busy');
      }
    }
    if (mine === seq && ctx.isCurrent()) render();
  }

  function render() {
    const { from, to } = range();
    // The server pads the range (it does not know each clinic's zone): filter here.
    const items = [...byId.values()]
      .map((a) => ({ a, date: localDate(a.starts_at, tzOf(a.clinic_id)) }))
      .filter((x) => x.date >= from && x.date <= to)
      .sort((x, y) => byStart(x.a, y.a));
    clear(list);
    const days = view.mode === 'day' ? [from] : Array.from({ length: daysBetween(from, to) + 1 }, (_, i) => addDays(from, i));
    let any = false;
    for (const day of days) {
      const todays = items.filter((x) => x.date === day);
      if (!todays.length && view.mode !== 'day') continue;
      any = true;
      const section = h('section', { class: 'panel ag-day', 'aria-label': mediumDate(day), dataset: { date: day } },
        h('h3', { class: 'ag-day-title', text: view.mode === 'day' ? 'Consultas do dia' : mediumDate(day) }));
      if (!todays.length) section.append(h('p', { class: 'empty', text: 'Nenhuma consulta neste dia.' }));
      else section.append(h('ul', { class: 'card-list ag-my-items' }, todays.map(({ a }) => myItem(a))));
      list.append(section);
    }
    if (!any) list.append(h('p', { class: 'empty', text: 'Nenhuma consulta nestes dias.' }));
  }

  function myItem(a) {
    const tz = tzOf(a.clinic_id);
    const button = h('button', {
      type: 'button',
      class: `ag-my-item ag-st-${a.status}`,
      'aria-haspopup': 'dialog',
      dataset: { id: a.id, status: a.status },
    },
    h('span', { class: 'ag-my-time', text: `${timeIn(a.starts_at, tz)}–${timeIn(a.ends_at, tz)}` }),
    h('span', { class: 'ag-my-main' },
      h('span', { class: 'card-title', text: a.patient_name || 'Paciente' }),
      h('span', { class: 'card-meta' },
        a.service_name ? h('span', { text: a.service_name }) : null,
        a.kind === 'teleconsultation' ? teleBadge() : null)),
    h('span', { class: 'ag-my-badges' },
      h('span', { class: 'badge ag-clinic-badge', text: a.clinic_name || (clinicOf(a.clinic_id) || {}).name || '' }),
      h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })));
    button.addEventListener('click', async () => {
      const clinic = clinicOf(a.clinic_id);
      const setup = { clinicId: a.clinic_id, tz, services: [] };
      openDialog = openAppointmentDialog(root, button, setup, byId.get(a.id) || a, (updated) => {
        apply(updated);
        render();
      }, {
        clinicName: clinic ? clinic.name : a.clinic_name,
        patientLink: `#/clinica/${seg(a.clinic_id)}/paciente/${seg(a.patient_id)}`,
        meId: me.id,
      });
    });
    return h('li', null, button);
  }

  function liveState() {
    const joined = handles.length && handles.every((x) => x.joined);
    liveStatus.textContent = liveText('ready', joined);
    root.dataset.live = joined ? 'true' : 'false';
  }

  (async () => {
    await Promise.all(clinics.map(async (c) => {
      try {
        const info = await api.get(`/api/clinics/${seg(c.id)}`);
        if (info && info.time_zone) c.tz = info.time_zone;
      } catch {
        // keep the default zone
      }
    }));
    if (!ctx.isCurrent()) return;
    if (!view.date) view.date = todayIn(clinics[0].tz);
    syncToolbar();
    for (const c of clinics) {
      const handle = realtime.join(`clinic:${c.id}:agenda`, {
        events: {
          'agenda.updated': (payload) => {
            const a = payload && payload.appointment;
            if (!a) return;
            if (loading) {
              buffered.push(a);
              return;
            }
            apply(a);
            render();
            if (openDialog && openDialog.open) openDialog.update(a);
          },
        },
        onJoin: () => {
          reload();
          liveState();
        },
        onStatus: liveState,
        onError: () => liveState(),
      });
      handles.push(handle);
      ctx.onCleanup(() => handle.leave());
    }
    reload();
  })();

  return root;
}
