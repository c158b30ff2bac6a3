// @ts-check
// Patient components shared by the staff homes: search list, sign-up form
// and the patient detail view (with the contact/clinical notes edit form).

import { api, qs, seg } from '../api.js';
import {
  h, clear, append, createForm, commonCodeToField, CPF_PATTERN, detailsList, disclosure,
  displayName, errorMessage, formatAddress, formatBirth, formatDateTime, formatPhone, hasSocialName,
  nameNode, plural, alertNode, loadingNode, ADDRESS_KEYS, addressFields, addressFromValues,
} from '../ui.js';
import { canSeeDocuments, documentsSection } from './documents.js';
import { accessCodePanel } from './patient-links.js';
import { isClinicAdmin, lgpdPanel } from './patient-lgpd.js';
import { recordSection } from './record.js';

/**
 * @param {string} clinicId
 * @param {string} patientId
 * @param {string|null} [roleParam]
 */
export function patientHref(clinicId, patientId, roleParam) {
  const base = `#/clinica/${seg(clinicId)}/paciente/${seg(patientId)}`;
  return roleParam ? `${base}?papel=${seg(roleParam)}` : base;
}

/**
 * Section "Pacientes": search box + result list. Returns {section, reload}.
 * @param {{clinicId: string, roleParam: string|null, headingLevel?: 'h1'|'h2'|'h3', intro?: string}} opts
 */
export function patientSearch({ clinicId, roleParam, headingLevel = 'h2', intro }) {
  const headingId = `patients-heading-${seg(clinicId)}`;
  const searchId = `patient-search-${seg(clinicId)}`;
  const input = h('input', {
    id: searchId,
    type: 'search',
    name: 'q',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': `${searchId}-hint`,
  });
  const results = h('div', { class: 'results' });
  const count = h('p', { class: 'muted results-count', role: 'status' });

  let seq = 0;
  let debounce = 0;

  async function run() {
    seq += 1;
    const mine = seq;
    const q = input.value.trim();
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(loadingNode());
    try {
      const list = await api.get(`/api/clinics/${seg(clinicId)}/patients${qs({ q })}`);
      if (mine !== seq) return;
      renderList(Array.isArray(list) ? list : [], q);
    } catch (err) {
      if (mine !== seq) return;
      clear(results).append(alertNode(errorMessage(err)));
      count.textContent = '';
    } finally {
      if (mine === seq) results.removeAttribute('aria-busy');
    }
  }

  function renderList(list, q) {
    clear(results);
    count.textContent = list.length
      ? plural(list.length, 'paciente encontrado', 'pacientes encontrados')
      : '';
    if (!list.length) {
      results.append(h('p', {
        class: 'empty',
        text: q ? `Nenhum paciente encontrado para “${q}”.` : 'Nenhum paciente cadastrado ainda.',
      }));
      return;
    }
    const ul = h('ul', { class: 'card-list patient-list' });
    for (const p of list) {
      ul.append(h('li', null,
        h('a', { class: 'card-link', href: patientHref(clinicId, p.id, roleParam) },
          h('span', { class: 'card-title' }, nameNode(p)),
          h('span', { class: 'card-meta' },
            h('span', { text: `CPF ${p.cpf || '—'}` }),
            p.birth_date ? h('span', { text: formatBirth(p.birth_date) }) : null,
            p.allergies ? h('span', { class: 'badge badge-warn', text: 'Alergias' }) : null))));
    }
    results.append(ul);
  }

  const form = h('form', {
    class: 'search-form',
    role: 'search',
    'aria-label': 'Pesquisa de pacientes',
    onsubmit: (event) => {
      event.preventDefault();
      window.clearTimeout(debounce);
      run();
    },
  },
  h('label', { for: searchId, text: 'Buscar paciente' }),
  h('p', { class: 'field-hint', id: `${searchId}-hint`, text: 'Nome, nome social ou CPF completo' }),
  h('div', { class: 'search-row' }, input, h('button', { type: 'submit', class: 'btn btn-secondary', text: 'Buscar' })));

  input.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(run, 350);
  });

  const section = h('section', { class: 'panel', 'aria-labelledby': headingId },
    h(headingLevel, { id: headingId, text: 'Pacientes' }),
    intro ? h('p', { class: 'muted', text: intro }) : null,
    form, count, results);

  run();
  return { section, reload: run };
}

/** Form "Cadastrar paciente" (POST /api/clinics/{id}/patients). */
/**
 * Whether `me` is a health professional in `clinicId` (sees and edits clinical notes).
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 */
export function isProfessionalIn(me, clinicId) {
  return (me.memberships || []).some((m) => String(m.clinic_id) === String(clinicId) && m.role === 'professional');
}

export function patientCreateForm({ clinicId, roleParam, onCreated, clinical = false }) {
  const ctrl = createForm({
    label: 'Cadastrar paciente',
    submitLabel: 'Cadastrar paciente',
    busyLabel: 'Cadastrando…',
    codeToField: { ...commonCodeToField, patient_already_registered: 'cpf' },
    className: 'form-grid',
    fields: [
      { name: 'full_name', label: 'Nome completo (civil)', required: true, autocomplete: 'off', maxlength: 200, wide: true },
      {
        name: 'social_name',
        label: 'Nome social',
        autocomplete: 'off',
        maxlength: 200,
        wide: true,
        hint: 'Quando informado, é o nome usado no atendimento.',
      },
      {
        name: 'cpf', label: 'CPF', required: true, inputmode: 'numeric', mask: 'cpf', maxlength: 14,
        placeholder: '000.000.000-00', pattern: CPF_PATTERN, patternMessage: 'Informe os 11 dígitos do CPF.',
      },
      { name: 'birth_date', label: 'Data de nascimento', type: 'date', required: true },
      { name: 'phone', label: 'Telefone', type: 'tel', inputmode: 'tel', mask: 'phone', autocomplete: 'off', maxlength: 15 },
      { name: 'email', label: 'E-mail', type: 'email', autocomplete: 'off', maxlength: 254 },
      // Needed on a special-control prescription (Portaria 344/98); optional otherwise.
      ...addressFields(),
      { name: 'allergies', label: 'Alergias', type: 'textarea', rows: 2, maxlength: 10000, wide: true },
      // Clinical notes are only readable by professionals, so only they write them here.
      clinical
        ? { name: 'notes', label: 'Observações clínicas', type: 'textarea', rows: 3, maxlength: 10000, wide: true }
        : null,
    ].filter(Boolean),
    onSubmit: async (values) => {
      const body = withAddress(values);
      const created = await api.post(`/api/clinics/${seg(clinicId)}/patients`, body);
      ctrl.reset();
      const name = displayName(created) || values.social_name || values.full_name;
      if (onCreated) onCreated(created);
      const link = created && created.id
        ? h('a', { href: patientHref(clinicId, created.id, roleParam), text: 'Abrir ficha' })
        : null;
      return [`Paciente ${name} cadastrado(a). `, link];
    },
  });
  return ctrl;
}

/**
 * Form values with the address parts gathered under `address` (null when left blank).
 * @param {Record<string, string>} values
 */
function withAddress(values) {
  const rest = Object.fromEntries(Object.entries(values).filter(([k]) => !ADDRESS_KEYS.includes(k)));
  return { ...rest, address: addressFromValues(values) };
}

/** Collapsible "Cadastrar paciente" panel. */
export function patientCreatePanel(options) {
  const ctrl = patientCreateForm(options);
  return disclosure('Cadastrar paciente', ctrl.form, { className: 'disclosure-create' });
}

/**
 * View "patient-detail": /clinica/{cid}/paciente/{pid}.
 * @param {import('../types.js').ViewContext} ctx
 * @param {{me: import('../types.js').Me, membership: import('../types.js').Membership, patientId: string, roleParam: string|null, encounterId?: string|null}} opts
 */
export function renderPatientDetail(ctx, { me, membership, patientId, roleParam, encounterId = null }) {
  const clinicId = membership.clinic_id;
  const clinical = isProfessionalIn(me, clinicId);
  const backHref = roleParam
    ? `#/clinica/${seg(clinicId)}?papel=${seg(roleParam)}`
    : `#/clinica/${seg(clinicId)}`;
  const heading = h('h1', { tabindex: '-1', text: 'Paciente' });
  const body = h('div');
  const root = h('div', { class: 'view', dataset: { view: 'patient-detail' } },
    h('nav', { class: 'breadcrumb', 'aria-label': 'Navegação' },
      h('a', { href: backHref, text: `← Voltar para ${membership.clinic_name}` })),
    heading, body);

  const path = `/api/clinics/${seg(clinicId)}/patients/${seg(patientId)}`;

  const summary = h('div', { class: 'grid-2' });

  function renderSummary(patient) {
    heading.replaceChildren(nameNode(patient));
    document.title = `${displayName(patient)} — atende`;

    const info = h('section', { class: 'panel', 'aria-labelledby': 'pd-data' },
      h('h2', { id: 'pd-data', text: 'Dados cadastrais' }),
      detailsList([
        hasSocialName(patient) ? ['Nome social', patient.social_name] : null,
        [hasSocialName(patient) ? 'Nome civil' : 'Nome', patient.full_name],
        ['CPF', patient.cpf],
        ['Nascimento', formatBirth(patient.birth_date)],
        ['Telefone', formatPhone(patient.phone)],
        ['E-mail', patient.email],
        ['Endereço', formatAddress(patient.address) || 'Não informado'],
        ['Cadastrado em', formatDateTime(patient.created_at)],
      ].filter(Boolean)));

    const clinicalSection = h('section', { class: 'panel', 'aria-labelledby': 'pd-clinical' },
      h('h2', { id: 'pd-clinical', text: 'Informações clínicas' }),
      h('h3', { text: 'Alergias' }),
      patient.allergies
        ? h('p', { class: 'note note-warn prewrap', text: patient.allergies })
        : h('p', { class: 'muted', text: 'Nenhuma alergia informada.' }),
      h('h3', { text: 'Observações clínicas' }),
      !clinical
        ? h('p', { class: 'muted', text: 'Visíveis apenas para profissionais de saúde da clínica.' })
        : patient.notes
          ? h('p', { class: 'note prewrap', text: patient.notes })
          : h('p', { class: 'muted', text: 'Nenhuma observação.' }));

    summary.replaceChildren(info, clinicalSection);
  }

  const editTitle = clinical ? 'Editar dados e informações clínicas' : 'Editar dados de contato';

  function editForm(patient) {
    let current = patient;
    const saved = () => {
      /** @type {Record<string, string>} */
      const values = {
        social_name: current.social_name || '',
        phone: formatPhone(current.phone),
        email: current.email || '',
        ...Object.fromEntries(ADDRESS_KEYS.map((k) => [k, (current.address && current.address[k]) || ''])),
      };
      if (clinical) {
        values.allergies = current.allergies || '';
        values.notes = current.notes || '';
      }
      return values;
    };
    const initial = saved();
    /** @type {import('../ui.js').FieldOptions[]} */
    const fields = [
      { name: 'social_name', label: 'Nome social', maxlength: 200, value: initial.social_name, wide: true },
      { name: 'phone', label: 'Telefone', type: 'tel', inputmode: 'tel', mask: 'phone', maxlength: 15, value: initial.phone },
      { name: 'email', label: 'E-mail', type: 'email', maxlength: 254, value: initial.email },
      ...addressFields({ initial }),
    ];
    if (clinical) {
      fields.push(
        { name: 'allergies', label: 'Alergias', type: 'textarea', rows: 3, maxlength: 10000, value: initial.allergies, wide: true },
        { name: 'notes', label: 'Observações clínicas', type: 'textarea', rows: 5, maxlength: 10000, value: initial.notes, wide: true },
      );
    }
    return createForm({
      label: editTitle,
      submitLabel: 'Salvar alterações',
      busyLabel: 'Salvando…',
      codeToField: commonCodeToField,
      className: 'form-grid',
      fields,
      onSubmit: async (values) => {
        // PATCH only what changed; the API clears a field given "" (null = unchanged).
        const before = saved();
        const patch = {};
        for (const key of Object.keys(before)) {
          const now = values[key] ?? '';
          if (now !== before[key]) patch[key] = now;
        }
        // The address goes whole (null: removed) when any part of it changed.
        if (ADDRESS_KEYS.some((k) => k in patch)) {
          for (const k of ADDRESS_KEYS) delete patch[k];
          patch.address = addressFromValues(values);
        }
        if (!Object.keys(patch).length) return 'Nenhuma alteração para salvar.';
        const updated = await api.patch(path, patch);
        current = updated && updated.id ? updated : { ...current, ...patch };
        renderSummary(current);
        return 'Alterações salvas.';
      },
    });
  }

  function show(patient) {
    renderSummary(patient);
    const edit = editForm(patient);
    // Signed documents: professionals issue, admins read (views/documents.js).
    const documents = canSeeDocuments(me, clinicId) ? documentsSection(ctx, { me, clinicId, patient }) : null;
    // The clinical record: professionals and admins (receptionists never read it).
    const canOpenRecord = clinical || (me.memberships || []).some((m) => m.clinic_id === clinicId && m.role === 'clinic_admin');
    const record = canOpenRecord
      ? recordSection(ctx, { clinicId, patientId, professional: clinical, userId: me.id, encounterId })
      : null;
    const editSection = h('section', { class: 'panel', 'aria-labelledby': 'pd-edit' },
      h('h2', { id: 'pd-edit', text: editTitle }),
      edit.form);
    // After an anonymisation the page shows what the record holds now (no name, no contact).
    const onAnonymised = () => api.get(path).then((fresh) => {
      if (!ctx.isCurrent()) return;
      renderSummary(fresh);
      editSection.replaceChildren(h('h2', { id: 'pd-edit', text: editTitle }), editForm(fresh).form);
    }).catch(() => {});
    body.replaceChildren(...[summary, record, documents, editSection,
      accessCodePanel(ctx, clinicId, patientId),
      isClinicAdmin(me, clinicId) ? lgpdPanel({ clinicId, patient, onAnonymised }) : null].filter(Boolean));
  }

  body.setAttribute('aria-busy', 'true');
  body.append(loadingNode());
  api.get(path).then((patient) => {
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    show(patient);
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    clear(body);
    append(body, [alertNode(errorMessage(err)), h('a', { href: backHref, text: 'Voltar' })]);
  });

  return root;
}
