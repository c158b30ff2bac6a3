// @ts-check
// "Segurança da conta" (#/seguranca), for every logged-in user: change the password,
// two-factor login (views/account-mfa.js), passkeys (views/account-passkeys.js), and end the sessions on every device. A session
// that a clinic's policy limits to enrolling sees only the two-factor part.
//
//   POST /api/auth/password    {current_password, new_password} → {sessions_ended}: the
//                              other sessions end (their open pages are disconnected); this
//                              one stays. 403 wrong_password, 422 for a weak new password.
//   POST /api/auth/logout-all  → {sessions_ended}: every session ends, this one included.

import { api, logout } from '../api.js';
import { h, errorMessage, field, plural } from '../ui.js';
import { mfaPanel } from './account-mfa.js';
import { passkeysPanel } from './account-passkeys.js';

/** How many other devices were signed out, in words. @param {number} n */
export function endedText(n) {
  if (!n) return 'Nenhum outro dispositivo estava conectado.';
  return `${plural(n, 'outra sessão foi encerrada', 'outras sessões foram encerradas')}.`;
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{onMfaEnabled?: () => void}} opts `onMfaEnabled`: the session was limited to
 *   enrolling, and two-factor is now on (the rest of the app opens)
 */
export function renderAccountSecurity(ctx, { onMfaEnabled }) {
  document.title = 'Segurança da conta — atende';
  const root = h('div', { class: 'view view-medium security-view', dataset: { view: 'account-security' } },
    h('h1', { tabindex: '-1', text: 'Segurança da conta' }),
    onMfaEnabled ? null : passwordPanel(ctx),
    mfaPanel(ctx, { onMfaEnabled }),
    passkeysPanel(ctx, { onMfaEnabled }),
    everywherePanel());
  return root;
}

/** @param {import('../types.js').ViewContext} ctx */
function passwordPanel(ctx) {
  const current = field({
    name: 'current_password', label: 'Senha atual', type: 'password', required: true,
    autocomplete: 'current-password', noOptionalTag: true,
  });
  const next = field({
    name: 'new_password', label: 'Nova senha', type: 'password', required: true,
    autocomplete: 'new-password', minlength: 8, maxlength: 128,
    hint: 'De 8 a 128 caracteres.',
  });
  const again = field({
    name: 'confirm_password', label: 'Repita a nova senha', type: 'password', required: true,
    autocomplete: 'new-password', noOptionalTag: true,
  });
  const status = h('p', { class: 'form-status', role: 'status' });
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Alterar senha' });
  const form = h('form', { class: 'form security-password', novalidate: true },
    current.wrap, next.wrap, again.wrap, error, h('div', { class: 'form-actions' }, submit), status);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    status.textContent = '';
    const currentValue = /** @type {HTMLInputElement} */ (current.input).value;
    const nextValue = /** @type {HTMLInputElement} */ (next.input).value;
    const againValue = /** @type {HTMLInputElement} */ (again.input).value;
    let problem = '';
    if (!currentValue) problem = 'Informe a senha atual.';
    else if (nextValue.length < 8 || nextValue.length > 128) problem = 'A nova senha precisa ter de 8 a 128 caracteres.';
    else if (nextValue !== againValue) problem = 'As duas senhas novas não são iguais.';
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const res = await api.post('/api/auth/password', { current_password: currentValue, new_password: nextValue });
      if (!ctx.isCurrent()) return;
      form.reset();
      status.textContent = `Senha alterada. ${endedText(Number(res && res.sessions_ended) || 0)}`;
    } catch (err) {
      error.textContent = err && err.code === 'wrong_password' ? 'A senha atual não confere.' : errorMessage(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  return h('section', { class: 'panel', 'aria-labelledby': 'security-password-heading' },
    h('h2', { id: 'security-password-heading', text: 'Alterar senha' }),
    h('p', { class: 'muted small', text: 'Ao alterar a senha, as sessões abertas em outros dispositivos são encerradas; esta continua.' }),
    form);
}

function everywherePanel() {
  const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Sair de todos os dispositivos' });
  button.addEventListener('click', async () => {
    error.hidden = true;
    button.disabled = true;
    try {
      await api.post('/api/auth/logout-all', {});
      // This session ended too: forget it here and go to the login page.
      await logout();
    } catch (err) {
      error.textContent = errorMessage(err);
      error.hidden = false;
      button.disabled = false;
    }
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'security-everywhere-heading' },
    h('h2', { id: 'security-everywhere-heading', text: 'Sessões' }),
    h('p', { class: 'muted small', text: 'Perdeu um celular ou entrou em um computador que não é seu? Encerre todas as sessões, inclusive esta; será preciso entrar de novo em cada dispositivo.' }),
    error, button);
}
