// @ts-check
// Waiting room: "Consultas de hoje" on the reception board — today's appointments still to
// arrive (`scheduled`/`confirmed`, live on `clinic:<id>:agenda`), each with a "Check-in"
// button (`POST /queue {appointment_id}`) that puts the patient in line by the appointment's
// time.

import { professionalName } from '../messages.js';
import { api, ApiError, qs, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, errorMessage, plural, uid } from '../ui.js';
import { byStart, DEFAULT_TZ, localDate, statusLabel, timeIn, todayIn } from '../agenda-util.js';
import { clinicZone, trackerNodes } from './queue-parts.js';

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

/** "Dra. Helena Duarte": the appointment's professional, titled by the catalog. */
function proName(a) {
  return professionalName({ name: a.professional_name, profession: a.professional_profession, gender: a.professional_gender });
}

export function todayAppointments(ctx, clinicId, { onCheckedIn, onZone, activeEntryOf }) {
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
            h('span', { class: 'queue-prof', text: proName(a) || 'Profissional' }),
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
      const detail = `consulta das ${at}${a.professional_name ? ` com ${proName(a)}` : ''}`;
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
