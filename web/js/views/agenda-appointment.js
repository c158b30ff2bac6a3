// @ts-check
// Agenda: one appointment's dialog (staff and "Minha agenda") — its details, the actions its
// status allows (confirmar, check-in, iniciar, concluir, faltou), "Remarcar" with a new free
// slot and "Cancelar" with a reason; the professional's own teleconsultation opens from here.

import { text, whenPhrase } from '../messages.js';
import { api, qs, seg } from '../api.js';
import { h, clear, uid } from '../ui.js';
import {
  agendaError, durationText, hhmm, isCode, isYmd, KIND_LABELS, localDate, minutesBetween,
  parseHhmm, sessionSet, statusLabel, timeIn, whenText, zonedToUtc,
} from '../agenda-util.js';
import { cashPrefillKey } from './cash.js';
import { errorBox, labeled, modal, slotPicker, teleBadge } from './agenda-parts.js';

/** @typedef {import('./agenda-parts.js').AgendaSetup} AgendaSetup */
/** @typedef {import('../types.js').Appointment} Appointment */

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

/**
 * Details and actions of one appointment (staff). `setup`: {clinicId, tz, services};
 * `onChanged(appointment)` after every change. `patientLink`: href of the patient's record.
 * `meId`: the viewer's user id (their own teleconsultations get "Abrir teleconsulta").
 * Returns {update(appointment), open, id} (`update`: a push changed it while the dialog is open).
 * @param {HTMLElement} host where the dialog goes
 * @param {HTMLElement|null} opener focus goes back there
 * @param {{clinicId: string, tz: string, services?: import('../types.js').Service[]}} setup
 * @param {Appointment} appt
 * @param {(appointment: Appointment) => void} onChanged
 * `cashHref`: the front desk's cash register with this appointment to charge ("Receber no
 * caixa"), for the roles that work it.
 * @param {{patientLink?: string|null, clinicName?: string|null, meId?: string|null, cashHref?: string|null}} [opts]
 */
export function openAppointmentDialog(host, opener, setup, appt, onChanged, { patientLink = null, clinicName = null, meId = null, cashHref = null } = {}) {
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

  /** "Receber no caixa": the desk takes this appointment's payment (not once it is paid). */
  function cashLink(a) {
    if (!cashHref || ['held', 'cancelled', 'no_show'].includes(a.status) || a.payment_status === 'paid') return null;
    return h('p', { class: 'ag-cash-open' }, h('a', {
      class: 'btn btn-secondary btn-small',
      href: cashHref,
      text: 'Receber no caixa',
      dataset: { action: 'cash' },
      onclick: () => sessionSet(cashPrefillKey(a.id), `Consulta de ${a.patient_name || 'paciente'} — ${whenText(a.starts_at, tz)}`),
    }));
  }

  function render() {
    errors.clear();
    dlg.setTitle(`Consulta — ${current.patient_name || 'Paciente'}`);
    if (pane === 'details') {
      clear(content).append(details(current), teleconsultLink(current) || '', actionBar(current), cashLink(current) || '');
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
      h('p', null, `Cancelar a consulta de ${text(current.patient_name) || 'paciente'} de ${whenPhrase(current.starts_at, tz)}?`),
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
      h('p', null, `Remarcar a consulta de ${text(current.patient_name) || 'paciente'} (marcada para ${whenPhrase(current.starts_at, tz)}). A duração continua ${durationText(mins)}.`),
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
