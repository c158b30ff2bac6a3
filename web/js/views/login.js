// @ts-check
// Login (with its second step for accounts with two-factor) and patient sign-up views.

import {
  api, login, completeMfaLogin, confirmSignup, passkeyLogin, publicPost, signup, ApiError,
  MfaRequired,
} from '../api.js';
import { carryBookingToSignupLink, restoreCarriedBooking } from './booking.js';
import { getPasskeyAssertion, passkeyPromptError, passkeysSupported } from '../passkeys.js';
import {
  h, clear, alertNode, createForm, commonCodeToField, CPF_PATTERN, errorMessage, loadingNode,
} from '../ui.js';

function tooManyAttemptsMessage(seconds) {
  return seconds
    ? `Muitas tentativas. Tente novamente em ${seconds} s.`
    : 'Muitas tentativas. Tente novamente em instantes.';
}

/**
 * View "login". `onLoggedIn(me)` is called after a successful login.
 * @param {import('../types.js').ViewContext} ctx
 * @param {{notice?: string|null, onLoggedIn: (user: import('../types.js').Me|null) => void, sso?: Node}} opts
 *   `sso`: a single sign-on button shown above the password form
 */
export function renderLogin(ctx, { notice, onLoggedIn, sso }) {
  document.title = 'Entrar — atende';
  let countdown = 0;

  const ctrl = createForm({
    label: 'Entrar no atende',
    submitLabel: 'Entrar',
    busyLabel: 'Entrando…',
    fields: [
      {
        name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'username',
        inputmode: 'email', maxlength: 254, noOptionalTag: true,
      },
      {
        name: 'password', label: 'Senha', type: 'password', required: true,
        autocomplete: 'current-password', noOptionalTag: true,
      },
    ],
    onSubmit: async (values) => {
      try {
        const user = await login(values.email, values.password);
        onLoggedIn(user);
      } catch (err) {
        if (err instanceof MfaRequired) {
          ctrl.get('password').input.value = '';
          showSecondStep(err);
          return undefined;
        }
        if (err instanceof ApiError && err.status === 429) {
          const seconds = err.retryAfter;
          // Disable the button once the form controller has re-enabled it.
          if (seconds) window.setTimeout(() => startCountdown(seconds), 0);
          throw new ApiError(429, err.code, tooManyAttemptsMessage(seconds));
        }
        if (err instanceof ApiError && err.status === 401) ctrl.get('password').input.value = '';
        throw err;
      }
      return undefined;
    },
  });

  function waitLabel(left) {
    if (left < 60) return `Aguarde ${left} s`;
    const seconds = String(left % 60).padStart(2, '0');
    return `Aguarde ${Math.floor(left / 60)}:${seconds}`;
  }

  function stopCountdown() {
    window.clearInterval(countdown);
    countdown = 0;
    ctrl.submit.disabled = false;
    ctrl.submit.textContent = 'Entrar';
  }

  function startCountdown(seconds) {
    window.clearInterval(countdown);
    let left = seconds;
    const button = ctrl.submit;
    button.disabled = true;
    button.textContent = waitLabel(left);
    countdown = window.setInterval(() => {
      left -= 1;
      if (left <= 0 || !button.isConnected) {
        stopCountdown();
        return;
      }
      button.textContent = waitLabel(left);
    }, 1000);
  }

  // The lock is per account: another e-mail may be tried right away.
  ctrl.get('email').input.addEventListener('input', () => {
    if (countdown) stopCountdown();
  });

  const noticeBox = h('p', { class: 'alert alert-info', role: 'status', text: notice || '', hidden: !notice });
  const passkeyError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
  const passkeyButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Entrar com chave de acesso' });
  passkeyButton.addEventListener('click', async () => {
    passkeyError.hidden = true;
    passkeyButton.disabled = true;
    try {
      const start = await publicPost('/api/auth/passkey/start', {});
      const credential = await getPasskeyAssertion(start.options);
      const user = await passkeyLogin(start.state_id, credential);
      onLoggedIn(user);
    } catch (err) {
      passkeyButton.disabled = false;
      passkeyError.textContent = passkeyPromptError(err) || (err instanceof ApiError && err.code === 'invalid_passkey'
        ? 'A chave de acesso não foi aceita. Entre com e-mail e senha ou tente outra chave.'
        : (err instanceof ApiError && err.status === 429 ? tooManyAttemptsMessage(err.retryAfter) : errorMessage(err)));
      passkeyError.hidden = false;
    }
  });
  const passwordStep = [
    ...(sso ? [sso] : []),
    ctrl.form,
    passkeysSupported()
      ? h('div', { class: 'stack passkey-login' }, h('p', { class: 'muted', text: 'ou' }), passkeyButton, passkeyError)
      : null,
    h('p', { class: 'form-footer' }, h('a', { href: '#/esqueci-senha', text: 'Esqueci minha senha' })),
    h('p', { class: 'form-footer muted', text: 'Equipe de clínica com login único (Google Workspace, Microsoft…): use o link de acesso que a administração da clínica enviou.' }),
    h('p', { class: 'form-footer' },
      'É paciente e ainda não tem conta? ',
      h('a', { href: '#/cadastro', text: 'Criar conta de paciente' })),
  ];
  const panel = h('section', { class: 'panel' }, ...passwordStep.filter(Boolean));

  /** Back to e-mail and password (the second step expired or the user went back). @param {string} [why] */
  function restart(why) {
    noticeBox.textContent = why || '';
    noticeBox.hidden = !why;
    clear(panel).append(...passwordStep.filter(Boolean));
    ctrl.get('password').input.focus();
  }

  /** @param {MfaRequired} challenge */
  function showSecondStep(challenge) {
    noticeBox.hidden = true;
    clear(panel).append(secondStep(ctx, challenge, { onLoggedIn, restart }));
  }

  return h('div', { class: 'view view-narrow', dataset: { view: 'login' } },
    h('h1', { tabindex: '-1', text: 'Entrar no atende' }),
    h('p', { class: 'lead', text: 'Agenda, sala de espera e atendimento da sua clínica em um só lugar.' }),
    noticeBox,
    panel);
}

/**
 * The login's second step: the authenticator app's code, or one of the recovery codes.
 * @param {import('../types.js').ViewContext} ctx
 * @param {MfaRequired} challenge
 * @param {{onLoggedIn: (user: import('../types.js').Me|null) => void, restart: (why?: string) => void}} opts
 */
export function secondStep(ctx, challenge, { onLoggedIn, restart }) {
  const box = h('div', { class: 'stack', dataset: { step: 'mfa' } });
  const canRecover = challenge.methods.includes('recovery_code');
  const hasCode = challenge.methods.includes('totp');
  const canPasskey = challenge.methods.includes('passkey') && passkeysSupported();

  /** The passkey answer: a button that asks the authenticator. */
  function passkeyAnswer() {
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const button = h('button', { type: 'button', class: hasCode ? 'btn btn-secondary' : 'btn btn-primary', text: 'Usar chave de acesso' });
    button.addEventListener('click', async () => {
      error.hidden = true;
      button.disabled = true;
      try {
        const options = await publicPost('/api/auth/mfa/passkey/start', { mfa_token: challenge.mfaToken });
        const credential = await getPasskeyAssertion(options);
        const user = await completeMfaLogin(challenge.mfaToken, { passkey: credential });
        onLoggedIn(user);
      } catch (err) {
        button.disabled = false;
        if (err instanceof ApiError && err.code === 'invalid_mfa_token') {
          restart('A verificação expirou ou teve tentativas demais. Entre novamente com sua senha.');
          return;
        }
        error.textContent = passkeyPromptError(err) || (err instanceof ApiError && err.code === 'invalid_passkey'
          ? 'A chave de acesso não foi aceita. Tente de novo.'
          : errorMessage(err));
        error.hidden = false;
      }
    });
    return h('div', { class: 'stack', dataset: { part: 'mfa-passkey' } }, button, error);
  }

  if (!hasCode) {
    // Only a passkey protects this account.
    box.append(
      h('h2', { class: 'h3', text: 'Verificação em duas etapas' }),
      h('p', { class: 'muted', text: 'Sua senha está certa. Para terminar de entrar, use sua chave de acesso.' }),
      canPasskey ? passkeyAnswer() : alertNode('Este navegador não oferece chaves de acesso nesta página.'),
      h('p', { class: 'form-footer' },
        h('button', { type: 'button', class: 'btn btn-link', text: 'Voltar', onclick: () => restart() })));
    return box;
  }

  /** @param {boolean} recovery */
  function show(recovery) {
    const name = recovery ? 'recovery_code' : 'code';
    const toggle = h('button', {
      type: 'button',
      class: 'btn btn-link',
      text: recovery ? 'Usar o código do aplicativo' : 'Usar um código de recuperação',
      hidden: !canRecover,
      onclick: () => show(!recovery),
    });
    const form = createForm({
      label: 'Verificação em duas etapas',
      submitLabel: 'Verificar',
      busyLabel: 'Verificando…',
      codeToField: { invalid_mfa_code: name, mfa_code_used: name },
      fields: [recovery
        ? {
          name, label: 'Código de recuperação', required: true, autocomplete: 'off',
          maxlength: 20, noOptionalTag: true, placeholder: 'XXXXX-XXXXX',
          hint: 'Um dos códigos que você guardou ao ativar a verificação em duas etapas. Cada um vale uma vez.',
        }
        : {
          name, label: 'Código do aplicativo autenticador', required: true, inputmode: 'numeric',
          autocomplete: 'one-time-code', maxlength: 7, noOptionalTag: true,
          pattern: /^\d{3} ?\d{3}$/, patternMessage: 'Informe os 6 dígitos do código.',
          hint: 'Abra o aplicativo autenticador (Google Authenticator, Microsoft Authenticator…) e digite o código de 6 dígitos.',
        }],
      extraActions: toggle,
      onSubmit: async (values) => {
        try {
          const user = await completeMfaLogin(challenge.mfaToken, { [name]: values[name] });
          onLoggedIn(user);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          if (err.code === 'invalid_mfa_token') {
            restart('A verificação expirou ou teve tentativas demais. Entre novamente com sua senha.');
            return undefined;
          }
          if (err.status === 429) throw new ApiError(429, err.code, tooManyAttemptsMessage(err.retryAfter));
          if (err.code === 'invalid_mfa_code') {
            throw new ApiError(401, err.code, recovery
              ? 'Código de recuperação incorreto ou já usado.'
              : 'Código incorreto. Confira o código no aplicativo e tente de novo.');
          }
          if (err.code === 'mfa_code_used') {
            throw new ApiError(401, err.code, 'Este código já foi usado. Aguarde o próximo código no aplicativo.');
          }
          throw err;
        }
        return undefined;
      },
    });
    clear(box).append(...[
      h('h2', { class: 'h3', text: 'Verificação em duas etapas' }),
      h('p', { class: 'muted', text: 'Sua senha está certa. Para terminar de entrar, confirme que é você.' }),
      canPasskey ? passkeyAnswer() : null,
      form.form,
      h('p', { class: 'form-footer' },
        h('button', { type: 'button', class: 'btn btn-link', text: 'Voltar', onclick: () => restart() })),
    ].filter((n) => n !== null));
    if (ctx.isCurrent()) form.get(name)?.input.focus();
  }
  show(false);
  return box;
}

/**
 * View "signup": patient self sign-up with terms acceptance. The account is created when
 * the link e-mailed to the address is opened ({@link renderConfirmEmail}).
 * @param {import('../types.js').ViewContext} ctx
 */
export function renderSignup(ctx) {
  document.title = 'Criar conta de paciente — atende';
  const body = h('div', { class: 'stack' });
  const root = h('div', { class: 'view view-narrow', dataset: { view: 'signup' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/entrar', text: '← Voltar para o login' })),
    h('h1', { tabindex: '-1', text: 'Criar conta de paciente' }),
    h('p', { class: 'lead', text: 'Com sua conta você acompanha seus atendimentos e controla o uso dos seus dados.' }),
    body);

  function load() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode('Carregando os termos de uso…'));
    api.get('/api/terms').then((terms) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(...signupForm(terms || {}, (email) => {
        if (!ctx.isCurrent()) return;
        clear(body).append(linkSent(email));
        body.querySelector('h2')?.focus();
      }));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(
        alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }),
      );
    });
  }
  load();
  return root;
}

/**
 * What the sign-up page says once the request went: the link is in the mailbox.
 * @param {string} email
 */
function linkSent(email) {
  return h('section', { class: 'panel', role: 'status', dataset: { state: 'link-sent' } },
    h('h2', { class: 'h3', tabindex: '-1', text: 'Confirme seu e-mail' }),
    h('p', { text: `Enviamos um link para ${email}. Abra-o para ativar sua conta.` }),
    h('p', { class: 'muted', text: 'O link vale por 24 horas. Se não encontrar a mensagem, olhe a caixa de spam.' }),
    h('p', { class: 'form-footer' }, h('a', { href: '#/entrar', text: 'Voltar para o login' })));
}

/**
 * The sign-up form; `sent(email)` once the server took the request.
 * @param {{version?: string, text?: string}} terms
 * @param {(email: string) => void} sent
 */
function signupForm(terms, sent) {
  const version = terms.version ? String(terms.version) : '';
  const termsId = 'terms-text';
  const ctrl = createForm({
    label: 'Criar conta de paciente',
    submitLabel: 'Criar conta',
    busyLabel: 'Criando conta…',
    codeToField: commonCodeToField,
    fields: [
      { name: 'full_name', label: 'Nome completo (civil)', required: true, autocomplete: 'name', maxlength: 200 },
      {
        name: 'social_name',
        label: 'Nome social',
        autocomplete: 'nickname',
        maxlength: 200,
        hint: 'Se você usa um nome social, ele será usado no seu atendimento.',
      },
      {
        name: 'cpf', label: 'CPF', required: true, inputmode: 'numeric', mask: 'cpf', maxlength: 14,
        autocomplete: 'off', placeholder: '000.000.000-00',
        pattern: CPF_PATTERN, patternMessage: 'Informe os 11 dígitos do CPF.',
      },
      { name: 'birth_date', label: 'Data de nascimento', type: 'date', required: true, autocomplete: 'bday' },
      { name: 'phone', label: 'Celular', type: 'tel', inputmode: 'tel', mask: 'phone', autocomplete: 'tel-national', maxlength: 15 },
      { name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'email', inputmode: 'email', maxlength: 254 },
      {
        name: 'password', label: 'Senha', type: 'password', required: true, autocomplete: 'new-password',
        minlength: 8, hint: 'Mínimo de 8 caracteres.',
      },
      {
        name: 'accepted_terms',
        type: 'checkbox',
        required: true,
        label: `Li e aceito os termos de uso e a política de privacidade (versão ${version || '—'})`,
      },
    ],
    onSubmit: async (v) => {
      await signup({
        email: v.email,
        password: v.password,
        full_name: v.full_name,
        social_name: v.social_name,
        cpf: v.cpf,
        birth_date: v.birth_date,
        phone: v.phone,
        accepted_terms_version: v.accepted_terms ? version : undefined,
      });
      carryBookingToSignupLink();
      sent(String(v.email).trim());
      return undefined;
    },
  });

  const termsBox = h('div', {
    class: 'terms',
    id: termsId,
    tabindex: '0',
    role: 'region',
    'aria-label': `Termos de uso e política de privacidade, versão ${version || '—'}`,
    text: terms.text || 'Termos indisponíveis.',
  });
  const checkbox = ctrl.get('accepted_terms');
  // Put the terms right before the acceptance checkbox.
  checkbox.wrap.before(h('div', { class: 'field field-wide' },
    h('h2', { class: 'h3', text: `Termos de uso e política de privacidade (versão ${version || '—'})` }),
    termsBox));

  return [h('section', { class: 'panel' }, ctrl.form,
    h('p', { class: 'form-footer' }, 'Já tem conta? ', h('a', { href: '#/entrar', text: 'Entrar' })))];
}

/**
 * View "confirm e-mail" (`#/confirmar-email/{token}`): the sign-up link. Opening it creates
 * the account and logs in; `onLoggedIn(me)` then continues where sign-up was started (a
 * booking waiting for it included).
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} token
 * @param {{onLoggedIn: (user: import('../types.js').Me|null) => void}} opts
 */
export function renderConfirmEmail(ctx, token, { onLoggedIn }) {
  document.title = 'Confirmar e-mail — atende';
  const body = h('div', { class: 'stack', 'aria-busy': 'true' }, loadingNode('Confirmando seu e-mail…'));
  const root = h('div', { class: 'view view-narrow', dataset: { view: 'confirm-email' } },
    h('h1', { tabindex: '-1', text: 'Confirmar e-mail' }),
    body);
  confirmSignup(token).then((user) => {
    restoreCarriedBooking();
    if (ctx.isCurrent()) onLoggedIn(user);
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    let message = errorMessage(err);
    if (err instanceof ApiError && err.code === 'invalid_signup_token') {
      message = 'Este link é inválido, expirou ou já foi usado. Se sua conta já foi ativada, entre com seu e-mail e senha; senão, faça o cadastro de novo.';
    } else if (err instanceof ApiError && err.code === 'email_taken') {
      message = 'Este e-mail já tem uma conta. Entre com sua senha ou use "Esqueci minha senha".';
    } else if (err instanceof ApiError && err.status === 429) {
      message = tooManyAttemptsMessage(err.retryAfter);
    }
    clear(body).append(alertNode(message),
      h('p', { class: 'form-footer' },
        h('a', { href: '#/entrar', text: 'Entrar' }), ' · ',
        h('a', { href: '#/cadastro', text: 'Criar conta de paciente' })));
  });
  return root;
}
