// @ts-check
// "Meu dia" (#/meu-dia[?data=YYYY-MM-DD]): a professional's appointments of one day in every
// clinic they work in (GET /api/me/day), in time order, each in its clinic's zone; the patient
// being seen and the next one on top; and the day's actions: start the consultation (the
// appointment goes in progress and the record opens on its encounter), start the video
// call, finish (attended), the record (documents) and the chat. Kept live by each clinic's
// `clinic:<id>:agenda` topic.

import { api, qs, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, errorMessage, loadingNode } from '../ui.js';
import { addDays, isYmd, longDate, statusLabel, timeIn, KIND_LABELS } from '../agenda-util.js';
import { clinicName, text } from '../messages.js';
import { daySummary, visitActions } from '../day.js';
import { replaceHash } from './agenda-parts.js';
import { chatHref } from './chat-rooms.js';
import { liveText } from './agenda-live.js';

/** @typedef {import('../types.js').Appointment} Appointment */

const ACTION_LABELS = {
  start: 'Iniciar consulta',
  video: 'Abrir teleconsulta',
  finish: 'Finalizar consulta',
  record: 'Prontuário e documentos',
  chat: 'Mensagem',
};

/**
 * "Meu dia": the professional's day in every clinic.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {URLSearchParams} params `data` (YYYY-MM-DD; today when absent)
 */
export function renderMyDay(ctx, me, params) {
  document.title = 'Meu dia — atende';
  let date = isYmd(params.get('data')) ? params.get('data') : null;
  const liveStatus = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const heading = h('h2', { class: 'ag-range-heading', 'aria-live': 'polite' });
  const summary = h('p', { class: 'muted day-summary', dataset: { day: 'summary' } });
  const errorArea = h('div', { class: 'ag-error' });
  const status = h('p', { class: 'form-status', role: 'status', dataset: { day: 'status' } });
  const focus = h('div', { class: 'day-focus' });
  const list = h('div', { class: 'day-list' }, loadingNode());
  const prev = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: '◀ Dia anterior' });
  const today = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Hoje' });
  const next = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Próximo dia ▶' });
  const root = h('div', { class: 'view ag-view', dataset: { view: 'my-day', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Meu dia' }), liveStatus),
    h('div', { class: 'ag-toolbar' },
      h('div', { class: 'ag-nav', role: 'group', 'aria-label': 'Navegar pelos dias' }, prev, today, next)),
    heading, summary, errorArea, status, focus, list,
    h('p', { class: 'small' }, h('a', { href: '#/minha-agenda', text: 'Ver a semana em “Minha agenda”' })));

  /** @type {{date: string, clinics: Array<{id: string, name: string, time_zone: string}>, appointments: Appointment[], current_id: string|null, next_id: string|null}|null} */
  let day = null;
  let seq = 0;
  /** @type {Array<{leave: () => void, joined: boolean}>} */
  const handles = [];
  let joinedOnce = false;

  function go(to) {
    date = to;
    reload();
  }
  prev.addEventListener('click', () => day && go(addDays(day.date, -1)));
  next.addEventListener('click', () => day && go(addDays(day.date, 1)));
  today.addEventListener('click', () => go(null));

  async function reload() {
    seq += 1;
    const mine = seq;
    list.setAttribute('aria-busy', 'true');
    try {
      const data = await api.get(`/api/me/day${qs({ date })}`);
      if (mine !== seq || !ctx.isCurrent()) return;
      day = data;
      clear(errorArea);
      if (date) replaceHash(`#/meu-dia${qs({ data: date })}`);
      render();
      joinClinics();
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      clear(errorArea).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reload }));
      clear(list);
    } finally {
      if (mine === seq) list.removeAttribute('aria-busy');
    }
  }

  function render() {
    if (!day) return;
    heading.textContent = longDate(day.date);
    const names = day.clinics.map((c) => clinicName(c.name));
    summary.textContent = `${daySummary(day.appointments)} ${names.length > 1
      ? `Em ${names.join(' e ')}, cada horário no fuso da sua clínica.`
      : ''}`.trim();
    const byId = new Map(day.appointments.map((a) => [a.id, a]));
    const upcoming = day.next_id ? byId.get(day.next_id) : null;
    clear(focus);
    // Usually one; a video call left open elsewhere would be a second.
    for (const a of day.appointments.filter((x) => x.status === 'in_progress')) focus.append(card(a, 'Em atendimento', 'current'));
    if (upcoming) focus.append(card(upcoming, 'Próximo paciente', 'next'));
    clear(list);
    if (!day.appointments.length) {
      list.append(h('p', { class: 'empty', text: 'Nenhuma consulta neste dia.' }));
      return;
    }
    list.append(h('section', { class: 'panel', 'aria-labelledby': 'day-all' },
      h('h2', { id: 'day-all', class: 'h3', text: 'Consultas do dia' }),
      h('ul', { class: 'card-list day-items' }, day.appointments.map((a) => h('li', null, row(a))))));
  }

  /** The patient being seen or the next one, on top. */
  function card(a, title, role) {
    return h('section', { class: `panel day-card day-${role}`, 'aria-label': title, dataset: { day: role, id: a.id } },
      h('p', { class: 'muted small day-card-title', text: title }),
      h('p', { class: 'day-card-name' }, h('strong', { text: text(a.patient_name) || 'Paciente' })),
      h('p', { class: 'muted', text: describe(a) }),
      actions(a));
  }

  /** One appointment of the list. */
  function row(a) {
    return h('article', { class: `ag-my-item day-item ag-st-${a.status}`, dataset: { id: a.id, status: a.status } },
      h('span', { class: 'ag-my-time', text: `${timeIn(a.starts_at, a.time_zone)}–${timeIn(a.ends_at, a.time_zone)}` }),
      h('span', { class: 'ag-my-main' },
        h('span', { class: 'card-title', text: text(a.patient_name) || 'Paciente' }),
        h('span', { class: 'card-meta', text: kindText(a) })),
      h('span', { class: 'ag-my-badges' },
        h('span', { class: 'badge ag-clinic-badge', text: clinicName(a.clinic_name) }),
        h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })),
      actions(a));
  }

  /** "Consulta clínica · Presencial"; "Teleconsulta" once when the service says it already. */
  function kindText(a) {
    const service = text(a.service_name);
    const kind = KIND_LABELS[a.kind] || '';
    return service && service.toLowerCase() === kind.toLowerCase() ? service : [service, kind].filter(Boolean).join(' · ');
  }

  /** "14:00 · Clínica Aurora · Consulta clínica · Presencial · Agendada". */
  function describe(a) {
    return [timeIn(a.starts_at, a.time_zone), clinicName(a.clinic_name), kindText(a), statusLabel(a.status)]
      .filter(Boolean).join(' · ');
  }

  function actions(a) {
    const recordHref = `#/clinica/${seg(a.clinic_id)}/paciente/${seg(a.patient_id)}`;
    return h('div', { class: 'day-actions' }, visitActions(a).map((kind) => {
      const label = ACTION_LABELS[kind];
      const described = `${label} — ${text(a.patient_name) || 'Paciente'}, ${timeIn(a.starts_at, a.time_zone)}`;
      if (kind === 'record') return h('a', { class: 'btn btn-secondary btn-small', href: recordHref, text: label, 'aria-label': described, dataset: { action: kind } });
      if (kind === 'video') return h('a', { class: 'btn btn-primary btn-small', href: `#/teleconsulta/${seg(a.id)}`, text: label, 'aria-label': described, dataset: { action: kind } });
      const button = h('button', {
        type: 'button',
        class: kind === 'chat' ? 'btn btn-secondary btn-small' : 'btn btn-primary btn-small',
        text: label,
        'aria-label': described,
        dataset: { action: kind },
      });
      button.addEventListener('click', () => act(kind, a, button));
      return button;
    }));
  }

  async function act(kind, a, button) {
    button.disabled = true;
    status.textContent = '';
    try {
      if (kind === 'start') {
        const started = await api.post(`/api/me/day/${seg(a.id)}/start`);
        location.hash = `#/clinica/${seg(a.clinic_id)}/paciente/${seg(a.patient_id)}${qs({ atendimento: started.encounter_id })}`;
        return;
      }
      if (kind === 'finish') {
        await api.post(`/api/me/day/${seg(a.id)}/finish`);
        status.textContent = `Consulta de ${text(a.patient_name) || 'Paciente'} finalizada.`;
        await reload();
        return;
      }
      const room = await api.post(`/api/clinics/${seg(a.clinic_id)}/chat/rooms`, {
        patient_id: a.patient_id,
        professional_user_id: me.id,
      });
      location.hash = chatHref(room.id);
    } catch (err) {
      status.textContent = errorMessage(err);
      button.disabled = false;
    }
  }

  function liveState() {
    const joined = handles.length > 0 && handles.every((x) => x.joined);
    liveStatus.textContent = liveText('ready', joined);
    root.dataset.live = joined ? 'true' : 'false';
  }

  function joinClinics() {
    if (handles.length || !day) return;
    for (const c of day.clinics) {
      const handle = realtime.join(`clinic:${c.id}:agenda`, {
        events: {
          'agenda.updated': (payload) => {
            const a = payload && payload.appointment;
            if (a && a.professional_user_id === me.id) reload();
          },
        },
        onJoin: () => {
          // A rejoin (after a reconnect) may have missed changes: read the day again.
          if (joinedOnce) reload();
          joinedOnce = true;
          liveState();
        },
        onStatus: liveState,
        onError: liveState,
      });
      handles.push(handle);
      ctx.onCleanup(() => handle.leave());
    }
  }

  reload();
  return root;
}
