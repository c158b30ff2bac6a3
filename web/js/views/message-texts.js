// @ts-check
// "Textos dos e-mails", on the outbox page (clinic admins): the clinic rewrites the words
// of its e-mails to patients — pick a message, edit its subject and text with {{variables}},
// preview it with made-up data, save, or go back to the built-in words. The buttons
// (confirm, cancel, see the document) always follow the text; WhatsApp goes with the
// templates Meta approved and SMS with a short fixed text.
//
//   GET    /api/clinics/{id}/messaging/texts → MessageTextView[]
//   POST   /api/clinics/{id}/messaging/texts/{template}/preview {subject, body}
//            → {subject, text, html}
//   PUT    /api/clinics/{id}/messaging/texts/{template} {subject, body} → MessageTextView
//   DELETE /api/clinics/{id}/messaging/texts/{template} → MessageTextView (built-in again)
//   422 unknown_variable / invalid_template / invalid_subject / invalid_body_text, with
//   `field` naming subject or body

import { api, seg, ApiError } from '../api.js';
import { h, createForm, errorMessage, formatDateTime, loadInto } from '../ui.js';

/**
 * @typedef {{subject: string, body: string}} Words
 * @typedef {{template: string, label: string, variables: {name: string, meaning: string}[],
 *   default: Words, custom: (Words & {updated_at: string})|null}} MessageTextView
 */

const CODE_TO_FIELD = { invalid_subject: 'subject', invalid_body_text: 'body' };

/** @param {MessageTextView} t */
const optionLabel = (t) => (t.custom ? `${t.label} (personalizado)` : t.label);

/** @param {string} clinicId */
export function messageTextsPanel(clinicId) {
  const base = `/api/clinics/${seg(clinicId)}/messaging/texts`;
  const body = h('div', {});

  /** @param {MessageTextView[]} list */
  function render(list) {
    const byTemplate = new Map(list.map((t) => [t.template, t]));
    const pickId = `mt-pick-${clinicId}`;
    const pick = /** @type {HTMLSelectElement} */ (h('select', { id: pickId, name: 'template' },
      list.map((t) => h('option', { value: t.template, text: optionLabel(t) }))));
    const editor = h('div', {});

    function show() {
      const t = /** @type {MessageTextView} */ (byTemplate.get(pick.value));
      editor.replaceChildren(...editorFor(t, (saved) => {
        byTemplate.set(saved.template, saved);
        const option = [...pick.options].find((o) => o.value === saved.template);
        if (option) option.textContent = optionLabel(saved);
        return saved;
      }));
    }
    pick.addEventListener('change', show);
    show();
    return [
      h('div', { class: 'field' }, h('label', { for: pickId, text: 'Mensagem' }), pick),
      editor,
    ];
  }

  /**
   * @param {MessageTextView} t
   * @param {(saved: MessageTextView) => MessageTextView} onSaved
   */
  function editorFor(t, onSaved) {
    const path = `${base}/${seg(t.template)}`;
    const words = t.custom || t.default;
    const preview = h('div', { class: 'mt-preview', hidden: true, 'aria-live': 'polite' });
    const previewButton = h('button', { type: 'button', class: 'btn', text: 'Pré-visualizar' });
    const resetButton = h('button', { type: 'button', class: 'btn btn-link', text: 'Voltar ao texto padrão', hidden: !t.custom });
    const since = h('p', { class: 'muted small', text: t.custom ? `Texto da clínica, salvo em ${formatDateTime(t.custom.updated_at)}.` : 'Texto padrão do atende.' });
    const ctrl = createForm({
      label: `Texto de "${t.label}"`,
      className: 'mt-form',
      submitLabel: 'Salvar texto',
      busyLabel: 'Salvando…',
      codeToField: CODE_TO_FIELD,
      extraActions: [previewButton, resetButton],
      fields: [
        { name: 'subject', label: 'Assunto', required: true, maxlength: 150, value: words.subject, wide: true },
        {
          name: 'body', type: 'textarea', label: 'Texto', required: true, maxlength: 3000, rows: 8, value: words.body, wide: true,
          hint: 'Separe os parágrafos com uma linha em branco. Os botões da mensagem vêm sempre depois do texto.',
        },
      ],
      async onSubmit(values) {
        const saved = onSaved(await api.put(path, { subject: values.subject, body: values.body }));
        resetButton.hidden = !saved.custom;
        since.textContent = saved.custom ? `Texto da clínica, salvo em ${formatDateTime(saved.custom.updated_at)}.` : 'Texto padrão do atende.';
        return 'Salvo: as próximas mensagens saem com este texto.';
      },
    });

    /** A refusal shown where it belongs: on its field when it names one. @param {unknown} err */
    function refused(err) {
      const message = errorMessage(err);
      const named = err instanceof ApiError && err.body && typeof err.body === 'object'
        ? /** @type {{field?: unknown}} */ (err.body).field : null;
      const target = err instanceof ApiError ? (CODE_TO_FIELD[err.code] || named) : null;
      if (typeof target === 'string') ctrl.setFieldError(target, message);
      ctrl.showError(message);
    }

    previewButton.addEventListener('click', async () => {
      ctrl.clearErrors();
      ctrl.setStatus('');
      const values = ctrl.values();
      previewButton.disabled = true;
      try {
        /** @type {{subject: string, text: string}} */
        const p = await api.post(`${path}/preview`, { subject: values.subject || '', body: values.body || '' });
        preview.replaceChildren(
          h('p', { class: 'mt-subject' }, h('strong', { text: 'Assunto: ' }), p.subject),
          h('div', { class: 'mt-text', text: p.text }));
        preview.hidden = false;
      } catch (err) {
        preview.hidden = true;
        refused(err);
      } finally {
        previewButton.disabled = false;
      }
    });

    resetButton.addEventListener('click', async () => {
      ctrl.clearErrors();
      resetButton.disabled = true;
      try {
        const saved = onSaved(await api.del(path));
        const subject = /** @type {HTMLInputElement} */ (ctrl.get('subject')?.input);
        const text = /** @type {HTMLTextAreaElement} */ (ctrl.get('body')?.input);
        subject.value = saved.default.subject;
        text.value = saved.default.body;
        resetButton.hidden = true;
        preview.hidden = true;
        since.textContent = 'Texto padrão do atende.';
        ctrl.setStatus('Pronto: as próximas mensagens saem com o texto padrão.');
      } catch (err) {
        refused(err);
      } finally {
        resetButton.disabled = false;
      }
    });

    const variables = h('div', { class: 'mt-variables' },
      h('p', { class: 'small', text: 'Variáveis que este texto pode usar:' }),
      h('ul', { class: 'mt-variable-list' },
        t.variables.map((v) => h('li', null, h('code', { text: `{{${v.name}}}` }), ` — ${v.meaning}`))));
    return [since, variables, ctrl.form, preview];
  }

  loadInto(body, () => api.get(base), render);
  return h('section', { class: 'panel', 'aria-labelledby': `mt-heading-${clinicId}` },
    h('h2', { id: `mt-heading-${clinicId}`, text: 'Textos dos e-mails' }),
    h('p', { class: 'muted', text: 'Escreva com as palavras da clínica os e-mails que os pacientes recebem. O WhatsApp usa os modelos aprovados pela Meta, e o SMS um texto curto fixo.' }),
    body);
}
