// @ts-check
// "Segurança da clínica" on the admin's home: require two-factor of the clinic's
// professionals and admins.
//
//   GET /api/clinics/{id}/security → {require_mfa}
//   PUT /api/clinics/{id}/security {require_mfa} → {require_mfa}; 409 mfa_enrol_first when
//       the admin turning it on has no two-factor yet

import { api, seg, ApiError } from '../api.js';
import { h, errorMessage, loadInto } from '../ui.js';

/** @param {string} clinicId */
export function clinicSecurityPanel(clinicId) {
  const path = `/api/clinics/${seg(clinicId)}/security`;
  const body = h('div', {});

  /** @param {{require_mfa: boolean}} policy */
  function render(policy) {
    const id = `require-mfa-${clinicId}`;
    const box = /** @type {HTMLInputElement} */ (h('input', { id, type: 'checkbox', name: 'require_mfa', checked: Boolean(policy.require_mfa) }));
    const status = h('p', { class: 'form-status', role: 'status' });
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Salvar' });
    const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Segurança da clínica' },
      h('div', { class: 'field field-checkbox' },
        h('div', { class: 'checkbox-row' }, box,
          h('label', { for: id, text: 'Exigir verificação em duas etapas de profissionais e administradores' })),
        h('p', { class: 'field-hint', text: 'Quem ainda não ativou só consegue ativá-la ao entrar. Recepcionistas e pacientes não são obrigados.' })),
      error,
      h('div', { class: 'form-actions' }, save),
      status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      status.textContent = '';
      save.disabled = true;
      try {
        const saved = await api.put(path, { require_mfa: box.checked });
        status.textContent = saved.require_mfa
          ? 'Salvo: a verificação em duas etapas é obrigatória para profissionais e administradores.'
          : 'Salvo: a verificação em duas etapas é opcional.';
      } catch (err) {
        if (err instanceof ApiError && err.code === 'mfa_enrol_first') {
          error.replaceChildren('Ative antes a verificação em duas etapas na sua conta, em ',
            h('a', { href: '#/seguranca', text: 'Segurança' }), '.');
        } else {
          error.textContent = errorMessage(err);
        }
        error.hidden = false;
        box.checked = !box.checked;
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  loadInto(body, () => api.get(path), render);
  return h('section', { class: 'panel', 'aria-labelledby': `clinic-security-${clinicId}` },
    h('h2', { id: `clinic-security-${clinicId}`, text: 'Segurança da clínica' }),
    body);
}
