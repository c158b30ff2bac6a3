// @ts-check
// "Esqueci minha senha": ask for a reset link by e-mail (#/esqueci-senha), then choose a
// new password with the link's token (#/redefinir-senha/{token}). Public pages.

import { api, ApiError } from '../api.js';
import { h, createForm } from '../ui.js';

/**
 * View "forgot-password": the e-mail form. The answer is the same whether or not an
 * account has the address (the server reveals nothing).
 * @param {import('../types.js').ViewContext} _ctx
 */
export function renderForgotPassword(_ctx) {
  document.title = 'Esqueci minha senha — atende';
  const ctrl = createForm({
    label: 'Pedir um link para criar uma nova senha',
    submitLabel: 'Enviar link',
    busyLabel: 'Enviando…',
    fields: [
      {
        name: 'email', label: 'E-mail da sua conta', type: 'email', required: true,
        autocomplete: 'username', inputmode: 'email', maxlength: 254, noOptionalTag: true,
      },
    ],
    onSubmit: async (values) => {
      try {
        await api.post('/api/auth/password-reset', { email: values.email });
      } catch (err) {
        if (err instanceof ApiError && err.status === 429) {
          throw new ApiError(429, err.code, 'Muitos pedidos. Tente novamente mais tarde.');
        }
        throw err;
      }
      ctrl.form.reset();
      return 'Se houver uma conta com este e-mail, enviamos um link para criar uma nova senha. Ele vale por 30 minutos.';
    },
  });
  return h('div', { class: 'view view-narrow', dataset: { view: 'forgot-password' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/entrar', text: '← Voltar para o login' })),
    h('h1', { tabindex: '-1', text: 'Esqueci minha senha' }),
    h('p', { class: 'lead', text: 'Informe o e-mail da sua conta e enviaremos um link para você criar uma nova senha.' }),
    h('section', { class: 'panel' }, ctrl.form));
}

/**
 * View "accept-invitation": a clinic invited this person (an e-mailed link); they create
 * their password — the same token and route as a reset, other words.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} token
 */
export function renderInvitation(ctx, token) {
  return renderResetPassword(ctx, token, { invitation: true });
}

/**
 * View "reset-password": the new password, with the token from the e-mailed link.
 * @param {import('../types.js').ViewContext} _ctx
 * @param {string} token
 * @param {{invitation?: boolean}} [opts]
 */
export function renderResetPassword(_ctx, token, { invitation = false } = {}) {
  const title = invitation ? 'Boas-vindas ao atende' : 'Criar nova senha';
  document.title = `${title} — atende`;
  const done = invitation
    ? h('p', { class: 'alert alert-info', role: 'status', hidden: true },
      'Senha criada. Agora entre com o seu e-mail e a senha que você escolheu. ',
      h('a', { href: '#/entrar', text: 'Entrar no atende' }))
    : h('p', { class: 'alert alert-info', role: 'status', hidden: true },
      'Senha alterada. Por segurança, todas as sessões abertas foram encerradas. ',
      h('a', { href: '#/entrar', text: 'Entrar com a nova senha' }));
  const ctrl = createForm({
    label: invitation ? 'Criar minha senha' : 'Criar nova senha',
    submitLabel: invitation ? 'Criar senha' : 'Salvar nova senha',
    busyLabel: 'Salvando…',
    codeToField: { weak_password: 'new_password' },
    fields: [
      {
        name: 'new_password', label: 'Nova senha', type: 'password', required: true,
        autocomplete: 'new-password', noOptionalTag: true,
      },
      {
        name: 'repeat', label: 'Repita a nova senha', type: 'password', required: true,
        autocomplete: 'new-password', noOptionalTag: true,
      },
    ],
    onSubmit: async (values) => {
      if (values.new_password !== values.repeat) {
        ctrl.setFieldError('repeat', 'As senhas não conferem.');
        throw new ApiError(422, 'mismatch', 'As senhas não conferem.');
      }
      try {
        await api.post('/api/auth/password-reset/confirm', { token, new_password: values.new_password });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'invalid_reset_token') {
          throw new ApiError(400, err.code, invitation
            ? 'Este convite é inválido, expirou ou já foi usado. Peça à clínica um novo convite, ou use "Esqueci minha senha".'
            : 'Este link é inválido, expirou ou já foi usado. Peça um novo em "Esqueci minha senha".');
        }
        throw err;
      }
      ctrl.form.hidden = true;
      done.hidden = false;
      return undefined;
    },
  });
  return h('div', { class: 'view view-narrow', dataset: { view: invitation ? 'accept-invitation' : 'reset-password' } },
    h('h1', { tabindex: '-1', text: title }),
    invitation
      ? h('p', { class: 'muted', text: 'Uma clínica convidou você para a equipe. Crie a sua senha para entrar.' })
      : null,
    h('section', { class: 'panel' }, ctrl.form, done),
    h('p', { class: 'form-footer' }, h('a', { href: '#/esqueci-senha', text: 'Pedir um novo link' })));
}
