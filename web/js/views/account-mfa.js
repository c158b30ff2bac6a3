// @ts-check
// "Verificação em duas etapas" on the account security page: enrol an authenticator app
// (QR code + first code), see the recovery codes once, make new ones, turn it off.
//
//   GET    /api/me/mfa                → {totp_enabled, totp_pending, recovery_codes_left, enrolment_required}
//   POST   /api/me/mfa/totp           → {otpauth_uri, secret, qr_svg}: not active yet
//   POST   /api/me/mfa/totp/confirm   {code} → {recovery_codes}: active from now on
//   POST   /api/me/mfa/recovery-codes {code} → {recovery_codes}: the old ones stop working
//   DELETE /api/me/mfa/totp           {password, code} → 204

import { api, ApiError } from '../api.js';
import { h, alertNode, clear, createForm, errorMessage, loadingNode, svgDataUrl } from '../ui.js';

/**
 * @typedef {object} MfaStatus
 * @property {boolean} totp_enabled
 * @property {boolean} totp_pending
 * @property {number} recovery_codes_left
 * @property {boolean} enrolment_required
 */

const CODE_FIELD = {
  name: 'code', label: 'Código do aplicativo autenticador', required: true, inputmode: 'numeric',
  autocomplete: 'one-time-code', maxlength: 7, noOptionalTag: true,
  pattern: /^\d{3} ?\d{3}$/, patternMessage: 'Informe os 6 dígitos do código.',
};

/** Messages for the codes these forms can get back. @param {unknown} err */
function mfaError(err) {
  const code = err instanceof ApiError ? err.code : '';
  if (code === 'invalid_mfa_code') return 'Código incorreto. Confira o código no aplicativo e tente de novo.';
  if (code === 'wrong_password') return 'A senha não confere.';
  return errorMessage(err);
}

/** The same refusal in this page's words (the form still marks the field by its code). @param {unknown} err */
function restated(err) {
  return err instanceof ApiError ? new ApiError(err.status, err.code, mfaError(err)) : err;
}

/**
 * The recovery codes, shown once, with what to do with them.
 * @param {string[]} codes
 * @param {() => void} onDone
 */
function recoveryCodesNode(codes, onDone) {
  const list = h('ol', { class: 'recovery-codes', 'aria-label': 'Códigos de recuperação' },
    codes.map((c) => h('li', {}, h('code', { text: c }))));
  return h('div', { class: 'stack', dataset: { part: 'recovery-codes' } },
    h('p', { class: 'alert alert-info', role: 'status', text: 'Guarde estes códigos de recuperação em lugar seguro (impressos ou em um gerenciador de senhas). Cada um serve uma única vez para entrar sem o aplicativo. Eles não serão mostrados de novo.' }),
    list,
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn btn-primary', text: 'Já guardei os códigos', onclick: onDone })));
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{onMfaEnabled?: () => void}} opts
 */
export function mfaPanel(ctx, { onMfaEnabled }) {
  const body = h('div', { class: 'stack' });

  function load() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode());
    api.get('/api/me/mfa').then((/** @type {MfaStatus} */ status) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(...(status.totp_enabled ? enabledView(status) : disabledView(status)));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    });
  }

  /** Off: explain, and start an enrolment. @param {MfaStatus} status */
  function disabledView(status) {
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const start = h('button', { type: 'button', class: 'btn btn-primary', text: 'Ativar verificação em duas etapas' });
    start.addEventListener('click', async () => {
      error.hidden = true;
      start.disabled = true;
      try {
        const enrolment = await api.post('/api/me/mfa/totp', {});
        if (!ctx.isCurrent()) return;
        clear(body).append(enrolView(enrolment));
      } catch (err) {
        error.textContent = mfaError(err);
        error.hidden = false;
        start.disabled = false;
      }
    });
    return [
      status.enrolment_required
        ? h('p', { class: 'alert alert-info', role: 'alert', text: 'Sua clínica exige a verificação em duas etapas. Ative-a para continuar usando o atende.' })
        : null,
      h('p', { text: 'Desativada. Com ela ativa, além da senha, o login pede um código do aplicativo autenticador do seu celular.' }),
      error,
      h('div', { class: 'form-actions' }, start),
    ].filter(Boolean);
  }

  /** The QR code and the first code. @param {{otpauth_uri: string, secret: string, qr_svg: string}} enrolment */
  function enrolView(enrolment) {
    const form = createForm({
      label: 'Confirmar o aplicativo autenticador',
      submitLabel: 'Confirmar e ativar',
      busyLabel: 'Confirmando…',
      codeToField: { invalid_mfa_code: 'code' },
      fields: [{ ...CODE_FIELD, hint: 'Depois de ler o QR code, digite o código de 6 dígitos que o aplicativo mostra.' }],
      extraActions: h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancelar', onclick: load }),
      onSubmit: async (values) => {
        try {
          const res = await api.post('/api/me/mfa/totp/confirm', { code: values.code });
          if (!ctx.isCurrent()) return undefined;
          clear(body).append(recoveryCodesNode(res.recovery_codes || [], () => {
            if (onMfaEnabled) onMfaEnabled();
            else load();
          }));
        } catch (err) {
          throw restated(err);
        }
        return undefined;
      },
    });
    return h('div', { class: 'stack', dataset: { part: 'enrol' } },
      h('ol', { class: 'steps' },
        h('li', { text: 'Instale um aplicativo autenticador no celular (Google Authenticator, Microsoft Authenticator, 2FAS…).' }),
        h('li', { text: 'No aplicativo, adicione uma conta lendo o QR code abaixo.' }),
        h('li', { text: 'Digite o código que aparece no aplicativo.' })),
      h('img', {
        class: 'qr-img mfa-qr', src: svgDataUrl(enrolment.qr_svg), width: 220, height: 220,
        alt: 'QR code para adicionar a conta ao aplicativo autenticador',
      }),
      h('p', { class: 'small muted' }, 'Não consegue ler o QR code? Digite esta chave no aplicativo: ',
        h('code', { class: 'mfa-secret', text: enrolment.secret })),
      form.form);
  }

  /** On: recovery codes left, new codes, turn off. @param {MfaStatus} status */
  function enabledView(status) {
    const regenerate = createForm({
      label: 'Gerar novos códigos de recuperação',
      submitLabel: 'Gerar novos códigos',
      busyLabel: 'Gerando…',
      codeToField: { invalid_mfa_code: 'code' },
      fields: [{ ...CODE_FIELD }],
      onSubmit: async (values) => {
        try {
          const res = await api.post('/api/me/mfa/recovery-codes', { code: values.code });
          if (!ctx.isCurrent()) return undefined;
          clear(body).append(recoveryCodesNode(res.recovery_codes || [], load));
        } catch (err) {
          throw restated(err);
        }
        return undefined;
      },
    });
    const disable = createForm({
      label: 'Desativar a verificação em duas etapas',
      submitLabel: 'Desativar',
      busyLabel: 'Desativando…',
      codeToField: { invalid_mfa_code: 'code', wrong_password: 'password' },
      fields: [
        { name: 'password', label: 'Senha', type: 'password', required: true, autocomplete: 'current-password', noOptionalTag: true },
        { ...CODE_FIELD, label: 'Código do aplicativo ou de recuperação', pattern: undefined, maxlength: 20 },
      ],
      onSubmit: async (values) => {
        try {
          await api.del('/api/me/mfa/totp', { password: values.password, code: values.code });
          if (ctx.isCurrent()) load();
        } catch (err) {
          throw restated(err);
        }
        return undefined;
      },
    });
    const left = status.recovery_codes_left;
    return [
      h('p', { class: 'mfa-on' }, h('strong', { text: 'Ativada.' }),
        ' O login pede um código do aplicativo autenticador. ',
        `Códigos de recuperação restantes: ${left}.`),
      left <= 3 ? h('p', { class: 'alert alert-info', text: 'Restam poucos códigos de recuperação: gere novos.' }) : null,
      h('h3', { text: 'Novos códigos de recuperação' }),
      regenerate.form,
      h('h3', { text: 'Desativar' }),
      disable.form,
    ].filter(Boolean);
  }

  load();
  return h('section', { class: 'panel', 'aria-labelledby': 'security-mfa-heading', dataset: { part: 'mfa' } },
    h('h2', { id: 'security-mfa-heading', text: 'Verificação em duas etapas' }),
    body);
}
