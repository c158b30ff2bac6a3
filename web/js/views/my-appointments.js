// @ts-check
// "Minhas consultas" (#/minhas-consultas): a patient's upcoming and past appointments,
// with cancel (reason required) and reschedule into a free slot of the same professional.
//
//   GET /api/me/appointments                          newest first, every clinic
//   POST /api/clinics/{c}/appointments/{id}/cancel     {reason}
//   POST /api/clinics/{c}/appointments/{id}/reschedule {starts_at}
//   GET /api/public/clinics/{c}/booking | slots         the clinic's zone and free slots
//
// A teleconsultation still ahead has "Entrar na teleconsulta": GET /api/consults/{id} gives
// its `patient_link`, the same page (#/consulta/{token}, views/consult.js) as the link sent.
//
// Live: the patient's `user:<id>` topic pushes `appointment.updated {appointment}` when the
// clinic confirms, moves or cancels one (and after the patient's own changes).
//
// Waitlist ("Lista de espera", views/waitlist.js):
//   GET /api/me/waitlist                              entries in every status, open offer
//   POST /api/clinics/{c}/waitlist/{id}/cancel         leave the list (waiting only)
//   POST /api/me/waitlist/offers/{id}/accept|decline   answer an offer
// A freed slot held for the patient arrives live as `waitlist.offer {offer_id, expires_at,
// appointment, links}` on `user:<id>` and is shown at the top with a countdown and
// Aceitar/Recusar. The held appointment (status `held`) is not in /api/me/appointments nor
// in the waitlist answer (only its id is), so the offers' appointments seen in pushes are
// kept in sessionStorage to show the time again after a reload.

import { api, qs, seg } from '../api.js';
import { joinWithStatus } from '../live-list.js';
import { h, alertNode, clear, errorMessage, loadingNode, uid } from '../ui.js';
import {
  KIND_LABELS, addDays, agendaError, durationText, isCode, isOpen, isYmd, localDate, longDate,
  minutesBetween, sessionGet, sessionSet, shortDate, statusLabel, timeIn, todayIn, weekdayShort,
  whenText,
} from '../agenda-util.js';
import { remainingText, waitlistError, waitlistStatusBadge, windowText } from './waitlist.js';
import { pixPayment } from './payment.js';
import {
  capitalize, clinicName as clinicTitle, professionalLine, professionalName, text, whenPhrase,
} from '../messages.js';

/** The professional of an appointment as the catalog names them ("Dra. Helena Duarte"). */
function apptProName(a) {
  return professionalName({ name: a.professional_name, profession: a.professional_profession, gender: a.professional_gender });
}

/** "Dra. Helena Duarte, Médica". */
function apptProLine(a) {
  return professionalLine({ name: a.professional_name, profession: a.professional_profession, gender: a.professional_gender });
}

/** Appointment statuses whose teleconsultation can still be entered. */
const TELE_OPEN = new Set(['scheduled', 'confirmed', 'checked_in', 'in_progress']);

/** sessionStorage: appointment id → the held appointment of an offer (from pushes). */
const OFFERS_KEY = 'atende.waitlist.offers';

function readOfferCache() {
  try {
    const data = JSON.parse(sessionGet(OFFERS_KEY) || '{}');
    return new Map(Object.entries(data && typeof data === 'object' ? data : {}));
  } catch {
    return new Map();
  }
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 */
export function renderMyAppointments(ctx, me) {
  document.title = 'Minhas consultas — atende';
  const live = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const errorArea = h('div');
  const upcomingBox = h('div', { class: 'ma-list' }, loadingNode());
  const pastBox = h('div', { class: 'ma-list' });
  const bookBox = h('div', { class: 'ma-book' });
  const offerNotice = h('div', { class: 'wl-offer-notice', role: 'status' });
  const offerBox = h('section', {
    class: 'panel wl-offer-panel', 'aria-labelledby': 'ma-offer-heading', hidden: true, dataset: { waitlist: 'offers' },
  });
  const waitBox = h('div', { class: 'wl-mine' }, loadingNode());
  const root = h('div', { class: 'view view-medium ma-view', dataset: { view: 'my-appointments', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Minhas consultas' }), live),
    announce, errorArea, offerNotice, offerBox,
    h('section', { class: 'panel', 'aria-labelledby': 'ma-upcoming' },
      h('h2', { id: 'ma-upcoming', text: 'Próximas' }), upcomingBox, bookBox),
    h('section', { class: 'panel', 'aria-labelledby': 'ma-waitlist', dataset: { waitlist: 'mine' } },
      h('h2', { id: 'ma-waitlist', text: 'Lista de espera' }), waitBox),
    h('section', { class: 'panel', 'aria-labelledby': 'ma-past' },
      h('h2', { id: 'ma-past', text: 'Anteriores e canceladas' }), pastBox));

  const byId = new Map();
  /** appointment id → its payment panel (kept across renders; updated by pushes) */
  const payments = new Map();
  /** clinic_id → public booking info {clinic_name, time_zone, professionals, services} */
  const infos = new Map();
  /** id of the appointment whose form is open → 'cancel' | 'reschedule' */
  const openForm = { id: null, kind: null };
  let loading = true;
  let buffered = [];
  let seq = 0;

  const tzOf = (clinicId) => (infos.get(clinicId) || {}).time_zone || 'America/Sao_Paulo';

  /** Time zones and names of the clinics of `list` (appointments or waitlist entries). */
  async function zonesFor(list) {
    const missing = [...new Set(list.filter(Boolean).map((a) => a.clinic_id))].filter((c) => c && !infos.has(c));
    await Promise.all(missing.map(async (c) => {
      try {
        const info = await api.get(`/api/public/clinics/${seg(c)}/booking`);
        infos.set(c, info || {});
      } catch {
        infos.set(c, {});
      }
    }));
  }

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    try {
      const list = await api.get('/api/me/appointments');
      const rows = Array.isArray(list) ? list : [];
      await zonesFor(rows);
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of rows) byId.set(a.id, a);
      for (const a of buffered) byId.set(a.id, { ...byId.get(a.id), ...a });
      buffered = [];
      clear(errorArea);
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      clear(errorArea).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reload }));
    } finally {
      if (mine === seq) loading = false;
    }
    if (mine === seq && ctx.isCurrent()) render();
  }

  async function apply(a, { fromPush = false } = {}) {
    if (!a || !a.id) return;
    const before = byId.get(a.id);
    await zonesFor([a]);
    byId.set(a.id, { ...before, ...a });
    if (fromPush && before && before.status !== a.status) {
      announce.textContent = `Sua consulta de ${whenPhrase(a.starts_at, tzOf(a.clinic_id))}: ${statusLabel(a.status)}.`;
    } else if (fromPush && before && before.starts_at !== a.starts_at) {
      announce.textContent = `Sua consulta foi remarcada para ${whenPhrase(a.starts_at, tzOf(a.clinic_id))}.`;
    }
    if (ctx.isCurrent()) render();
  }

  function render() {
    const now = Date.now();
    // A held slot is an offer (shown above), not an appointment yet.
    const all = [...byId.values()].filter((a) => a.status !== 'held');
    const upcoming = all.filter((a) => Date.parse(a.ends_at) > now && a.status !== 'cancelled' && a.status !== 'no_show' && a.status !== 'done')
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    const past = all.filter((a) => !upcoming.includes(a))
      .sort((a, b) => Date.parse(b.starts_at) - Date.parse(a.starts_at));
    clear(upcomingBox).append(upcoming.length
      ? h('ul', { class: 'card-list ma-items' }, upcoming.map(item))
      : h('p', { class: 'empty', text: 'Você não tem consultas marcadas.' }));
    clear(pastBox).append(past.length
      ? h('ul', { class: 'card-list ma-items' }, past.map(item))
      : h('p', { class: 'empty', text: 'Nenhuma consulta anterior.' }));
    // Book again at the clinics the patient already knows.
    const clinics = new Map();
    for (const a of all) if (!clinics.has(a.clinic_id)) clinics.set(a.clinic_id, clinicTitle(a.clinic_name));
    clear(bookBox).append(h('p', null,
      h('a', { class: 'btn btn-primary', href: '#/agendar', dataset: { action: 'book' }, text: 'Agendar consulta' })));
    if (clinics.size) {
      bookBox.append(h('p', { class: 'ma-book-links' }, 'Ou de novo em: ',
        [...clinics].map(([id, name], i) => [i ? ' · ' : '', h('a', { href: `#/agendar/${seg(id)}`, text: name })])));
    }
  }

  function item(a) {
    const tz = tzOf(a.clinic_id);
    const mins = minutesBetween(a.starts_at, a.ends_at);
    const changeable = isOpen(a.status) && Date.parse(a.starts_at) > Date.now();
    const li = h('li', { class: `card ma-item ag-st-border-${a.status}`, dataset: { id: a.id, status: a.status } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title ma-when', text: capitalize(whenPhrase(a.starts_at, tz)) }),
        h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })),
      h('span', { class: 'card-meta' },
        h('span', { class: 'ma-pro', text: apptProLine(a) }),
        h('span', { text: `${text(a.service_name) || 'Consulta'} · ${durationText(mins)}` }),
        h('span', { text: clinicTitle(a.clinic_name) }),
        a.kind === 'teleconsultation' ? h('span', { class: 'badge ag-tele-badge', text: KIND_LABELS.teleconsultation }) : null),
      a.cancel_reason ? h('p', { class: 'muted small ma-reason', text: `Motivo do cancelamento: ${a.cancel_reason}` }) : null);
    if (a.kind === 'teleconsultation' && TELE_OPEN.has(a.status) && Date.parse(a.ends_at) > Date.now()) {
      li.append(teleconsultEntry(a, tz));
    }
    if (a.status !== 'cancelled' && a.status !== 'no_show') {
      let panel = payments.get(a.id);
      if (!panel) {
        panel = pixPayment({ clinicId: a.clinic_id, appointmentId: a.id });
        payments.set(a.id, panel);
      }
      li.append(panel.node);
    }
    if (changeable) {
      const actions = h('div', { class: 'queue-actions ma-actions' },
        a.status === 'scheduled' ? h('button', {
          type: 'button', class: 'btn btn-primary btn-small', text: 'Confirmar presença',
          dataset: { action: 'confirm' },
          'aria-label': `Confirmar presença na consulta de ${whenPhrase(a.starts_at, tz)}`,
          onclick: (event) => confirmAppointment(a, /** @type {HTMLButtonElement} */ (event.currentTarget)),
        }) : null,
        h('button', {
          type: 'button', class: 'btn btn-secondary btn-small', text: 'Remarcar',
          'aria-expanded': String(openForm.id === a.id && openForm.kind === 'reschedule'),
          'aria-label': `Remarcar consulta de ${whenText(a.starts_at, tz)}`,
          onclick: () => toggle(a, 'reschedule'),
        }),
        h('button', {
          type: 'button', class: 'btn btn-secondary btn-small ag-action-danger', text: 'Cancelar',
          'aria-expanded': String(openForm.id === a.id && openForm.kind === 'cancel'),
          'aria-label': `Cancelar consulta de ${whenText(a.starts_at, tz)}`,
          onclick: () => toggle(a, 'cancel'),
        }));
      li.append(actions);
      if (openForm.id === a.id) li.append(openForm.kind === 'cancel' ? cancelForm(a) : rescheduleForm(a));
    }
    return li;
  }

  /** "Entrar na teleconsulta": the session's patient link (the same page as the link sent). */
  function teleconsultEntry(a, tz) {
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const button = h('button', {
      type: 'button', class: 'btn btn-primary btn-small', text: 'Entrar na teleconsulta',
      dataset: { action: 'teleconsult' },
      'aria-label': `Entrar na teleconsulta de ${whenText(a.starts_at, tz)}`,
    });
    button.addEventListener('click', async () => {
      button.disabled = true;
      error.hidden = true;
      try {
        const consult = await api.get(`/api/consults/${seg(a.id)}`);
        const target = String((consult && consult.patient_link) || '');
        const hash = target.slice(target.indexOf('#'));
        if (!hash.startsWith('#/consulta/')) throw new Error('no patient link');
        if (ctx.isCurrent()) ctx.navigate(hash);
      } catch (err) {
        const failure = /** @type {{status?: number, code?: string}} */ (err);
        error.textContent = err instanceof Error && !failure.status && !failure.code
          ? 'Não foi possível abrir a teleconsulta. Tente novamente.'
          : agendaError(err, { patient: true });
        error.hidden = false;
        button.disabled = false;
      }
    });
    return h('div', { class: 'ma-tele' },
      h('p', { class: 'muted small', text: 'Consulta por vídeo: a sala de espera abre um pouco antes do horário.' }),
      button, error);
  }

  /** "Confirmar presença": the appointment becomes confirmed (the clinic sees it live). */
  async function confirmAppointment(a, button) {
    button.disabled = true;
    try {
      const updated = await api.post(`/api/clinics/${seg(a.clinic_id)}/appointments/${seg(a.id)}/confirm`, {});
      await apply(updated);
      announce.textContent = `Presença confirmada: ${whenPhrase(a.starts_at, tzOf(a.clinic_id))}.`;
    } catch (err) {
      button.disabled = false;
      clear(errorArea).append(alertNode(agendaError(err, { patient: true })));
    }
  }

  function toggle(a, kind) {
    if (openForm.id === a.id && openForm.kind === kind) {
      openForm.id = null;
      openForm.kind = null;
    } else {
      openForm.id = a.id;
      openForm.kind = kind;
    }
    render();
    const form = root.querySelector(`[data-id="${a.id}"] form`);
    const first = /** @type {HTMLElement|null} */ (form && form.querySelector('textarea, input'));
    if (first) first.focus();
  }

  function closeForm() {
    openForm.id = null;
    openForm.kind = null;
  }

  function cancelForm(a) {
    const id = uid('ma-cancel');
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const reason = h('textarea', { id, name: 'reason', rows: 2, maxlength: 300, required: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-danger', text: 'Cancelar consulta' });
    const form = h('form', { class: 'form ma-form', novalidate: true, 'aria-label': 'Cancelar consulta' },
      errors,
      h('div', { class: 'field' }, h('label', { for: id, text: 'Motivo do cancelamento' }), reason),
      h('div', { class: 'form-actions' }, submit,
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Voltar', onclick: () => { closeForm(); render(); } })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.hidden = true;
      if (!reason.value.trim()) {
        errors.textContent = 'Informe o motivo do cancelamento.';
        errors.hidden = false;
        reason.focus();
        return;
      }
      submit.disabled = true;
      try {
        const updated = await api.post(`/api/clinics/${seg(a.clinic_id)}/appointments/${seg(a.id)}/cancel`, { reason: reason.value.trim() });
        closeForm();
        await apply(updated);
        announce.textContent = 'Consulta cancelada.';
      } catch (err) {
        errors.textContent = agendaError(err, { patient: true });
        errors.hidden = false;
        submit.disabled = false;
      }
    });
    return form;
  }

  function rescheduleForm(a) {
    const tz = tzOf(a.clinic_id);
    const id = uid('ma-resched');
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const today = todayIn(tz);
    const dateInput = h('input', { id: `${id}-date`, type: 'date', name: 'date', min: today, value: localDate(a.starts_at, tz) < today ? today : localDate(a.starts_at, tz) });
    const slotsBox = h('div', { class: 'ma-slots', 'aria-live': 'polite' });
    const form = h('form', { class: 'form ma-form', novalidate: true, 'aria-label': 'Remarcar consulta' },
      errors,
      h('p', { class: 'small', text: `Escolha um novo horário com ${apptProName(a) || 'o profissional'}. A consulta atual fica mantida até você escolher.` }),
      h('div', { class: 'field' }, h('label', { for: dateInput.id, text: 'Nova data' }), dateInput),
      slotsBox,
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Voltar', onclick: () => { closeForm(); render(); } })));
    form.addEventListener('submit', (event) => event.preventDefault());
    let mine = 0;
    async function load() {
      mine += 1;
      const my = mine;
      if (!isYmd(dateInput.value)) {
        clear(slotsBox);
        return;
      }
      clear(slotsBox).append(loadingNode('Buscando horários livres…'));
      try {
        const res = await api.get(`/api/public/clinics/${seg(a.clinic_id)}/slots${qs({
          professional_user_id: a.professional_user_id, service_id: a.service_id,
          from: dateInput.value, to: dateInput.value,
        })}`);
        if (my !== mine) return;
        const slots = (res && res.slots) || [];
        clear(slotsBox).append(h('h3', { class: 'h3', text: longDate(dateInput.value) }));
        if (!slots.length) {
          slotsBox.append(h('p', { class: 'empty', text: 'Nenhum horário livre nesta data.' }),
            h('button', {
              type: 'button', class: 'btn btn-link', text: `Ver ${weekdayShort(addDays(dateInput.value, 1))} ${shortDate(addDays(dateInput.value, 1))}`,
              onclick: () => {
                dateInput.value = addDays(dateInput.value, 1);
                load();
              },
            }));
          return;
        }
        slotsBox.append(h('ul', { class: 'bk-slot-list', 'aria-label': 'Horários livres' }, slots.map((s) => h('li', null, h('button', {
          type: 'button',
          class: 'bk-slot',
          text: timeIn(s.starts_at, tz),
          'aria-label': `Remarcar para ${timeIn(s.starts_at, tz)}`,
          onclick: async (event) => {
            const button = event.currentTarget;
            button.disabled = true;
            errors.hidden = true;
            try {
              const updated = await api.post(`/api/clinics/${seg(a.clinic_id)}/appointments/${seg(a.id)}/reschedule`, { starts_at: s.starts_at });
              closeForm();
              await apply(updated);
              announce.textContent = `Consulta remarcada para ${whenPhrase(updated.starts_at, tz)}.`;
            } catch (err) {
              errors.textContent = agendaError(err, { patient: true });
              errors.hidden = false;
              button.disabled = false;
              if (isCode(err, 'slot_taken', 'slot_unavailable')) load();
            }
          },
        })))));
      } catch (err) {
        if (my !== mine) return;
        clear(slotsBox).append(alertNode(agendaError(err, { patient: true })));
      }
    }
    dateInput.addEventListener('change', load);
    load();
    return form;
  }

  // ------------------------------------------------------------ waitlist ---

  let waitEntries = [];
  let waitLoaded = false;
  let waitSeq = 0;
  /** appointment id → the held appointment of an offer */
  const offerAppts = readOfferCache();
  /** offer id → {offer_id, expires_at, appointment_id, clinic_id} seen in a push, not yet listed */
  const pushedOffers = new Map();
  /** Entry or offer id whose "leave"/"decline" is being confirmed. */
  const confirming = { id: null };
  /** Offer ids whose lapse already asked for a reload. */
  const lapsed = new Set();

  function saveOfferCache() {
    const keep = new Set(openOffers().map((o) => o.appointment_id));
    const data = {};
    for (const [id, a] of offerAppts) if (keep.has(id)) data[id] = a;
    sessionSet(OFFERS_KEY, Object.keys(data).length ? JSON.stringify(data) : null);
  }

  async function reloadWaitlist() {
    waitSeq += 1;
    const mine = waitSeq;
    try {
      const list = await api.get('/api/me/waitlist');
      const rows = Array.isArray(list) ? list : [];
      await zonesFor(rows);
      if (mine !== waitSeq || !ctx.isCurrent()) return;
      waitEntries = rows;
      waitLoaded = true;
      // Offers now listed (or closed meanwhile) need no push copy.
      pushedOffers.clear();
      saveOfferCache();
    } catch (err) {
      if (mine !== waitSeq || !ctx.isCurrent()) return;
      if (!waitLoaded) {
        clear(waitBox).append(alertNode(errorMessage(err)),
          h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reloadWaitlist }));
      }
      return;
    }
    renderWait();
  }

  /** Open offers: from the list, plus those just pushed. */
  function openOffers() {
    const out = [];
    for (const e of waitEntries) {
      if (e.status === 'offered' && e.offer) {
        out.push({ offer_id: e.offer.id, expires_at: e.offer.expires_at, appointment_id: e.offer.appointment_id, clinic_id: e.clinic_id, entry: e });
      }
    }
    for (const o of pushedOffers.values()) if (!out.some((x) => x.offer_id === o.offer_id)) out.push(o);
    return out.sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at));
  }

  function proName(clinicId, userId) {
    const info = infos.get(clinicId) || {};
    return professionalName((info.professionals || []).find((p) => p.user_id === userId));
  }

  function serviceName(clinicId, serviceId) {
    const info = infos.get(clinicId) || {};
    return ((info.services || []).find((x) => x.id === serviceId) || {}).name || '';
  }

  function clinicName(clinicId) {
    return (infos.get(clinicId) || {}).clinic_name || '';
  }

  function renderWait() {
    if (!ctx.isCurrent()) return;
    renderOffers();
    renderEntries();
  }

  function renderOffers() {
    const offers = openOffers();
    offerBox.hidden = !offers.length;
    clear(offerBox);
    if (!offers.length) return;
    offerBox.append(h('h2', { id: 'ma-offer-heading', text: offers.length === 1 ? 'Um horário vagou para você!' : 'Horários vagaram para você!' }));
    for (const o of offers) offerBox.append(offerItem(o));
  }

  function offerItem(o) {
    const a = o.appointment_id ? offerAppts.get(o.appointment_id) : null;
    const e = o.entry;
    const tz = tzOf(o.clinic_id);
    const left = remainingText(o.expires_at);
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const what = [
      (a && apptProName(a)) || (e && e.professional_user_id ? proName(o.clinic_id, e.professional_user_id) : ''),
      (a && a.service_name) || (e && e.service_id ? serviceName(o.clinic_id, e.service_id) : ''),
      clinicName(o.clinic_id) || (a && a.clinic_name) || '',
    ].filter(Boolean);
    const item = h('div', { class: 'wl-offer', dataset: { offerId: o.offer_id, appointmentId: o.appointment_id || '' } },
      a ? h('p', { class: 'wl-offer-when', text: whenText(a.starts_at, tz) })
        : h('p', { class: 'wl-offer-when', text: e ? `Um horário ${windowText(e)}` : 'Um horário' }),
      what.length ? h('p', { class: 'card-meta wl-offer-meta' }, what.map((t) => h('span', { text: t }))) : null,
      h('p', { class: 'wl-offer-timer', role: 'timer', 'aria-live': 'off' },
        left ? 'Reservado para você por mais ' : '',
        h('span', { class: 'wl-countdown', dataset: { expires: o.expires_at, offerId: o.offer_id }, text: left || 'Prazo encerrado' })),
      errors);
    const accept = h('button', {
      type: 'button', class: 'btn btn-primary btn-large', text: 'Aceitar', disabled: !left, dataset: { action: 'accept' },
      'aria-label': a ? `Aceitar o horário de ${whenText(a.starts_at, tz)}` : 'Aceitar o horário',
    });
    const decline = h('button', {
      type: 'button', class: 'btn btn-secondary ag-action-danger', text: 'Recusar', disabled: !left, dataset: { action: 'decline' },
    });
    accept.addEventListener('click', () => answer(o, true, accept, errors));
    decline.addEventListener('click', () => {
      confirming.id = o.offer_id;
      renderOffers();
      const yes = /** @type {HTMLElement|null} */ (offerBox.querySelector(`[data-offer-id="${o.offer_id}"] [data-action="decline-yes"]`));
      if (yes) yes.focus();
    });
    if (confirming.id === o.offer_id) {
      const yes = h('button', { type: 'button', class: 'btn btn-danger', text: 'Sim, recusar', dataset: { action: 'decline-yes' } });
      yes.addEventListener('click', () => answer(o, false, yes, errors));
      item.append(h('div', { class: 'wl-confirm', role: 'group', 'aria-label': 'Confirmar recusa' },
        h('span', { text: 'Recusar este horário? Ele vai para a próxima pessoa da lista.' }),
        yes,
        h('button', {
          type: 'button', class: 'btn btn-secondary', text: 'Voltar',
          onclick: () => {
            confirming.id = null;
            renderOffers();
          },
        })));
    } else {
      item.append(h('div', { class: 'form-actions wl-offer-actions' }, accept, decline));
    }
    return item;
  }

  async function answer(o, accept, button, errors) {
    button.disabled = true;
    errors.hidden = true;
    try {
      const appt = await api.post(`/api/me/waitlist/offers/${seg(o.offer_id)}/${accept ? 'accept' : 'decline'}`);
      confirming.id = null;
      pushedOffers.delete(o.offer_id);
      if (appt && appt.id) offerAppts.delete(appt.id);
      const tz = tzOf(o.clinic_id);
      if (accept && appt) {
        await apply(appt);
        clear(offerNotice).append(h('p', { class: 'alert alert-info wl-accepted' },
          h('strong', { text: 'Horário reservado para você! ' }),
          `Sua consulta${appt.professional_name ? ` com ${apptProName(appt)}` : ''} está marcada para ${whenPhrase(appt.starts_at, tz)}.`));
      } else {
        clear(offerNotice).append(h('p', { class: 'alert alert-info wl-declined', text: 'Horário recusado. Ele foi oferecido à próxima pessoa da lista.' }));
      }
      await reloadWaitlist();
      const notice = offerNotice.querySelector('p');
      if (notice) {
        notice.setAttribute('tabindex', '-1');
        notice.focus();
      }
    } catch (err) {
      errors.textContent = waitlistError(err);
      errors.hidden = false;
      button.disabled = false;
      if (isCode(err, 'offer_closed', 'offer_expired', 'not_found')) {
        pushedOffers.delete(o.offer_id);
        reloadWaitlist();
      }
    }
  }

  function entryItem(e) {
    const what = [
      e.professional_user_id ? proName(e.clinic_id, e.professional_user_id) : 'Qualquer profissional',
      e.service_id ? serviceName(e.clinic_id, e.service_id) : '',
    ].filter(Boolean).join(' · ');
    const li = h('li', { class: `card wl-item wl-item-${e.status}`, dataset: { id: e.id, status: e.status } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title', text: what || 'Lista de espera' }),
        waitlistStatusBadge(e.status)),
      h('span', { class: 'card-meta' },
        h('span', { text: windowText(e) }),
        h('span', { text: clinicName(e.clinic_id) })));
    if (e.status === 'waiting') {
      if (confirming.id === e.id) {
        const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
        const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, sair', dataset: { action: 'leave-yes' } });
        yes.addEventListener('click', async () => {
          yes.disabled = true;
          try {
            await api.post(`/api/clinics/${seg(e.clinic_id)}/waitlist/${seg(e.id)}/cancel`);
            confirming.id = null;
            announce.textContent = 'Você saiu da lista de espera.';
            await reloadWaitlist();
          } catch (err) {
            errors.textContent = waitlistError(err);
            errors.hidden = false;
            yes.disabled = false;
            if (isCode(err, 'invalid_transition', 'not_found')) reloadWaitlist();
          }
        });
        li.append(errors, h('div', { class: 'wl-confirm', role: 'group', 'aria-label': 'Confirmar saída da lista' },
          h('span', { text: 'Sair da lista de espera?' }),
          yes,
          h('button', {
            type: 'button', class: 'btn btn-secondary btn-small', text: 'Voltar',
            onclick: () => {
              confirming.id = null;
              renderEntries();
            },
          })));
      } else {
        li.append(h('div', { class: 'queue-actions wl-actions' }, h('button', {
          type: 'button', class: 'btn btn-secondary btn-small ag-action-danger', text: 'Sair da lista',
          onclick: () => {
            confirming.id = e.id;
            renderEntries();
            const yes = /** @type {HTMLElement|null} */ (waitBox.querySelector(`[data-id="${e.id}"] [data-action="leave-yes"]`));
            if (yes) yes.focus();
          },
        })));
      }
    }
    return li;
  }

  function renderEntries() {
    if (!waitLoaded) return;
    const active = waitEntries.filter((e) => e.status === 'waiting' || e.status === 'offered');
    const done = waitEntries.filter((e) => !active.includes(e));
    clear(waitBox);
    if (!active.length) {
      waitBox.append(h('p', { class: 'empty', text: 'Você não está em nenhuma lista de espera.' }),
        h('p', { class: 'muted small', text: 'Não achou um horário? Na página de agendamento da clínica, use “Entrar na lista de espera”: se um horário vagar, ele fica reservado para você.' }));
    } else {
      waitBox.append(h('ul', { class: 'card-list wl-items' }, active.map(entryItem)));
    }
    if (done.length) {
      waitBox.append(h('details', { class: 'disclosure wl-history' },
        h('summary', { text: `Anteriores (${done.length})` }),
        h('div', { class: 'disclosure-body' }, h('ul', { class: 'card-list wl-items' }, done.slice(0, 20).map(entryItem)))));
    }
  }

  /** Once a second: the offers' countdowns; a lapsed offer is looked up again. */
  function tick() {
    for (const node of /** @type {NodeListOf<HTMLElement>} */ (offerBox.querySelectorAll('.wl-countdown[data-expires]'))) {
      const left = remainingText(node.dataset.expires);
      if (left) {
        node.textContent = left;
        continue;
      }
      const item = node.closest('.wl-offer');
      if (node.textContent !== 'Prazo encerrado') {
        node.textContent = 'Prazo encerrado';
        if (node.previousSibling) node.previousSibling.textContent = '';
        if (item) for (const b of item.querySelectorAll('button')) b.disabled = true;
      }
      const id = node.dataset.offerId;
      if (id && !lapsed.has(id)) {
        lapsed.add(id);
        // The server releases lapsed holds every 30 s.
        const timer = setTimeout(() => {
          if (ctx.isCurrent()) reloadWaitlist();
        }, 35_000);
        ctx.onCleanup(() => clearTimeout(timer));
      }
    }
  }
  const ticker = setInterval(tick, 1000);
  ctx.onCleanup(() => clearInterval(ticker));

  async function onOffer(payload) {
    if (!payload || !payload.offer_id) return;
    const a = payload.appointment || null;
    if (a && a.id) offerAppts.set(a.id, a);
    pushedOffers.set(payload.offer_id, {
      offer_id: payload.offer_id,
      expires_at: payload.expires_at,
      appointment_id: a ? a.id : null,
      clinic_id: a ? a.clinic_id : null,
    });
    clear(offerNotice);
    await zonesFor([a]);
    saveOfferCache();
    if (!ctx.isCurrent()) return;
    renderWait();
    announce.textContent = a
      ? `Um horário vagou para você: ${whenText(a.starts_at, tzOf(a.clinic_id))}. Aceite ou recuse em até ${remainingText(payload.expires_at) || 'alguns minutos'}.`
      : 'Um horário vagou para você na lista de espera.';
    reloadWaitlist();
  }

  /** An appointment push: a held slot belongs to an offer; the end of a hold changes the list. */
  function onAppointment(a) {
    if (a.status === 'held') {
      offerAppts.set(a.id, a);
      saveOfferCache();
      renderWait();
      return true;
    }
    if (offerAppts.has(a.id) || openOffers().some((o) => o.appointment_id === a.id)) {
      offerAppts.delete(a.id);
      saveOfferCache();
      reloadWaitlist();
    }
    return false;
  }

  const handle = joinWithStatus(`user:${me.id}`, {
    root,
    status: live,
    liveText: 'Atualizada ao vivo.',
    errorText: 'Sem atualização ao vivo.',
    events: {
      'appointment.updated': (payload) => {
        const a = payload && payload.appointment;
        if (!a) return;
        if (onAppointment(a)) return;
        if (loading) buffered.push(a);
        else apply(a, { fromPush: true });
      },
      'waitlist.offer': (payload) => {
        onOffer(payload);
      },
      'payment.updated': (payload) => {
        const panel = payload && payments.get(payload.appointment_id);
        if (panel && payload.payment) panel.update(payload.payment);
      },
    },
    onJoin: () => {
      // Pushes sent before this (re)join are not replayed: load again.
      reload();
      reloadWaitlist();
    },
  });
  ctx.onCleanup(() => handle.leave());
  reload();
  reloadWaitlist();

  // "Próximas" moves to "Anteriores" as time passes.
  const timer = setInterval(() => {
    if (!openForm.id && ctx.isCurrent()) render();
  }, 60_000);
  ctx.onCleanup(() => clearInterval(timer));

  return root;
}

/** A small panel for the patient home with a link to "Minhas consultas". */
export function myAppointmentsLink() {
  return h('section', { class: 'panel', 'aria-labelledby': 'ma-link-heading' },
    h('h2', { id: 'ma-link-heading', text: 'Minhas consultas' }),
    h('p', { class: 'muted', text: 'Veja suas próximas consultas, remarque ou cancele.' }),
    h('p', null, h('a', { class: 'btn btn-primary', href: '#/minhas-consultas', text: 'Ver minhas consultas' })));
}
