// @ts-check
// Staff homes for one selected clinic: clinic_admin, receptionist, professional.

import { api, seg } from '../api.js';
import {
  h, createForm, commonCodeToField, councilText, detailsList, disclosure, errorMessage,
  formatAddress, loadInto, plural, professionLabel, roleLabel, COUNCILS,
  COUNCIL_FOR_PROFESSION, PROFESSIONS, UFS,
} from '../ui.js';
import { professionNoun } from '../messages.js';
import { messagesPanel } from './chat.js';
import { clinicSecurityPanel } from './clinic-security.js';
import { clinicSsoPanel } from './clinic-sso.js';
import { officeHoursPanel } from './office-hours.js';
import { isProfessionalIn, patientCreatePanel, patientSearch } from './patients.js';
import { presencePanel } from './presence.js';
import { myQueuePanel, queueBoardPanel } from './queue.js';
import { waitingRoomSetupPanel } from './queue-setup.js';
import { agendaLinksPanel } from './agenda.js';

const ROLE_ORDER = ['clinic_admin', 'professional', 'receptionist'];

const ROLE_SLUG = { clinic_admin: 'admin', professional: 'profissional', receptionist: 'recepcao' };
const SLUG_ROLE = Object.fromEntries(Object.entries(ROLE_SLUG).map(([k, v]) => [v, k]));

/**
 * @param {string|null} slug
 */
export function roleFromSlug(slug) {
  return SLUG_ROLE[slug] || null;
}

/**
 * Memberships sorted for display: by clinic name, then role priority.
 * @param {import('../types.js').Me} me
 */
export function sortedMemberships(me) {
  return [...(me.memberships || [])].sort((a, b) =>
    a.clinic_name.localeCompare(b.clinic_name, 'pt-BR')
    || ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
}

/**
 * The membership a clinic route refers to. With several roles in the same
 * clinic, `?papel=` picks one; otherwise the most privileged role wins.
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 * @param {string|null} roleSlug `admin`, `profissional` or `recepcao`
 */
export function findMembership(me, clinicId, roleSlug) {
  const inClinic = sortedMemberships(me).filter((m) => String(m.clinic_id) === String(clinicId));
  if (!inClinic.length) return null;
  const role = roleFromSlug(roleSlug);
  return inClinic.find((m) => m.role === role) || inClinic[0];
}

/**
 * Route params for a membership: the `papel` is only needed when ambiguous.
 * @param {import('../types.js').Me} me
 * @param {import('../types.js').Membership} membership
 */
export function roleParamFor(me, membership) {
  const sameClinic = (me.memberships || []).filter((m) => m.clinic_id === membership.clinic_id);
  return sameClinic.length > 1 ? ROLE_SLUG[membership.role] : null;
}

/**
 * @param {import('../types.js').Me} me
 * @param {import('../types.js').Membership} membership
 */
export function clinicHref(me, membership) {
  const param = roleParamFor(me, membership);
  const base = `#/clinica/${seg(membership.clinic_id)}`;
  return param ? `${base}?papel=${param}` : base;
}

const HEADINGS = {
  clinic_admin: 'Administração',
  receptionist: 'Recepção',
  professional: 'Agenda profissional',
};

const MESSAGES_INTRO = {
  clinic_admin: 'Converse com a equipe e abra conversas entre pacientes e profissionais.',
  receptionist: 'Converse com a equipe e abra conversas entre pacientes e profissionais.',
  professional: 'Converse com seus pacientes e com a equipe da clínica.',
};

const VIEW_NAMES = {
  clinic_admin: 'home-admin',
  receptionist: 'home-receptionist',
  professional: 'home-professional',
};

function clinicSelector(me, current, navigate) {
  const memberships = sortedMemberships(me);
  if (memberships.length < 2) return null;
  const clinicCount = new Set(memberships.map((m) => m.clinic_id)).size;
  const select = h('select', { id: 'clinic-select', name: 'clinic' });
  for (const m of memberships) {
    const sameClinic = memberships.filter((x) => x.clinic_id === m.clinic_id).length > 1;
    const label = sameClinic ? `${m.clinic_name} — ${roleLabel(m.role)}` : m.clinic_name;
    const option = h('option', { value: clinicHref(me, m), text: label });
    if (m === current || (m.clinic_id === current.clinic_id && m.role === current.role)) {
      option.selected = true;
    }
    select.append(option);
  }
  select.addEventListener('change', () => navigate(select.value));
  return h('div', { class: 'clinic-select' },
    h('label', { for: 'clinic-select', text: clinicCount > 1 ? 'Clínica' : 'Clínica e função' }),
    select);
}

/**
 * Home for a staff membership. `ctx`: {isCurrent, navigate, rememberClinic}.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {import('../types.js').Membership} membership
 */
export function renderStaffHome(ctx, me, membership) {
  const { role } = membership;
  const roleParam = roleParamFor(me, membership);
  const heading = h('h1', { tabindex: '-1', text: `${HEADINGS[role] || 'Clínica'} — ${membership.clinic_name}` });
  document.title = `${HEADINGS[role] || 'Clínica'} — ${membership.clinic_name} — atende`;
  ctx.rememberClinic(membership);

  const root = h('div', { class: 'view', dataset: { view: VIEW_NAMES[role] || 'home-staff' } },
    h('div', { class: 'view-header' }, heading, clinicSelector(me, membership, ctx.navigate)));

  const clinicId = membership.clinic_id;
  root.append(h('div', { class: 'grid-2' },
    presencePanel(ctx, me, clinicId),
    messagesPanel(MESSAGES_INTRO[role] || 'Converse com a equipe da clínica.')));
  if (role === 'clinic_admin' || role === 'receptionist') root.append(agendaLinksPanel(me, membership, roleParam));
  if (role === 'clinic_admin') {
    root.append(queueBoardPanel(ctx, me, clinicId), waitingRoomSetupPanel(ctx, membership),
      ...adminContent(me, clinicId, roleParam));
  } else if (role === 'receptionist') {
    root.append(queueBoardPanel(ctx, me, clinicId), waitingRoomSetupPanel(ctx, membership),
      ...receptionistContent(me, clinicId, roleParam));
  } else if (role === 'professional') {
    root.append(...professionalContent(ctx, me, clinicId, roleParam), waitingRoomSetupPanel(ctx, membership));
  } else {
    root.append(h('p', { class: 'muted', text: `Função desconhecida: ${role}` }));
  }
  return root;
}

// --------------------------------------------------------------- admin ---

function adminContent(me, clinicId, roleParam) {
  const clinicInfo = h('div', { class: 'clinic-info' });
  loadInto(clinicInfo, () => api.get(`/api/clinics/${seg(clinicId)}`), (clinic) => [
    h('p', { class: 'muted' },
      `CNPJ ${clinic.cnpj || '—'}`, h('span', { class: 'sep', 'aria-hidden': 'true', text: ' · ' }),
      formatAddress(clinic.address)),
  ]);

  const membersBox = h('div', { class: 'members' });
  // Who is already on the team: adding them again succeeds without changes.
  const known = new Set();
  const loadMembers = () => loadInto(
    membersBox,
    () => api.get(`/api/clinics/${seg(clinicId)}/members`),
    (members) => {
      const list = Array.isArray(members) ? members : [];
      known.clear();
      for (const m of list) known.add(memberKey(m));
      return membersList(list, clinicId, String(me.id), loadMembers);
    },
  );
  loadMembers();

  const team = h('section', { class: 'panel', 'aria-labelledby': 'team-heading' },
    h('h2', { id: 'team-heading', text: 'Equipe' }),
    membersBox);

  const add = h('section', { class: 'panel', 'aria-labelledby': 'add-heading' },
    h('h2', { id: 'add-heading', text: 'Adicionar à equipe' }),
    disclosure('Adicionar profissional', professionalForm(clinicId, known, loadMembers).form),
    disclosure('Adicionar recepcionista/administrador', staffForm(clinicId, known, loadMembers).form));

  const patients = patientSearch({ clinicId, roleParam });
  const patientsSection = patients.section;
  patientsSection.insertBefore(
    patientCreatePanel({ clinicId, roleParam, clinical: isProfessionalIn(me, clinicId), onCreated: () => patients.reload() }),
    patientsSection.querySelector('form'),
  );

  return [clinicInfo, h('div', { class: 'grid-2' }, team, add), patientsSection, clinicSecurityPanel(clinicId),
    clinicSsoPanel(clinicId)];
}

function memberKey(member) {
  return `${member.user_id}|${member.role}`;
}

/** Success message for an add: new member, or someone who was already there. */
function addedMessage(member, values, known, roleText) {
  const name = (member && member.full_name) || values.full_name;
  if (member && known.has(memberKey(member))) return `${name} já fazia parte da equipe como ${roleText}.`;
  return `${name} foi adicionado(a) à equipe como ${roleText}.`;
}

/**
 * "Remover função": a second click confirms; the member's open screens close at once
 * (the server ends their connections) and the list reloads.
 * @param {string} clinicId
 * @param {{user_id: string, role: string, full_name: string}} m
 * @param {boolean} self
 * @param {() => void} onRemoved
 */
function removeRoleControl(clinicId, m, self, onRemoved) {
  const status = h('span', { class: 'form-status', role: 'status' });
  const button = h('button', {
    type: 'button',
    class: 'btn btn-secondary btn-small',
    text: 'Remover função',
    'aria-label': `Remover função ${roleLabel(m.role)} de ${m.full_name}`,
  });
  const label = (armed) => button.setAttribute('aria-label', armed
    ? `${button.textContent}: função ${roleLabel(m.role)} de ${m.full_name}`
    : `Remover função ${roleLabel(m.role)} de ${m.full_name}`);
  let armed = false;
  button.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      button.textContent = self ? 'Confirmar: remover a minha função' : 'Confirmar remoção';
      label(true);
      status.textContent = self
        ? 'Você perderá o acesso desta função nesta clínica.'
        : `${m.full_name} deixará de ser ${roleLabel(m.role)} nesta clínica.`;
      return;
    }
    button.disabled = true;
    try {
      await api.del(`/api/clinics/${seg(clinicId)}/members/${seg(m.user_id)}/roles/${seg(m.role)}`);
      onRemoved();
    } catch (err) {
      button.disabled = false;
      armed = false;
      button.textContent = 'Remover função';
      label(false);
      status.textContent = errorMessage(err);
    }
  });
  return h('div', { class: 'card-actions' }, button, status);
}

function membersList(members, clinicId, meId, onChanged) {
  if (!members.length) return [h('p', { class: 'empty', text: 'Nenhum membro na equipe.' })];
  const sorted = [...members].sort((a, b) =>
    ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role)
    || String(a.full_name).localeCompare(String(b.full_name), 'pt-BR'));
  const ul = h('ul', { class: 'card-list member-list' });
  for (const m of sorted) {
    const prof = m.professional;
    ul.append(h('li', { class: 'card' },
      h('div', { class: 'card-head' },
        h('span', { class: 'card-title', text: m.full_name }),
        h('span', { class: `badge badge-role-${m.role}`, text: roleLabel(m.role) })),
      h('span', { class: 'card-meta' },
        h('span', { class: 'break', text: m.email }),
        prof ? h('span', { text: `${professionNoun(prof.profession, prof.gender) || professionLabel(prof.profession)} · ${councilText(prof)}` }) : null,
        prof && prof.specialty ? h('span', { text: prof.specialty }) : null),
      removeRoleControl(clinicId, m, String(m.user_id) === meId, onChanged)));
  }
  return [h('p', { class: 'muted', text: plural(members.length, 'pessoa', 'pessoas') }), ul];
}

function professionalForm(clinicId, known, onAdded) {
  const ctrl = createForm({
    label: 'Adicionar profissional',
    submitLabel: 'Adicionar profissional',
    busyLabel: 'Adicionando…',
    codeToField: { ...commonCodeToField, invalid_uf: 'council_uf' },
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'off', maxlength: 254 },
      { name: 'full_name', label: 'Nome completo', required: true, autocomplete: 'off', maxlength: 200 },
      {
        name: 'password',
        label: 'Senha inicial',
        type: 'password',
        autocomplete: 'new-password',
        minlength: 8,
        hint: 'Mínimo de 8 caracteres. Deixe em branco se o profissional já tem conta no atende: ele só será vinculado a esta clínica.',
      },
      {
        name: 'profession',
        label: 'Profissão',
        type: 'select',
        required: true,
        placeholder: 'Selecione…',
        options: Object.entries(PROFESSIONS),
      },
      {
        name: 'gender',
        label: 'Tratamento',
        type: 'select',
        placeholder: 'Não informar',
        options: [['female', 'Feminino (Dra., Médica, Psicóloga…)'], ['male', 'Masculino (Dr., Médico, Psicólogo…)']],
        hint: 'Os títulos e a profissão aparecem para os pacientes de acordo com esta escolha.',
      },
      {
        name: 'council',
        label: 'Conselho',
        type: 'select',
        required: true,
        placeholder: 'Selecione…',
        options: COUNCILS.map((c) => [c, c]),
      },
      {
        name: 'council_number', label: 'Número do registro', required: true, autocomplete: 'off', maxlength: 20,
        hint: 'Somente o número, por exemplo 123456 (CRP: 06/12345; CREFITO: 12345-F).',
      },
      {
        name: 'council_uf',
        label: 'UF do conselho',
        type: 'select',
        required: true,
        placeholder: 'Selecione…',
        options: UFS.map((uf) => [uf, uf]),
      },
      { name: 'specialty', label: 'Especialidade', autocomplete: 'off', maxlength: 120 },
      { name: 'rqe', label: 'RQE', inputmode: 'numeric', autocomplete: 'off', maxlength: 20, hint: 'Registro de Qualificação de Especialista (médicos).' },
    ],
    onSubmit: async (values) => {
      const member = await api.post(`/api/clinics/${seg(clinicId)}/professionals`, values);
      ctrl.reset();
      const message = addedMessage(member, values, known, 'profissional');
      onAdded();
      const prof = member && member.professional;
      // An existing professional keeps their registration: say so when it differs.
      if (prof && (prof.council !== values.council || prof.council_uf !== values.council_uf
        || prof.profession !== values.profession)) {
        return `${message} O registro já cadastrado foi mantido: ${professionLabel(prof.profession)}, ${councilText(prof)}.`;
      }
      return message;
    },
  });
  // The council follows the profession (still editable).
  const profession = ctrl.get('profession').input;
  const council = ctrl.get('council').input;
  profession.addEventListener('change', () => {
    const c = COUNCIL_FOR_PROFESSION[profession.value];
    if (c) council.value = c;
  });
  return ctrl;
}

function staffForm(clinicId, known, onAdded) {
  const ctrl = createForm({
    label: 'Adicionar recepcionista/administrador',
    submitLabel: 'Adicionar à equipe',
    busyLabel: 'Adicionando…',
    codeToField: commonCodeToField,
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'off', maxlength: 254 },
      { name: 'full_name', label: 'Nome completo', required: true, autocomplete: 'off', maxlength: 200 },
      {
        name: 'password',
        label: 'Senha inicial',
        type: 'password',
        autocomplete: 'new-password',
        minlength: 8,
        hint: 'Mínimo de 8 caracteres. Deixe em branco se a pessoa já tem conta no atende.',
      },
      {
        name: 'role',
        label: 'Função',
        type: 'select',
        required: true,
        options: [['receptionist', 'Recepcionista'], ['clinic_admin', 'Administrador(a) da clínica']],
        value: 'receptionist',
      },
    ],
    onSubmit: async (values) => {
      const member = await api.post(`/api/clinics/${seg(clinicId)}/staff`, values);
      ctrl.reset();
      const message = addedMessage(member, values, known, roleLabel(values.role).toLowerCase());
      onAdded();
      return message;
    },
  });
  return ctrl;
}

// -------------------------------------------------------- receptionist ---

function receptionistContent(me, clinicId, roleParam) {
  const patients = patientSearch({
    clinicId,
    roleParam,
    intro: 'Encontre o paciente pelo nome, nome social ou CPF, ou cadastre um novo.',
  });
  const section = patients.section;
  section.insertBefore(
    patientCreatePanel({ clinicId, roleParam, clinical: isProfessionalIn(me, clinicId), onCreated: () => patients.reload() }),
    section.querySelector('form'),
  );
  return [section];
}

// -------------------------------------------------------- professional ---

function professionalContent(ctx, me, clinicId, roleParam) {
  const prof = me.professional;
  const mine = h('section', { class: 'panel', 'aria-labelledby': 'prof-heading' },
    h('h2', { id: 'prof-heading', text: 'Meus dados profissionais' }),
    prof
      ? detailsList([
        ['Nome', me.full_name],
        ['Profissão', professionLabel(prof.profession)],
        ['Registro', councilText(prof)],
        ['Especialidade', prof.specialty],
        ['RQE', prof.rqe],
      ])
      : h('p', { class: 'muted', text: 'Dados profissionais não encontrados.' }));

  const agenda = agendaLinksPanel(me, { clinic_id: clinicId, role: 'professional' }, roleParam);

  const patients = patientSearch({
    clinicId,
    roleParam,
    intro: 'Abra a ficha de um paciente para ver alergias e observações clínicas.',
  });
  const section = patients.section;
  section.append(
    patientCreatePanel({ clinicId, roleParam, clinical: isProfessionalIn(me, clinicId), onCreated: () => patients.reload() }),
  );
  return [myQueuePanel(ctx, me, clinicId), h('div', { class: 'grid-2' }, mine, agenda), officeHoursPanel(ctx), section];
}
