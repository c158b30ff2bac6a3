// @ts-check
// Public booking page: #/agendar/{clinic_id}[?profissional=&servico=&data=YYYY-MM-DD]
//
// Anyone may look (no login): professional → service → date → the free slots as buttons.
// Choosing a slot asks a visitor to log in or create a patient account (the choice is
// kept in sessionStorage and the login brings them back here to confirm); a logged-in
// patient confirms at once (POST /api/clinics/{c}/appointments without patient_id).
//
//   GET /api/public/clinics/{c}/booking   clinic, time zone, professionals, services
//   GET /api/public/clinics/{c}/slots     free starts between two local dates
//
// Live: an anonymous WebSocket (first frame `system`/`auth` `{anonymous: true}`) joins
// `clinic:<id>:slots`; `slots.changed {professional_user_id, dates}` (no seq) makes the
// page fetch that professional's slots for those dates again, so a slot someone else just
// took disappears. `professional_user_id: null` means every professional and `dates: []`
// every date (hours or exceptions changed). Every (re)join refetches the shown range.
//
// Waitlist: below the slots, "Entrar na lista de espera" (dates and a preferred period) puts
// a logged-in patient on the professional's waitlist (views/waitlist.js); a visitor is asked
// to log in first and comes back with the form open. It stands out when the shown days have
// no free slot at all.

import { api, ApiError, qs, seg } from '../api.js';
import { createGuestClient } from '../realtime.js';
import { h, alertNode, clear, displayName, errorMessage, loadingNode, professionLabel } from '../ui.js';
import { waitlistJoinForm, windowText } from './waitlist.js';
import { pixPayment } from './payment.js';
import { privacyFooter } from './privacy.js';
import {
  capitalize, clinicName, join, professionalLine, professionalName, professionNoun, text, whenPhrase,
} from '../messages.js';
import {
  addDays, agendaError, daysBetween, durationText, isCode, isYmd, localDate, localMinutes,
  longDate, mediumDate, money, sessionGet, sessionSet, servicesFor, shortDate, slotsByDate,
  timeIn, todayIn, weekdayShort, zoneName,
} from '../agenda-util.js';

const PENDING_KEY = 'atende.booking.pending';
const RETURN_KEY = 'atende.return';
/** The clinic whose waitlist form a visitor wanted (opened again after the login). */
const WAITLIST_KEY = 'atende.booking.waitlist';
/** Days shown in the date strip. */
const STRIP_DAYS = 14;

/** The page to go back to after a login/sign-up started from a booking page (consumed). */
export function takeReturnTo() {
  const hash = sessionGet(RETURN_KEY);
  sessionSet(RETURN_KEY, null);
  return hash && hash.startsWith('#/agendar/') ? hash : null;
}

/** Where a booking waiting for a sign-up is kept while the e-mailed link is opened. */
const CARRY_KEY = 'atende.signup.carry';
/** What waits for a login in this tab (kept in sessionStorage). */
const CARRIED = [PENDING_KEY, RETURN_KEY, WAITLIST_KEY];

/**
 * A sign-up was requested: keep the booking (or waitlist) waiting in this tab where the
 * e-mailed link, likely opened in another tab, finds it ({@link restoreCarriedBooking}).
 */
export function carryBookingToSignupLink() {
  const carried = Object.fromEntries(CARRIED.map((k) => [k, sessionGet(k)]).filter(([, v]) => v));
  try {
    if (Object.keys(carried).length) localStorage.setItem(CARRY_KEY, JSON.stringify(carried));
    else localStorage.removeItem(CARRY_KEY);
  } catch {
    // No storage: the patient starts the booking again after the sign-up.
  }
}

/** The sign-up link was opened: take up what was waiting for it (once). */
export function restoreCarriedBooking() {
  try {
    const carried = JSON.parse(localStorage.getItem(CARRY_KEY) || 'null');
    localStorage.removeItem(CARRY_KEY);
    if (!carried || typeof carried !== 'object') return;
    for (const k of CARRIED) {
      if (typeof carried[k] === 'string' && !sessionGet(k)) sessionSet(k, carried[k]);
    }
  } catch {
    // ignore
  }
}

/** A notice for the login page while a booking waits for the login. */
export function bookingLoginNotice() {
  const hash = sessionGet(RETURN_KEY);
  if (!hash || !hash.startsWith('#/agendar/')) return null;
  if (sessionGet(WAITLIST_KEY)) return 'Entre (ou crie sua conta de paciente) para entrar na lista de espera.';
  return sessionGet(PENDING_KEY) ? 'Entre (ou crie sua conta de paciente) para confirmar o agendamento.' : null;
}

function readPending(clinicId) {
  try {
    const p = JSON.parse(sessionGet(PENDING_KEY) || 'null');
    return p && p.clinic_id === clinicId ? p : null;
  } catch {
    return null;
  }
}

function hashFor(clinicId, { proId, serviceId, date }) {
  return `#/agendar/${seg(clinicId)}${qs({ profissional: proId, servico: serviceId, data: date })}`;
}

function periodOf(minutes) {
  if (minutes < 12 * 60) return 'Manhã';
  if (minutes < 18 * 60) return 'Tarde';
  return 'Noite';
}

/**
 * `opts.me`: the logged-in user (or null). `opts.params`: the hash's query.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 * @param {{me?: import('../types.js').Me|null, params?: URLSearchParams}} [opts] `me`: null for a visitor
 */
export function renderBooking(ctx, clinicId, { me = null, params = new URLSearchParams() } = {}) {
  document.title = 'Agendar consulta — atende';
  const heading = h('h1', { tabindex: '-1', text: 'Agendar consulta' });
  const lead = h('p', { class: 'lead bk-clinic' });
  const live = h('p', { class: 'muted small bk-live', role: 'status', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const body = h('div', { class: 'bk-body' }, loadingNode());
  const root = h('div', { class: 'view bk-view', dataset: { view: 'booking', live: 'false' } },
    heading, lead, live, announce, body, privacyFooter());

  const state = {
    info: null,
    proId: params.get('profissional') || null,
    serviceId: params.get('servico') || null,
    date: isYmd(params.get('data')) ? params.get('data') : null,
    stripStart: null,
    /** local date → slots */
    slots: new Map(),
    loadedFrom: null,
    loadedTo: null,
    chosen: null,
    booked: null,
    /** Waitlist panel: the form is open; the entry just made (this professional). */
    waitOpen: false,
    waitJoined: null,
  };
  let slotSeq = 0;
  let client = null;
  let feed = null;

  const proBox = h('div', { class: 'bk-options bk-pros' });
  const serviceBox = h('div', { class: 'bk-options bk-services' });
  const dateBox = h('div', { class: 'bk-dates' });
  const slotBox = h('div', { class: 'bk-slots', 'aria-live': 'polite' });
  const confirmBox = h('div', { class: 'bk-confirm' });
  const waitBox = h('div', { class: 'bk-waitlist' });
  /** The open waitlist form, kept across re-renders (its key: professional|service). */
  let waitForm = null;
  let waitFormKey = null;

  const tz = () => (state.info && state.info.time_zone) || 'America/Sao_Paulo';
  const pro = () => state.info.professionals.find((p) => p.user_id === state.proId) || null;
  const offered = () => servicesFor(state.info.services, state.proId);
  const service = () => offered().find((s) => s.id === state.serviceId) || null;

  function syncHash() {
    history.replaceState(null, '', hashFor(clinicId, { proId: state.proId, serviceId: state.serviceId, date: state.date }));
  }

  // ----- steps
  function step(n, title, content, note) {
    return h('section', { class: 'panel bk-step', 'aria-labelledby': `bk-step-${n}` },
      h('h2', { id: `bk-step-${n}`, class: 'bk-step-title' },
        h('span', { class: 'bk-step-n', 'aria-hidden': 'true', text: String(n) }), title),
      note || null,
      content);
  }

  function radioCard(name, value, checked, title, meta, onPick) {
    const id = `bk-${name}-${value || 'none'}`;
    const input = h('input', { type: 'radio', id, name, value, checked });
    input.addEventListener('change', () => {
      if (input.checked) onPick(value);
    });
    return h('div', { class: 'bk-option' },
      input,
      h('label', { for: id },
        h('span', { class: 'bk-option-title', text: title }),
        meta ? h('span', { class: 'bk-option-meta', text: meta }) : null));
  }

  function renderPros() {
    const list = state.info.professionals;
    clear(proBox).append(...list.map((p) => radioCard('pro', p.user_id, p.user_id === state.proId, professionalName(p),
      join([professionNoun(p.profession, p.gender) || professionLabel(p.profession), p.specialty], ' · '), (value) => {
        state.proId = value;
        state.serviceId = null;
        state.chosen = null;
        state.waitJoined = null;
        renderServices();
        syncHash();
        loadSlots();
      })));
    if (!list.length) proBox.append(h('p', { class: 'empty', text: 'Esta clínica ainda não tem profissionais com agenda online.' }));
  }

  function renderServices() {
    clear(serviceBox);
    if (!state.proId) {
      serviceBox.append(h('p', { class: 'muted', text: 'Escolha primeiro o profissional.' }));
      return;
    }
    const list = offered();
    if (!list.length) {
      state.serviceId = null;
      serviceBox.append(h('p', { class: 'muted', text: 'Consulta de 30 minutos.' }));
      return;
    }
    if (!list.some((s) => s.id === state.serviceId)) state.serviceId = list[0].id;
    serviceBox.append(...list.map((s) => radioCard('service', s.id, s.id === state.serviceId, s.name,
      [durationText(s.duration_minutes), money(s.price_cents), s.teleconsultation ? 'também por teleconsulta' : '']
        .filter(Boolean).join(' · '), (value) => {
        state.serviceId = value;
        state.chosen = null;
        syncHash();
        loadSlots();
      })));
  }

  function renderDates() {
    clear(dateBox);
    const today = todayIn(tz());
    const start = state.stripStart;
    const strip = h('div', { class: 'bk-date-strip', role: 'radiogroup', 'aria-label': 'Data' });
    for (let i = 0; i < STRIP_DAYS; i += 1) {
      const d = addDays(start, i);
      const count = (state.slots.get(d) || []).length;
      const known = state.loadedFrom && d >= state.loadedFrom && d <= state.loadedTo;
      const selected = d === state.date;
      const button = h('button', {
        type: 'button',
        class: `bk-date${count ? '' : ' bk-date-empty'}`,
        role: 'radio',
        'aria-checked': String(selected),
        tabindex: selected || (!state.date && i === 0) ? '0' : '-1',
        'aria-label': `${mediumDate(d)}: ${known ? (count ? `${count} ${count === 1 ? 'horário livre' : 'horários livres'}` : 'sem horários') : 'carregando'}`,
        dataset: { date: d },
      },
      h('span', { class: 'bk-date-wd', text: d === today ? 'hoje' : weekdayShort(d) }),
      h('span', { class: 'bk-date-day', text: shortDate(d) }),
      h('span', { class: 'bk-date-count', text: known ? (count ? `${count} livres` : '—') : '…' }));
      button.addEventListener('click', () => pickDate(d));
      button.addEventListener('keydown', (event) => {
        const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        if (!delta) return;
        event.preventDefault();
        const next = addDays(d, delta);
        if (next < start || next >= addDays(start, STRIP_DAYS)) return;
        pickDate(next);
        const b = /** @type {HTMLElement|null} */ (dateBox.querySelector(`[data-date="${next}"]`));
        if (b) b.focus();
      });
      strip.append(button);
    }
    const prev = h('button', {
      type: 'button', class: 'btn btn-secondary btn-small', text: '◀ Anteriores', disabled: start <= today,
      onclick: () => moveStrip(-7),
    });
    const next = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Próximos ▶', onclick: () => moveStrip(7) });
    dateBox.append(strip, h('div', { class: 'bk-date-nav' }, prev, next));
  }

  function moveStrip(days) {
    const today = todayIn(tz());
    let start = addDays(state.stripStart, days);
    if (start < today) start = today;
    state.stripStart = start;
    if (!state.date || state.date < start || state.date >= addDays(start, STRIP_DAYS)) state.date = start;
    state.chosen = null;
    syncHash();
    loadSlots();
  }

  function pickDate(d) {
    state.date = d;
    state.chosen = null;
    syncHash();
    renderDates();
    renderSlots();
    renderConfirm();
  }

  function renderSlots() {
    clear(slotBox);
    if (!state.proId || !state.date) {
      slotBox.append(h('p', { class: 'muted', text: 'Escolha o profissional e a data.' }));
      return;
    }
    const list = state.slots.get(state.date) || [];
    const loaded = state.loadedFrom && state.date >= state.loadedFrom && state.date <= state.loadedTo;
    slotBox.append(h('h3', { class: 'bk-slots-title', text: longDate(state.date) }));
    if (!loaded) {
      slotBox.append(loadingNode('Buscando horários livres…'));
      return;
    }
    if (!list.length) {
      slotBox.append(h('p', { class: 'empty' }, 'Nenhum horário livre nesta data. Escolha outro dia ou ',
        h('button', { type: 'button', class: 'btn-link bk-wait-link', text: 'entre na lista de espera', onclick: openWaitlist }),
        '.'));
      return;
    }
    const groups = new Map();
    for (const s of list) {
      const period = periodOf(localMinutes(s.starts_at, tz()));
      if (!groups.has(period)) groups.set(period, []);
      groups.get(period).push(s);
    }
    for (const [period, items] of groups) {
      slotBox.append(h('div', { class: 'bk-period' },
        h('h4', { class: 'bk-period-title', text: period }),
        h('ul', { class: 'bk-slot-list', 'aria-label': `Horários livres — ${period}` }, items.map((s) => {
          const t = timeIn(s.starts_at, tz());
          const selected = state.chosen && state.chosen.starts_at === s.starts_at;
          return h('li', null, h('button', {
            type: 'button',
            class: `bk-slot${selected ? ' is-selected' : ''}`,
            'aria-pressed': String(Boolean(selected)),
            dataset: { startsAt: s.starts_at, time: t },
            text: t,
            onclick: () => choose(s),
          }));
        }))));
    }
  }

  function choose(slot) {
    state.chosen = slot;
    renderSlots();
    renderConfirm();
    const b = confirmBox.querySelector('h2');
    if (b) {
      b.setAttribute('tabindex', '-1');
      b.focus();
      b.scrollIntoView({ block: 'nearest' });
    }
  }

  function summary(slot) {
    const p = pro();
    const s = service();
    return h('dl', { class: 'details bk-summary' },
      row('Profissional', professionalLine(p)),
      row('Serviço', s ? `${s.name} (${durationText(s.duration_minutes)})` : 'Consulta (30 min)'),
      s && s.price_cents ? row('Valor', money(s.price_cents)) : null,
      row('Quando', capitalize(whenPhrase(slot.starts_at, tz()))),
      row('Local', clinicName(state.info.clinic_name)));
  }

  function row(label, value) {
    return h('div', { class: 'details-row' }, h('dt', { text: label }), h('dd', { text: text(value) || '—' }));
  }

  function renderConfirm() {
    clear(confirmBox);
    const slot = state.chosen;
    if (!slot) return;
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const panel = h('section', { class: 'panel bk-confirm-panel', 'aria-labelledby': 'bk-confirm-heading' },
      h('h2', { id: 'bk-confirm-heading', text: 'Confirmar agendamento' }),
      summary(slot), errors);
    if (me && me.patient) {
      const button = h('button', { type: 'button', class: 'btn btn-primary btn-large', text: 'Confirmar agendamento' });
      // A service that may be remote: ask how the patient prefers to be seen.
      const remote = service() && service().teleconsultation;
      const kindBox = remote ? h('fieldset', { class: 'bk-kind' },
        h('legend', { text: 'Como você prefere ser atendido(a)?' }),
        h('div', { class: 'bk-options' },
          radioCard('kind', 'in_person', true, 'Presencial', clinicName(state.info.clinic_name), () => {}),
          radioCard('kind', 'teleconsultation', false, 'Teleconsulta', 'Por vídeo, de onde você estiver', () => {}))) : null;
      button.addEventListener('click', async () => {
        button.disabled = true;
        button.textContent = 'Agendando…';
        errors.hidden = true;
        try {
          const body = { professional_user_id: state.proId, starts_at: slot.starts_at };
          if (state.serviceId) body.service_id = state.serviceId;
          const kind = /** @type {HTMLInputElement|null} */ (kindBox && kindBox.querySelector('input[name="kind"]:checked'));
          if (kind) body.kind = kind.value;
          const appt = await api.post(`/api/clinics/${seg(clinicId)}/appointments`, body);
          sessionSet(PENDING_KEY, null);
          state.booked = appt;
          renderDone();
          // A first booking at this clinic made the patient's record there and linked it to
          // the account: the session's profile learns it (chat, documents, "é você?").
          if (me && !(me.linked_records || []).some((r) => String(r.clinic_id) === String(clinicId))) {
            api.get('/api/me').then((fresh) => { Object.assign(me, fresh); }).catch(() => {});
          }
        } catch (err) {
          errors.textContent = agendaError(err, { patient: true });
          errors.hidden = false;
          button.disabled = false;
          button.textContent = 'Confirmar agendamento';
          if (isCode(err, 'slot_taken', 'slot_unavailable')) {
            state.chosen = null;
            refetchDates([state.date]);
          }
        }
      });
      panel.append(
        h('p', null, 'Paciente: ', h('strong', { text: displayName(me.patient) || displayName(me) })),
        kindBox,
        h('div', { class: 'form-actions' }, button,
          h('button', { type: 'button', class: 'btn btn-secondary', text: 'Escolher outro horário', onclick: () => {
            state.chosen = null;
            renderSlots();
            renderConfirm();
          } })));
    } else if (me) {
      panel.append(h('p', { class: 'alert alert-info', text: 'Você está conectado com uma conta da equipe. Para agendar para um paciente, use a agenda da clínica.' }),
        h('p', null, h('a', { class: 'btn btn-secondary', href: `#/clinica/${seg(clinicId)}/agenda`, text: 'Abrir a agenda da clínica' })));
    } else {
      const remember = () => {
        sessionSet(PENDING_KEY, JSON.stringify({
          clinic_id: clinicId, professional_user_id: state.proId, service_id: state.serviceId, starts_at: slot.starts_at,
        }));
        sessionSet(RETURN_KEY, hashFor(clinicId, { proId: state.proId, serviceId: state.serviceId, date: state.date }));
      };
      panel.append(
        h('p', null, 'Para confirmar, entre na sua conta de paciente ou crie uma. Você volta para esta página em seguida.'),
        h('div', { class: 'form-actions' },
          h('a', { class: 'btn btn-primary', href: '#/entrar', text: 'Entrar para confirmar', onclick: remember }),
          h('a', { class: 'btn btn-secondary', href: '#/cadastro', text: 'Criar conta de paciente', onclick: remember })));
    }
    confirmBox.append(panel);
  }

  // ----- waitlist
  function stripIsEmpty() {
    if (!state.loadedFrom) return false;
    for (const list of state.slots.values()) if (list.length) return false;
    return true;
  }

  function openWaitlist() {
    state.waitOpen = true;
    renderWaitlist();
    const target = /** @type {HTMLElement|null} */ (waitBox.querySelector('form input') || waitBox.querySelector('.bk-wait-login a') || waitBox.querySelector('h2'));
    if (target) {
      if (target.tagName === 'H2') target.setAttribute('tabindex', '-1');
      target.focus();
      target.scrollIntoView({ block: 'nearest' });
    }
  }

  function renderWaitlist() {
    clear(waitBox);
    const p = state.proId ? pro() : null;
    if (!p || state.booked) return;
    const empty = stripIsEmpty();
    const panel = h('section', {
      class: `panel wl-panel${empty ? ' is-emphasized' : ''}`, 'aria-labelledby': 'bk-wl-heading', dataset: { waitlist: 'panel' },
    },
    h('h2', { id: 'bk-wl-heading', text: 'Lista de espera' }),
    h('p', { text: empty
      ? `Nenhum horário livre com ${professionalName(p)} nos dias mostrados. Entre na lista de espera: se um horário vagar, ele fica reservado para você.`
      : `Não achou um horário bom com ${professionalName(p)}? Entre na lista de espera: se um horário vagar no período que você escolher, ele fica reservado para você.` }),
    h('p', { class: 'muted small', text: 'O horário fica reservado por alguns minutos e aparece em “Minhas consultas” para você aceitar ou recusar. Quem entrou antes na lista recebe primeiro.' }));
    if (state.waitJoined) {
      panel.append(
        h('p', { class: 'alert alert-info wl-joined', role: 'status' },
          'Pronto! Você está na lista de espera de ', h('strong', { text: professionalName(p) }),
          ` (${windowText(state.waitJoined)}). Quando um horário vagar, ele aparece em “Minhas consultas” para você aceitar.`),
        h('p', null, h('a', { class: 'btn btn-secondary', href: '#/minhas-consultas', text: 'Acompanhar em Minhas consultas' })));
    } else if (me && me.patient) {
      if (state.waitOpen) {
        const key = `${state.proId}|${state.serviceId || ''}`;
        if (!waitForm || waitFormKey !== key) {
          waitFormKey = key;
          waitForm = waitlistJoinForm({
            clinicId, tz: tz(), proId: state.proId, serviceId: state.serviceId, date: state.date,
            onJoined: (entry) => {
              state.waitJoined = entry;
              state.waitOpen = false;
              waitForm = null;
              renderWaitlist();
              const done = /** @type {HTMLElement|null} */ (waitBox.querySelector('.wl-joined'));
              if (done) {
                done.setAttribute('tabindex', '-1');
                done.focus();
              }
            },
          });
        }
        panel.append(waitForm);
      } else {
        panel.append(h('button', {
          type: 'button', class: `btn ${empty ? 'btn-primary' : 'btn-secondary'}`, text: 'Entrar na lista de espera',
          onclick: openWaitlist,
        }));
      }
    } else if (me) {
      panel.append(h('p', { class: 'muted', text: 'Você está conectado com uma conta da equipe: para pôr um paciente na lista de espera, use a agenda da clínica.' }));
    } else {
      const remember = () => {
        sessionSet(PENDING_KEY, null);
        sessionSet(WAITLIST_KEY, clinicId);
        sessionSet(RETURN_KEY, hashFor(clinicId, { proId: state.proId, serviceId: state.serviceId, date: state.date }));
      };
      panel.append(
        h('p', { class: 'muted', text: 'Para entrar na lista de espera, entre na sua conta de paciente ou crie uma. Você volta para esta página em seguida.' }),
        h('div', { class: 'form-actions bk-wait-login' },
          h('a', { class: 'btn btn-secondary', href: '#/entrar', text: 'Entrar', onclick: remember }),
          h('a', { class: 'btn btn-secondary', href: '#/cadastro', text: 'Criar conta de paciente', onclick: remember })));
    }
    waitBox.append(panel);
  }

  /** The booked appointment's professional, titled from what the answer and the page know. */
  function bookedPro(a) {
    const p = pro() || {};
    return {
      name: text(a.professional_name) || p.name,
      profession: a.professional_profession || p.profession,
      gender: a.professional_gender || p.gender,
      specialty: p.specialty,
    };
  }

  function renderDone() {
    const a = state.booked;
    const done = h('section', { class: 'panel bk-done', 'aria-labelledby': 'bk-done-heading', dataset: { id: a.id } },
      h('h2', { id: 'bk-done-heading', tabindex: '-1', text: 'Consulta agendada' }),
      h('p', { class: 'alert alert-info', role: 'status', text: `Tudo certo! Sua consulta está marcada para ${whenPhrase(a.starts_at, tz())}.` }),
      h('dl', { class: 'details bk-summary' },
        row('Profissional', professionalLine(bookedPro(a))),
        row('Serviço', text(a.service_name) || 'Consulta'),
        row('Quando', capitalize(whenPhrase(a.starts_at, tz()))),
        row('Local', a.kind === 'teleconsultation'
          ? `Teleconsulta (${clinicName(a.clinic_name || state.info.clinic_name)})`
          : clinicName(a.clinic_name || state.info.clinic_name))),
      pixPayment({ clinicId, appointmentId: a.id }).node,
      h('div', { class: 'form-actions' },
        h('a', { class: 'btn btn-primary', href: '#/minhas-consultas', text: 'Ver minhas consultas' }),
        h('button', {
          type: 'button', class: 'btn btn-secondary', text: 'Agendar outra consulta',
          onclick: () => {
            state.booked = null;
            state.chosen = null;
            layout();
            loadSlots();
          },
        })));
    clear(body).append(done);
    done.querySelector('h2').focus();
  }

  // ----- data
  async function loadSlots() {
    slotSeq += 1;
    const mine = slotSeq;
    renderDates();
    renderSlots();
    renderConfirm();
    renderWaitlist();
    if (!state.proId) return;
    const from = state.stripStart;
    const to = addDays(from, STRIP_DAYS - 1);
    state.loadedFrom = null;
    state.loadedTo = null;
    state.slots = new Map();
    renderDates();
    renderSlots();
    try {
      const res = await api.get(`/api/public/clinics/${seg(clinicId)}/slots${qs({
        professional_user_id: state.proId, service_id: state.serviceId, from, to,
      })}`);
      if (mine !== slotSeq || !ctx.isCurrent()) return;
      state.slots = slotsByDate(res && res.slots, tz());
      state.loadedFrom = from;
      state.loadedTo = to;
      if (!state.date) {
        // First day with a free slot.
        state.date = [...state.slots.keys()].sort()[0] || from;
        syncHash();
      }
      afterSlots();
    } catch (err) {
      if (mine !== slotSeq || !ctx.isCurrent()) return;
      clear(slotBox).append(alertNode(agendaError(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: loadSlots }));
    }
  }

  /** Fetch the shown professional's slots again for some dates (after `slots.changed`). */
  async function refetchDates(dates) {
    if (!state.proId || !state.loadedFrom) return;
    const wanted = dates.filter((d) => isYmd(d) && d >= state.loadedFrom && d <= state.loadedTo).sort();
    if (!wanted.length) return;
    const mine = slotSeq;
    const from = wanted[0];
    const to = wanted[wanted.length - 1];
    try {
      const res = await api.get(`/api/public/clinics/${seg(clinicId)}/slots${qs({
        professional_user_id: state.proId, service_id: state.serviceId, from, to,
      })}`);
      if (mine !== slotSeq || !ctx.isCurrent()) return;
      const fresh = slotsByDate(res && res.slots, tz());
      for (const d of wanted) state.slots.set(d, fresh.get(d) || []);
      afterSlots();
    } catch {
      // The next change or rejoin fetches again.
    }
  }

  /** Every date of the loaded range. */
  function shownDates() {
    const days = [];
    if (!state.loadedFrom) return days;
    for (let d = state.loadedFrom; d <= state.loadedTo; d = addDays(d, 1)) days.push(d);
    return days;
  }

  function afterSlots() {
    // The chosen slot may be gone (someone else took it).
    if (state.chosen && !(state.slots.get(localDate(state.chosen.starts_at, tz())) || [])
      .some((s) => s.starts_at === state.chosen.starts_at)) {
      announce.textContent = `O horário ${timeIn(state.chosen.starts_at, tz())} acabou de ser ocupado. Escolha outro.`;
      state.chosen = null;
      renderConfirm();
      confirmBox.append(alertNode('Esse horário acabou de ser ocupado. Escolha outro.'));
    }
    renderDates();
    renderSlots();
    if (state.chosen) renderConfirm();
    renderWaitlist();
  }

  function layout() {
    clear(body).append(
      step(1, 'Profissional', proBox),
      step(2, 'Serviço', serviceBox),
      step(3, 'Data', dateBox),
      step(4, 'Horário', slotBox, h('p', { class: 'muted small', text: `Horários de ${clinicName(state.info.clinic_name)} (${zoneName(tz())}).` })),
      confirmBox,
      waitBox);
    renderPros();
    renderServices();
    renderWaitlist();
  }

  function connect() {
    client = createGuestClient({ anonymous: true });
    client.onStatus((s) => {
      if (s !== 'connected') {
        live.textContent = s === 'reconnecting' ? 'Reconectando… os horários podem estar desatualizados.' : 'Conectando…';
        root.dataset.live = 'false';
      }
    });
    client.onAuthError(() => {
      live.textContent = 'Sem atualização ao vivo: recarregue a página para ver os horários mais recentes.';
    });
    client.connect();
    feed = client.join(`clinic:${clinicId}:slots`, {
      events: {
        'slots.changed': (payload) => {
          if (!payload || !state.loadedFrom) return;
          if (payload.professional_user_id && payload.professional_user_id !== state.proId) return;
          const dates = Array.isArray(payload.dates) ? payload.dates : [];
          refetchDates(dates.length ? dates : shownDates());
        },
      },
      onJoin: () => {
        live.textContent = 'Horários atualizados ao vivo.';
        root.dataset.live = 'true';
        // Changes before this (re)join are not replayed: fetch the shown days again.
        if (state.loadedFrom) refetchDates(shownDates());
      },
      onError: () => {
        live.textContent = 'Sem atualização ao vivo: recarregue a página para ver os horários mais recentes.';
      },
    });
    ctx.onCleanup(() => {
      feed.leave();
      client.destroy();
    });
  }

  (async () => {
    try {
      state.info = await api.get(`/api/public/clinics/${seg(clinicId)}/booking`);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      const notFound = err instanceof ApiError && (err.status === 404 || err.status === 400 || err.status === 422);
      heading.textContent = notFound ? 'Clínica não encontrada' : 'Não foi possível carregar';
      clear(body).append(alertNode(notFound ? 'Confira o link de agendamento que você recebeu.' : errorMessage(err)));
      live.hidden = true;
      return;
    }
    if (!ctx.isCurrent()) return;
    const info = state.info;
    info.professionals = [...(info.professionals || [])].sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
    document.title = `Agendar consulta — ${clinicName(info.clinic_name)} — atende`;
    lead.textContent = clinicName(info.clinic_name);
    const today = todayIn(tz());
    if (state.date && state.date < today) state.date = today;
    state.stripStart = state.date && daysBetween(today, state.date) >= STRIP_DAYS ? state.date : today;
    if (!info.professionals.some((p) => p.user_id === state.proId)) {
      state.proId = info.professionals.length === 1 ? info.professionals[0].user_id : null;
    }
    // Back from the login with a slot chosen: offer it again.
    const pending = readPending(clinicId);
    // Back from the login to join the waitlist: open its form.
    const wantsWaitlist = sessionGet(WAITLIST_KEY) === clinicId;
    if (wantsWaitlist) sessionSet(WAITLIST_KEY, null);
    layout();
    connect();
    if (pending && pending.professional_user_id === state.proId) {
      state.chosen = { starts_at: pending.starts_at };
    }
    await loadSlots();
    if (state.chosen && ctx.isCurrent()) {
      // Still free? (afterSlots dropped it otherwise.)
      renderConfirm();
    }
    if (wantsWaitlist && me && me.patient && ctx.isCurrent()) openWaitlist();
  })();

  return root;
}
