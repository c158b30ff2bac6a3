// @ts-check
// "Minha agenda" (#/minha-agenda[?data=YYYY-MM-DD&modo=dia]): a professional's appointments
// in every clinic, a day or a week at a time, each with its clinic's name and in its clinic's
// time zone, kept live by each clinic's `clinic:<id>:agenda` topic; an appointment opens its
// dialog (views/agenda-appointment.js). Below, "Assinar no celular (iCal)".

import { api, qs, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, copyField, errorMessage, loadingNode, uid } from '../ui.js';
import {
  addDays, agendaError, byStart, daysBetween, fullDate, isYmd, localDate, longDate, mediumDate,
  statusLabel, timeIn, todayIn,
} from '../agenda-util.js';
import { errorBox, replaceHash, teleBadge } from './agenda-parts.js';
import { openAppointmentDialog } from './agenda-appointment.js';
import { liveText } from './agenda-live.js';

/**
 * "Minha agenda": the professional's appointments in every clinic.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {URLSearchParams} params `data` (YYYY-MM-DD), `modo` (`dia`; a week otherwise)
 */
export function renderMyAgenda(ctx, me, params) {
  document.title = 'Minha agenda — atende';
  const clinics = [];
  for (const m of me.memberships || []) {
    if (m.role === 'professional' && !clinics.some((c) => c.id === m.clinic_id)) {
      clinics.push({ id: m.clinic_id, name: m.clinic_name, tz: 'America/Sao_Paulo', services: null });
    }
  }
  const view = {
    date: isYmd(params.get('data')) ? params.get('data') : null,
    mode: params.get('modo') === 'dia' ? 'day' : 'week',
  };
  const liveStatus = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
  const errorArea = h('div', { class: 'ag-error' });
  const list = h('div', { class: 'ag-my-list' }, loadingNode());
  const rangeHeading = h('h2', { class: 'ag-range-heading', 'aria-live': 'polite' });
  const root = h('div', { class: 'view ag-view', dataset: { view: 'my-agenda', live: 'false' } },
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Minha agenda' }), liveStatus),
    h('p', { class: 'muted', text: clinics.length > 1
      ? `Suas consultas em ${clinics.map((c) => c.name).join(' e ')}. Horários no fuso de cada clínica.`
      : 'Suas consultas. Horários no fuso da clínica.' }),
    errorArea);

  if (!clinics.length) {
    root.append(h('p', { class: 'empty', text: 'Você não atende em nenhuma clínica como profissional.' }));
    return root;
  }

  const byId = new Map();
  const handles = [];
  let loading = false;
  let buffered = [];
  let seq = 0;
  let openDialog = null;

  const dateInput = h('input', { type: 'date', id: uid('my-date'), name: 'date' });
  const prevButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small' });
  const todayButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Hoje' });
  const nextButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small' });
  const dayButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Dia' });
  const weekButton = h('button', { type: 'button', class: 'btn btn-small ag-mode', text: 'Próximos 7 dias' });
  const links = h('p', { class: 'ag-my-links small' }, 'Agenda de cada clínica: ',
    clinics.map((c, i) => [i ? ' · ' : '', h('a', { href: `#/clinica/${seg(c.id)}/agenda`, text: c.name })]));

  root.append(
    h('div', { class: 'ag-toolbar' },
      h('div', { class: 'ag-nav', role: 'group', 'aria-label': 'Navegar pelas datas' },
        prevButton, todayButton, nextButton,
        h('label', { class: 'visually-hidden', for: dateInput.id, text: 'Data' }), dateInput),
      h('div', { class: 'ag-modes', role: 'group', 'aria-label': 'Visualização' }, dayButton, weekButton)),
    rangeHeading, list, links, icalPanel());

  const clinicOf = (id) => clinics.find((c) => c.id === id);
  const tzOf = (id) => (clinicOf(id) || {}).tz || 'America/Sao_Paulo';

  function range() {
    return view.mode === 'day' ? { from: view.date, to: view.date } : { from: view.date, to: addDays(view.date, 6) };
  }

  function syncToolbar() {
    dateInput.value = view.date;
    for (const [b, mode] of /** @type {Array<[HTMLButtonElement, string]>} */ ([[dayButton, 'day'], [weekButton, 'week']])) {
      b.setAttribute('aria-pressed', String(view.mode === mode));
      b.classList.toggle('btn-primary', view.mode === mode);
      b.classList.toggle('btn-secondary', view.mode !== mode);
    }
    prevButton.textContent = view.mode === 'day' ? '◀ Dia anterior' : '◀ 7 dias antes';
    nextButton.textContent = view.mode === 'day' ? 'Próximo dia ▶' : '7 dias depois ▶';
    const { from, to } = range();
    rangeHeading.textContent = view.mode === 'day' ? longDate(from) : `De ${fullDate(from)} a ${fullDate(to)}`;
    replaceHash(`#/minha-agenda${qs({ data: view.date, modo: view.mode === 'day' ? 'dia' : null })}`);
  }

  function go(change) {
    Object.assign(view, change);
    syncToolbar();
    reload();
  }
  prevButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'day' ? -1 : -7) }));
  nextButton.addEventListener('click', () => go({ date: addDays(view.date, view.mode === 'day' ? 1 : 7) }));
  todayButton.addEventListener('click', () => go({ date: todayIn(clinics[0].tz) }));
  dateInput.addEventListener('change', () => {
    if (isYmd(dateInput.value)) go({ date: dateInput.value });
  });
  dayButton.addEventListener('click', () => go({ mode: 'day' }));
  weekButton.addEventListener('click', () => go({ mode: 'week' }));

  function apply(a) {
    if (!a || a.professional_user_id !== me.id) return;
    const clinic = clinicOf(a.clinic_id);
    byId.set(a.id, { clinic_name: clinic ? clinic.name : '', ...byId.get(a.id), ...a });
  }

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    list.setAttribute('aria-busy', 'true');
    const { from, to } = range();
    try {
      const rows = await api.get(`/api/me/agenda${qs({ from, to })}`);
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of Array.isArray(rows) ? rows : []) apply(a);
      for (const a of buffered) apply(a);
      buffered = [];
      clear(errorArea);
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      clear(errorArea).append(alertNode(agendaError(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reload }));
    } finally {
      if (mine === seq) {
        loading = false;
        list.removeAttribute('aria-busy');
      }
    }
    if (mine === seq && ctx.isCurrent()) render();
  }

  function render() {
    const { from, to } = range();
    // The server pads the range (it does not know each clinic's zone): filter here.
    const items = [...byId.values()]
      .map((a) => ({ a, date: localDate(a.starts_at, tzOf(a.clinic_id)) }))
      .filter((x) => x.date >= from && x.date <= to)
      .sort((x, y) => byStart(x.a, y.a));
    clear(list);
    const days = view.mode === 'day' ? [from] : Array.from({ length: daysBetween(from, to) + 1 }, (_, i) => addDays(from, i));
    let any = false;
    for (const day of days) {
      const todays = items.filter((x) => x.date === day);
      if (!todays.length && view.mode !== 'day') continue;
      any = true;
      const section = h('section', { class: 'panel ag-day', 'aria-label': mediumDate(day), dataset: { date: day } },
        h('h3', { class: 'ag-day-title', text: view.mode === 'day' ? 'Consultas do dia' : mediumDate(day) }));
      if (!todays.length) section.append(h('p', { class: 'empty', text: 'Nenhuma consulta neste dia.' }));
      else section.append(h('ul', { class: 'card-list ag-my-items' }, todays.map(({ a }) => myItem(a))));
      list.append(section);
    }
    if (!any) list.append(h('p', { class: 'empty', text: 'Nenhuma consulta nestes dias.' }));
  }

  function myItem(a) {
    const tz = tzOf(a.clinic_id);
    const button = h('button', {
      type: 'button',
      class: `ag-my-item ag-st-${a.status}`,
      'aria-haspopup': 'dialog',
      dataset: { id: a.id, status: a.status },
    },
    h('span', { class: 'ag-my-time', text: `${timeIn(a.starts_at, tz)}–${timeIn(a.ends_at, tz)}` }),
    h('span', { class: 'ag-my-main' },
      h('span', { class: 'card-title', text: a.patient_name || 'Paciente' }),
      h('span', { class: 'card-meta' },
        a.service_name ? h('span', { text: a.service_name }) : null,
        a.kind === 'teleconsultation' ? teleBadge() : null)),
    h('span', { class: 'ag-my-badges' },
      h('span', { class: 'badge ag-clinic-badge', text: a.clinic_name || (clinicOf(a.clinic_id) || {}).name || '' }),
      h('span', { class: `badge ag-badge ag-st-${a.status} ag-status`, text: statusLabel(a.status) })));
    button.addEventListener('click', async () => {
      const clinic = clinicOf(a.clinic_id);
      const setup = { clinicId: a.clinic_id, tz, services: [] };
      openDialog = openAppointmentDialog(root, button, setup, byId.get(a.id) || a, (updated) => {
        apply(updated);
        render();
      }, {
        clinicName: clinic ? clinic.name : a.clinic_name,
        patientLink: `#/clinica/${seg(a.clinic_id)}/paciente/${seg(a.patient_id)}`,
        meId: me.id,
      });
    });
    return h('li', null, button);
  }

  function liveState() {
    const joined = handles.length && handles.every((x) => x.joined);
    liveStatus.textContent = liveText('ready', joined);
    root.dataset.live = joined ? 'true' : 'false';
  }

  (async () => {
    await Promise.all(clinics.map(async (c) => {
      try {
        const info = await api.get(`/api/clinics/${seg(c.id)}`);
        if (info && info.time_zone) c.tz = info.time_zone;
      } catch {
        // keep the default zone
      }
    }));
    if (!ctx.isCurrent()) return;
    if (!view.date) view.date = todayIn(clinics[0].tz);
    syncToolbar();
    for (const c of clinics) {
      const handle = realtime.join(`clinic:${c.id}:agenda`, {
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
            if (openDialog && openDialog.open) openDialog.update(a);
          },
        },
        onJoin: () => {
          reload();
          liveState();
        },
        onStatus: liveState,
        onError: () => liveState(),
      });
      handles.push(handle);
      ctx.onCleanup(() => handle.leave());
    }
    reload();
  })();

  return root;
}

/**
 * "Assinar no celular (iCal)": a secret calendar address of the professional's agenda.
 * POST /api/me/ical makes a new one (the old stops working); DELETE /api/me/ical revokes it.
 * The server keeps only a hash: an address cannot be shown again, only replaced.
 */
function icalPanel() {
  const body = h('div', { class: 'ical-body' });
  const status = h('p', { class: 'form-status ical-status', role: 'status' });
  const errors = errorBox();
  const panel = h('section', { class: 'panel ical-panel', 'aria-labelledby': 'ical-heading', dataset: { ical: 'panel' } },
    h('h2', { id: 'ical-heading', class: 'h3', text: 'Assinar no celular (iCal)' }),
    h('p', { class: 'muted small', text: 'Veja suas consultas de todas as clínicas no calendário do celular ou do computador (Google Agenda, Calendário do iPhone, Outlook). O calendário se atualiza sozinho, com o primeiro nome e a inicial de cada paciente.' }),
    errors.node, body, status);

  async function run(button, fn) {
    errors.clear();
    status.textContent = '';
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      errors.show(errorMessage(err));
      button.disabled = false;
    }
  }

  function create(button, replaced) {
    return run(button, async () => {
      const res = await api.post('/api/me/ical');
      showAddress(res.path);
      status.textContent = replaced
        ? 'Novo endereço criado. O endereço anterior parou de funcionar: assine de novo nos seus aparelhos.'
        : 'Endereço criado. Adicione-o ao calendário do celular.';
    });
  }

  function revoke(button) {
    return run(button, async () => {
      await api.del('/api/me/ical');
      showStart();
      status.textContent = 'Endereço revogado: os calendários que o usavam param de receber suas consultas.';
    });
  }

  function showStart() {
    const start = h('button', { type: 'button', class: 'btn btn-primary', text: 'Assinar no celular (iCal)', dataset: { ical: 'create' } });
    start.addEventListener('click', () => create(start, false));
    const stop = h('button', { type: 'button', class: 'btn btn-link', text: 'Revogar o endereço atual', dataset: { ical: 'revoke' } });
    stop.addEventListener('click', () => revoke(stop));
    clear(body).append(
      h('div', { class: 'form-actions' }, start),
      h('p', { class: 'muted small' }, 'Já assinou antes? Um novo endereço substitui o anterior. Para parar de enviar sua agenda: ', stop, '.'));
  }

  function showAddress(path) {
    const url = new URL(path, location.origin);
    const webcal = `webcal://${url.host}${url.pathname}`;
    const field = copyField({ label: 'Endereço do calendário (secreto)', value: url.href, name: 'ical-url', buttonLabel: 'Copiar endereço' });
    const again = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Gerar novo endereço', dataset: { ical: 'renew' } });
    again.addEventListener('click', () => create(again, true));
    const stop = h('button', { type: 'button', class: 'btn btn-secondary btn-small ag-action-danger', text: 'Revogar', dataset: { ical: 'revoke' } });
    stop.addEventListener('click', () => {
      clear(actions).append(
        h('span', { text: 'Revogar o endereço? Os calendários que o usam param de receber suas consultas.' }),
        (() => {
          const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, revogar', dataset: { ical: 'revoke-yes' } });
          yes.addEventListener('click', () => revoke(yes));
          return yes;
        })(),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Voltar', onclick: () => showAddress(path) }));
      const yes = /** @type {HTMLElement|null} */ (actions.querySelector('[data-ical="revoke-yes"]'));
      if (yes) yes.focus();
    });
    const actions = h('div', { class: 'ical-actions' }, again, stop);
    clear(body).append(
      field.node,
      h('p', null, h('a', { class: 'btn btn-primary ical-webcal', href: webcal, text: 'Abrir no calendário do celular' })),
      h('p', { class: 'muted small', text: 'No Google Agenda (computador): “Outras agendas” → “Do URL” e cole o endereço. No iPhone: toque em “Abrir no calendário do celular”. Guarde o endereço só para você: quem o tiver vê seus horários.' }),
      actions);
  }

  showStart();
  return panel;
}
