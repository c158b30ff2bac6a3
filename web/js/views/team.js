// @ts-check
// The clinic's team, for its admin and for the platform admin: who is on it (with "Alterar
// função" between reception and administration, and "Remover função"), and the forms that
// add a professional or a receptionist/administrator. Used by the clinic admin's home
// (views/staff.js) and the onboarding sequence (views/onboarding.js).

import { api, seg } from '../api.js';
import {
  h, createForm, commonCodeToField, councilText, disclosure, errorMessage, loadInto, plural,
  professionLabel, roleLabel, COUNCILS, COUNCIL_FOR_PROFESSION, PROFESSIONS, UFS,
} from '../ui.js';
import { professionNoun } from '../messages.js';

const ROLE_ORDER = ['clinic_admin', 'professional', 'receptionist'];

/** The non-clinical roles a member may be moved between. */
const DESK_ROLES = { receptionist: 'clinic_admin', clinic_admin: 'receptionist' };

/**
 * "Equipe" (the list) and "Adicionar à equipe" (the forms), kept in step.
 * @param {{id: string}} me
 * @param {string} clinicId
 * @param {{onChange?: (members: any[]) => void}} [opts] called after each (re)load
 * @returns {[HTMLElement, HTMLElement, () => void]} the list, the forms, and a reload of the list
 */
export function teamPanels(me, clinicId, { onChange } = {}) {
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
      if (onChange) onChange(list);
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
  return [team, add, loadMembers];
}

/**
 * "Alterar função": a receptionist becomes the clinic's administrator or the other way
 * round (the new role is added, then the old one removed).
 * @param {string} clinicId
 * @param {{user_id: string, role: string, full_name: string, email: string}} m
 * @param {() => void} onChanged
 */
function changeRoleControl(clinicId, m, onChanged) {
  const to = DESK_ROLES[m.role];
  if (!to) return null;
  const status = h('span', { class: 'form-status', role: 'status' });
  const button = h('button', {
    type: 'button',
    class: 'btn btn-secondary btn-small',
    text: `Tornar ${roleLabel(to).toLowerCase()}`,
    'aria-label': `Tornar ${roleLabel(to).toLowerCase()} — ${m.full_name}`,
    dataset: { changeRole: to },
  });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api.post(`/api/clinics/${seg(clinicId)}/staff`, { email: m.email, full_name: m.full_name, role: to });
      await api.del(`/api/clinics/${seg(clinicId)}/members/${seg(m.user_id)}/roles/${seg(m.role)}`);
      onChanged();
    } catch (err) {
      button.disabled = false;
      status.textContent = errorMessage(err);
    }
  });
  return h('span', null, button, status);
}

export function memberKey(member) {
  return `${member.user_id}|${member.role}`;
}

/** Success message for an add: new member, or someone who was already there. */
function addedMessage(member, values, known, roleText) {
  const name = (member && member.full_name) || values.full_name;
  if (member && known.has(memberKey(member))) return `${name} já fazia parte da equipe como ${roleText}.`;
  const added = `${name} foi adicionado(a) à equipe como ${roleText}.`;
  return member && member.invitation_sent
    ? `${added} Enviamos um convite para ${member.email}: pelo link do e-mail, a pessoa cria a própria senha (vale por 7 dias).`
    : added;
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
  return h('span', { class: 'member-remove' }, button, status);
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
      h('div', { class: 'card-actions' },
        String(m.user_id) === meId ? null : changeRoleControl(clinicId, m, onChanged),
        removeRoleControl(clinicId, m, String(m.user_id) === meId, onChanged))));
  }
  return [h('p', { class: 'muted', text: plural(members.length, 'pessoa', 'pessoas') }), ul];
}

export function professionalForm(clinicId, known, onAdded) {
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
        hint: 'Opcional. Deixe em branco para enviar um convite por e-mail (a pessoa cria a própria senha); quem já tem conta no atende só é vinculado a esta clínica.',
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

export function staffForm(clinicId, known, onAdded) {
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
        hint: 'Opcional. Deixe em branco para enviar um convite por e-mail (a pessoa cria a própria senha); quem já tem conta no atende só é vinculado a esta clínica.',
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

