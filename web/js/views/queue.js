// @ts-check
// Waiting room ("Fila de espera"): today's queue of a clinic, live. This file has the two
// panels (the reception board and the professional's "Minha fila"); their parts are
// queue-parts.js (the live queue, labels, actions), queue-forms.js (check-in, "Chamar
// próximo") and queue-today.js ("Consultas de hoje").
//
// - `GET /api/clinics/{id}/queue` loads the board; `clinic:<id>:queue` pushes
//   `queue.updated` {entry} on every change. On every (re)join the board is
//   reloaded over HTTP; pushes that arrive meanwhile are buffered and applied
//   after the snapshot, so the board converges to the latest state.
// - Receptionist/admin: check-in form, "Chamar próximo" for a chosen professional
//   and room, and per-entry actions.
// - Professional: "Minha fila" with the current patient and the waiting count.
// - Receptionist/admin: "Consultas de hoje", today's appointments still to arrive
//   (`scheduled`/`confirmed`, live on `clinic:<id>:agenda`), each with a "Check-in" button
//   (`POST /queue {appointment_id}`): the entry takes its place by the appointment's time and
//   the board shows "Consulta HH:MM" (clinic zone) on it.
// - Both also follow `clinic:<id>:panel` (the redacted snapshot the TV panel shows): the
//   waiting list is shown in the server's call order (which may alternate priorities) with
//   each ticket's estimated wait.

import { api, ApiError, seg } from '../api.js';
import { h, alertNode, clear, errorMessage, plural, uid } from '../ui.js';
import { DEFAULT_TZ, timeIn } from '../agenda-util.js';
import {
  act, actionButtons, actionError, ACTIVE, appointmentTag, callNextError, clinicZone, CLOSED,
  elapsed, entryLabel, etaOf, etaText, inCallOrder, liveQueue, liveStatusText, priorityBadge,
  roomKey, statusBadge, storageGet, storageSet, TICK_MS,
} from './queue-parts.js';
import { todayAppointments } from './queue-today.js';
import { callNextForm, checkInForm } from './queue-forms.js';

// ------------------------------------------------------ reception board ---

/**
 * "Fila de espera" for receptionists and clinic admins.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 */
export function queueBoardPanel(ctx, me, clinicId) {
  const headingId = 'queue-heading';
  const status = h('p', { class: 'muted small queue-live', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const boardError = h('div', { class: 'queue-error' });
  const waitingBox = h('div', { class: 'queue-waiting' });
  const activeBox = h('div', { class: 'queue-active' });
  const closedBox = h('div', { class: 'queue-closed' });
  const waitingCount = h('span', { class: 'badge queue-count' });

  /** professional user_id → name */
  const professionals = new Map();
  let current = [];
  /** The latest panel snapshot (call order, estimated waits), or null. */
  let snapshot = null;
  /** The clinic's time zone, once known. */
  let zone = DEFAULT_TZ;

  const checkIn = checkInForm(clinicId, (entry) => model.apply(entry), {
    appointmentsOf: (patientId) => appointments.openFor(patientId),
    checkInAppointment: (appt) => appointments.checkIn(appt, { focusResult: true }),
  });
  const caller = callNextForm(clinicId, (entry) => model.apply(entry));
  const appointments = todayAppointments(ctx, clinicId, {
    onCheckedIn: (entry) => {
      model.apply(entry);
      announce.textContent = `Check-in feito: senha ${entryLabel(entry)}.`;
    },
    onZone: (tz) => {
      zone = tz;
      render(current);
    },
    activeEntryOf: (patientId) => current.find((e) => patientId && String(e.patient_id) === String(patientId)
      && !CLOSED.has(e.status)) || null,
  });

  const section = h('section', { class: 'panel queue-panel', 'aria-labelledby': headingId, dataset: { queue: 'board' } },
    h('div', { class: 'queue-head' },
      h('h2', { id: headingId, text: 'Fila de espera' }),
      status),
    announce,
    appointments.node,
    h('div', { class: 'queue-forms' }, checkIn.node, caller.node),
    boardError,
    h('h3', { class: 'h3 queue-subhead' }, 'Aguardando ', waitingCount),
    waitingBox,
    h('h3', { class: 'h3 queue-subhead', text: 'Chamados e em atendimento' }),
    activeBox,
    closedBox);

  function profName(userId) {
    if (!userId) return 'Qualquer profissional';
    return professionals.get(String(userId)) || 'Profissional';
  }

  async function run(entry, action, button) {
    clear(boardError);
    button.disabled = true;
    try {
      model.apply(await act(clinicId, entry, action));
    } catch (err) {
      boardError.append(alertNode(actionError(err)));
      if (err instanceof ApiError && err.code === 'invalid_transition') model.reload();
    } finally {
      button.disabled = false;
    }
  }

  function entryItem(entry) {
    const actions = {
      waiting: ['no-show', 'leave'],
      called: ['recall', 'no-show', 'return'],
      in_service: [],
      no_show: ['return'],
    }[entry.status] || [];
    const meta = [appointmentTag(entry, zone)];
    if (entry.status === 'waiting') {
      meta.push(h('span', { class: 'queue-wait', dataset: { since: entry.checked_in_at || '' } },
        `Aguardando há ${elapsed(entry.checked_in_at)}`));
      const eta = etaOf(snapshot, entry.ticket);
      if (eta !== null) meta.push(h('span', { class: 'queue-eta', text: etaText(eta) }));
    } else if (ACTIVE.has(entry.status)) {
      meta.push(h('span', { class: 'queue-room', text: entry.room ? `Sala: ${entry.room}` : 'Sala não informada' }));
      if (entry.recalls) meta.push(h('span', { text: plural(entry.recalls, 'rechamada', 'rechamadas') }));
    }
    return h('li', {
      class: `card queue-entry queue-${entry.status}`,
      dataset: { id: entry.id, ticket: entry.ticket, status: entry.status },
    },
    h('div', { class: 'queue-entry-main' },
      h('span', { class: 'queue-ticket', text: entry.ticket }),
      h('div', { class: 'queue-entry-body' },
        h('div', { class: 'card-head' },
          h('span', { class: 'card-title queue-name', text: entry.full_name }),
          priorityBadge(entry.priority),
          entry.status === 'waiting' ? null : statusBadge(entry.status)),
        h('span', { class: 'card-meta' },
          h('span', { class: 'queue-prof', text: profName(entry.professional_user_id) }),
          meta))),
    actions.length ? actionButtons(entry, actions, run) : null);
  }

  function render(entries) {
    current = entries;
    const waiting = inCallOrder(entries.filter((e) => e.status === 'waiting'), snapshot);
    const active = entries.filter((e) => ACTIVE.has(e.status));
    const closed = entries.filter((e) => CLOSED.has(e.status));
    waitingCount.textContent = String(waiting.length);
    waitingCount.setAttribute('aria-label', plural(waiting.length, 'pessoa', 'pessoas'));
    clear(waitingBox).append(waiting.length
      ? h('ol', { class: 'card-list queue-list' }, waiting.map(entryItem))
      : h('p', { class: 'empty', text: 'Ninguém aguardando.' }));
    clear(activeBox).append(active.length
      ? h('ul', { class: 'card-list queue-list' }, active.map(entryItem))
      : h('p', { class: 'empty', text: 'Ninguém chamado no momento.' }));
    const wasOpen = closedBox.querySelector('details')?.open || false;
    clear(closedBox);
    if (closed.length) {
      closedBox.append(h('details', { class: 'disclosure', open: wasOpen },
        h('summary', { text: `Encerrados hoje (${closed.length})` }),
        h('div', { class: 'disclosure-body' },
          h('ul', { class: 'card-list queue-list' }, closed.map(entryItem)))));
    }
  }

  function onChange(entries, change) {
    render(entries);
    if (change && change.status === 'called') {
      announce.textContent = `${entryLabel(change)} chamado(a) para ${change.room || 'atendimento'}.`;
    }
  }

  function onState(state, err) {
    if (state === 'error') {
      clear(boardError).append(alertNode(err ? errorMessage(err) : 'Não foi possível carregar a fila.'),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: () => model.reload() }));
      return;
    }
    if (state === 'ready') clear(boardError);
    status.textContent = liveStatusText(model && model.joined ? 'live' : state);
    section.dataset.live = model && model.joined ? 'true' : 'false';
  }

  function onPanel(next) {
    snapshot = next;
    render(current);
  }

  let model = null;
  model = liveQueue(ctx, clinicId, onChange, onState, onPanel);

  // Professionals for the forms and the board.
  api.get(`/api/clinics/${seg(clinicId)}/members`).then((members) => {
    if (!ctx.isCurrent()) return;
    const profs = (Array.isArray(members) ? members : [])
      .filter((m) => m.role === 'professional')
      .sort((a, b) => String(a.full_name).localeCompare(String(b.full_name), 'pt-BR'));
    for (const p of profs) professionals.set(String(p.user_id), p.full_name);
    checkIn.setProfessionals(profs);
    caller.setProfessionals(profs);
    render(current);
  }).catch(() => {
    // The board still works; names show as "Profissional".
  });

  const timer = setInterval(() => {
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (waitingBox.querySelectorAll('.queue-wait'))) {
      el.textContent = `Aguardando há ${elapsed(el.dataset.since)}`;
    }
  }, TICK_MS);
  ctx.onCleanup(() => clearInterval(timer));

  render([]);
  return section;
}

// ------------------------------------------------------ professional ---

/**
 * "Minha fila" on the professional's home.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 */
export function myQueuePanel(ctx, me, clinicId) {
  const headingId = 'my-queue-heading';
  const id = uid('myqueue');
  const status = h('p', { class: 'muted small queue-live', text: 'Conectando…' });
  const errorBox = h('div', { class: 'queue-error' });
  const statusBox = h('p', { class: 'form-status', role: 'status' });
  const currentBox = h('div', { class: 'queue-current', 'aria-live': 'polite' });
  const waitingInfo = h('p', { class: 'queue-waiting-count', 'aria-live': 'polite' });
  const nextList = h('ol', { class: 'queue-next' });
  const roomInput = h('input', {
    id: `${id}-room`, name: 'room', type: 'text', autocomplete: 'off', maxlength: 60,
    value: storageGet(roomKey(clinicId)) || '',
  });
  const callButton = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Chamar próximo' });
  const form = h('form', { class: 'form queue-callnext', novalidate: true, 'aria-label': 'Chamar próximo' },
    h('div', { class: 'queue-call-row' },
      h('div', { class: 'field' }, h('label', { for: roomInput.id, text: 'Sala ou consultório' }), roomInput),
      callButton));

  const section = h('section', { class: 'panel queue-panel', 'aria-labelledby': headingId, dataset: { queue: 'mine' } },
    h('div', { class: 'queue-head' }, h('h2', { id: headingId, text: 'Minha fila' }), status),
    form, errorBox, statusBox,
    h('h3', { class: 'h3 queue-subhead', text: 'Paciente atual' }),
    currentBox,
    waitingInfo, nextList);

  const mine = (e) => String(e.professional_user_id || '') === String(me.id);
  let snapshot = null;
  let entriesNow = [];
  let calling = false;
  let zone = DEFAULT_TZ;

  async function run(entry, action, button) {
    clear(errorBox);
    button.disabled = true;
    try {
      const updated = await act(clinicId, entry, action);
      model.apply(updated);
      if (action === 'finish') statusBox.textContent = `Atendimento de ${updated.full_name} finalizado.`;
      else if (action === 'no-show') statusBox.textContent = `${updated.full_name} marcado(a) como não compareceu.`;
      else if (action === 'recall') statusBox.textContent = `${updated.full_name} rechamado(a).`;
      else statusBox.textContent = '';
    } catch (err) {
      errorBox.append(alertNode(actionError(err)));
      if (err instanceof ApiError && err.code === 'invalid_transition') model.reload();
    } finally {
      button.disabled = false;
    }
  }

  function render(entries) {
    entriesNow = entries;
    const current = entries.filter((e) => ACTIVE.has(e.status) && mine(e));
    const waiting = inCallOrder(entries.filter((e) => e.status === 'waiting' && (!e.professional_user_id || mine(e))), snapshot);
    clear(currentBox);
    if (!current.length) {
      currentBox.append(h('p', { class: 'empty', text: 'Nenhum paciente chamado. Use “Chamar próximo”.' }));
    } else {
      currentBox.append(h('ul', { class: 'card-list queue-list' }, current.map((e) => h('li', {
        class: `card queue-entry queue-${e.status}`,
        dataset: { id: e.id, ticket: e.ticket, status: e.status },
      },
      h('div', { class: 'queue-entry-main' },
        h('span', { class: 'queue-ticket', text: e.ticket }),
        h('div', { class: 'queue-entry-body' },
          h('div', { class: 'card-head' },
            h('span', { class: 'card-title queue-name', text: e.full_name }),
            priorityBadge(e.priority),
            statusBadge(e.status)),
          h('span', { class: 'card-meta' },
            appointmentTag(e, zone),
            h('span', { class: 'queue-room', text: e.room ? `Sala: ${e.room}` : 'Sala não informada' }),
            e.recalls ? h('span', { text: plural(e.recalls, 'rechamada', 'rechamadas') }) : null))),
      actionButtons(e, e.status === 'called' ? ['start', 'recall', 'no-show'] : ['finish'], run)))));
    }
    waitingInfo.textContent = waiting.length
      ? `${plural(waiting.length, 'pessoa aguardando', 'pessoas aguardando')} para você.`
      : 'Ninguém aguardando para você.';
    nextList.replaceChildren(...waiting.slice(0, 5).map((e) => h('li', null,
      h('span', { class: 'queue-ticket-small', text: e.ticket }), ' ',
      h('span', { text: e.full_name }), ' ', priorityBadge(e.priority),
      e.appointment_at ? h('span', { class: 'muted small', text: ` · consulta ${timeIn(e.appointment_at, zone)}` }) : null,
      h('span', { class: 'muted small queue-wait', dataset: { since: e.checked_in_at || '', prefix: ' · há ' } },
        ` · há ${elapsed(e.checked_in_at)}`))));
    // Pushes (the queue's and the panel's) re-render while a call is in flight.
    if (!calling) callButton.disabled = false;
  }

  function onChange(entries) {
    render(entries);
  }

  function onState(state, err) {
    if (state === 'error') {
      clear(errorBox).append(alertNode(err ? errorMessage(err) : 'Não foi possível carregar a fila.'),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: () => model.reload() }));
      return;
    }
    if (state === 'ready') clear(errorBox);
    status.textContent = liveStatusText(model && model.joined ? 'live' : state);
    section.dataset.live = model && model.joined ? 'true' : 'false';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (callButton.disabled) return;
    clear(errorBox);
    statusBox.textContent = '';
    const room = roomInput.value.trim();
    if (!room) {
      errorBox.append(alertNode('Informe a sala ou o consultório.'));
      roomInput.setAttribute('aria-invalid', 'true');
      roomInput.focus();
      return;
    }
    roomInput.removeAttribute('aria-invalid');
    storageSet(roomKey(clinicId), room);
    calling = true;
    callButton.disabled = true;
    callButton.textContent = 'Chamando…';
    try {
      const entry = await api.post(`/api/clinics/${seg(clinicId)}/queue/call-next`, { room });
      model.apply(entry);
      statusBox.textContent = `Senha ${entry.ticket} — ${entry.full_name} chamado(a) para ${entry.room || room}.`;
    } catch (err) {
      errorBox.append(alertNode(callNextError(err)));
    } finally {
      calling = false;
      callButton.disabled = false;
      callButton.textContent = 'Chamar próximo';
    }
  });

  let model = null;
  model = liveQueue(ctx, clinicId, onChange, onState, (next) => {
    snapshot = next;
    render(entriesNow);
  });
  clinicZone(clinicId).then((tz) => {
    if (!tz || !ctx.isCurrent()) return;
    zone = tz;
    render(entriesNow);
  });
  // Only the waiting times change with the clock (re-rendering would move focus).
  const timer = setInterval(() => {
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (nextList.querySelectorAll('.queue-wait'))) {
      el.textContent = `${el.dataset.prefix}${elapsed(el.dataset.since)}`;
    }
  }, TICK_MS);
  ctx.onCleanup(() => clearInterval(timer));
  render([]);
  return section;
}
