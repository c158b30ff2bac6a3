// @ts-check
// "Prontuário" on the staff patient page: allergies, problems, vital signs (record-lists.js),
// the timeline (encounters, addenda, documents, vital signs), a new-encounter form whose
// draft saves itself (diagnoses found by a CID-10 search), and "Assinar e bloquear".
// A professional without a care relationship sees the break-the-glass form first.

import { documentName } from '../messages.js';
import { cidSearch, medicationsPanel, problemsPanel, vitalsPanel, vitalsText } from './record-lists.js';
import { fhirExportButton } from './record-fhir.js';
import { api, ApiError, qs, seg } from '../api.js';
import {
  h, clear, alertNode, createForm, disclosure, errorMessage, formatDateTime, loadingNode, sentence,
} from '../ui.js';

/** Wait this long after the last keystroke before saving the draft. */
const AUTOSAVE_MS = 1500;

const SEVERITY = { mild: 'Leve', moderate: 'Moderada', severe: 'Grave' };


/**
 * "J11.1 Influenza" lines → diagnoses.
 * @param {string} text
 * @returns {{code: string, text: string}[]}
 */
export function parseDiagnoses(text) {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    const [code, ...rest] = line.split(/\s+/);
    return { code, text: rest.join(' ').replace(/^[-–—:]\s*/, '') };
  });
}

/** @param {{author: {name: string, council?: string|null, council_number?: string|null, council_uf?: string|null}}} e */
function authorText(e) {
  const a = e.author;
  return a.council ? `${a.name} — ${a.council} ${a.council_number}/${a.council_uf}` : a.name;
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{clinicId: string, patientId: string, professional: boolean, userId: string, encounterId?: string|null}} opts
 *   `encounterId`: a draft to open in the editor (a consultation started from "Meu dia")
 */
export function recordSection(ctx, { clinicId, patientId, professional, userId, encounterId = null }) {
  const base = `/api/clinics/${seg(clinicId)}/patients/${seg(patientId)}/record`;
  const body = h('div');
  const section = h('section', { class: 'panel', 'aria-labelledby': 'pd-record' },
    h('h2', { id: 'pd-record', text: 'Prontuário' }), body);

  const allergies = h('div');
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Linha do tempo' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Carregar mais', hidden: true });
  /** @type {string|null} */
  let nextBefore = null;

  async function open() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode('Abrindo o prontuário…'));
    try {
      // Ask first: without a way in, the page offers break the glass (no refused request).
      const access = await api.get(`${base}/access`);
      if (!ctx.isCurrent()) return;
      if (access.access === 'none') {
        clear(body).append(breakGlass(access.message || 'Sem relação de cuidado com este paciente.'));
        return;
      }
      const list = await api.get(`${base}/allergies`);
      if (!ctx.isCurrent()) return;
      renderAllergies(list.allergies || []);
      clear(body).append(
        h('h3', { text: 'Alergias e intolerâncias' }), allergies,
        h('h3', { text: 'Problemas' }), problemsPanel({ base, professional }),
        h('h3', { text: 'Medicamentos em uso' }), medicationsPanel({ base, professional }),
        h('h3', { text: 'Sinais vitais' }), vitalsPanel({ base, professional, onAdded: () => refreshTimeline() }),
        professional ? encounterEditor() : null,
        h('h3', { text: 'Linha do tempo' }), timeline, more,
        fhirExportButton(`${base}/fhir`, 'prontuario'));
      await refreshTimeline();
      if (professional && encounterId && editing) {
        const draft = await api.get(`${base}/encounters/${seg(encounterId)}`);
        if (!ctx.isCurrent()) return;
        if (draft.status === 'draft' && draft.author.user_id === userId) editing.load(draft);
      }
    } catch (err) {
      if (!ctx.isCurrent()) return;
      if (err instanceof ApiError && err.code === 'no_care_relationship') clear(body).append(breakGlass(errorMessage(err)));
      else clear(body).append(alertNode(errorMessage(err)));
    } finally {
      body.removeAttribute('aria-busy');
    }
  }

  /** @param {string} why */
  function breakGlass(why) {
    const form = createForm({
      label: 'Abrir o prontuário (quebra de sigilo)',
      submitLabel: 'Abrir prontuário',
      busyLabel: 'Abrindo…',
      fields: [{ name: 'reason', label: 'Motivo (fica registrado na auditoria)', type: 'textarea', rows: 3, required: true, minlength: 10, maxlength: 2000, wide: true }],
      onSubmit: async (values) => {
        await api.post(`${base}/break-glass`, { reason: values.reason || '' });
        open();
        return undefined;
      },
    });
    return h('div', null, h('p', { class: 'note note-warn', text: sentence(why) }), form.form);
  }

  /** @param {any[]} list */
  function renderAllergies(list) {
    clear(allergies);
    if (!list.length) allergies.append(h('p', { class: 'muted', text: 'Nenhuma alergia registrada.' }));
    else {
      allergies.append(h('ul', { class: 'allergies' }, list.map((a) => h('li', null,
        h('strong', { text: a.substance }),
        a.reaction ? ` — ${a.reaction}` : '',
        ' ', h('span', { class: a.severity === 'severe' ? 'badge badge-warn' : 'badge badge-muted', text: SEVERITY[a.severity] || a.severity }),
        a.status === 'inactive' ? h('span', { class: 'badge badge-muted', text: 'Inativa' }) : null,
        professional ? h('button', {
          type: 'button',
          class: 'btn btn-link',
          text: a.status === 'active' ? 'Inativar' : 'Reativar',
          onclick: async () => {
            try {
              await api.patch(`${base}/allergies/${seg(a.id)}`, { status: a.status === 'active' ? 'inactive' : 'active' });
              const again = await api.get(`${base}/allergies`);
              renderAllergies(again.allergies || []);
            } catch (e) {
              allergies.append(alertNode(errorMessage(e)));
            }
          },
        }) : null))));
    }
    if (professional) {
      const form = createForm({
        label: 'Registrar alergia',
        submitLabel: 'Registrar alergia',
        busyLabel: 'Registrando…',
        className: 'form-grid',
        fields: [
          { name: 'substance', label: 'Substância', required: true, maxlength: 500 },
          { name: 'reaction', label: 'Reação', maxlength: 500 },
          { name: 'severity', label: 'Gravidade', type: 'select', required: true, value: 'moderate', options: Object.entries(SEVERITY) },
        ],
        onSubmit: async (values) => {
          await api.post(`${base}/allergies`, { substance: values.substance || '', reaction: values.reaction || '', severity: values.severity });
          const again = await api.get(`${base}/allergies`);
          renderAllergies(again.allergies || []);
          return undefined;
        },
      });
      allergies.append(disclosure('Registrar alergia', form.form));
    }
  }

  async function loadPage() {
    const page = await api.get(`${base}/timeline${qs({ limit: 30, before: nextBefore || undefined })}`);
    if (!ctx.isCurrent()) return;
    if (!page.items.length && !timeline.children.length) {
      timeline.append(h('li', { class: 'muted', text: 'Nenhum registro ainda.' }));
    }
    for (const item of page.items) timeline.append(timelineItem(item));
    nextBefore = page.next_before || null;
    more.hidden = !nextBefore;
  }
  /** Reload the timeline from its newest entry (after a sign or an addendum). */
  function refreshTimeline() {
    clear(timeline);
    nextBefore = null;
    return loadPage().catch((err) => timeline.append(h('li', null, alertNode(errorMessage(err)))));
  }

  more.addEventListener('click', () => loadPage().catch((err) => timeline.append(h('li', null, alertNode(errorMessage(err))))));

  /** @param {any} item */
  function timelineItem(item) {
    const when = h('time', { datetime: item.at, text: formatDateTime(item.at) });
    if (item.type === 'document') {
      const d = item.document;
      return h('li', { class: 'timeline-item' }, when, ' ',
        h('strong', { text: documentName(d.kind, { short: true }) }), ` — ${d.professional_name}`,
        d.revoked ? h('span', { class: 'badge badge-warn', text: 'Revogado' }) : null);
    }
    if (item.type === 'vitals') {
      const v = item.vitals;
      return h('li', { class: 'timeline-item' }, when, ' ', h('strong', { text: 'Sinais vitais' }),
        ` — ${v.recorded_by_name}`, h('p', { text: vitalsText(v) }),
        v.notes ? h('p', { class: 'prewrap muted', text: v.notes }) : null);
    }
    if (item.type === 'addendum') {
      const a = item.addendum;
      return h('li', { class: 'timeline-item' }, when, ' ', h('strong', { text: 'Adendo' }),
        ` — ${authorText(a)}`, h('p', { class: 'prewrap', text: a.text }));
    }
    const e = item.encounter;
    const c = e.content;
    const locked = e.status === 'locked';
    return h('li', { class: 'timeline-item' }, when, ' ', h('strong', { text: 'Atendimento' }),
      ` — ${authorText(e)} `,
      h('span', { class: locked ? 'badge badge-ok' : 'badge badge-muted', text: locked ? 'Assinado e bloqueado' : 'Rascunho' }),
      c.chief_complaint ? h('p', null, h('strong', { text: 'Queixa: ' }), c.chief_complaint) : null,
      c.diagnoses && c.diagnoses.length
        ? h('p', null, h('strong', { text: 'Diagnósticos: ' }), c.diagnoses.map((d) => `${d.code} ${d.text || d.description || ''}`.trim()).join('; '))
        : null,
      c.plan ? h('p', { class: 'prewrap' }, h('strong', { text: 'Conduta: ' }), c.plan) : null,
      c.evolution ? h('p', { class: 'prewrap', text: c.evolution }) : null,
      locked && professional ? addendumForm(e) : null,
      !locked && e.author.user_id === userId ? h('button', {
        type: 'button', class: 'btn btn-secondary', text: 'Continuar editando',
        onclick: () => editing && editing.load(e),
      }) : null);
  }

  /** @param {any} e */
  function addendumForm(e) {
    const form = createForm({
      label: 'Registrar adendo',
      submitLabel: 'Registrar adendo',
      busyLabel: 'Registrando…',
      fields: [{ name: 'text', label: 'Adendo', type: 'textarea', rows: 3, required: true, maxlength: 20000, wide: true }],
      onSubmit: async (values) => {
        await api.post(`${base}/encounters/${seg(e.id)}/addenda`, { text: values.text || '' });
        refreshTimeline();
        return undefined;
      },
    });
    return disclosure('Registrar adendo', form.form);
  }

  /** @type {{load: (e: any) => void}|null} */
  let editing = null;

  /** The new-encounter form: created on the first change, saved after each pause. */
  function encounterEditor() {
    /** @type {{id: string, version: number}|null} */
    let draft = null;
    let timer = 0;
    let saving = Promise.resolve();
    const status = h('p', { class: 'form-status', role: 'status' });
    const names = [
      ['chief_complaint', 'Queixa principal', 2], ['history', 'História da doença atual', 4],
      ['examination', 'Exame físico', 3], ['diagnoses', 'Diagnósticos (um por linha: código CID-10 e descrição)', 2],
      ['plan', 'Conduta', 3], ['evolution', 'Evolução', 3],
    ];
    /** @type {Record<string, HTMLTextAreaElement>} */
    const inputs = {};
    const fields = names.map(([name, label, rows]) => {
      const id = `enc-${name}`;
      inputs[name] = h('textarea', { id, name, rows, maxlength: 20000, oninput: schedule });
      const wrap = h('div', { class: 'field field-wide' }, h('label', { for: id, text: String(label) }), inputs[name]);
      if (name !== 'diagnoses') return wrap;
      // Search the CID-10 by code or words; a chosen code becomes a line of the diagnoses.
      const search = cidSearch({
        id: 'enc-cid',
        label: 'Buscar na CID-10',
        onPick: (hit) => {
          const box = inputs.diagnoses;
          box.value = `${box.value.trim() ? `${box.value.trimEnd()}\n` : ''}${hit.code} ${hit.description}`;
          schedule();
        },
      });
      return h('div', { class: 'field-wide' }, search, wrap);
    });
    const sign = h('button', { type: 'button', class: 'btn btn-primary', text: 'Assinar e bloquear', disabled: true });

    function content() {
      return {
        chief_complaint: inputs.chief_complaint.value, history: inputs.history.value,
        examination: inputs.examination.value, diagnoses: parseDiagnoses(inputs.diagnoses.value),
        plan: inputs.plan.value, evolution: inputs.evolution.value,
      };
    }

    function schedule() {
      window.clearTimeout(timer);
      status.textContent = 'Alterações não salvas…';
      timer = window.setTimeout(() => { saving = saving.then(save); }, AUTOSAVE_MS);
    }

    async function save() {
      try {
        const saved = draft
          ? await api.put(`${base}/encounters/${seg(draft.id)}`, { version: draft.version, content: content() })
          : await api.post(`${base}/encounters`, { content: content() });
        draft = { id: saved.id, version: saved.version };
        sign.disabled = false;
        status.textContent = `Rascunho salvo às ${formatDateTime(saved.updated_at)}.`;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'version_conflict') {
          status.textContent = 'Este atendimento foi alterado em outra aba. Recarregue a página antes de continuar: nada foi sobrescrito.';
        } else status.textContent = errorMessage(err);
      }
    }

    sign.addEventListener('click', async () => {
      window.clearTimeout(timer);
      await (saving = saving.then(save));
      if (!draft) return;
      try {
        await api.post(`${base}/encounters/${seg(draft.id)}/sign`);
        draft = null;
        for (const input of Object.values(inputs)) input.value = '';
        sign.disabled = true;
        status.textContent = 'Atendimento assinado e bloqueado.';
        refreshTimeline();
      } catch (err) {
        status.textContent = errorMessage(err);
      }
    });

    editing = {
      load(e) {
        draft = { id: e.id, version: e.version };
        const c = e.content;
        for (const [name] of names) {
          inputs[name].value = name === 'diagnoses'
            ? (c.diagnoses || []).map((d) => `${d.code} ${d.text}`).join('\n')
            : c[name] || '';
        }
        sign.disabled = false;
        status.textContent = 'Rascunho carregado.';
        inputs.chief_complaint.focus();
      },
    };

    return disclosure('Novo atendimento', h('div', { class: 'form' },
      h('div', { class: 'form-fields' }, fields),
      h('div', { class: 'form-actions' }, sign), status), { open: true });
  }

  open();
  return section;
}

/**
 * "Meus atendimentos" on the patient's home: the summary of their locked encounters in
 * every clinic (no drafts, no psychology notes — the server leaves them out).
 * @param {import('../types.js').ViewContext} ctx
 */
export function myRecordPanel(ctx) {
  const list = h('div', { 'aria-busy': 'true' }, loadingNode());
  api.get('/api/me/record/encounters').then((data) => {
    if (!ctx.isCurrent()) return;
    list.removeAttribute('aria-busy');
    const encounters = (data && data.encounters) || [];
    if (!encounters.length) {
      clear(list).append(h('p', { class: 'muted', text: 'Nenhum atendimento registrado ainda.' }));
      return;
    }
    clear(list).append(h('ul', { class: 'timeline' }, encounters.map((e) => h('li', { class: 'timeline-item' },
      h('time', { datetime: e.date, text: formatDateTime(e.date) }), ' ',
      h('strong', { text: e.clinic_name }), ` — ${e.professional_name} (${e.council} ${e.council_number}/${e.council_uf})`,
      e.chief_complaint ? h('p', null, h('strong', { text: 'Motivo: ' }), e.chief_complaint) : null,
      e.diagnoses.length
        ? h('p', null, h('strong', { text: 'Diagnósticos: ' }), e.diagnoses.map((d) => `${d.code} ${d.text}`).join('; '))
        : null,
      e.plan ? h('p', { class: 'prewrap' }, h('strong', { text: 'Orientações: ' }), e.plan) : null))));
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    list.removeAttribute('aria-busy');
    clear(list).append(alertNode(errorMessage(err)));
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'my-record-heading' },
    h('h2', { id: 'my-record-heading', text: 'Meus atendimentos' }),
    h('p', { class: 'muted small', text: 'Resumo dos atendimentos assinados pelos profissionais que atendem você.' }),
    list,
    fhirExportButton('/api/me/record/fhir', 'meu-prontuario'));
}
