// @ts-check
// Waiting room ("Fila de espera"): today's queue of a clinic, live.
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

import { api, ApiError, qs, seg } from '../api.js';
import { panelFeed } from '../panel-feed.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, copyField, displayName, errorMessage, plural, uid } from '../ui.js';
import { DEFAULT_TZ, byStart, localDate, statusLabel, timeIn, todayIn } from '../agenda-util.js';

export const PRIORITIES = [
  ['none', 'Sem prioridade'],
  ['elderly', 'Idoso(a) 60+'],
  ['elderly_80', 'Idoso(a) 80+'],
  ['pregnant', 'Gestante'],
  ['breastfeeding', 'Lactante'],
  ['disability', 'Pessoa com deficiência'],
  ['infant', 'Criança de colo'],
];
const PRIORITY_LABELS = Object.fromEntries(PRIORITIES);

const STATUS_LABELS = {
  waiting: 'Aguardando',
  called: 'Chamado(a)',
  in_service: 'Em atendimento',
  done: 'Atendido(a)',
  no_show: 'Não compareceu',
  left: 'Saiu',
};

const ACTION_LABELS = {
  recall: 'Rechamar',
  start: 'Iniciar atendimento',
  finish: 'Finalizar',
  'no-show': 'Não compareceu',
  return: 'Voltar à fila',
  leave: 'Saiu',
};

const ACTIVE = new Set(['called', 'in_service']);
const CLOSED = new Set(['done', 'no_show', 'left']);
const STATUS_ORDER = { waiting: 0, called: 1, in_service: 2 };
const TICK_MS = 30_000;

function priorityRank(priority) {
  if (priority === 'elderly_80') return 0;
  return !priority || priority === 'none' ? 2 : 1;
}

function time(iso) {
  return iso ? Date.parse(iso) || 0 : 0;
}

/** An entry's place in line: its appointment's time, else its arrival. */
function placeTime(entry) {
  return time(entry.appointment_at || entry.checked_in_at);
}

/** Same order as the server: waiting in call order, then called, in service, closed. */
function compareEntries(a, b) {
  const sa = STATUS_ORDER[a.status] ?? 3;
  const sb = STATUS_ORDER[b.status] ?? 3;
  if (sa !== sb) return sa - sb;
  if (a.status === 'waiting') {
    return priorityRank(a.priority) - priorityRank(b.priority)
      || placeTime(a) - placeTime(b);
  }
  if (ACTIVE.has(a.status)) return time(b.called_at) - time(a.called_at);
  return time(b.finished_at) - time(a.finished_at);
}

/** "agora", "5 min", "1 h 20 min" since `iso`. */
export function elapsed(iso, now = Date.now()) {
  const ms = now - time(iso);
  if (!iso || !Number.isFinite(ms)) return '';
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return 'menos de 1 min';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // ignore
  }
}

function roomKey(clinicId) {
  return `atende.queue.room.${clinicId}`;
}

function priorityBadge(priority) {
  if (!priority || priority === 'none') return null;
  return h('span', { class: 'badge badge-warn queue-priority', text: PRIORITY_LABELS[priority] || priority });
}

function statusBadge(status) {
  const cls = status === 'called' ? 'badge-called' : status === 'in_service' ? 'badge-ok' : 'badge-muted';
  return h('span', { class: `badge ${cls} queue-status`, text: STATUS_LABELS[status] || status });
}

function entryLabel(entry) {
  return `${entry.ticket} — ${entry.full_name}`;
}

/** "Consulta 14:00" (clinic zone) on an entry that came for an appointment, else null. */
function appointmentTag(entry, timeZone) {
  if (!entry.appointment_at) return null;
  return h('span', { class: 'queue-appt-tag', text: `Consulta ${timeIn(entry.appointment_at, timeZone)}` });
}

/** The clinic's time zone (times of appointments are shown in it); null when unknown. */
async function clinicZone(clinicId) {
  try {
    const clinic = await api.get(`/api/clinics/${seg(clinicId)}`);
    return (clinic && clinic.time_zone) || null;
  } catch {
    return null;
  }
}

/** After a check-in: the patient's phone page, to hand over (nodes for a `.queue-tracker`). */
function trackerNodes(entry, { lead = 'Senha ', detail = '' } = {}) {
  const url = new URL(entry.tracker_path, location.origin).href;
  const link = copyField({ label: 'Link para acompanhar no celular', value: url, name: 'tracker-link' });
  return [
    h('p', { class: 'queue-tracker-ticket' }, lead, h('strong', { text: entry.ticket }), ` — ${entry.full_name}`,
      detail ? h('span', { class: 'muted', text: ` · ${detail}` }) : null),
    link.node,
    h('p', { class: 'muted small', text: 'Envie ao paciente (por WhatsApp, por exemplo): a página mostra o lugar na fila e avisa quando for a vez dele. Vale só por hoje.' }),
  ];
}

/** Waiting entries in the snapshot's call order; entries it does not know yet go last. */
function inCallOrder(waiting, snapshot) {
  if (!snapshot) return waiting;
  const pos = new Map(snapshot.waiting.map((w, i) => [w.ticket, i]));
  const known = waiting.filter((e) => pos.has(e.ticket)).sort((a, b) => pos.get(a.ticket) - pos.get(b.ticket));
  return [...known, ...waiting.filter((e) => !pos.has(e.ticket))];
}

/** ticket → estimated wait in minutes, from the snapshot. */
function etaOf(snapshot, ticket) {
  const w = snapshot ? snapshot.waiting.find((x) => x.ticket === ticket) : null;
  return w && typeof w.eta_minutes === 'number' ? w.eta_minutes : null;
}

function etaText(minutes) {
  if (minutes === null) return '';
  return minutes > 0 ? `Espera estimada ~${minutes} min` : 'Próximo(a) a ser chamado(a)';
}

/**
 * Live model of the clinic's queue. `onChange(entries, change)` runs after
 * every load and push (`change`: the pushed entry, or null for a reload);
 * `onPanel(snapshot)` after every newer panel snapshot (call order and waits).
 */
/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 * @param {(entries: object[], change: object|null) => void} onChange
 * @param {(state: string, err?: unknown) => void} onState
 * @param {(snapshot: import('../panel-feed.js').PanelSnapshot) => void} [onPanel]
 */
function liveQueue(ctx, clinicId, onChange, onState, onPanel = () => {}) {
  const entries = new Map();
  let loading = false;
  let buffered = [];
  let reloadSeq = 0;

  const list = () => [...entries.values()].sort(compareEntries);

  function apply(entry) {
    if (entry && entry.id) entries.set(String(entry.id), entry);
  }

  async function reload() {
    reloadSeq += 1;
    const mine = reloadSeq;
    loading = true;
    buffered = [];
    onState('loading');
    try {
      const data = await api.get(`/api/clinics/${seg(clinicId)}/queue`);
      if (mine !== reloadSeq || !ctx.isCurrent()) return;
      entries.clear();
      for (const e of Array.isArray(data) ? data : []) apply(e);
      for (const e of buffered) apply(e);
      buffered = [];
      loading = false;
      onState('ready');
      onChange(list(), null);
    } catch (err) {
      if (mine !== reloadSeq || !ctx.isCurrent()) return;
      loading = false;
      onState('error', err);
    }
  }

  const handle = realtime.join(`clinic:${clinicId}:queue`, {
    events: {
      'queue.updated': (payload) => {
        const entry = payload && payload.entry;
        if (!entry) return;
        if (loading) {
          buffered.push(entry);
          return;
        }
        apply(entry);
        onChange(list(), entry);
      },
    },
    onJoin: () => reload(),
    onStatus: () => onState(handle && handle.joined ? 'live' : 'offline'),
    onError: (err) => onState('error', err),
  });
  ctx.onCleanup(() => handle.leave());
  // Load at once; the join's reload keeps it in sync afterwards.
  reload();

  // Call order and estimated waits. Without them the board still works (strict order).
  const panel = panelFeed({
    client: realtime,
    topic: `clinic:${clinicId}:panel`,
    refresh: () => api.get(`/api/clinics/${seg(clinicId)}/queue/panel`),
    onSnapshot: (snapshot) => {
      if (ctx.isCurrent()) onPanel(snapshot);
    },
  });
  ctx.onCleanup(() => panel.leave());

  return {
    reload,
    /** Apply an entry from an HTTP answer right away (the push will confirm it). */
    apply: (entry) => {
      apply(entry);
      onChange(list(), entry);
    },
    get joined() {
      return handle.joined;
    },
  };
}

/** Run a queue action; resolves with the entry or throws ApiError. */
function act(clinicId, entry, action, body) {
  return api.post(`/api/clinics/${seg(clinicId)}/queue/${seg(entry.id)}/${action}`, body);
}

function actionError(err) {
  if (err instanceof ApiError && err.code === 'invalid_transition') {
    return 'Esta senha mudou de situação enquanto isso. A fila foi atualizada.';
  }
  return errorMessage(err);
}

function callNextError(err) {
  if (err instanceof ApiError && err.code === 'queue_empty') return 'Ninguém aguardando na fila para este profissional.';
  return errorMessage(err);
}

function liveStatusText(state) {
  if (state === 'live') return 'Atualizada ao vivo.';
  if (state === 'loading') return 'Carregando a fila…';
  return realtime.state === 'reconnecting' ? 'Reconectando… a fila pode estar desatualizada.' : 'Conectando…';
}

function actionButtons(entry, actions, run) {
  return h('div', { class: 'queue-actions' }, actions.map((action) => h('button', {
    type: 'button',
    class: `btn btn-small ${action === 'start' || action === 'finish' ? 'btn-primary' : 'btn-secondary'}`,
    text: ACTION_LABELS[action],
    'aria-label': `${ACTION_LABELS[action]}: ${entryLabel(entry)}`,
    dataset: { action },
    onclick: (event) => run(entry, action, event.currentTarget),
  })));
}

// ------------------------------------------------------ reception board ---

/** "Fila de espera" for receptionists and clinic admins. */
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

function fillProfessionals(select, profs, firstLabel) {
  const keep = select.value;
  select.replaceChildren(h('option', { value: '', text: firstLabel }),
    ...profs.map((p) => h('option', { value: p.user_id, text: p.full_name })));
  if (keep) select.value = keep;
}

// ------------------------------------------------ today's appointments ---

/** Appointments that can still be checked in (same rule as the server). */
const TO_ARRIVE = new Set(['scheduled', 'confirmed']);
const DAY_TICK_MS = 60_000;

function appointmentCheckInError(err, appt, activeEntry) {
  const who = appt.patient_name || 'O paciente';
  if (err instanceof ApiError && err.code === 'invalid_appointment') {
    return `Não foi possível fazer o check-in da consulta de ${who} às ${timeIn(appt.starts_at, appt.zone)}: `
      + 'ela já foi recebida, cancelada ou remarcada. A lista foi atualizada.';
  }
  if (err instanceof ApiError && err.code === 'already_in_queue') {
    if (!activeEntry) return `${who} já está na fila de hoje.`;
    if (activeEntry.appointment_at) {
      return `${who} já está na fila de hoje com a senha ${activeEntry.ticket}, `
        + `pela consulta das ${timeIn(activeEntry.appointment_at, appt.zone)}.`;
    }
    return `${who} já está na fila de hoje com a senha ${activeEntry.ticket}, com chegada registrada sem esta consulta. `
      + 'Para ligar a chegada à consulta, marque “Saiu” nessa senha e faça o check-in por aqui.';
  }
  if (err instanceof ApiError && err.status === 403) {
    return 'Você não tem permissão para fazer check-in nesta clínica.';
  }
  return errorMessage(err);
}

/**
 * "Consultas de hoje": today's appointments still to arrive, live, each with "Check-in".
 * `onCheckedIn(entry)` after a check-in; `onZone(tz)` once the clinic's zone is known;
 * `activeEntryOf(patientId)` finds a patient's open ticket on the board (for errors).
 */
function todayAppointments(ctx, clinicId, { onCheckedIn, onZone, activeEntryOf }) {
  const headingId = uid('appts');
  const byId = new Map();
  /** Appointments whose check-in is in flight. */
  const pending = new Set();
  let zone = null;
  let day = null;
  let loaded = false;
  let loading = false;
  let buffered = [];
  let seq = 0;

  const count = h('span', { class: 'badge queue-count' });
  const live = h('p', { class: 'muted small queue-live', text: 'Conectando…' });
  const errorBox = h('div', { class: 'queue-error' });
  const resultBox = h('div', { class: 'queue-tracker', hidden: true, tabindex: '-1' });
  const listBox = h('div', { class: 'queue-appts-list', 'aria-busy': 'true' },
    h('p', { class: 'muted', text: 'Carregando as consultas de hoje…' }));
  const node = h('section', { class: 'queue-appts', 'aria-labelledby': headingId, dataset: { queue: 'appointments', live: 'false' } },
    h('div', { class: 'queue-head' },
      h('h3', { class: 'h3 queue-subhead', id: headingId }, 'Consultas de hoje ', count),
      live),
    h('p', { class: 'muted small queue-appts-hint', text: 'Agendadas ou confirmadas, ainda sem check-in. Horários da clínica.' }),
    errorBox,
    listBox,
    resultBox);

  const zoneOf = (a) => a.time_zone || zone || DEFAULT_TZ;

  function toArrive() {
    return [...byId.values()]
      .filter((a) => TO_ARRIVE.has(a.status) && localDate(a.starts_at, zoneOf(a)) === day)
      .sort((a, b) => byStart(a, b) || String(a.patient_name).localeCompare(String(b.patient_name), 'pt-BR'));
  }

  function row(a) {
    const at = timeIn(a.starts_at, zoneOf(a));
    const busy = pending.has(a.id);
    return h('li', { class: 'card queue-appt', dataset: { id: a.id, status: a.status } },
      h('div', { class: 'queue-entry-main' },
        h('span', { class: 'queue-appt-time', text: at }),
        h('div', { class: 'queue-entry-body' },
          h('div', { class: 'card-head' },
            h('span', { class: 'card-title queue-name', text: a.patient_name || 'Paciente' }),
            h('span', { class: `badge ${a.status === 'confirmed' ? 'badge-ok' : 'badge-muted'} queue-appt-status`, text: statusLabel(a.status) })),
          h('span', { class: 'card-meta' },
            h('span', { class: 'queue-prof', text: a.professional_name || 'Profissional' }),
            a.service_name ? h('span', { class: 'queue-appt-service', text: a.service_name }) : null))),
      h('div', { class: 'queue-actions' },
        h('button', {
          type: 'button',
          class: 'btn btn-primary btn-small',
          text: busy ? 'Registrando…' : 'Check-in',
          disabled: busy,
          'aria-label': `Check-in: ${at} — ${a.patient_name || 'Paciente'}`,
          dataset: { action: 'check-in' },
          onclick: () => checkIn(a),
        })));
  }

  function render() {
    if (!loaded) return;
    const list = toArrive();
    count.textContent = String(list.length);
    count.setAttribute('aria-label', plural(list.length, 'consulta', 'consultas'));
    // Keep focus on the list when the focused row goes away (checked in, cancelled).
    const hadFocus = listBox.contains(document.activeElement);
    clear(listBox).append(list.length
      ? h('ul', { class: 'card-list queue-list' }, list.map(row))
      : h('p', { class: 'empty', text: 'Nenhuma consulta aguardando check-in hoje.' }));
    listBox.removeAttribute('aria-busy');
    if (hadFocus && !listBox.contains(document.activeElement)) {
      const next = /** @type {HTMLElement|null} */ (listBox.querySelector('button:not([disabled])'));
      if (next) next.focus();
    }
  }

  function apply(a) {
    if (!a || !a.id) return;
    byId.set(String(a.id), { ...byId.get(String(a.id)), ...a });
  }

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    try {
      if (!zone) {
        zone = await clinicZone(clinicId);
        if (mine !== seq || !ctx.isCurrent()) return;
        if (zone) onZone(zone);
      }
      day = todayIn(zone || DEFAULT_TZ);
      const data = await api.get(`/api/clinics/${seg(clinicId)}/appointments${qs({ from: day, to: day })}`);
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of Array.isArray(data) ? data : []) apply(a);
      for (const a of buffered) apply(a);
      buffered = [];
      loading = false;
      loaded = true;
      clear(errorBox);
      render();
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      loading = false;
      listBox.removeAttribute('aria-busy');
      clear(errorBox).append(
        alertNode(err instanceof ApiError && err.status === 403
          ? 'Você não tem acesso à agenda desta clínica.'
          : `Não foi possível carregar as consultas de hoje. ${errorMessage(err)}`),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Tentar novamente', onclick: () => reload() }));
      if (!loaded) clear(listBox);
    }
  }

  /** Check in for appointment `a`; resolves true when done. */
  async function checkIn(a, { focusResult = false } = {}) {
    if (pending.has(a.id)) return false;
    clear(errorBox);
    resultBox.hidden = true;
    clear(resultBox);
    pending.add(a.id);
    render();
    try {
      const entry = await api.post(`/api/clinics/${seg(clinicId)}/queue`, { appointment_id: a.id });
      if (!ctx.isCurrent()) return false;
      // The push (agenda.updated) confirms it; the row goes away at once.
      apply({ id: a.id, status: 'checked_in' });
      onCheckedIn(entry);
      const at = timeIn(a.starts_at, zoneOf(a));
      const detail = `consulta das ${at}${a.professional_name ? ` com ${a.professional_name}` : ''}`;
      clear(resultBox).append(...(entry.tracker_path
        ? trackerNodes(entry, { lead: 'Check-in feito: senha ', detail })
        : [h('p', { class: 'queue-tracker-ticket' }, 'Check-in feito: senha ', h('strong', { text: entry.ticket }), ` — ${entry.full_name} · ${detail}`)]));
      resultBox.hidden = false;
      if (focusResult || !listBox.querySelector('button:not([disabled])')) resultBox.focus();
      return true;
    } catch (err) {
      if (!ctx.isCurrent()) return false;
      const message = appointmentCheckInError(err, { ...a, zone: zoneOf(a) }, activeEntryOf(a.patient_id));
      clear(errorBox).append(alertNode(message));
      if (err instanceof ApiError && err.code === 'invalid_appointment') reload();
      if (focusResult) errorBox.scrollIntoView({ block: 'nearest' });
      return false;
    } finally {
      pending.delete(a.id);
      render();
    }
  }

  function showLive() {
    const joined = Boolean(handle && handle.joined);
    node.dataset.live = joined ? 'true' : 'false';
    // Live like the board above: only say something when it is not.
    live.textContent = joined ? ''
      : realtime.state === 'reconnecting' ? 'Reconectando… a lista pode estar desatualizada.' : 'Conectando…';
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
        render();
      },
    },
    // Every (re)join reloads: pushes sent while the connection was down may be gone.
    onJoin: () => {
      showLive();
      reload();
    },
    onStatus: () => showLive(),
    // The join was refused for good: the list still works, reloaded after each check-in.
    onError: () => {
      node.dataset.live = 'false';
      live.textContent = 'Sem atualização ao vivo: recarregue a página para ver mudanças da agenda.';
    },
  });
  ctx.onCleanup(() => handle.leave());
  reload();

  // A new day: the list is today's again.
  const timer = setInterval(() => {
    if (loaded && zone && todayIn(zone) !== day) reload();
  }, DAY_TICK_MS);
  ctx.onCleanup(() => clearInterval(timer));

  return {
    node,
    reload,
    checkIn,
    /** The patient's appointments of today still to arrive (for the walk-in form). */
    openFor: (patientId) => (loaded && patientId
      ? toArrive().filter((a) => String(a.patient_id) === String(patientId))
        .map((a) => ({ ...a, time: timeIn(a.starts_at, zoneOf(a)) }))
      : []),
  };
}

/** Check-in: a registered patient (search) or a walk-in name. */
/**
 * An appointment of today, with its time shown in the clinic's zone.
 * @typedef {import('../types.js').Appointment & {time: string}} TodayAppointment
 */

/**
 * @param {string} clinicId
 * @param {(entry: object) => void} onCheckedIn
 * @param {{appointmentsOf?: (patientId: string) => TodayAppointment[],
 *   checkInAppointment?: ((appointment: TodayAppointment) => Promise<unknown>)|null}} [opts]
 */
function checkInForm(clinicId, onCheckedIn, { appointmentsOf = () => [], checkInAppointment = null } = {}) {
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
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Registrar chegada' });
  const trackerBox = h('div', { class: 'queue-tracker', hidden: true });

  /** The registered patient chosen, or null for a walk-in. */
  let chosen = null;
  let searchSeq = 0;
  let debounce = 0;

  function choose(patient) {
    chosen = patient;
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
      h('div', { class: 'field' }, h('label', { for: prioSelect.id, text: 'Prioridade' }), prioSelect)),
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
    }
    submit.disabled = true;
    submit.textContent = 'Registrando…';
    try {
      const entry = await api.post(`/api/clinics/${seg(clinicId)}/queue`, body);
      onCheckedIn(entry);
      form.reset();
      choose(null);
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
function callNextForm(clinicId, onCalled) {
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

// ------------------------------------------------------ professional ---

/** "Minha fila" on the professional's home. */
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
