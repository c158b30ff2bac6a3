// @ts-check
// The forms that issue a signed document (views/documents.js opens one at a time):
// "Receita simples" and "Receita de controle especial" (medication lines, each with the
// list it belongs to, among those the professional's council allows), "Atestado" (days off,
// start, optional CID with the patient's express consent), "Solicitação de exames" (exam
// lines, clinical indication), "Declaração de comparecimento" (date, from–until) and
// "Relatório psicológico" (demand, procedure, analysis, conclusion).
//
// "Pré-visualizar" posts the content to /api/documents/preview and offers the unsigned PDF
// as a blob: URL (new tab or download; the CSP blocks blob: frames). "Emitir e assinar"
// posts it to /api/documents (202, signed in the background).

import { ApiError, api } from '../api.js';
import { h, clear, displayName, errorMessage, field } from '../ui.js';
import { DEFAULT_TZ, todayIn } from '../agenda-util.js';

const TITLES = {
  prescription: 'Nova receita simples',
  special_prescription: 'Nova receita de controle especial',
  certificate: 'Novo atestado',
  exam_request: 'Nova solicitação de exames',
  attendance_declaration: 'Nova declaração de comparecimento',
  psychological_report: 'Novo relatório psicológico',
};

/** pt-BR names of the medicine lists (GET /api/me/document-scope `medicine_lists`). */
const LIST_LABELS = {
  common: 'Comum',
  antimicrobial: 'Antimicrobiano (RDC 471/2021)',
  supplement: 'Suplemento alimentar',
  c1: 'Lista C1 (controle especial)',
  c4: 'Lista C4 (antirretrovirais)',
  c5: 'Lista C5 (anabolizantes)',
};
const SIMPLE_LISTS = ['common', 'antimicrobial', 'supplement'];
const SPECIAL_LISTS = ['c1', 'c4', 'c5'];

/** Most lines per document (the API's limit). */
const MAX_ITEMS = 40;
const MAX_FIELD = 500;
const MAX_NOTES = 4000;

const MEDICATION_FIELDS = [
  { key: 'name', label: 'Medicamento', required: true, placeholder: 'ex.: Amoxicilina', wide: true },
  { key: 'concentration', label: 'Concentração', placeholder: 'ex.: 500 mg' },
  { key: 'form', label: 'Forma farmacêutica', placeholder: 'ex.: cápsula' },
  { key: 'quantity', label: 'Quantidade', required: true, placeholder: 'ex.: 1 caixa (21 cápsulas)', wide: true },
  {
    key: 'instructions', label: 'Posologia', required: true, type: 'textarea', rows: 2, wide: true,
    placeholder: 'ex.: 1 cápsula de 8 em 8 horas por 7 dias',
  },
];

const EXAM_FIELDS = [
  { key: 'name', label: 'Exame', required: true, placeholder: 'ex.: Hemograma completo', wide: true },
  { key: 'code', label: 'Código TUSS', inputmode: 'numeric', placeholder: 'ex.: 40304361' },
];

/** API error code → the field it is about (certificate). */
const CODE_TO_FIELD = {
  invalid_days: 'days_off',
  invalid_start_date: 'start_date',
  invalid_cid: 'cid',
  cid_consent_required: 'cid_consent',
};

function setError(f, message) {
  f.error.textContent = message;
  f.error.hidden = !message;
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

/** A required/length check of a text field; returns the message or null. */
function checkText(f, { required = false, max = MAX_FIELD } = {}) {
  const value = f.input.value.trim();
  if (!value) return required ? 'Preencha este campo.' : null;
  if (value.length > max) return `Use no máximo ${max} caracteres.`;
  return null;
}

/**
 * Repeated lines (medications, exams): a fieldset per line, "Adicionar", "Remover".
 * `noun` is the line's name ("medicamento"), `fields` as MEDICATION_FIELDS.
 */
function lineList({ noun, fields, addLabel, onRemove }) {
  const lines = [];
  const list = h('div', { class: 'doc-lines' });
  const add = h('button', { type: 'button', class: 'btn btn-secondary btn-small doc-add', text: addLabel });
  const element = h('div', { class: 'doc-lines-box' }, list, add);
  const title = noun.charAt(0).toLocaleUpperCase('pt-BR') + noun.slice(1);

  function renumber() {
    lines.forEach((line, i) => {
      line.legend.textContent = `${title} ${i + 1}`;
      line.remove.setAttribute('aria-label', `Remover ${noun} ${i + 1}`);
      line.remove.disabled = lines.length === 1;
    });
    add.disabled = lines.length >= MAX_ITEMS;
  }

  function addLine() {
    const inputs = new Map();
    for (const spec of fields) {
      const f = field({
        name: spec.key,
        label: spec.label,
        required: spec.required,
        type: spec.type,
        rows: spec.rows,
        placeholder: spec.placeholder,
        inputmode: spec.inputmode,
        maxlength: MAX_FIELD,
        wide: spec.wide,
        options: spec.options,
        value: spec.value,
      });
      f.input.setAttribute('autocomplete', 'off');
      inputs.set(spec.key, f);
    }
    const legend = h('legend');
    const remove = h('button', { type: 'button', class: 'btn btn-link doc-remove', text: 'Remover' });
    const fieldset = h('fieldset', { class: 'doc-line' },
      legend,
      h('div', { class: 'form-fields' }, [...inputs.values()].map((f) => f.wrap)),
      h('div', { class: 'doc-line-actions' }, remove));
    const line = { fieldset, legend, remove, inputs };
    remove.addEventListener('click', () => {
      const i = lines.indexOf(line);
      if (i < 0 || lines.length === 1) return;
      lines.splice(i, 1);
      fieldset.remove();
      renumber();
      const next = lines[Math.min(i, lines.length - 1)];
      next.inputs.get('name').input.focus();
      if (onRemove) onRemove();
    });
    lines.push(line);
    list.append(fieldset);
    renumber();
    return line;
  }

  add.addEventListener('click', () => {
    if (lines.length >= MAX_ITEMS) return;
    addLine().inputs.get('name').input.focus();
  });
  addLine();

  return {
    element,
    /** Values of every line; null (errors shown) when a line is invalid. */
    collect() {
      let invalid = 0;
      const out = [];
      for (const line of lines) {
        const item = {};
        for (const spec of fields) {
          const f = line.inputs.get(spec.key);
          const message = checkText(f, { required: spec.required });
          setError(f, message);
          if (message) invalid += 1;
          const value = f.input.value.trim();
          if (value) item[spec.key] = value;
        }
        out.push(item);
      }
      return { items: out, invalid };
    },
    clearErrors() {
      for (const line of lines) for (const f of line.inputs.values()) setError(f, null);
    },
  };
}

/** The medication fields, with the lists `allowed` (the council's) offered for `kind`. */
function medicationFields(kind, allowed) {
  const lists = (kind === 'special_prescription' ? SPECIAL_LISTS : SIMPLE_LISTS)
    .filter((l) => !allowed || allowed.includes(l));
  return [...MEDICATION_FIELDS, {
    key: 'list', label: 'Lista', type: 'select', required: true,
    options: lists.map((l) => [l, LIST_LABELS[l]]), value: lists[0],
  }];
}

/** Form fields and the content they make, per kind. */
function kindBody(kind, onRemove, scope) {
  if (kind === 'attendance_declaration') {
    const date = field({ name: 'date', label: 'Data do comparecimento', required: true, type: 'date', value: todayIn(DEFAULT_TZ) });
    const from = field({ name: 'from', label: 'Das', type: 'time' });
    const until = field({ name: 'until', label: 'Às', type: 'time' });
    const notes = field({ name: 'notes', label: 'Observações', type: 'textarea', rows: 2, maxlength: MAX_NOTES, wide: true });
    const all = { date, from, until, notes };
    return {
      nodes: [h('div', { class: 'form-fields doc-attendance' }, date.wrap, from.wrap, until.wrap, notes.wrap)],
      fields: all,
      build() {
        let invalid = 0;
        const mark = (f, message) => {
          setError(f, message);
          if (message) invalid += 1;
        };
        mark(date, /^\d{4}-\d{2}-\d{2}$/.test(date.input.value) ? null : 'Informe uma data válida.');
        const a = from.input.value;
        const b = until.input.value;
        mark(until, a && b && b <= a ? 'O horário final deve ser depois do inicial.' : null);
        mark(notes, checkText(notes, { max: MAX_NOTES }));
        if (invalid) return { invalid };
        const content = { kind, date: date.input.value };
        if (a) content.from = a;
        if (b) content.until = b;
        const text = notes.input.value.trim();
        if (text) content.notes = text;
        return { content };
      },
      clearErrors() {
        for (const f of Object.values(all)) setError(f, null);
      },
    };
  }
  if (kind === 'psychological_report') {
    /** @type {{key: string, label: string, required: boolean}[]} */
    const specs = [
      { key: 'demand', label: 'Descrição da demanda', required: true },
      { key: 'procedure', label: 'Procedimento', required: false },
      { key: 'analysis', label: 'Análise', required: true },
      { key: 'conclusion', label: 'Conclusão', required: true },
    ];
    /** @type {Record<string, any>} */
    const all = {};
    for (const { key, label, required } of specs) {
      all[key] = field({ name: key, label, required, type: 'textarea', rows: 3, maxlength: MAX_NOTES, wide: true });
    }
    return {
      nodes: [h('div', { class: 'form-fields doc-report' }, Object.values(all).map((f) => f.wrap))],
      fields: all,
      build() {
        let invalid = 0;
        const content = { kind };
        for (const { key, required } of specs) {
          const message = checkText(all[key], { required, max: MAX_NOTES });
          setError(all[key], message);
          if (message) invalid += 1;
          const value = all[key].input.value.trim();
          if (value) content[key] = value;
        }
        return invalid ? { invalid } : { content };
      },
      clearErrors() {
        for (const f of Object.values(all)) setError(f, null);
      },
    };
  }
  if (kind === 'prescription' || kind === 'special_prescription') {
    const fields = medicationFields(kind, scope && scope.medicine_lists);
    const meds = lineList({ noun: 'medicamento', fields, addLabel: 'Adicionar medicamento', onRemove });
    const notes = field({ name: 'notes', label: 'Observações', type: 'textarea', rows: 2, maxlength: MAX_NOTES, wide: true });
    return {
      nodes: [
        kind === 'special_prescription'
          ? h('p', { class: 'note small', text: 'Receita de controle especial: impressa em duas vias (retenção da farmácia e orientação ao paciente).' })
          : null,
        meds.element,
        h('div', { class: 'form-fields doc-extra' }, notes.wrap),
        scope && scope.prescription_note ? h('p', { class: 'note small doc-scope-note', text: scope.prescription_note }) : null,
      ],
      fields: { notes },
      build() {
        const { items, invalid } = meds.collect();
        const noteError = checkText(notes, { max: MAX_NOTES });
        setError(notes, noteError);
        if (invalid || noteError) return { invalid: invalid + (noteError ? 1 : 0) };
        const content = { kind, medications: items };
        const text = notes.input.value.trim();
        if (text) content.notes = text;
        return { content };
      },
      clearErrors() {
        meds.clearErrors();
        setError(notes, null);
      },
    };
  }
  if (kind === 'certificate') {
    const days = field({ name: 'days_off', label: 'Dias de afastamento', required: true, type: 'number', inputmode: 'numeric', value: '1' });
    const daysInput = /** @type {HTMLInputElement} */ (days.input);
    daysInput.min = '1';
    daysInput.max = '365';
    daysInput.step = '1';
    const start = field({ name: 'start_date', label: 'Início do afastamento', required: true, type: 'date', value: todayIn(DEFAULT_TZ) });
    const cid = field({
      name: 'cid', label: 'CID-10', maxlength: 8, placeholder: 'ex.: J11 ou M54.5',
      hint: 'Só é impresso no atestado com o consentimento expresso do paciente.',
    });
    cid.input.setAttribute('autocomplete', 'off');
    cid.input.setAttribute('autocapitalize', 'characters');
    cid.input.setAttribute('spellcheck', 'false');
    const consent = field({ name: 'cid_consent', type: 'checkbox', label: 'Paciente consentiu expressamente com a inclusão do CID' });
    const consentBox = /** @type {HTMLInputElement} */ (consent.input);
    const notes = field({ name: 'notes', label: 'Observações', type: 'textarea', rows: 2, maxlength: MAX_NOTES, wide: true });
    const all = { days_off: days, start_date: start, cid, cid_consent: consent, notes };
    return {
      nodes: [h('div', { class: 'form-fields doc-cert' }, days.wrap, start.wrap, cid.wrap, consent.wrap, notes.wrap)],
      fields: all,
      build() {
        let invalid = 0;
        const mark = (f, message) => {
          setError(f, message);
          if (message) invalid += 1;
        };
        const n = Number(days.input.value);
        mark(days, !days.input.value.trim() ? 'Preencha este campo.'
          : (!Number.isInteger(n) || n < 1 || n > 365) ? 'Informe de 1 a 365 dias.' : null);
        mark(start, /^\d{4}-\d{2}-\d{2}$/.test(start.input.value) ? null : 'Informe uma data válida.');
        const code = cid.input.value.trim().toUpperCase();
        mark(cid, code && !/^[A-Z]\d{2}(\.?\d{1,2})?$/.test(code) ? 'CID inválido (ex.: J11 ou M54.5).' : null);
        mark(consent, code && !consentBox.checked
          ? 'Para incluir o CID, confirme o consentimento expresso do paciente (ou deixe o CID em branco).'
          : null);
        mark(notes, checkText(notes, { max: MAX_NOTES }));
        if (invalid) return { invalid };
        const content = { kind, days_off: n, start_date: start.input.value, cid_consent: consentBox.checked };
        if (code) content.cid = code;
        const text = notes.input.value.trim();
        if (text) content.notes = text;
        return { content };
      },
      clearErrors() {
        for (const f of Object.values(all)) setError(f, null);
      },
    };
  }
  // exam_request
  const exams = lineList({ noun: 'exame', fields: EXAM_FIELDS, addLabel: 'Adicionar exame', onRemove });
  const indication = field({ name: 'clinical_indication', label: 'Indicação clínica', type: 'textarea', rows: 2, maxlength: MAX_NOTES, wide: true });
  return {
    nodes: [exams.element, h('div', { class: 'form-fields doc-extra' }, indication.wrap)],
    fields: { clinical_indication: indication },
    build() {
      const { items, invalid } = exams.collect();
      const indicationError = checkText(indication, { max: MAX_NOTES });
      setError(indication, indicationError);
      if (invalid || indicationError) return { invalid: invalid + (indicationError ? 1 : 0) };
      const content = { kind, exams: items };
      const text = indication.input.value.trim();
      if (text) content.clinical_indication = text;
      return { content };
    },
    clearErrors() {
      exams.clearErrors();
      setError(indication, null);
    },
  };
}

/**
 * The form for one kind. `scope` is GET /api/me/document-scope (the lists offered);
 * `onIssued(answer, content)` after the 202; `onClose()` on "Cancelar".
 * Returns {kind, element, focus(), destroy()}.
 */
export function documentEditor({ kind, clinicId, patient, onIssued, onClose, scope = null }) {
  const body = kindBody(kind, () => settleErrors(), scope);
  const headingId = `doc-editor-${kind}`;
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const previewBox = h('div', { class: 'doc-preview', role: 'status' });
  // Allergy warnings of a prescription, shown before signing (a warning, not a block).
  const warningBox = h('div', { class: 'alert alert-warn doc-warnings', role: 'alert', hidden: true });
  /** The request the professional chose to issue despite its warnings. */
  let acknowledged = '';
  const previewButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Pré-visualizar', dataset: { action: 'preview' } });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Emitir e assinar' });
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancelar', onclick: () => onClose() });
  const heading = h('h3', { id: headingId, tabindex: '-1', text: TITLES[kind] });
  const form = h('form', {
    class: 'form form-grid doc-form',
    novalidate: true,
    'aria-labelledby': headingId,
    dataset: { kind },
  },
  heading,
  h('p', { class: 'muted small doc-for' }, 'Paciente: ', h('strong', { text: displayName(patient) })),
  errorBox,
  body.nodes,
  warningBox,
  previewBox,
  h('div', { class: 'form-actions doc-form-actions' }, previewButton, submit, cancel));

  let previewUrl = null;
  let busy = false;

  function dropPreview() {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.setAttribute('tabindex', '-1');
    errorBox.focus();
  }

  /** Validate and build the request body; null when the form shows errors. */
  function request() {
    errorBox.hidden = true;
    body.clearErrors();
    const { content, invalid } = body.build();
    if (!content) {
      errorBox.textContent = invalid === 1 ? 'Corrija o campo destacado.' : `Corrija os ${invalid} campos destacados.`;
      errorBox.hidden = false;
      const first = /** @type {HTMLElement|null} */ (form.querySelector('[aria-invalid="true"]'));
      if (first) first.focus();
      return null;
    }
    return { clinic_id: clinicId, patient_id: patient.id, content };
  }

  function serverError(err) {
    const message = errorMessage(err);
    if (err instanceof ApiError && CODE_TO_FIELD[err.code] && body.fields[CODE_TO_FIELD[err.code]]) {
      const f = body.fields[CODE_TO_FIELD[err.code]];
      setError(f, message);
      errorBox.textContent = message;
      errorBox.hidden = false;
      f.input.focus();
      return;
    }
    showError(message);
  }

  async function run(button, busyText, fn) {
    if (busy) return;
    const req = request();
    if (!req) return;
    busy = true;
    const label = button.textContent;
    button.textContent = busyText;
    previewButton.disabled = true;
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await fn(req);
    } catch (err) {
      serverError(err);
    } finally {
      busy = false;
      button.textContent = label;
      previewButton.disabled = false;
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  const SEVERITY = { mild: 'leve', moderate: 'moderada', severe: 'grave' };

  /**
   * Ask the server what to warn about; show it. Returns how many warnings there are.
   * @param {any} req
   */
  async function checkWarnings(req) {
    if (kind !== 'prescription' && kind !== 'special_prescription') return 0;
    const { warnings } = await api.post('/api/documents/warnings', req);
    clear(warningBox);
    warningBox.hidden = !warnings.length;
    if (warnings.length) {
      warningBox.append(
        h('p', null, h('strong', { text: warnings.length === 1 ? 'Atenção: alergia registrada' : 'Atenção: alergias registradas' })),
        h('ul', null, warnings.map((w) => h('li', null,
          h('strong', { text: w.medication }), ` — alergia a ${w.substance} (${SEVERITY[w.severity] || w.severity})`,
          w.reaction ? `: ${w.reaction}` : ''))),
        h('p', { class: 'small', text: 'Revise a prescrição. Para emitir assim mesmo, clique em “Emitir mesmo assim”.' }));
    }
    return warnings.length;
  }

  previewButton.addEventListener('click', () => run(previewButton, 'Gerando…', async (req) => {
    await checkWarnings(req);
    const blob = await api.postForBlob('/api/documents/preview', req);
    dropPreview();
    previewUrl = URL.createObjectURL(blob.type === 'application/pdf' ? blob : new Blob([blob], { type: 'application/pdf' }));
    clear(previewBox).append(h('div', { class: 'doc-preview-ready' },
      h('p', { class: 'doc-preview-title' }, h('strong', { text: 'Pré-visualização pronta' }),
        ' — sem assinatura, marcada “PRÉ-VISUALIZAÇÃO”.'),
      h('p', { class: 'doc-preview-links' },
        h('a', { class: 'btn btn-secondary btn-small', href: previewUrl, target: '_blank', rel: 'noopener', text: 'Abrir em nova aba' }),
        h('a', { class: 'btn btn-secondary btn-small', href: previewUrl, download: 'pre-visualizacao.pdf', text: 'Baixar PDF da pré-visualização' }))));
  }));

  /** Hide the error summary once no field is flagged any more. */
  function settleErrors() {
    if (!form.querySelector('[aria-invalid="true"]')) errorBox.hidden = true;
  }

  form.addEventListener('input', (event) => {
    // A flagged field being filled in loses its error.
    const target = /** @type {HTMLInputElement} */ (event.target);
    if (target && target.getAttribute('aria-invalid') === 'true'
      && (target.type === 'checkbox' ? target.checked : target.value.trim())) {
      const wrap = target.closest('.field');
      const error = /** @type {HTMLElement|null} */ (wrap && wrap.querySelector('.field-error'));
      if (error) {
        error.textContent = '';
        error.hidden = true;
      }
      target.removeAttribute('aria-invalid');
      settleErrors();
    }
    if (acknowledged) {
      acknowledged = '';
      submit.textContent = 'Emitir e assinar';
    }
    if (!previewUrl || previewBox.querySelector('.doc-preview-stale')) return;
    previewBox.append(h('p', { class: 'small doc-preview-stale', text: 'O formulário mudou depois da pré-visualização: clique em “Pré-visualizar” de novo para ver a versão atual.' }));
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(submit, 'Emitindo…', async (req) => {
      const key = JSON.stringify(req);
      if (acknowledged !== key && await checkWarnings(req)) {
        acknowledged = key;
        warningBox.setAttribute('tabindex', '-1');
        warningBox.focus();
        // `run` puts the label back when this returns; change it after.
        window.setTimeout(() => { submit.textContent = 'Emitir mesmo assim'; });
        return;
      }
      const res = await api.post('/api/documents', req);
      onIssued(res, req.content);
    });
  });

  return {
    kind,
    element: h('div', { class: 'doc-editor' }, form),
    focus() {
      const first = /** @type {HTMLElement|null} */ (form.querySelector('input:not([type="checkbox"]), textarea'));
      if (first) first.focus();
      else heading.focus();
    },
    destroy: dropPreview,
  };
}
