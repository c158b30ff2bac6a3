// @ts-check
// Agenda ("Agenda") for the clinic staff and the professionals. This file has the clinic
// agenda's page (toolbar, data, live updates) and the home's "Agenda" panel; its parts are
// agenda-grid.js (the time grid), agenda-booking.js and agenda-appointment.js (the dialogs),
// agenda-live.js (the live appointments) and my-agenda.js ("Minha agenda").
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
import { h, alertNode, clear, copyField, errorMessage, loadingNode, uid } from '../ui.js';
import {
  addDays, agendaError, fullDate, isYmd, longDate, mondayOf, todayIn, whenText,
} from '../agenda-util.js';
import { replaceHash } from './agenda-parts.js';
import { clinicWaitlist, openWaitlistDrawer } from './waitlist.js';
import { openBookingDialog } from './agenda-booking.js';
import { openAppointmentDialog } from './agenda-appointment.js';
import { liveAgenda, liveText } from './agenda-live.js';
import { moveNowLine, renderAgendaGrid, statusLegend } from './agenda-grid.js';

const NOW_TICK_MS = 60_000;

/** By name (professionals of the booking info, or people with a `full_name`). @param {any} a @param {any} b */
function byName(a, b) {
  return String(a.name || a.full_name).localeCompare(String(b.name || b.full_name), 'pt-BR');
}

/**
 * Config of a clinic's agenda: time zone, professionals, services, schedules.
 * @param {string} clinicId
 * @returns {Promise<import('./agenda-parts.js').AgendaSetup>}
 */
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

/**
 * "Agenda" panel on the staff homes: links to the agenda, the hours and the booking page.
 * @param {import('../types.js').Me} me
 * @param {Pick<import('../types.js').Membership, 'clinic_id'|'role'>} membership
 * @param {string|null} roleParam
 */
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
  if (role === 'clinic_admin' || role === 'receptionist') {
    links.push(h('a', {
      class: 'btn btn-secondary',
      href: `#/clinica/${seg(clinicId)}/caixa${qs({ papel: roleParam })}`,
      text: 'Caixa',
      dataset: { link: 'cash' },
    }));
  }
  if (role === 'clinic_admin') {
    links.push(h('a', {
      class: 'btn btn-secondary',
      href: `#/clinica/${seg(clinicId)}/relatorios${qs({ papel: roleParam })}`,
      text: 'Relatórios',
      dataset: { link: 'reports' },
    }));
  }
  if (role === 'clinic_admin' || role === 'professional') {
    links.push(h('a', {
      class: 'btn btn-secondary',
      href: `#/clinica/${seg(clinicId)}/horarios${qs({ papel: roleParam })}`,
      text: role === 'clinic_admin' ? 'Horários e serviços' : 'Meus horários',
    }));
  }
  if (role === 'clinic_admin') {
    links.push(h('a', {
      class: 'btn btn-secondary',
      href: `#/clinica/${seg(clinicId)}/mensagens-enviadas${qs({ papel: roleParam })}`,
      text: 'Mensagens aos pacientes',
    }));
  }
  const intro = {
    clinic_admin: 'Consultas do dia por profissional, agendamentos e encaixes, horários de atendimento e serviços, o caixa, os relatórios e as mensagens (lembretes, avisos) enviadas aos pacientes.',
    receptionist: 'Consultas do dia por profissional: agende, confirme, faça o check-in, remarque ou cancele; receba no caixa.',
    professional: 'Suas consultas em todas as clínicas e seus horários de atendimento nesta clínica.',
  }[role] || '';
  return h('section', { class: 'panel ag-links', 'aria-labelledby': 'agenda-links-heading', dataset: { agenda: 'links' } },
    h('h2', { id: 'agenda-links-heading', text: 'Agenda' }),
    h('p', { class: 'muted', text: intro }),
    h('div', { class: 'ag-link-row' }, links));
}

/**
 * The clinic's agenda (day: a column per professional; week: one professional).
 * @param {import('../types.js').ViewContext} ctx
 * @param {{me: import('../types.js').Me, membership: import('../types.js').Membership,
 *   params: URLSearchParams, roleParam: string|null, homeHref: string}} opts
 */
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
  // Read as "Lista de espera: 3 pacientes" (the visible words first, as WCAG 2.5.3 asks).
  const waitlistSep = h('span', { class: 'visually-hidden', text: '' });
  const waitlistNoun = h('span', { class: 'visually-hidden', text: '' });
  const waitlistButton = h('button', {
    type: 'button', class: 'btn btn-secondary', disabled: true, 'aria-haspopup': 'dialog', dataset: { waitlist: 'open' },
  }, 'Lista de espera', waitlistSep, waitlistCount, waitlistNoun);
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
    waitlistSep.textContent = n ? ': ' : '';
    waitlistNoun.textContent = n ? ` ${n === 1 ? 'paciente' : 'pacientes'}` : '';
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
    const [list, exc, paid] = await Promise.all([
      api.get(`/api/clinics/${seg(clinicId)}/appointments${qs({
        from, to, professional_user_id: view.mode === 'week' ? view.proId : null,
      })}`),
      api.get(`/api/clinics/${seg(clinicId)}/exceptions${qs({ from, to })}`).catch(() => []),
      // "Pago" on the blocks: the period's payments (kept live by `payment.updated`).
      api.get(`/api/clinics/${seg(clinicId)}/payments${qs({ from, to })}`).catch(() => []),
      ...pros.map((p) => loadSlots(p.user_id)),
    ]);
    exceptions = Array.isArray(exc) ? exc : [];
    const payments = new Map((Array.isArray(paid) ? paid : []).map((p) => [p.appointment_id, p.status]));
    return (Array.isArray(list) ? list : [])
      .map((a) => (payments.has(a.id) ? { ...a, payment_status: payments.get(a.id) } : a));
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
    }, {
      patientLink: `#/clinica/${seg(clinicId)}/paciente/${seg(appt.patient_id)}${qs({ papel: roleParam })}`,
      meId: me.id,
      cashHref: membership.role === 'receptionist' || membership.role === 'clinic_admin'
        ? `#/clinica/${seg(clinicId)}/caixa${qs({ papel: roleParam, consulta: appt.id })}` : null,
    });
  }

  // ----- grid
  function renderGrid() {
    if (!setup || !model) return;
    renderAgendaGrid(grid, {
      setup,
      view,
      from: range().from,
      appointments: model.all(),
      slots,
      exceptions,
      label: rangeHeading.textContent,
      onBook: openBooking,
      onOpen: openAppointment,
    });
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
    if (setup) moveNowLine(grid, setup.tz);
  }, NOW_TICK_MS);
  ctx.onCleanup(() => clearInterval(timer));

  return root;
}
