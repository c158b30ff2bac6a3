// @ts-check
// The waitlist ("Lista de espera"): patients waiting for a freed slot.
//
//   POST /api/clinics/{c}/waitlist               {patient_id? (staff), professional_user_id?,
//                                                 service_id?, date_from, date_to, time_from?, time_to?}
//   GET  /api/clinics/{c}/waitlist               staff: entries waiting or holding an offer
//   GET  /api/me/waitlist                        a patient's entries, every status
//   POST /api/clinics/{c}/waitlist/{id}/cancel   staff or the entry's patient; `waiting` only
//   POST /api/me/waitlist/offers/{id}/accept|decline
//
// When a slot frees, the first matching waiting patient gets an offer: the slot is held for
// them (an appointment in status `held`, with `hold_expires_at`) and `waitlist.offer` is
// pushed on their `user:<id>` topic. Declining or letting it lapse hands it to the next one.
//
// This module has what the three screens share (periods, labels, errors, the join form of
// the booking page) and the clinic's waitlist drawer of the staff agenda. The patient's side
// lives in views/my-appointments.js.

import { api, ApiError, seg } from '../api.js';
import { h, alertNode, clear, errorMessage, loadingNode, sentence, uid } from '../ui.js';
import {
  addDays, agendaError, daysBetween, fullDate, isYmd, localDate, servicesFor, shortDate, timeIn,
  todayIn, whenText,
} from '../agenda-util.js';
import { errorBox, labeled, modal, patientSearch } from './agenda-parts.js';

/** Preferred periods of the day: [key, label, time_from, time_to]. */
export const PERIODS = [
  ['morning', 'Manhã', '07:00', '12:00'],
  ['afternoon', 'Tarde', '12:00', '18:00'],
  ['evening', 'Noite', '18:00', '22:00'],
  ['any', 'Qualquer horário', null, null],
];

/** The longest window the server accepts (date_to − date_from, in days). */
export const MAX_WINDOW_DAYS = 90;

function hourText(hm) {
  const [hh, mm] = String(hm).split(':');
  return mm === '00' ? `${Number(hh)}h` : `${Number(hh)}h${mm}`;
}

/** "Manhã (7h–12h)", "Qualquer horário", "das 9h às 11h30". */
export function periodText(timeFrom, timeTo) {
  const from = timeFrom || '00:00';
  const to = timeTo || '24:00';
  if (from === '00:00' && to === '24:00') return 'Qualquer horário';
  const known = PERIODS.find(([, , f, t]) => f === from && t === to);
  if (known) return `${known[1]} (${hourText(from)}–${hourText(to)})`;
  return `das ${hourText(from)} às ${hourText(to)}`;
}

/** "24/11" or "de 24/11 a 30/11" (with the year when it is not this one). */
export function datesText(from, to) {
  const year = String(new Date().getFullYear());
  const fmt = (d) => (d.startsWith(year) ? shortDate(d) : fullDate(d));
  return from === to ? fmt(from) : `de ${fmt(from)} a ${fmt(to)}`;
}

/** "de 24/11 a 30/11 · Manhã (7h–12h)" */
export function windowText(e) {
  return `${datesText(e.date_from, e.date_to)} · ${periodText(e.time_from, e.time_to)}`;
}

export const WAITLIST_STATUS = {
  waiting: 'Aguardando vaga',
  offered: 'Horário oferecido',
  booked: 'Agendado',
  declined: 'Recusado',
  expired: 'Prazo encerrado',
  cancelled: 'Saiu da lista',
};

export function waitlistStatusBadge(status) {
  const tone = { waiting: 'badge-muted', offered: 'badge-warn', booked: 'badge-ok' }[status] || 'badge-muted';
  return h('span', { class: `badge ${tone} wl-status`, dataset: { status }, text: WAITLIST_STATUS[status] || status });
}

/** "14:32" (or "1:02:03") until `iso`; null once it passed. */
export function remainingText(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (!(ms > 0)) return null;
  const total = Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

const MESSAGES = {
  not_a_professional: 'Esse profissional não atende nesta clínica.',
  invalid_service: 'Esse serviço não está mais disponível.',
  patient_not_registered: 'Paciente não cadastrado nesta clínica.',
  offer_closed: 'Esta oferta já foi encerrada: o horário foi aceito, recusado ou o prazo terminou.',
  offer_expired: 'O prazo para aceitar este horário terminou.',
  invalid_transition: 'Esta entrada não está mais aguardando vaga (um horário pode ter acabado de ser oferecido).',
  not_found: 'Esta entrada da lista de espera não existe mais.',
  forbidden: 'Só pacientes entram na lista de espera por aqui.',
};

/** pt-BR message for a waitlist API error. */
export function waitlistError(err) {
  if (err instanceof ApiError) {
    if (err.code === 'invalid_waitlist') return sentence(err.message);
    if (Object.hasOwn(MESSAGES, err.code)) return MESSAGES[err.code];
    if (err.status === 403) return MESSAGES.forbidden;
  }
  return agendaError(err);
}

/** Check a window before sending it; a message, or null when it is fine. */
export function windowProblem(from, to, today) {
  if (!isYmd(from) || !isYmd(to)) return 'Informe as duas datas.';
  if (from < today) return 'A primeira data não pode ser no passado.';
  if (to < from) return 'A data final deve ser igual ou depois da inicial.';
  if (daysBetween(from, to) > MAX_WINDOW_DAYS) return `O período pode ter até ${MAX_WINDOW_DAYS} dias.`;
  return null;
}

function periodTimes(key) {
  const p = PERIODS.find(([k]) => k === key) || PERIODS[PERIODS.length - 1];
  return p[2] ? { time_from: p[2], time_to: p[3] } : {};
}

// ------------------------------------------------- booking page (patient) ---

/**
 * "Entrar na lista de espera" on the public booking page, for a logged-in patient.
 * opts: clinicId, tz, proId, serviceId, date (first day), onJoined(entry).
 * Returns the form element.
 */
export function waitlistJoinForm({ clinicId, tz, proId, serviceId, date, onJoined }) {
  const id = uid('wl-join');
  const today = todayIn(tz);
  const first = date && date >= today ? date : today;
  const fromInput = h('input', { id: `${id}-from`, type: 'date', name: 'date_from', min: today, value: first, required: true });
  const toInput = h('input', {
    id: `${id}-to`, type: 'date', name: 'date_to', min: today, value: addDays(first, 6), required: true,
  });
  fromInput.addEventListener('change', () => {
    if (isYmd(fromInput.value)) {
      toInput.min = fromInput.value;
      toInput.max = addDays(fromInput.value, MAX_WINDOW_DAYS);
      if (!isYmd(toInput.value) || toInput.value < fromInput.value) toInput.value = fromInput.value;
    }
  });
  toInput.max = addDays(first, MAX_WINDOW_DAYS);
  const periods = h('div', { class: 'bk-options wl-periods' }, PERIODS.map(([key, label, from, to]) => {
    const inputId = `${id}-period-${key}`;
    return h('div', { class: 'bk-option' },
      h('input', { type: 'radio', id: inputId, name: `${id}-period`, value: key, checked: key === 'any' }),
      h('label', { for: inputId },
        h('span', { class: 'bk-option-title', text: label }),
        from ? h('span', { class: 'bk-option-meta', text: `${hourText(from)} às ${hourText(to)}` }) : null));
  }));
  const errors = errorBox();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Entrar na lista de espera' });
  const form = h('form', { class: 'form wl-join-form', novalidate: true, 'aria-label': 'Entrar na lista de espera' },
    errors.node,
    h('div', { class: 'wl-dates' },
      labeled('A partir de', fromInput),
      labeled('Até', toInput)),
    h('fieldset', { class: 'bk-kind wl-period-field' },
      h('legend', { text: 'Período preferido' }),
      periods),
    h('div', { class: 'form-actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    errors.clear();
    const problemText = windowProblem(fromInput.value, toInput.value, todayIn(tz));
    if (problemText) {
      errors.show(problemText);
      (isYmd(fromInput.value) && fromInput.value >= todayIn(tz) ? toInput : fromInput).focus();
      return;
    }
    const period = /** @type {HTMLInputElement|null} */ (form.querySelector(`input[name="${id}-period"]:checked`));
    /** @type {Record<string, string>} */
    const body = {
      professional_user_id: proId,
      date_from: fromInput.value,
      date_to: toInput.value,
      ...periodTimes(period ? period.value : 'any'),
    };
    if (serviceId) body.service_id = serviceId;
    submit.disabled = true;
    submit.textContent = 'Enviando…';
    try {
      const res = await api.post(`/api/clinics/${seg(clinicId)}/waitlist`, body);
      onJoined({ ...body, ...res });
    } catch (err) {
      errors.show(waitlistError(err));
      errors.node.setAttribute('tabindex', '-1');
      errors.node.focus();
      submit.disabled = false;
      submit.textContent = 'Entrar na lista de espera';
    }
  });
  return form;
}

// --------------------------------------------------------- staff drawer ---

/**
 * A clinic's waitlist for the staff agenda, kept fresh: `refresh()` after changes,
 * `refreshSoon()` after agenda pushes (an offer changes entries, and the server pushes no
 * waitlist event to the clinic), and every minute (a patient joining is not pushed either).
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 */
export function clinicWaitlist(ctx, clinicId) {
  let entries = [];
  let error = null;
  let loaded = false;
  let seq = 0;
  let timer = 0;
  const listeners = new Set();

  async function refresh() {
    seq += 1;
    const mine = seq;
    try {
      const list = await api.get(`/api/clinics/${seg(clinicId)}/waitlist`);
      if (mine !== seq || !ctx.isCurrent()) return;
      entries = Array.isArray(list) ? list : [];
      error = null;
      loaded = true;
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      error = err;
    }
    for (const fn of [...listeners]) fn();
  }

  function refreshSoon(delay = 400) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  const poll = setInterval(refresh, 60_000);
  ctx.onCleanup(() => {
    clearInterval(poll);
    clearTimeout(timer);
    listeners.clear();
  });

  return {
    refresh,
    refreshSoon,
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    get entries() {
      return entries;
    },
    get error() {
      return error;
    },
    get loaded() {
      return loaded;
    },
  };
}

/**
 * The "Lista de espera" drawer of the clinic agenda. `setup`: {clinicId, tz, pros, services};
 * `store`: clinicWaitlist(); `opts.date`: the agenda's date (the add form's first day);
 * `opts.appointment(id)`: a loaded appointment (the held slot of an offer), if any.
 */
/**
 * @param {HTMLElement} host
 * @param {HTMLElement|null} opener
 * @param {{clinicId: string, tz: string, pros: object[], services: import('../types.js').Service[]}} setup
 * @param {object} store
 * @param {{date?: string|null, appointment?: (id: string) => import('../types.js').Appointment|null}} [opts]
 */
export function openWaitlistDrawer(host, opener, setup, store, { date = null, appointment = () => null } = {}) {
  const { clinicId, tz, pros, services } = setup;
  const dlg = modal('Lista de espera', 'ag-drawer wl-drawer');
  const status = h('p', { class: 'form-status', role: 'status' });
  const listBox = h('div', { class: 'wl-list', 'aria-live': 'polite' });
  const listErrors = errorBox();
  const proName = (pid) => (pros.find((p) => p.user_id === pid) || {}).name || null;
  const serviceName = (sid) => (services.find((s) => s.id === sid) || {}).name || null;

  // ----- add a patient
  const id = uid('wl-add');
  const patientField = patientSearch(clinicId, `${id}-patient`, { onChosen: () => proSelect.focus() });
  const proSelect = h('select', { id: `${id}-pro`, name: 'professional_user_id' },
    h('option', { value: '', text: 'Qualquer profissional' }),
    pros.map((p) => h('option', { value: p.user_id, text: p.name })));
  const serviceSelect = h('select', { id: `${id}-service`, name: 'service_id' });
  const today = todayIn(tz);
  const first = date && date >= today ? date : today;
  const fromInput = h('input', { id: `${id}-from`, type: 'date', name: 'date_from', min: today, value: first });
  const toInput = h('input', { id: `${id}-to`, type: 'date', name: 'date_to', min: today, value: addDays(first, 6) });
  const periodSelect = h('select', { id: `${id}-period`, name: 'period' },
    PERIODS.map(([key, label, from, to]) => h('option', {
      value: key, text: from ? `${label} (${hourText(from)}–${hourText(to)})` : label, selected: key === 'any',
    })));
  const addErrors = errorBox();
  const addSubmit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Adicionar à lista' });
  patientField.searchWrap.classList.add('field-wide');
  patientField.chosenBox.classList.add('field-wide');
  const addForm = h('form', { class: 'form form-grid wl-add-form', novalidate: true, 'aria-label': 'Adicionar paciente à lista de espera' },
    addErrors.node,
    h('div', { class: 'form-fields' },
      patientField.searchWrap, patientField.chosenBox,
      labeled('Profissional', proSelect),
      labeled('Serviço', serviceSelect),
      labeled('A partir de', fromInput),
      labeled('Até', toInput),
      labeled('Período preferido', periodSelect, { wide: true })),
    h('div', { class: 'form-actions' }, addSubmit));
  const addBox = h('details', { class: 'disclosure wl-add' },
    h('summary', { text: 'Adicionar paciente à lista' }),
    h('div', { class: 'disclosure-body' }, addForm));

  function fillServices() {
    const keep = serviceSelect.value;
    const list = proSelect.value
      ? servicesFor(services, proSelect.value)
      : services.filter((s) => s.active !== false).sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
    serviceSelect.replaceChildren(
      h('option', { value: '', text: 'Qualquer serviço' }),
      ...list.map((s) => h('option', { value: s.id, text: s.name })));
    if (keep && list.some((s) => s.id === keep)) serviceSelect.value = keep;
  }
  proSelect.addEventListener('change', fillServices);
  fromInput.addEventListener('change', () => {
    if (isYmd(fromInput.value) && (!isYmd(toInput.value) || toInput.value < fromInput.value)) toInput.value = fromInput.value;
  });
  fillServices();

  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (addSubmit.disabled) return;
    addErrors.clear();
    status.textContent = '';
    const patient = patientField.value;
    if (!patient) {
      addErrors.show('Escolha o paciente.');
      patientField.focus();
      return;
    }
    if (!proSelect.value && !serviceSelect.value) {
      addErrors.show('Escolha o profissional ou o serviço.');
      proSelect.focus();
      return;
    }
    const problemText = windowProblem(fromInput.value, toInput.value, todayIn(tz));
    if (problemText) {
      addErrors.show(problemText);
      fromInput.focus();
      return;
    }
    /** @type {Record<string, string>} */
    const body = {
      patient_id: patient.id,
      date_from: fromInput.value,
      date_to: toInput.value,
      ...periodTimes(periodSelect.value),
    };
    if (proSelect.value) body.professional_user_id = proSelect.value;
    if (serviceSelect.value) body.service_id = serviceSelect.value;
    addSubmit.disabled = true;
    addSubmit.textContent = 'Adicionando…';
    try {
      await api.post(`/api/clinics/${seg(clinicId)}/waitlist`, body);
      status.textContent = `${patient.social_name || patient.full_name} entrou na lista de espera.`;
      patientField.reset();
      await store.refresh();
      patientField.focus();
    } catch (err) {
      addErrors.show(waitlistError(err));
    } finally {
      addSubmit.disabled = false;
      addSubmit.textContent = 'Adicionar à lista';
    }
  });

  // ----- the list
  /** Entry id whose removal is being confirmed. */
  let confirming = null;

  function when(iso) {
    return `${shortDate(localDate(iso, tz))} às ${timeIn(iso, tz)}`;
  }

  function entryItem(e) {
    const what = [
      e.professional_user_id ? (proName(e.professional_user_id) || 'Profissional') : 'Qualquer profissional',
      e.service_id ? serviceName(e.service_id) : null,
    ].filter(Boolean).join(' · ');
    const li = h('li', { class: `card wl-item wl-item-${e.status}`, dataset: { id: e.id, status: e.status } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title wl-name', text: e.patient_name || 'Paciente' }),
        waitlistStatusBadge(e.status)),
      h('span', { class: 'card-meta' },
        h('span', { class: 'wl-what', text: what }),
        h('span', { class: 'wl-window', text: windowText(e) })));
    if (e.offer) {
      const held = e.offer.appointment_id ? appointment(e.offer.appointment_id) : null;
      const left = remainingText(e.offer.expires_at);
      li.append(h('p', { class: 'wl-offer-line' },
        held ? [h('strong', { text: `Horário reservado: ${whenText(held.starts_at, tz)}` }), ' · '] : null,
        `Responder até ${timeIn(e.offer.expires_at, tz)} `,
        h('span', { class: 'wl-countdown', dataset: { expires: e.offer.expires_at }, text: left ? `(faltam ${left})` : '(prazo encerrado)' })));
    }
    li.append(h('p', { class: 'muted small wl-since', text: `Na lista desde ${when(e.created_at)}` }));
    if (e.status === 'waiting') {
      if (confirming === e.id) {
        const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, remover', dataset: { action: 'remove-yes' } });
        yes.addEventListener('click', () => remove(e, yes));
        li.append(h('div', { class: 'wl-confirm', role: 'group', 'aria-label': 'Confirmar remoção' },
          h('span', { text: `Remover ${e.patient_name || 'o paciente'} da lista?` }),
          yes,
          h('button', {
            type: 'button', class: 'btn btn-secondary btn-small', text: 'Voltar', dataset: { action: 'remove-no' },
            onclick: () => {
              confirming = null;
              render({ focus: [e.id, 'remove'] });
            },
          })));
      } else {
        li.append(h('div', { class: 'queue-actions wl-actions' }, h('button', {
          type: 'button', class: 'btn btn-secondary btn-small ag-action-danger', text: 'Remover',
          'aria-label': `Remover ${e.patient_name || 'paciente'} da lista de espera`,
          dataset: { action: 'remove' },
          onclick: () => {
            confirming = e.id;
            render({ focus: [e.id, 'remove-yes'] });
          },
        })));
      }
    }
    return li;
  }

  async function remove(e, button) {
    button.disabled = true;
    listErrors.clear();
    try {
      await api.post(`/api/clinics/${seg(clinicId)}/waitlist/${seg(e.id)}/cancel`);
      confirming = null;
      status.textContent = `${e.patient_name || 'Paciente'} saiu da lista de espera.`;
    } catch (err) {
      listErrors.show(waitlistError(err));
      confirming = null;
    }
    await store.refresh();
  }

  function render({ focus = null } = {}) {
    // Keep the focus on the same entry's button across re-renders.
    let keep = focus;
    const active = /** @type {HTMLElement|null} */ (document.activeElement);
    if (!keep && active && listBox.contains(active) && active.dataset.action) {
      const li = /** @type {HTMLElement|null} */ (active.closest('[data-id]'));
      if (li) keep = [li.dataset.id, active.dataset.action];
    }
    clear(listBox);
    if (!store.loaded && !store.error) {
      listBox.append(loadingNode());
      return;
    }
    if (store.error) listBox.append(alertNode(errorMessage(store.error)));
    const entries = store.entries;
    if (confirming && !entries.some((e) => e.id === confirming && e.status === 'waiting')) confirming = null;
    const offered = entries.filter((e) => e.status === 'offered').length;
    listBox.append(h('p', { class: 'muted small wl-count', text: entries.length
      ? `${entries.length} ${entries.length === 1 ? 'paciente' : 'pacientes'} na lista${offered ? `, ${offered} com horário oferecido` : ''}. Ordem de chegada.`
      : 'Ninguém na lista de espera.' }));
    if (entries.length) listBox.append(h('ol', { class: 'card-list wl-items' }, entries.map(entryItem)));
    if (keep) {
      const target = /** @type {HTMLElement|null} */ (listBox.querySelector(`[data-id="${keep[0]}"] [data-action="${keep[1]}"]`));
      if (target) target.focus();
    }
  }

  function tick() {
    for (const node of /** @type {NodeListOf<HTMLElement>} */ (listBox.querySelectorAll('.wl-countdown[data-expires]'))) {
      const left = remainingText(node.dataset.expires);
      node.textContent = left ? `(faltam ${left})` : '(prazo encerrado)';
    }
  }

  const off = store.on(() => render());
  const timer = setInterval(tick, 1000);
  dlg.onClose(() => {
    off();
    clearInterval(timer);
  });

  dlg.body.append(
    h('p', { class: 'muted small', text: 'Quando um horário vaga, ele fica reservado para o primeiro paciente da lista que combina com ele, que tem alguns minutos para aceitar; sem resposta, passa para o próximo.' }),
    addBox, status, listErrors.node, listBox);
  render();
  dlg.open(host, opener);
  store.refresh();
  return dlg;
}
