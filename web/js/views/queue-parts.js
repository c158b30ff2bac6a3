// @ts-check
// Waiting room: what the reception board and the professional's "Minha fila" share — labels
// and order of the entries, their badges, the live queue (HTTP snapshot + `clinic:<id>:queue`
// pushes + the panel's call order and waits), the actions and their error messages.

import { api, ApiError, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, copyField, errorMessage } from '../ui.js';
import { timeIn } from '../agenda-util.js';
import { panelFeed } from '../panel-feed.js';
import { professionalName } from '../messages.js';

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

/**
 * A patient in today's queue (`GET /api/clinics/{id}/queue`, `queue.updated {entry}`; built
 * by src/actors/queue.rs).
 * @typedef {object} QueueEntry
 * @property {string} id
 * @property {string} ticket e.g. "A012"
 * @property {string} full_name
 * @property {string} panel_name as the TV panel shows it
 * @property {string|null} patient_id null for a walk-in without a record
 * @property {string|null} professional_user_id
 * @property {string} priority a key of PRIORITIES
 * @property {'waiting'|'called'|'in_service'|'done'|'no_show'|'left'} status
 * @property {string|null} room
 * @property {string} checked_in_at
 * @property {string|null} appointment_id checked in for this appointment
 * @property {string|null} appointment_at its time: the entry's place in line
 * @property {string|null} called_at
 * @property {string|null} service_started_at
 * @property {string|null} finished_at
 * @property {number} recalls
 * @property {string} [tracker_path] the patient's phone page (`/#/fila/{tracker}`), in a check-in's answer
 */

/** @typedef {import('../panel-feed.js').PanelSnapshot} PanelSnapshot */

export const ACTIVE = new Set(['called', 'in_service']);
export const CLOSED = new Set(['done', 'no_show', 'left']);
const STATUS_ORDER = { waiting: 0, called: 1, in_service: 2 };
export const TICK_MS = 30_000;

function priorityRank(priority) {
  if (priority === 'elderly_80') return 0;
  return !priority || priority === 'none' ? 2 : 1;
}

function time(iso) {
  return iso ? Date.parse(iso) || 0 : 0;
}

/** An entry's place in line: its appointment's time, else its arrival. @param {QueueEntry} entry */
function placeTime(entry) {
  return time(entry.appointment_at || entry.checked_in_at);
}

/**
 * Same order as the server: waiting in call order, then called, in service, closed.
 * @param {QueueEntry} a
 * @param {QueueEntry} b
 */
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

/**
 * "menos de 1 min", "5 min", "1 h 20 min" since `iso`.
 * @param {string|null|undefined} iso
 * @param {number} [now] ms since the epoch
 */
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

export function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // ignore
  }
}

export function roomKey(clinicId) {
  return `atende.queue.room.${clinicId}`;
}

export function priorityBadge(priority) {
  if (!priority || priority === 'none') return null;
  return h('span', { class: 'badge badge-warn queue-priority', text: PRIORITY_LABELS[priority] || priority });
}

export function statusBadge(status) {
  const cls = status === 'called' ? 'badge-called' : status === 'in_service' ? 'badge-ok' : 'badge-muted';
  return h('span', { class: `badge ${cls} queue-status`, text: STATUS_LABELS[status] || status });
}

/** @param {QueueEntry} entry */
export function entryLabel(entry) {
  return `${entry.ticket} — ${entry.full_name}`;
}

/**
 * "Consulta 14:00" (clinic zone) on an entry that came for an appointment, else null.
 * @param {QueueEntry} entry
 * @param {string} timeZone
 */
export function appointmentTag(entry, timeZone) {
  if (!entry.appointment_at) return null;
  return h('span', { class: 'queue-appt-tag', text: `Consulta ${timeIn(entry.appointment_at, timeZone)}` });
}

/**
 * The clinic's time zone (times of appointments are shown in it); null when unknown.
 * @param {string} clinicId
 * @returns {Promise<string|null>}
 */
export async function clinicZone(clinicId) {
  try {
    const clinic = await api.get(`/api/clinics/${seg(clinicId)}`);
    return (clinic && clinic.time_zone) || null;
  } catch {
    return null;
  }
}

/**
 * After a check-in: the patient's phone page, to hand over (nodes for a `.queue-tracker`).
 * @param {QueueEntry} entry
 * @param {{lead?: string, detail?: string}} [opts]
 */
export function trackerNodes(entry, { lead = 'Senha ', detail = '' } = {}) {
  const url = new URL(entry.tracker_path, location.origin).href;
  const link = copyField({ label: 'Link para acompanhar no celular', value: url, name: 'tracker-link' });
  return [
    h('p', { class: 'queue-tracker-ticket' }, lead, h('strong', { text: entry.ticket }), ` — ${entry.full_name}`,
      detail ? h('span', { class: 'muted', text: ` · ${detail}` }) : null),
    link.node,
    h('p', { class: 'muted small', text: 'Envie ao paciente (por WhatsApp, por exemplo): a página mostra o lugar na fila e avisa quando for a vez dele. Vale só por hoje.' }),
  ];
}

/**
 * Waiting entries in the snapshot's call order; entries it does not know yet go last.
 * @param {QueueEntry[]} waiting
 * @param {PanelSnapshot|null} snapshot
 */
export function inCallOrder(waiting, snapshot) {
  if (!snapshot) return waiting;
  const pos = new Map(snapshot.waiting.map((w, i) => [w.ticket, i]));
  const known = waiting.filter((e) => pos.has(e.ticket)).sort((a, b) => pos.get(a.ticket) - pos.get(b.ticket));
  return [...known, ...waiting.filter((e) => !pos.has(e.ticket))];
}

/**
 * ticket → estimated wait in minutes, from the snapshot.
 * @param {PanelSnapshot|null} snapshot
 * @param {string} ticket
 */
export function etaOf(snapshot, ticket) {
  const w = snapshot ? snapshot.waiting.find((x) => x.ticket === ticket) : null;
  return w && typeof w.eta_minutes === 'number' ? w.eta_minutes : null;
}

export function etaText(minutes) {
  if (minutes === null) return '';
  return minutes > 0 ? `Espera estimada ~${minutes} min` : 'Próximo(a) a ser chamado(a)';
}

/**
 * Live model of the clinic's queue. `onChange(entries, change)` runs after
 * every load and push (`change`: the pushed entry, or null for a reload);
 * `onPanel(snapshot)` after every newer panel snapshot (call order and waits).
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 * @param {(entries: QueueEntry[], change: QueueEntry|null) => void} onChange
 * @param {(state: string, err?: unknown) => void} onState
 * @param {(snapshot: PanelSnapshot) => void} [onPanel]
 */
export function liveQueue(ctx, clinicId, onChange, onState, onPanel = () => {}) {
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
export function act(clinicId, entry, action, body) {
  return api.post(`/api/clinics/${seg(clinicId)}/queue/${seg(entry.id)}/${action}`, body);
}

export function actionError(err) {
  if (err instanceof ApiError && err.code === 'invalid_transition') {
    return 'Esta senha mudou de situação enquanto isso. A fila foi atualizada.';
  }
  return errorMessage(err);
}

export function callNextError(err) {
  if (err instanceof ApiError && err.code === 'queue_empty') return 'Ninguém aguardando na fila para este profissional.';
  return errorMessage(err);
}

export function liveStatusText(state) {
  if (state === 'live') return 'Atualizada ao vivo.';
  if (state === 'loading') return 'Carregando a fila…';
  return realtime.state === 'reconnecting' ? 'Reconectando… a fila pode estar desatualizada.' : 'Conectando…';
}

export function actionButtons(entry, actions, run) {
  return h('div', { class: 'queue-actions' }, actions.map((action) => h('button', {
    type: 'button',
    class: `btn btn-small ${action === 'start' || action === 'finish' ? 'btn-primary' : 'btn-secondary'}`,
    text: ACTION_LABELS[action],
    'aria-label': `${ACTION_LABELS[action]}: ${entryLabel(entry)}`,
    dataset: { action },
    onclick: (event) => run(entry, action, event.currentTarget),
  })));
}

export function fillProfessionals(select, profs, firstLabel) {
  const keep = select.value;
  select.replaceChildren(h('option', { value: '', text: firstLabel }),
    ...profs.map((p) => h('option', {
      value: p.user_id,
      text: professionalName({ name: p.full_name, profession: p.professional?.profession, gender: p.professional?.gender })
        || p.full_name,
    })));
  if (keep) select.value = keep;
}
