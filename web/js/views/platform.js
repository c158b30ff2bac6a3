// @ts-check
// Platform admin home: clinic list (each with its onboarding and team page) and the
// "Nova clínica" form, which goes on to the new clinic's onboarding.

import { api, seg } from '../api.js';
import { capitalize, clinicName } from '../messages.js';
import {
  h, createForm, commonCodeToField, formatAddress, formatDateTime, loadInto, plural,
  TIME_ZONES, addressFields, addressFromValues,
} from '../ui.js';

export function renderPlatformHome() {
  document.title = 'Plataforma — atende';
  const listBox = h('div', { class: 'clinics' });
  const loadClinics = () => loadInto(listBox, () => api.get('/api/clinics'), (clinics) =>
    clinicList(Array.isArray(clinics) ? clinics : []));
  loadClinics();

  const clinics = h('section', { class: 'panel', 'aria-labelledby': 'clinics-heading' },
    h('h2', { id: 'clinics-heading', text: 'Clínicas' }),
    listBox);

  const form = newClinicForm(loadClinics);
  const create = h('section', { class: 'panel', 'aria-labelledby': 'new-clinic-heading' },
    h('h2', { id: 'new-clinic-heading', text: 'Nova clínica' }),
    form.form);

  return h('div', { class: 'view', dataset: { view: 'home-platform' } },
    h('h1', { tabindex: '-1', text: 'Plataforma' }),
    h('div', { class: 'grid-2' }, clinics, create));
}

function clinicList(clinics) {
  if (!clinics.length) return [h('p', { class: 'empty', text: 'Nenhuma clínica cadastrada.' })];
  const sorted = [...clinics].sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
  const ul = h('ul', { class: 'card-list' });
  for (const c of sorted) {
    ul.append(h('li', { class: 'card' },
      h('span', { class: 'card-title', text: c.name }),
      h('span', { class: 'card-meta' },
        h('span', { text: `CNPJ ${c.cnpj || '—'}` }),
        h('span', { text: formatAddress(c.address) }),
        h('span', { text: `Fuso horário: ${c.time_zone || '—'}` }),
        c.created_at ? h('span', { text: `Criada em ${formatDateTime(c.created_at)}` }) : null),
      h('a', {
        class: 'btn btn-secondary btn-small',
        href: `#/plataforma/clinica/${seg(c.id)}`,
        text: 'Implantação e equipe',
        'aria-label': `Implantação e equipe — ${c.name}`,
      })));
  }
  return [h('p', { class: 'muted', text: plural(clinics.length, 'clínica', 'clínicas') }), ul];
}

function newClinicForm(onCreated) {
  const ctrl = createForm({
    label: 'Nova clínica',
    submitLabel: 'Cadastrar clínica',
    busyLabel: 'Cadastrando…',
    codeToField: commonCodeToField,
    className: 'form-grid',
    fields: [
      { name: 'name', label: 'Nome da clínica', required: true, autocomplete: 'organization', maxlength: 200, wide: true },
      {
        name: 'cnpj', label: 'CNPJ', required: true, mask: 'cnpj', maxlength: 18, autocomplete: 'off', wide: true,
        placeholder: '00.000.000/0000-00', hint: 'Aceita também o CNPJ alfanumérico.',
        pattern: /^[0-9A-Z]{2}\.?[0-9A-Z]{3}\.?[0-9A-Z]{3}\/?[0-9A-Z]{4}-?\d{2}$/i,
        patternMessage: 'Informe os 14 caracteres do CNPJ.',
      },
      ...addressFields({ required: true }),
      {
        name: 'time_zone', label: 'Fuso horário', type: 'select', wide: true, noOptionalTag: true,
        options: TIME_ZONES, value: 'America/Sao_Paulo',
      },
    ],
    onSubmit: async (v) => {
      const body = {
        name: v.name,
        cnpj: v.cnpj,
        address: addressFromValues(v),
        time_zone: v.time_zone,
      };
      const clinic = await api.post('/api/clinics', body);
      ctrl.reset();
      onCreated();
      // Next: its team (the clinic's admin first), on its onboarding page.
      if (clinic && clinic.id) location.hash = `#/plataforma/clinica/${seg(clinic.id)}`;
      return `${capitalize(clinicName((clinic && clinic.name) || v.name))} cadastrada.`;
    },
  });
  return ctrl;
}
