// @ts-check
// The record's structured lists on the staff patient page: the CID-10 search field used by
// the diagnoses and the problem list, the problem list (add, resolve, reactivate) and vital
// signs (form, list with BMI). The encounter editor and the timeline live in record.js.

import { api, qs, seg } from '../api.js';
import { h, clear, alertNode, createForm, disclosure, errorMessage, formatDateTime } from '../ui.js';
import { CHARTS, lineChart } from '../vitals-chart.js';

/** Wait this long after the last keystroke before searching. */
const SEARCH_MS = 250;

/**
 * A CID-10 search field: as the professional types (a code or words, accents optional),
 * the best codes are listed below it; choosing one calls `onPick`.
 * @param {{id: string, label: string, onPick: (hit: {code: string, description: string}) => void}} opts
 */
export function cidSearch({ id, label, onPick }) {
  const input = h('input', {
    id, type: 'search', autocomplete: 'off', maxlength: 200,
    placeholder: 'Código ou palavras (ex.: J11, gripe, infeccao urinaria)',
    'aria-describedby': `${id}-status`,
  });
  const status = h('p', { id: `${id}-status`, class: 'muted small', role: 'status' });
  const results = h('ul', { class: 'cid-results', 'aria-label': 'Códigos encontrados' });
  let timer = 0;
  let asked = 0;

  async function search() {
    const q = input.value.trim();
    const mine = ++asked;
    if (q.length < 2) {
      clear(results);
      status.textContent = '';
      return;
    }
    try {
      const found = await api.get(`/api/cid10${qs({ q, limit: 10 })}`);
      if (mine !== asked) return;
      clear(results).append(...found.results.map((/** @type {any} */ r) => h('li', null, h('button', {
        type: 'button',
        class: 'btn btn-link cid-option',
        onclick: () => {
          onPick({ code: r.code, description: r.description });
          input.value = '';
          clear(results);
          status.textContent = `${r.code} ${r.description} adicionado.`;
          input.focus();
        },
      }, h('strong', { text: r.code }), ` ${r.description}`))));
      status.textContent = found.total
        ? `${found.total} ${found.total === 1 ? 'código encontrado' : 'códigos encontrados'}${found.total > found.results.length ? `, mostrando ${found.results.length}` : ''}.`
        : 'Nenhum código encontrado.';
    } catch (err) {
      if (mine === asked) status.textContent = errorMessage(err);
    }
  }

  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, SEARCH_MS);
  });
  return h('div', { class: 'field field-wide cid-search' },
    h('label', { for: id, text: label }), input, status, results);
}

const VITALS = [
  ['systolic_mmhg', 'PA sistólica (mmHg)'], ['diastolic_mmhg', 'PA diastólica (mmHg)'],
  ['heart_rate_bpm', 'Frequência cardíaca (bpm)'], ['temperature_c', 'Temperatura (°C)'],
  ['spo2_percent', 'SpO₂ (%)'], ['weight_kg', 'Peso (kg)'], ['height_cm', 'Altura (cm)'],
  ['glucose_mg_dl', 'Glicemia (mg/dL)'],
];

/** @param {number} n */
function num(n) {
  return n.toLocaleString('pt-BR', { maximumFractionDigits: 1 });
}

/**
 * One set of vital signs in a line: "PA 130/85 mmHg · FC 72 bpm · … · IMC 22,9".
 * @param {any} v
 */
export function vitalsText(v) {
  const x = v.values || {};
  const parts = [];
  if (x.systolic_mmhg != null) parts.push(`PA ${num(x.systolic_mmhg)}/${num(x.diastolic_mmhg)} mmHg`);
  if (x.heart_rate_bpm != null) parts.push(`FC ${num(x.heart_rate_bpm)} bpm`);
  if (x.temperature_c != null) parts.push(`Temp. ${num(x.temperature_c)} °C`);
  if (x.spo2_percent != null) parts.push(`SpO₂ ${num(x.spo2_percent)}%`);
  if (x.weight_kg != null) parts.push(`Peso ${num(x.weight_kg)} kg`);
  if (x.height_cm != null) parts.push(`Altura ${num(x.height_cm)} cm`);
  if (x.glucose_mg_dl != null) parts.push(`Glicemia ${num(x.glucose_mg_dl)} mg/dL`);
  if (v.bmi != null) parts.push(`IMC ${num(v.bmi)}`);
  return parts.join(' · ');
}

/** @param {string} value */
function decimal(value) {
  return Number(value.replace(',', '.'));
}

/**
 * Vital signs: the last sets and, for professionals, the form to record a new one.
 * @param {{base: string, professional: boolean, onAdded: () => void}} opts
 */
export function vitalsPanel({ base, professional, onAdded }) {
  const list = h('div');
  const wrap = h('div', null, list);

  async function load() {
    try {
      const { vitals } = await api.get(`${base}/vitals`);
      clear(list);
      if (!vitals.length) list.append(h('p', { class: 'muted', text: 'Nenhum sinal vital registrado.' }));
      else {
        list.append(h('ul', { class: 'vitals-list' }, vitals.slice(0, 5).map((/** @type {any} */ v) => h('li', null,
          h('time', { datetime: v.measured_at, text: formatDateTime(v.measured_at) }), ' — ', vitalsText(v),
          v.notes ? h('span', { class: 'muted', text: ` (${v.notes})` }) : null))));
        // Over time: a chart per measure with at least two values.
        const charts = CHARTS.map((c) => {
          const svg = lineChart(c, vitals);
          return svg ? h('figure', { class: 'vitals-figure' }, h('figcaption', { text: `${c.title} (${c.unit})` }), svg) : null;
        }).filter(Boolean);
        if (charts.length) list.append(h('div', { class: 'vitals-charts' }, charts));
      }
    } catch (err) {
      clear(list).append(alertNode(errorMessage(err)));
    }
  }

  if (professional) {
    const form = createForm({
      label: 'Registrar sinais vitais',
      submitLabel: 'Registrar sinais vitais',
      busyLabel: 'Registrando…',
      className: 'form-grid',
      fields: [
        ...VITALS.map(([name, label]) => ({
          name, label, inputmode: 'decimal', maxlength: 8,
          validate: (/** @type {string} */ v) => (Number.isFinite(decimal(v)) ? null : 'Informe um número.'),
        })),
        { name: 'notes', label: 'Observações', maxlength: 2000, wide: true },
      ],
      onSubmit: async (values, ctrl) => {
        /** @type {Record<string, number>} */
        const measured = {};
        for (const [name] of VITALS) if (values[name] !== undefined) measured[name] = decimal(values[name]);
        const saved = await api.post(`${base}/vitals`, { values: measured, notes: values.notes || '' });
        ctrl.reset();
        await load();
        onAdded();
        return `Registrado: ${vitalsText(saved)}.`;
      },
    });
    wrap.append(disclosure('Registrar sinais vitais', form.form));
  }
  load();
  return wrap;
}

/**
 * The problem list: active problems first, with resolve / reactivate for professionals, and
 * the form to add one (CID-10 search, onset date, notes).
 * @param {{base: string, professional: boolean}} opts
 */
export function problemsPanel({ base, professional }) {
  const list = h('div');
  const wrap = h('div', null, list);

  async function load() {
    try {
      const { problems } = await api.get(`${base}/problems`);
      clear(list);
      if (!problems.length) {
        list.append(h('p', { class: 'muted', text: 'Nenhum problema registrado.' }));
        return;
      }
      list.append(h('ul', { class: 'problems' }, problems.map((/** @type {any} */ p) => h('li', null,
        h('strong', { text: p.code }), ` ${p.description}`,
        p.onset_date ? h('span', { class: 'muted', text: ` — desde ${p.onset_date.split('-').reverse().join('/')}` }) : null,
        ' ', h('span', { class: p.status === 'active' ? 'badge badge-warn' : 'badge badge-muted', text: p.status === 'active' ? 'Ativo' : 'Resolvido' }),
        p.notes ? h('p', { class: 'small prewrap', text: p.notes }) : null,
        professional ? h('button', {
          type: 'button',
          class: 'btn btn-link',
          text: p.status === 'active' ? 'Marcar como resolvido' : 'Reativar',
          onclick: async () => {
            try {
              await api.patch(`${base}/problems/${seg(p.id)}`, { status: p.status === 'active' ? 'resolved' : 'active' });
              await load();
            } catch (err) {
              list.append(alertNode(errorMessage(err)));
            }
          },
        }) : null))));
    } catch (err) {
      clear(list).append(alertNode(errorMessage(err)));
    }
  }

  if (professional) {
    const chosen = h('p', { class: 'small', role: 'status', text: 'Nenhum código escolhido.' });
    /** @type {{code: string, description: string}|null} */
    let pick = null;
    const form = createForm({
      label: 'Registrar problema',
      submitLabel: 'Registrar problema',
      busyLabel: 'Registrando…',
      className: 'form-grid',
      fields: [
        cidSearch({
          id: 'problem-cid',
          label: 'Problema (CID-10)',
          onPick: (hit) => {
            pick = hit;
            chosen.textContent = `Escolhido: ${hit.code} ${hit.description}`;
          },
        }),
        chosen,
        { name: 'onset_date', label: 'Início', type: 'date' },
        { name: 'notes', label: 'Observações', maxlength: 2000, wide: true },
      ],
      onSubmit: async (values, ctrl) => {
        if (!pick) {
          ctrl.showError('Escolha o código CID-10 na busca.');
          return undefined;
        }
        await api.post(`${base}/problems`, { code: pick.code, onset_date: values.onset_date || null, notes: values.notes || '' });
        pick = null;
        chosen.textContent = 'Nenhum código escolhido.';
        ctrl.reset();
        await load();
        return 'Problema registrado.';
      },
    });
    wrap.append(disclosure('Registrar problema', form.form));
  }
  load();
  return wrap;
}

/**
 * Medications in use: the medicines of the prescriptions issued here, in use first; a
 * professional stops one with a reason (for good: to resume, prescribe again).
 * @param {{base: string, professional: boolean}} opts
 */
export function medicationsPanel({ base, professional }) {
  const list = h('div');

  /** @param {any} m */
  function stopForm(m) {
    const form = createForm({
      label: `Suspender ${m.name}`,
      submitLabel: 'Suspender',
      busyLabel: 'Suspendendo…',
      fields: [{ name: 'reason', label: 'Motivo da suspensão', required: true, maxlength: 500, wide: true }],
      onSubmit: async (values) => {
        const after = await api.post(`${base}/medications/stop`, { document_id: m.document_id, item: m.item, reason: values.reason || '' });
        render(after.medications || []);
        return undefined;
      },
    });
    return disclosure('Suspender', form.form);
  }

  /** @param {any[]} medications */
  function render(medications) {
    clear(list);
    if (!medications.length) {
      list.append(h('p', { class: 'muted', text: 'Nenhum medicamento prescrito nesta clínica.' }));
      return;
    }
    list.append(h('ul', { class: 'medications' }, medications.map((m) => h('li', null,
      h('strong', { text: m.name }), [m.concentration, m.form].filter(Boolean).length ? ` ${[m.concentration, m.form].filter(Boolean).join(', ')}` : '',
      ` — ${m.instructions}`, ' ',
      h('span', { class: m.status === 'active' ? 'badge badge-ok' : 'badge badge-muted', text: m.status === 'active' ? 'Em uso' : 'Suspenso' }),
      h('p', { class: 'small muted' },
        `Prescrito em ${formatDateTime(m.prescribed_at)} por ${m.prescribed_by_name}`,
        m.status === 'stopped' ? `; suspenso em ${formatDateTime(m.stopped_at)} por ${m.stopped_by_name}: ${m.stop_reason}` : ''),
      professional && m.status === 'active' ? stopForm(m) : null))));
  }

  api.get(`${base}/medications`)
    .then((data) => render(data.medications || []))
    .catch((err) => clear(list).append(alertNode(errorMessage(err))));
  return list;
}
