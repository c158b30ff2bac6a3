// @ts-check
// Staff homes for one selected clinic: clinic_admin, receptionist, professional.

import { api, seg } from '../api.js';
import {
  h, councilText, detailsList, formatAddress, loadInto, professionLabel, roleLabel,
} from '../ui.js';
import { messagesPanel } from './chat.js';
import { clinicSecurityPanel } from './clinic-security.js';
import { clinicSsoPanel } from './clinic-sso.js';
import { officeHoursPanel } from './office-hours.js';
import { isProfessionalIn, patientCreatePanel, patientSearch } from './patients.js';
import { presencePanel } from './presence.js';
import { myQueuePanel, queueBoardPanel } from './queue.js';
import { waitingRoomSetupPanel } from './queue-setup.js';
import { agendaLinksPanel } from './agenda.js';
import { teamPanels } from './team.js';

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

  const [team, add] = teamPanels(me, clinicId);

  const patients = patientSearch({ clinicId, roleParam });
  const patientsSection = patients.section;
  patientsSection.insertBefore(
    patientCreatePanel({ clinicId, roleParam, clinical: isProfessionalIn(me, clinicId), onCreated: () => patients.reload() }),
    patientsSection.querySelector('form'),
  );

  const guide = h('p', { class: 'onboarding-link' },
    h('a', { href: `#/clinica/${seg(clinicId)}/implantacao`, text: 'Implantação da clínica, passo a passo' }),
    ' — dados, horários, profissionais, equipe e preços.');
  return [clinicInfo, guide, h('div', { class: 'grid-2' }, team, add), patientsSection, clinicSecurityPanel(clinicId),
    clinicSsoPanel(clinicId)];
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
