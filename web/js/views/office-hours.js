// @ts-check
// "Horário de atendimento no chat" (professional's home): when patients can expect
// answers. `GET/PUT /api/me/office-hours` with
// `{time_zone, weekly: [{weekday: 1..7 (1 = segunda), start: "HH:MM", end: "HH:MM"}], note}`
// or `null` to clear. Outside these hours patients see a notice in the conversation.
// One interval per day here (the API accepts more).

import { api } from '../api.js';
import { h, alertNode, clear, errorMessage, loadingNode, uid, TIME_ZONES } from '../ui.js';

const WEEKDAYS = [
  [1, 'Segunda-feira'],
  [2, 'Terça-feira'],
  [3, 'Quarta-feira'],
  [4, 'Quinta-feira'],
  [5, 'Sexta-feira'],
  [6, 'Sábado'],
  [7, 'Domingo'],
];
const DEFAULT_START = '08:00';
const DEFAULT_END = '18:00';
const NOTE_MAX = 200;
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;

/**
 * Panel for the professional's home.
 * @param {import('../types.js').ViewContext} ctx
 */
export function officeHoursPanel(ctx) {
  const headingId = 'office-hours-heading';
  const body = h('div', { class: 'office-hours-body' });
  const section = h('section', { class: 'panel office-hours', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: 'Horário de atendimento no chat' }),
    h('p', {
      class: 'muted',
      text: 'Fora destes horários, seus pacientes veem na conversa que a resposta pode demorar. Vale para todas as clínicas.',
    }),
    body);

  function load() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode());
    api.get('/api/me/office-hours').then((hours) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(hoursForm(hours && typeof hours === 'object' ? hours : null));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    });
  }
  load();
  return section;
}

function hoursForm(initial) {
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });
  const summary = h('p', { class: 'office-hours-summary' });
  const daysError = h('p', { class: 'field-error', id: uid('oh-days-error'), hidden: true });

  /** weekday → {check, start, end, row} */
  const days = new Map();
  const rows = WEEKDAYS.map(([weekday, label]) => {
    const id = uid(`oh-day-${weekday}`);
    const check = h('input', { type: 'checkbox', id, name: `day-${weekday}` });
    const start = h('input', {
      type: 'time', id: `${id}-start`, name: `start-${weekday}`, step: 300, value: DEFAULT_START,
      'aria-describedby': daysError.id,
    });
    const end = h('input', {
      type: 'time', id: `${id}-end`, name: `end-${weekday}`, step: 300, value: DEFAULT_END,
      'aria-describedby': daysError.id,
    });
    const row = h('li', { class: 'oh-day' },
      h('span', { class: 'checkbox-row oh-day-name' }, check, h('label', { for: id, text: label })),
      h('span', { class: 'oh-day-times' },
        h('label', { class: 'visually-hidden', for: start.id, text: `Início — ${label}` }),
        start,
        h('span', { class: 'oh-sep', 'aria-hidden': 'true', text: 'às' }),
        h('label', { class: 'visually-hidden', for: end.id, text: `Fim — ${label}` }),
        end));
    days.set(weekday, { check, start, end, row, label });
    check.addEventListener('change', () => syncRow(weekday));
    return row;
  });

  const tzId = uid('oh-tz');
  const tz = h('select', { id: tzId, name: 'time_zone' },
    TIME_ZONES.map(([value, label]) => h('option', { value, text: label })));
  const noteId = uid('oh-note');
  const note = h('textarea', {
    id: noteId, name: 'note', rows: 2, maxlength: NOTE_MAX, 'aria-describedby': `${noteId}-hint`,
  });
  const noteError = h('p', { class: 'field-error', id: `${noteId}-error`, hidden: true });

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Salvar horário' });
  const removeButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Remover horário' });

  const form = h('form', { class: 'form oh-form', novalidate: true, 'aria-label': 'Horário de atendimento no chat' },
    errorBox,
    summary,
    h('fieldset', { class: 'oh-days', 'aria-describedby': daysError.id },
      h('legend', { text: 'Dias e horários' }),
      h('ul', { class: 'oh-day-list' }, rows),
      daysError),
    h('div', { class: 'form-fields' },
      h('div', { class: 'field' }, h('label', { for: tzId, text: 'Fuso horário' }), tz),
      h('div', { class: 'field field-wide' },
        h('label', { for: noteId }, 'Aviso aos pacientes', h('span', { class: 'optional', text: ' (opcional)' })),
        h('p', {
          class: 'field-hint',
          id: `${noteId}-hint`,
          text: `Aparece fora do horário. Por exemplo: “Respondo em até 1 dia útil.” Até ${NOTE_MAX} caracteres.`,
        }),
        note, noteError)),
    h('div', { class: 'form-actions' }, submit, removeButton),
    statusBox);

  function syncRow(weekday) {
    const d = days.get(weekday);
    d.start.disabled = !d.check.checked;
    d.end.disabled = !d.check.checked;
    d.row.classList.toggle('is-off', !d.check.checked);
  }

  function fill(hours) {
    for (const d of days.values()) {
      d.check.checked = false;
      d.start.value = DEFAULT_START;
      d.end.value = DEFAULT_END;
      d.start.removeAttribute('aria-invalid');
      d.end.removeAttribute('aria-invalid');
    }
    let extra = false;
    const seen = new Set();
    for (const slot of (hours && Array.isArray(hours.weekly) ? hours.weekly : [])) {
      const d = days.get(Number(slot.weekday));
      if (!d) continue;
      if (seen.has(slot.weekday)) {
        extra = true;
        continue;
      }
      seen.add(slot.weekday);
      d.check.checked = true;
      d.start.value = String(slot.start || DEFAULT_START).slice(0, 5);
      d.end.value = String(slot.end || DEFAULT_END).slice(0, 5);
    }
    for (const weekday of days.keys()) syncRow(weekday);
    const zone = hours && hours.time_zone ? hours.time_zone : 'America/Sao_Paulo';
    if (![...tz.options].some((o) => o.value === zone)) tz.append(h('option', { value: zone, text: zone }));
    tz.value = zone;
    note.value = (hours && hours.note) || '';
    removeButton.hidden = !hours;
    summary.textContent = hours
      ? (extra
        ? 'Alguns dias tinham mais de um intervalo: aqui aparece só o primeiro, e só ele fica ao salvar.'
        : '')
      : 'Nenhum horário definido: os pacientes não veem aviso de horário.';
    summary.hidden = !summary.textContent;
  }

  function clearErrors() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    daysError.hidden = true;
    daysError.textContent = '';
    noteError.hidden = true;
    noteError.textContent = '';
    note.removeAttribute('aria-invalid');
    for (const d of days.values()) {
      d.start.removeAttribute('aria-invalid');
      d.end.removeAttribute('aria-invalid');
    }
  }

  function showError(message, focusTarget) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    if (focusTarget) focusTarget.focus();
    else {
      errorBox.setAttribute('tabindex', '-1');
      errorBox.focus();
    }
  }

  /** The request body, or null after showing what to fix. */
  function collect() {
    const weekly = [];
    const problems = [];
    let firstBad = null;
    for (const [weekday, d] of days) {
      if (!d.check.checked) continue;
      const start = d.start.value;
      const end = d.end.value;
      if (!TIME_RE.test(start) || !TIME_RE.test(end)) {
        problems.push(`${d.label}: informe o início e o fim.`);
        if (!TIME_RE.test(start)) d.start.setAttribute('aria-invalid', 'true');
        if (!TIME_RE.test(end)) d.end.setAttribute('aria-invalid', 'true');
        firstBad = firstBad || (TIME_RE.test(start) ? d.end : d.start);
      } else if (start >= end) {
        problems.push(`${d.label}: o fim deve ser depois do início.`);
        d.end.setAttribute('aria-invalid', 'true');
        firstBad = firstBad || d.end;
      } else {
        weekly.push({ weekday, start, end });
      }
    }
    if (!weekly.length && !problems.length) {
      daysError.textContent = 'Marque pelo menos um dia. Para não mostrar aviso nenhum, use “Remover horário”.';
      daysError.hidden = false;
      showError('Escolha os dias de atendimento.', days.get(1).check);
      return null;
    }
    if (problems.length) {
      daysError.textContent = problems.join(' ');
      daysError.hidden = false;
      showError(problems.length === 1 ? 'Corrija o horário destacado.' : 'Corrija os horários destacados.', firstBad);
      return null;
    }
    const text = note.value.trim();
    if ([...text].length > NOTE_MAX) {
      noteError.textContent = `Use no máximo ${NOTE_MAX} caracteres.`;
      noteError.hidden = false;
      note.setAttribute('aria-invalid', 'true');
      showError('Corrija o aviso aos pacientes.', note);
      return null;
    }
    return { time_zone: tz.value, weekly, note: text || null };
  }

  async function save(payload, busyButton, busyLabel, doneMessage) {
    const label = busyButton.textContent;
    busyButton.setAttribute('aria-disabled', 'true');
    busyButton.textContent = busyLabel;
    form.setAttribute('aria-busy', 'true');
    try {
      const saved = await api.put('/api/me/office-hours', payload);
      fill(saved && typeof saved === 'object' ? saved : null);
      statusBox.textContent = doneMessage;
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      busyButton.removeAttribute('aria-disabled');
      busyButton.textContent = label;
      form.removeAttribute('aria-busy');
    }
  }

  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    clearErrors();
    statusBox.textContent = '';
    const payload = collect();
    if (!payload) return;
    busy = true;
    try {
      await save(payload, submit, 'Salvando…', 'Horário salvo.');
    } finally {
      busy = false;
    }
  });

  removeButton.addEventListener('click', async () => {
    if (busy) return;
    clearErrors();
    statusBox.textContent = '';
    busy = true;
    try {
      await save(null, removeButton, 'Removendo…', 'Horário removido: os pacientes não veem mais o aviso.');
    } finally {
      busy = false;
    }
    // The button hides once nothing is set: keep the focus in the form.
    if (removeButton.hidden && (!document.activeElement || document.activeElement === document.body)) submit.focus();
  });

  fill(initial);
  return form;
}
