// @ts-check
// Agenda: the time grid of the clinic agenda, what the staff sees of a day (a column per
// professional) or a week (a column per day of one professional), in the clinic's time zone:
// working hours shaded, exceptions, free slots as buttons (→ booking dialog), appointments
// as blocks side by side when they overlap (→ their dialog), and a line at the current time.
// The data (appointments, slots, exceptions) is views/agenda.js's.

import {
  addDays, byStart, hhmm, holdsTime, localDate, localMinutes, mediumDate, parseHhmm,
  shortDate, statusLabel, timeIn, todayIn, weekdayOf, weekdayShort, zonedToUtc,
} from '../agenda-util.js';
import { h, clear, plural, professionLabel } from '../ui.js';
import { teleBadge } from './agenda-parts.js';

/** @typedef {import('../types.js').Appointment} Appointment */
/** @typedef {import('../types.js').Slot} Slot */
/** @typedef {import('./agenda-parts.js').AgendaSetup} AgendaSetup */
/** @typedef {import('./agenda-parts.js').BookingProfessional} BookingProfessional */

/** Pixels per minute on the time grid. */
const PX = 2;
const DEFAULT_START = 8 * 60;
const DEFAULT_END = 18 * 60;
const DEFAULT_STEP = 15;
const SLOT_MIN_GAP = 15;

/**
 * A closed period or extra hours (`GET /api/clinics/{id}/exceptions`).
 * @typedef {object} ScheduleException
 * @property {string} id
 * @property {string|null} professional_user_id null: the whole clinic
 * @property {'closed'|'extra'} kind
 * @property {string} starts_at
 * @property {string} ends_at
 * @property {string} reason
 */

/**
 * What the grid shows.
 * @typedef {object} AgendaGrid
 * @property {AgendaSetup} setup
 * @property {{mode: string, date: string, proId: string|null, showCancelled: boolean}} view
 *   `mode`: 'day' or 'week'
 * @property {string} from the first day shown (the week's Monday)
 * @property {Appointment[]} appointments
 * @property {Map<string, Slot[]>} slots professional → free slots of the range
 * @property {ScheduleException[]} exceptions
 * @property {string} label the grid's accessible name (the range's heading)
 * @property {(opener: HTMLElement, preset: {proId: string, date: string, startsAt?: string, fitIn?: boolean}) => void} onBook
 * @property {(opener: HTMLElement, appointment: Appointment) => void} onOpen
 */

/**
 * @typedef {object} GridColumn
 * @property {string} key
 * @property {string} date
 * @property {BookingProfessional|undefined} pro
 * @property {string} title
 * @property {string} subtitle
 */

/**
 * The grid's columns: the week's days of one professional, or the day's professionals.
 * @param {AgendaGrid} g
 * @returns {GridColumn[]}
 */
function columns(g) {
  const { setup, view, from } = g;
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

/**
 * A professional's working hours on `date`, in minutes of the day.
 * @param {AgendaSetup} setup
 * @param {string} proId
 * @param {string} date
 */
function hoursOf(setup, proId, date) {
  const sched = setup.schedules.get(proId);
  const wd = weekdayOf(date);
  return ((sched && sched.hours) || []).filter((x) => x.weekday === wd)
    .map((x) => ({ start: parseHhmm(x.start), end: parseHhmm(x.end) }))
    .filter((x) => !Number.isNaN(x.start) && !Number.isNaN(x.end));
}

/** @param {AgendaSetup} setup @param {string} proId */
function stepOf(setup, proId) {
  const sched = setup.schedules.get(proId);
  return (sched && sched.rules && sched.rules.slot_step_minutes) || DEFAULT_STEP;
}

/**
 * Minutes of the day [start, end) of an instant range clipped to `date`.
 * @param {string} tz
 * @param {string} startIso
 * @param {string} endIso
 * @param {string} date
 * @returns {{start: number, end: number}|null}
 */
function spanOn(tz, startIso, endIso, date) {
  const sDate = localDate(startIso, tz);
  const eDate = localDate(endIso, tz);
  if (sDate > date || eDate < date) return null;
  const start = sDate < date ? 0 : localMinutes(startIso, tz);
  let end = eDate > date ? 1440 : localMinutes(endIso, tz);
  if (end <= start) end = Math.min(1440, start + 5);
  return { start, end };
}

/** @param {AgendaGrid} g @param {GridColumn} col */
function appointmentsOf(g, col) {
  return g.appointments
    .filter((a) => a.professional_user_id === col.pro?.user_id)
    .filter((a) => g.view.showCancelled || holdsTime(a.status))
    .map((a) => ({ a, span: spanOn(g.setup.tz, a.starts_at, a.ends_at, col.date) }))
    .filter((x) => x.span)
    .sort((x, y) => byStart(x.a, y.a));
}

/**
 * A column's free slots, at least SLOT_MIN_GAP apart.
 * @param {AgendaGrid} g
 * @param {GridColumn} col
 */
function slotsOf(g, col) {
  const { setup } = g;
  const list = (g.slots.get(col.pro?.user_id) || []).filter((s) => localDate(s.starts_at, setup.tz) === col.date);
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

/** @param {AgendaGrid} g @param {GridColumn} col */
function exceptionsOf(g, col) {
  return g.exceptions
    .filter((e) => !e.professional_user_id || e.professional_user_id === col.pro?.user_id)
    .map((e) => ({ e, span: spanOn(g.setup.tz, e.starts_at, e.ends_at, col.date) }))
    .filter((x) => x.span);
}

/**
 * Draw the agenda of `g` in `grid` (replacing what it showed).
 * @param {HTMLElement} grid
 * @param {AgendaGrid} g
 */
export function renderAgendaGrid(grid, g) {
  const { setup, view } = g;
  clear(grid);
  grid.removeAttribute('aria-busy');
  grid.classList.remove('is-loading');
  const cols = columns(g);
  if (!cols.length || cols.some((c) => !c.pro)) {
    grid.append(h('p', { class: 'empty', text: 'Nenhum profissional nesta clínica.' }));
    return;
  }
  const data = cols.map((col) => ({
    col,
    hours: hoursOf(setup, col.pro.user_id, col.date),
    appts: appointmentsOf(g, col),
    free: slotsOf(g, col),
    exc: exceptionsOf(g, col),
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

  const table = h('div', { class: `ag-grid ag-grid-${view.mode}`, role: 'group', 'aria-label': g.label });
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
      const step = stepOf(setup, col.pro.user_id);
      const blockEnd = Math.min(sEnd, sStart + Math.max(step, SLOT_MIN_GAP));
      const t = timeIn(s.starts_at, setup.tz);
      // Read as "Horário livre 10:00 — Dra. Helena Duarte" (the visible time inside it).
      const button = h('button', {
        type: 'button',
        class: 'ag-free',
        dataset: { startsAt: s.starts_at, pro: col.pro.user_id, time: t },
      },
      h('span', { class: 'visually-hidden', text: 'Horário livre ' }),
      h('span', { class: 'ag-free-time', text: t }),
      h('span', { class: 'visually-hidden', text: ` — ${col.pro.name}${view.mode === 'week' ? `, ${mediumDate(col.date)}` : ''}` }),
      h('span', { class: 'ag-free-plus', 'aria-hidden': 'true', text: '+ agendar' }));
      place(button, sStart, blockEnd, start, 1);
      button.addEventListener('click', () => g.onBook(button, {
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
      colBody.append(appointmentBlock(g, x.a, x.span, start, x.lane, laneCount));
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
      g.onBook(colBody, {
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

/**
 * Position `el` over minutes [from, to) of a grid starting at `gridStart`.
 * @param {HTMLElement} el
 * @param {number} from
 * @param {number} to
 * @param {number} gridStart
 */
function place(el, from, to, gridStart, inset = 0) {
  el.style.top = `${(from - gridStart) * PX + inset}px`;
  el.style.height = `${Math.max(6, (to - from) * PX - inset * 2)}px`;
}

/**
 * An appointment's block (a button that opens its dialog), in its lane when several overlap.
 * @param {AgendaGrid} g
 * @param {Appointment} a
 * @param {{start: number, end: number}} span
 * @param {number} gridStart
 * @param {number} lane
 * @param {number} laneCount
 */
function appointmentBlock(g, a, span, gridStart, lane, laneCount) {
  const { setup } = g;
  const paid = a.payment_status === 'paid';
  // Its name is its visible words with commas and the end time that only screen readers
  // hear ("10:00, Agendada, João Pereira da Silva, Consulta clínica, até 10:30"): what is
  // seen is what is said (WCAG 2.5.3).
  const sr = (text) => h('span', { class: 'visually-hidden', text });
  const block = h('button', {
    type: 'button',
    class: `ag-appt ag-st-${a.status}${a.status === 'held' ? ' ag-appt-held' : ''}${span.end - span.start <= 20 ? ' ag-appt-short' : ''}`,
    'aria-haspopup': 'dialog',
    dataset: { id: a.id, status: a.status, startsAt: a.starts_at },
  },
  h('span', { class: 'ag-appt-line' },
    h('span', { class: 'ag-appt-time', text: timeIn(a.starts_at, setup.tz) }),
    sr(', '),
    h('span', { class: 'ag-appt-status', text: statusLabel(a.status) })),
  sr(', '),
  h('span', { class: 'ag-appt-name', text: a.patient_name || 'Paciente' }),
  a.kind === 'teleconsultation' ? [sr(', '), teleBadge()] : null,
  paid ? [sr(', '), h('span', { class: 'badge ag-paid-badge', dataset: { paid: 'true' }, text: 'Pago' })] : null,
  a.service_name ? [sr(', '), h('span', { class: 'ag-appt-service', text: a.service_name })] : null,
  sr(`, até ${timeIn(a.ends_at, setup.tz)}`));
  place(block, Math.max(span.start, gridStart), span.end, gridStart, 1);
  if (laneCount > 1) {
    block.style.left = `calc(${(lane * 100) / laneCount}% + 2px)`;
    block.style.width = `calc(${100 / laneCount}% - 4px)`;
    block.style.right = 'auto';
  }
  block.addEventListener('click', (event) => {
    event.stopPropagation();
    g.onOpen(block, a);
  });
  return block;
}

/**
 * Move the "now" line of a drawn grid (without re-rendering: focus stays where it is).
 * @param {HTMLElement} grid
 * @param {string} tz
 */
export function moveNowLine(grid, tz) {
  const line = /** @type {HTMLElement|null} */ (grid.querySelector('.ag-now'));
  if (!line) return;
  const nowMin = localMinutes(new Date(), tz);
  const start = Number(grid.dataset.start);
  const end = Number(grid.dataset.end);
  line.hidden = nowMin < start || nowMin > end;
  line.style.top = `${(nowMin - start) * PX}px`;
}

/** The colours of the grid's blocks, by status. */
export function statusLegend() {
  const shown = ['held', 'scheduled', 'confirmed', 'checked_in', 'in_progress', 'done', 'no_show', 'cancelled'];
  return h('div', { class: 'ag-legend' },
    h('span', { class: 'ag-legend-title', text: 'Legenda:' }),
    h('ul', { class: 'ag-legend-list' },
      h('li', null, h('span', { class: 'ag-legend-swatch ag-free-swatch', 'aria-hidden': 'true' }), 'Horário livre'),
      shown.map((s) => h('li', null,
        h('span', { class: `ag-legend-swatch ag-st-${s}`, 'aria-hidden': 'true' }), statusLabel(s)))));
}
