// "Minhas consultas" (#/minhas-consultas): a patient's upcoming and past appointments,
// with cancel (reason required) and reschedule into a free slot of the same professional.
//
//   GET /api/me/appointments                          newest first, every clinic
//   POST /api/clinics/{c}/appointments/{id}/cancel     {reason}
//   POST /api/clinics/{c}/appointments/{id}/reschedule {starts_at}
//   GET /api/public/clinics/{c}/booking | slots         the clinic's zone and free slots
//
// Live: the patient's `user:<id>` topic pushes `appointment.updated {appointment}` when the
// clinic confirms, moves or cancels one (and after the patient's own changes).

import { api, qs, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, errorMessage, loadingNode, uid } from '../ui.js';
import {
  KIND_LABELS, addDays, agendaError, durationText, isCode, isOpen, isYmd, localDate, longDate,
  minutesBetween, shortDate, statusLabel, timeIn, todayIn, weekdayShort, whenText,
} from '../agenda-util.js';

export function renderMyAppointments(ctx, me) {
  document.title = 'Minhas consultas — atende';
  const live = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  const errorArea = h('div');
  const upcomingBox = h('div', { class: 'ma-list' }, loadingNode());
  const pastBox = h('div', { class: 'ma-list' });
  const bookBox = h('div', { class: 'ma-book' });
  const root = h('div', { class: 'view view-medium ma-view', dataset: { view: 'my-appointments', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Minhas consultas' }), live),
    announce, errorArea,
    h('section', { class: 'panel', 'aria-labelledby': 'ma-upcoming' },
      h('h2', { id: 'ma-upcoming', text: 'Próximas' }), upcomingBox, bookBox),
    h('section', { class: 'panel', 'aria-labelledby': 'ma-past' },
      h('h2', { id: 'ma-past', text: 'Anteriores e canceladas' }), pastBox));

  const byId = new Map();
  /** clinic_id → time zone (from the public booking info) */
  const zones = new Map();
  /** id of the appointment whose form is open → 'cancel' | 'reschedule' */
  const openForm = { id: null, kind: null };
  let loading = true;
  let buffered = [];
  let seq = 0;

  const tzOf = (clinicId) => zones.get(clinicId) || 'America/Sao_Paulo';

  async function zonesFor(list) {
    const missing = [...new Set(list.map((a) => a.clinic_id))].filter((c) => !zones.has(c));
    await Promise.all(missing.map(async (c) => {
      try {
        const info = await api.get(`/api/public/clinics/${seg(c)}/booking`);
        zones.set(c, (info && info.time_zone) || 'America/Sao_Paulo');
      } catch {
        zones.set(c, 'America/Sao_Paulo');
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
      announce.textContent = `Sua consulta de ${whenText(a.starts_at, tzOf(a.clinic_id))}: ${statusLabel(a.status)}.`;
    } else if (fromPush && before && before.starts_at !== a.starts_at) {
      announce.textContent = `Sua consulta foi remarcada para ${whenText(a.starts_at, tzOf(a.clinic_id))}.`;
    }
    if (ctx.isCurrent()) render();
  }

  function render() {
    const now = Date.now();
    const all = [...byId.values()];
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
    for (const a of all) if (!clinics.has(a.clinic_id)) clinics.set(a.clinic_id, a.clinic_name || 'Clínica');
    clear(bookBox);
    if (clinics.size) {
      bookBox.append(h('p', { class: 'ma-book-links' }, 'Agendar nova consulta: ',
        [...clinics].map(([id, name], i) => [i ? ' · ' : '', h('a', { href: `#/agendar/${seg(id)}`, text: name })])));
    }
  }

  function item(a) {
    const tz = tzOf(a.clinic_id);
    const mins = minutesBetween(a.starts_at, a.ends_at);
    const changeable = isOpen(a.status) && Date.parse(a.starts_at) > Date.now();
    const li = h('li', { class: `card ma-item ag-st-border-${a.status}`, dataset: { id: a.id, status: a.status } },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title ma-when', text: whenText(a.starts_at, tz) }),
        h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })),
      h('span', { class: 'card-meta' },
        h('span', { text: a.professional_name || '' }),
        h('span', { text: `${a.service_name || 'Consulta'} · ${durationText(mins)}` }),
        h('span', { text: a.clinic_name || '' }),
        a.kind === 'teleconsultation' ? h('span', { text: KIND_LABELS.teleconsultation }) : null),
      a.cancel_reason ? h('p', { class: 'muted small ma-reason', text: `Motivo do cancelamento: ${a.cancel_reason}` }) : null);
    if (changeable) {
      const actions = h('div', { class: 'queue-actions ma-actions' },
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
    const first = form && form.querySelector('textarea, input');
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
      h('p', { class: 'small', text: `Escolha um novo horário com ${a.professional_name || 'o profissional'}. A consulta atual fica mantida até você escolher.` }),
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
              announce.textContent = `Consulta remarcada para ${whenText(updated.starts_at, tz)}.`;
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

  const handle = realtime.join(`user:${me.id}`, {
    events: {
      'appointment.updated': (payload) => {
        const a = payload && payload.appointment;
        if (!a) return;
        if (loading) buffered.push(a);
        else apply(a, { fromPush: true });
      },
    },
    onJoin: () => {
      live.textContent = 'Atualizada ao vivo.';
      root.dataset.live = 'true';
      // Pushes sent before this (re)join are not replayed: load again.
      reload();
    },
    onStatus: (state) => {
      if (state !== 'connected' || !handle.joined) {
        live.textContent = state === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
        root.dataset.live = 'false';
      }
    },
    onError: () => {
      live.textContent = 'Sem atualização ao vivo.';
    },
  });
  ctx.onCleanup(() => handle.leave());
  reload();

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
