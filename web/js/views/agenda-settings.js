// @ts-check
// "Horários e serviços" (#/clinica/{id}/horarios[?prof={user_id}]): a professional's
// working hours in one clinic (several stretches per weekday; the gaps are breaks),
// booking rules, exceptions (férias, feriados, horário extra) and, for clinic admins,
// the clinic's services.
//
//   GET|PUT /api/clinics/{c}/professionals/{user_id}/schedule  {hours, rules}
//   GET|POST /api/clinics/{c}/exceptions, DELETE …/exceptions/{id} (admins)
//   GET|POST /api/clinics/{c}/services (POST: admins)
//
// Professionals edit their own hours; clinic admins edit anyone's.

import { api, qs, seg } from '../api.js';
import {
  h, alertNode, clear, createForm, errorMessage, loadingNode, plural, professionLabel, uid,
} from '../ui.js';
import {
  addDays, agendaError, durationText, isYmd, localDate, money, parseHhmm, timeIn, todayIn,
  weekdayName, zonedToUtc, fullDate,
} from '../agenda-util.js';

const NOTICE_OPTIONS = [
  [0, 'Sem antecedência mínima'],
  [30, '30 minutos'],
  [60, '1 hora'],
  [120, '2 horas'],
  [240, '4 horas'],
  [720, '12 horas'],
  [1440, '1 dia'],
  [2880, '2 dias'],
  [4320, '3 dias'],
  [10080, '7 dias'],
];
const STEP_OPTIONS = [5, 10, 15, 20, 30, 60];
/** How far ahead the exceptions list looks (the API answers up to 62 days at once). */
const EXCEPTION_DAYS = 61;

function replaceHash(hash) {
  history.replaceState(null, '', hash);
}

export function renderScheduleSettings(ctx, { me, membership, params, roleParam, homeHref }) {
  const clinicId = membership.clinic_id;
  const isAdmin = (me.memberships || []).some((m) => m.clinic_id === clinicId && m.role === 'clinic_admin');
  const title = isAdmin ? 'Horários e serviços' : 'Meus horários';
  document.title = `${title} — ${membership.clinic_name} — atende`;

  const body = h('div', { class: 'ag-settings-body' }, loadingNode());
  const root = h('div', { class: 'view ag-settings', dataset: { view: 'agenda-settings' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: homeHref, text: `← ${membership.clinic_name}` })),
    h('h1', { tabindex: '-1', text: `${title} — ${membership.clinic_name}` }),
    body);

  let info = null;

  async function start() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode());
    try {
      info = await api.get(`/api/public/clinics/${seg(clinicId)}/booking`);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: start }));
      return;
    }
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    const tz = info.time_zone || 'America/Sao_Paulo';
    const pros = [...(info.professionals || [])].sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
    const editable = isAdmin ? pros : pros.filter((p) => p.user_id === me.id);
    clear(body);
    if (!editable.length) {
      body.append(h('p', { class: 'empty', text: 'Nenhum profissional nesta clínica.' }));
    } else {
      let proId = params.get('prof');
      if (!editable.some((p) => p.user_id === proId)) proId = (editable.find((p) => p.user_id === me.id) || editable[0]).user_id;
      const proBox = h('div', { class: 'ag-settings-pro' });
      const select = h('select', { id: uid('set-pro'), name: 'professional' },
        editable.map((p) => h('option', { value: p.user_id, text: `${p.name} — ${professionLabel(p.profession)}` })));
      select.value = proId;
      const showPro = (id) => {
        replaceHash(`#/clinica/${seg(clinicId)}/horarios${qs({ prof: id, papel: roleParam })}`);
        const pro = editable.find((p) => p.user_id === id);
        clear(proBox).append(
          schedulePanel(ctx, clinicId, pro),
          exceptionsPanel(ctx, { clinicId, tz, pro, isAdmin }));
      };
      select.addEventListener('change', () => showPro(select.value));
      if (editable.length > 1) {
        body.append(h('div', { class: 'field ag-settings-select' },
          h('label', { for: select.id, text: 'Profissional' }), select));
      }
      body.append(proBox);
      showPro(proId);
    }
    if (isAdmin) body.append(servicesPanel(ctx, clinicId, pros));
  }
  start();
  return root;
}

// ------------------------------------------------------- working hours ---

function schedulePanel(ctx, clinicId, pro) {
  const headingId = uid('hours-heading');
  const content = h('div', null, loadingNode());
  const section = h('section', { class: 'panel ag-hours', 'aria-labelledby': headingId, dataset: { settings: 'hours' } },
    h('h2', { id: headingId, text: `Horários de atendimento — ${pro.name}` }),
    h('p', { class: 'muted', text: 'Horários no fuso da clínica. Use mais de um intervalo no mesmo dia para marcar pausas (almoço, por exemplo).' }),
    content);
  const path = `/api/clinics/${seg(clinicId)}/professionals/${seg(pro.user_id)}/schedule`;

  function load() {
    content.setAttribute('aria-busy', 'true');
    clear(content).append(loadingNode());
    api.get(path).then((sched) => {
      if (!ctx.isCurrent()) return;
      content.removeAttribute('aria-busy');
      clear(content).append(scheduleForm(path, sched || { hours: [], rules: {} }));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      content.removeAttribute('aria-busy');
      clear(content).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    });
  }
  load();
  return section;
}

function scheduleForm(path, sched) {
  const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const status = h('p', { class: 'form-status', role: 'status' });
  /** weekday → {list (ul), add()} */
  const days = [];

  function stretchRow(weekday, start = '08:00', end = '12:00') {
    const id = uid(`h-${weekday}`);
    const startInput = h('input', { type: 'time', id: `${id}-start`, name: `start-${weekday}`, step: 300, value: start, class: 'ag-h-start' });
    const endInput = h('input', { type: 'time', id: `${id}-end`, name: `end-${weekday}`, step: 300, value: end, class: 'ag-h-end' });
    const row = h('li', { class: 'ag-stretch' },
      h('label', { class: 'visually-hidden', for: startInput.id, text: `Início — ${weekdayName(weekday)}` }),
      startInput,
      h('span', { 'aria-hidden': 'true', text: 'às' }),
      h('label', { class: 'visually-hidden', for: endInput.id, text: `Fim — ${weekdayName(weekday)}` }),
      endInput);
    row.append(h('button', {
      type: 'button',
      class: 'btn btn-secondary btn-small',
      text: 'Remover',
      'aria-label': `Remover intervalo de ${weekdayName(weekday)}`,
      onclick: () => {
        const list = row.parentElement;
        row.remove();
        syncEmpty(weekday);
        const next = list && list.querySelector('input');
        if (next) next.focus();
        else days[weekday].addButton.focus();
      },
    }));
    return row;
  }

  function syncEmpty(weekday) {
    const d = days[weekday];
    d.empty.hidden = Boolean(d.list.children.length);
  }

  const rows = [];
  for (let weekday = 0; weekday < 7; weekday += 1) {
    const list = h('ul', { class: 'ag-stretches', 'aria-label': `Intervalos de ${weekdayName(weekday)}` });
    const empty = h('span', { class: 'muted ag-day-off', text: 'Não atende' });
    const addButton = h('button', {
      type: 'button',
      class: 'btn btn-link ag-add-stretch',
      text: '+ Adicionar intervalo',
      'aria-label': `Adicionar intervalo em ${weekdayName(weekday)}`,
    });
    days[weekday] = { list, empty, addButton };
    addButton.addEventListener('click', () => {
      const last = list.lastElementChild;
      const lastEnd = last ? parseHhmm(/** @type {HTMLInputElement} */ (last.querySelector('.ag-h-end')).value) : Number.NaN;
      const start = Number.isNaN(lastEnd) ? '08:00' : minutesText(Math.min(lastEnd + 60, 23 * 60));
      const end = Number.isNaN(lastEnd) ? '12:00' : minutesText(Math.min(lastEnd + 300, 23 * 60 + 55));
      const row = stretchRow(weekday, start, end);
      list.append(row);
      syncEmpty(weekday);
      row.querySelector('input').focus();
    });
    for (const x of (sched.hours || []).filter((y) => y.weekday === weekday)
      .sort((a, b) => String(a.start).localeCompare(String(b.start)))) {
      list.append(stretchRow(weekday, x.start, x.end));
    }
    rows.push(h('li', { class: 'ag-weekday', dataset: { weekday: String(weekday) } },
      h('span', { class: 'ag-weekday-name', text: weekdayName(weekday) }),
      h('div', { class: 'ag-weekday-body' }, list, empty, addButton)));
    syncEmpty(weekday);
  }

  const copyButton = h('button', {
    type: 'button',
    class: 'btn btn-secondary btn-small',
    text: 'Copiar segunda-feira para terça a sexta',
    onclick: () => {
      const source = [...days[0].list.children].map((li) => [li.querySelector('.ag-h-start').value, li.querySelector('.ag-h-end').value]);
      for (let wd = 1; wd <= 4; wd += 1) {
        clear(days[wd].list).append(...source.map(([s, e]) => stretchRow(wd, s, e)));
        syncEmpty(wd);
      }
      status.textContent = 'Horários copiados. Salve para aplicar.';
    },
  });

  const rules = sched.rules || {};
  const id = uid('rules');
  const notice = h('select', { id: `${id}-notice`, name: 'min_notice_minutes' },
    NOTICE_OPTIONS.map(([v, label]) => h('option', { value: v, text: label })));
  const currentNotice = Number(rules.min_notice_minutes ?? 120);
  if (!NOTICE_OPTIONS.some(([v]) => v === currentNotice)) {
    notice.append(h('option', { value: currentNotice, text: `${currentNotice} minutos` }));
  }
  notice.value = String(currentNotice);
  const windowDays = h('input', {
    id: `${id}-window`, type: 'number', name: 'booking_window_days', min: 1, max: 365, inputmode: 'numeric',
    value: rules.booking_window_days ?? 60,
  });
  const dailyLimit = h('input', {
    id: `${id}-limit`, type: 'number', name: 'daily_limit', min: 1, max: 200, inputmode: 'numeric',
    value: rules.daily_limit ?? '',
  });
  const step = h('select', { id: `${id}-step`, name: 'slot_step_minutes' },
    STEP_OPTIONS.map((v) => h('option', { value: v, text: `${v} minutos` })));
  step.value = String(rules.slot_step_minutes ?? 15);

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Salvar horários e regras' });
  const form = h('form', { class: 'form ag-hours-form', novalidate: true, 'aria-label': 'Horários de atendimento e regras' },
    errors,
    h('fieldset', { class: 'ag-week' },
      h('legend', { text: 'Dias e intervalos' }),
      h('ul', { class: 'ag-weekdays' }, rows)),
    h('p', null, copyButton),
    h('h3', { text: 'Regras de agendamento' }),
    h('div', { class: 'form-fields ag-rules' },
      field('Antecedência mínima', notice, 'Até quanto tempo antes do horário o paciente pode marcar pela internet.'),
      field('Janela de agendamento (dias)', windowDays, 'Quantos dias à frente a agenda fica aberta (1 a 365).'),
      field('Limite de consultas por dia', dailyLimit, 'Deixe em branco para não limitar (1 a 200).', true),
      field('Intervalo entre horários', step, 'Os horários oferecidos começam a cada tantos minutos.')),
    h('div', { class: 'form-actions' }, submit),
    status);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.hidden = true;
    status.textContent = '';
    const hours = [];
    for (let weekday = 0; weekday < 7; weekday += 1) {
      for (const li of days[weekday].list.children) {
        const start = li.querySelector('.ag-h-start');
        const end = li.querySelector('.ag-h-end');
        const s = parseHhmm(start.value);
        const e = parseHhmm(end.value);
        if (Number.isNaN(s) || Number.isNaN(e) || e <= s) {
          fail(`${weekdayName(weekday)}: o fim de cada intervalo deve ser depois do início.`, Number.isNaN(s) ? start : end);
          return;
        }
        hours.push({ weekday, start: start.value, end: end.value });
      }
    }
    const windowValue = Number(windowDays.value);
    if (!Number.isInteger(windowValue) || windowValue < 1 || windowValue > 365) {
      fail('A janela de agendamento deve ser de 1 a 365 dias.', windowDays);
      return;
    }
    const limitText = dailyLimit.value.trim();
    const limit = limitText ? Number(limitText) : null;
    if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > 200)) {
      fail('O limite diário deve ser de 1 a 200 consultas.', dailyLimit);
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Salvando…';
    try {
      await api.put(path, {
        hours,
        rules: {
          min_notice_minutes: Number(notice.value),
          booking_window_days: windowValue,
          daily_limit: limit,
          slot_step_minutes: Number(step.value),
        },
      });
      status.textContent = hours.length
        ? `Horários salvos: ${plural(new Set(hours.map((x) => x.weekday)).size, 'dia', 'dias')} de atendimento.`
        : 'Horários salvos: nenhum dia de atendimento.';
    } catch (err) {
      fail(agendaError(err));
    } finally {
      submit.disabled = false;
      submit.textContent = 'Salvar horários e regras';
    }
  });

  function fail(message, input) {
    errors.textContent = message;
    errors.hidden = false;
    (input || errors).focus();
    if (!input) errors.setAttribute('tabindex', '-1');
  }

  return form;
}

function minutesText(m) {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function field(label, control, hint, optional = false) {
  const hintId = uid('hint');
  control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, label, optional ? h('span', { class: 'optional', text: ' (opcional)' }) : null),
    h('p', { class: 'field-hint', id: hintId, text: hint }),
    control);
}

// ---------------------------------------------------------- exceptions ---

function exceptionsPanel(ctx, { clinicId, tz, pro, isAdmin }) {
  const headingId = uid('exc-heading');
  const listBox = h('div', { class: 'ag-exc-list' }, loadingNode());
  const section = h('section', { class: 'panel', 'aria-labelledby': headingId, dataset: { settings: 'exceptions' } },
    h('h2', { id: headingId, text: 'Férias, feriados e horários extras' }),
    h('p', { class: 'muted', text: `Períodos sem atendimento ou com atendimento fora do horário habitual de ${pro.name}, nos próximos ${EXCEPTION_DAYS + 1} dias.` }),
    listBox);
  const today = todayIn(tz);

  function load() {
    listBox.setAttribute('aria-busy', 'true');
    api.get(`/api/clinics/${seg(clinicId)}/exceptions${qs({ from: today, to: addDays(today, EXCEPTION_DAYS) })}`).then((rows) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      const mine = (Array.isArray(rows) ? rows : [])
        .filter((e) => !e.professional_user_id || e.professional_user_id === pro.user_id)
        .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
      clear(listBox);
      if (!mine.length) {
        listBox.append(h('p', { class: 'empty', text: 'Nenhuma exceção cadastrada.' }));
        return;
      }
      listBox.append(h('ul', { class: 'card-list' }, mine.map((e) => h('li', { class: 'card ag-exc-item', dataset: { id: e.id } },
        h('div', { class: 'card-head' },
          h('span', { class: 'card-title', text: e.reason || (e.kind === 'extra' ? 'Horário extra' : 'Sem atendimento') }),
          h('span', { class: `badge ${e.kind === 'extra' ? 'badge-ok' : 'badge-warn'}`, text: e.kind === 'extra' ? 'Horário extra' : 'Fechado' })),
        h('span', { class: 'card-meta' },
          h('span', { text: periodText(e.starts_at, e.ends_at, tz) }),
          h('span', { text: e.professional_user_id ? pro.name : 'Clínica inteira' })),
        isAdmin ? h('div', { class: 'queue-actions' }, h('button', {
          type: 'button',
          class: 'btn btn-secondary btn-small',
          text: 'Excluir',
          'aria-label': `Excluir exceção: ${e.reason || periodText(e.starts_at, e.ends_at, tz)}`,
          onclick: async (event) => {
            const button = event.currentTarget;
            button.disabled = true;
            try {
              await api.del(`/api/clinics/${seg(clinicId)}/exceptions/${seg(e.id)}`);
              load();
            } catch (err) {
              button.disabled = false;
              button.after(alertNode(errorMessage(err)));
            }
          },
        })) : null))));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      clear(listBox).append(alertNode(errorMessage(err)));
    });
  }

  // Form: kind, scope (admins), whole days or times, reason.
  const id = uid('exc');
  const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const status = h('p', { class: 'form-status', role: 'status' });
  const kind = h('select', { id: `${id}-kind`, name: 'kind' },
    h('option', { value: 'closed', text: 'Sem atendimento (férias, feriado, folga)' }),
    h('option', { value: 'extra', text: 'Horário extra' }));
  const scope = h('select', { id: `${id}-scope`, name: 'scope' },
    h('option', { value: 'pro', text: `Só ${pro.name}` }),
    h('option', { value: 'clinic', text: 'Clínica inteira (feriado)' }));
  const scopeField = h('div', { class: 'field' }, h('label', { for: scope.id, text: 'Vale para' }), scope);
  scopeField.hidden = !isAdmin;
  const wholeDay = h('input', { type: 'checkbox', id: `${id}-whole`, name: 'whole_day', checked: true });
  const startDate = h('input', { type: 'date', id: `${id}-sd`, name: 'start_date', value: today });
  const startTime = h('input', { type: 'time', id: `${id}-st`, name: 'start_time', step: 300, value: '08:00' });
  const endDate = h('input', { type: 'date', id: `${id}-ed`, name: 'end_date', value: today });
  const endTime = h('input', { type: 'time', id: `${id}-et`, name: 'end_time', step: 300, value: '12:00' });
  const startTimeField = h('div', { class: 'field' }, h('label', { for: startTime.id, text: 'Hora de início' }), startTime);
  const endTimeField = h('div', { class: 'field' }, h('label', { for: endTime.id, text: 'Hora de fim' }), endTime);
  const reason = h('input', { type: 'text', id: `${id}-reason`, name: 'reason', maxlength: 200, placeholder: 'Ex.: Férias, Feriado municipal' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Adicionar' });

  function sync() {
    const extra = kind.value === 'extra';
    if (extra) {
      scope.value = 'pro';
      wholeDay.checked = false;
    }
    scope.disabled = extra;
    wholeDay.disabled = extra;
    startTimeField.hidden = wholeDay.checked;
    endTimeField.hidden = wholeDay.checked;
  }
  kind.addEventListener('change', sync);
  wholeDay.addEventListener('change', sync);
  startDate.addEventListener('change', () => {
    if (isYmd(startDate.value) && (!isYmd(endDate.value) || endDate.value < startDate.value)) endDate.value = startDate.value;
  });

  const form = h('form', { class: 'form form-grid ag-exc-form', novalidate: true, 'aria-label': 'Adicionar exceção' },
    h('h3', { text: 'Adicionar' }),
    errors,
    h('div', { class: 'form-fields' },
      h('div', { class: 'field' }, h('label', { for: kind.id, text: 'Tipo' }), kind),
      scopeField,
      h('div', { class: 'field field-checkbox' },
        h('div', { class: 'checkbox-row' }, wholeDay, h('label', { for: wholeDay.id, text: 'Dias inteiros' }))),
      h('div', { class: 'field' }, h('label', { for: startDate.id, text: 'De' }), startDate),
      startTimeField,
      h('div', { class: 'field' }, h('label', { for: endDate.id, text: 'Até' }), endDate),
      endTimeField,
      h('div', { class: 'field field-wide' },
        h('label', { for: reason.id }, 'Motivo', h('span', { class: 'optional', text: ' (opcional)' })), reason)),
    h('div', { class: 'form-actions' }, submit),
    status);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.hidden = true;
    status.textContent = '';
    if (!isYmd(startDate.value) || !isYmd(endDate.value)) {
      errors.textContent = 'Informe as datas.';
      errors.hidden = false;
      startDate.focus();
      return;
    }
    let startsAt;
    let endsAt;
    if (wholeDay.checked) {
      startsAt = zonedToUtc(startDate.value, '00:00', tz);
      endsAt = zonedToUtc(addDays(endDate.value, 1), '00:00', tz);
    } else {
      if (Number.isNaN(parseHhmm(startTime.value)) || Number.isNaN(parseHhmm(endTime.value))) {
        errors.textContent = 'Informe os horários.';
        errors.hidden = false;
        startTime.focus();
        return;
      }
      startsAt = zonedToUtc(startDate.value, startTime.value, tz);
      endsAt = zonedToUtc(endDate.value, endTime.value, tz);
    }
    if (Date.parse(endsAt) <= Date.parse(startsAt)) {
      errors.textContent = 'O fim deve ser depois do início.';
      errors.hidden = false;
      endDate.focus();
      return;
    }
    const body = { kind: kind.value, starts_at: startsAt, ends_at: endsAt, reason: reason.value.trim() };
    if (scope.value !== 'clinic') body.professional_user_id = pro.user_id;
    submit.disabled = true;
    try {
      await api.post(`/api/clinics/${seg(clinicId)}/exceptions`, body);
      status.textContent = 'Exceção adicionada.';
      reason.value = '';
      load();
    } catch (err) {
      errors.textContent = agendaError(err);
      errors.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  sync();
  load();
  section.append(form);
  if (!isAdmin) {
    section.append(h('p', { class: 'muted small', text: 'Para excluir uma exceção, peça à administração da clínica.' }));
  }
  return section;
}

/** "25/11/2026 (dia inteiro)", "25/11/2026 a 30/11/2026", "25/11/2026, 08:00 às 12:00" */
function periodText(startIso, endIso, tz) {
  const sDate = localDate(startIso, tz);
  const sTime = timeIn(startIso, tz);
  const eTime = timeIn(endIso, tz);
  let eDate = localDate(endIso, tz);
  if (sTime === '00:00' && eTime === '00:00') {
    eDate = addDays(eDate, -1);
    return sDate === eDate ? `${fullDate(sDate)} (dia inteiro)` : `${fullDate(sDate)} a ${fullDate(eDate)}`;
  }
  if (sDate === eDate) return `${fullDate(sDate)}, ${sTime} às ${eTime}`;
  return `${fullDate(sDate)} ${sTime} a ${fullDate(eDate)} ${eTime}`;
}

// ------------------------------------------------------------ services ---

function servicesPanel(ctx, clinicId, pros) {
  const headingId = uid('services-heading');
  const listBox = h('div', { class: 'ag-services' }, loadingNode());
  const proName = (id) => (pros.find((p) => p.user_id === id) || {}).name || 'Profissional';

  function load() {
    listBox.setAttribute('aria-busy', 'true');
    api.get(`/api/clinics/${seg(clinicId)}/services`).then((rows) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      const list = (Array.isArray(rows) ? rows : []).sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
      clear(listBox);
      if (!list.length) {
        listBox.append(h('p', { class: 'empty', text: 'Nenhum serviço cadastrado. Sem serviço, as consultas têm 30 minutos.' }));
        return;
      }
      const table = h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden', text: 'Serviços da clínica' }),
        h('thead', null, h('tr', null, ['Serviço', 'Duração', 'Preço', 'Intervalos', 'Profissional', 'Teleconsulta']
          .map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', null, list.map((s) => h('tr', { dataset: { id: s.id } },
          h('td', { 'data-label': 'Serviço', text: s.name }),
          h('td', { 'data-label': 'Duração', text: durationText(s.duration_minutes) }),
          h('td', { 'data-label': 'Preço', text: money(s.price_cents) || '—' }),
          h('td', {
            'data-label': 'Intervalos',
            text: s.buffer_before_minutes || s.buffer_after_minutes
              ? `${s.buffer_before_minutes} min antes, ${s.buffer_after_minutes} min depois` : '—',
          }),
          h('td', { 'data-label': 'Profissional', text: s.professional_user_id ? proName(s.professional_user_id) : 'Todos' }),
          h('td', { 'data-label': 'Teleconsulta', text: s.teleconsultation ? 'Sim' : 'Não' })))));
      listBox.append(h('div', { class: 'table-wrap' }, table));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      clear(listBox).append(alertNode(errorMessage(err)));
    });
  }

  const ctrl = createForm({
    label: 'Novo serviço',
    submitLabel: 'Cadastrar serviço',
    busyLabel: 'Cadastrando…',
    className: 'form-grid',
    codeToField: {
      invalid_service_name: 'name', invalid_duration: 'duration_minutes', invalid_price: 'price',
      not_a_professional: 'professional_user_id',
    },
    fields: [
      { name: 'name', label: 'Nome do serviço', required: true, maxlength: 80, wide: true, placeholder: 'Ex.: Consulta, Retorno, Limpeza' },
      { name: 'duration_minutes', label: 'Duração (minutos)', type: 'number', required: true, value: 30, inputmode: 'numeric',
        validate: (v) => (/^\d+$/.test(v) && Number(v) >= 5 && Number(v) <= 480 ? null : 'De 5 a 480 minutos.') },
      { name: 'price', label: 'Preço (R$)', inputmode: 'decimal', placeholder: '150,00',
        validate: (v) => (/^\d{1,7}([.,]\d{1,2})?$/.test(v) ? null : 'Use o formato 150,00.') },
      { name: 'buffer_before_minutes', label: 'Intervalo antes (minutos)', type: 'number', inputmode: 'numeric', value: 0,
        validate: (v) => (/^\d+$/.test(v) && Number(v) <= 120 ? null : 'De 0 a 120 minutos.') },
      { name: 'buffer_after_minutes', label: 'Intervalo depois (minutos)', type: 'number', inputmode: 'numeric', value: 0,
        validate: (v) => (/^\d+$/.test(v) && Number(v) <= 120 ? null : 'De 0 a 120 minutos.') },
      { name: 'professional_user_id', label: 'Profissional', type: 'select', noOptionalTag: true,
        options: [['', 'Todos os profissionais'], ...pros.map((p) => [p.user_id, p.name])] },
      { name: 'teleconsultation', label: 'Pode ser por teleconsulta', type: 'checkbox' },
    ],
    onSubmit: async (v) => {
      const body = {
        name: v.name,
        duration_minutes: Number(v.duration_minutes),
        buffer_before_minutes: Number(v.buffer_before_minutes || 0),
        buffer_after_minutes: Number(v.buffer_after_minutes || 0),
        teleconsultation: Boolean(v.teleconsultation),
      };
      if (v.price) body.price_cents = Math.round(Number(v.price.replace(',', '.')) * 100);
      if (v.professional_user_id) body.professional_user_id = v.professional_user_id;
      const created = await api.post(`/api/clinics/${seg(clinicId)}/services`, body);
      ctrl.reset();
      load();
      return `Serviço “${created.name}” cadastrado.`;
    },
  });

  load();
  return h('section', { class: 'panel', 'aria-labelledby': headingId, dataset: { settings: 'services' } },
    h('h2', { id: headingId, text: 'Serviços da clínica' }),
    h('p', { class: 'muted', text: 'Duração e preço de cada tipo de consulta. Os intervalos antes e depois reservam o tempo do profissional (preparo, limpeza da sala).' }),
    listBox,
    h('h3', { text: 'Novo serviço' }),
    ctrl.form);
}
