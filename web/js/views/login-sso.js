// @ts-check
// Single sign-on for clinic staff (OpenID Connect): the clinic's login page with its
// provider's button (#/entrar/{clinic_id}), the page the provider's login comes back to
// (#/sso), and the button the login page keeps for the clinic used last on this device.
//
//   GET /api/auth/oidc/{clinic}        → {clinic_id, clinic_name, display_name} (404: none)
//   GET /api/auth/oidc/{clinic}/start  → 302 to the provider (a navigation, not a fetch)
//   the callback then sends the browser to #/sso, #/sso?mfa=<token> or #/sso?erro=<code>

import { publicGet, adoptSession, seg, MfaRequired, ApiError } from '../api.js';
import { h, clear, alertNode, errorMessage, loadingNode } from '../ui.js';
import { secondStep } from './login.js';

/** The clinic whose single sign-on this device used last. */
const LAST_CLINIC_KEY = 'atende.sso.clinic';

/** @param {string|null} value */
function rememberClinic(value) {
  try {
    if (value) localStorage.setItem(LAST_CLINIC_KEY, value);
    else localStorage.removeItem(LAST_CLINIC_KEY);
  } catch {
    // Storage disabled: the clinic's link still works.
  }
}

function lastClinic() {
  try {
    return localStorage.getItem(LAST_CLINIC_KEY);
  } catch {
    return null;
  }
}

/** What each refusal means to the person who tried. */
const REFUSALS = {
  oidc_state_mismatch: 'Este retorno de login não corresponde a um login iniciado neste navegador (ou já foi usado). Comece de novo pelo botão da clínica.',
  oidc_login_expired: 'O login demorou demais e expirou. Comece de novo.',
  oidc_provider_refused: 'O provedor de login não confirmou sua identidade (login cancelado ou recusado).',
  oidc_issuer_mismatch: 'A resposta veio de um provedor diferente do configurado pela clínica. O login foi recusado.',
  oidc_code_rejected: 'O provedor recusou concluir o login. Comece de novo.',
  oidc_token_invalid: 'A identidade enviada pelo provedor não pôde ser verificada. O login foi recusado.',
  oidc_email_unverified: 'O provedor não confirmou o seu e-mail. Confirme o e-mail na sua conta do provedor ou fale com a administração da clínica.',
  oidc_domain_not_allowed: 'Este e-mail não é do domínio que a clínica aceita no login único.',
  oidc_not_a_member: 'Este e-mail não pertence a ninguém da equipe desta clínica no atende. Peça à administração da clínica que cadastre você com este e-mail.',
  oidc_not_configured: 'Esta clínica não tem mais login único. Entre com e-mail e senha.',
  oidc_unavailable: 'O provedor de login não respondeu. Tente novamente em instantes.',
};

/** @param {string} clinicId @param {string} label */
function providerButton(clinicId, label) {
  return h('a', {
    class: 'btn btn-primary btn-block',
    href: `/api/auth/oidc/${seg(clinicId)}/start`,
    text: label,
    onclick: () => rememberClinic(clinicId),
  });
}

/**
 * View "entrar/{clinic}": the clinic's single sign-on button.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 */
export function renderSsoStart(ctx, clinicId) {
  document.title = 'Entrar — atende';
  const body = h('div', { class: 'stack', 'aria-busy': 'true' }, loadingNode('Carregando…'));
  publicGet(`/api/auth/oidc/${seg(clinicId)}`).then((info) => {
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    clear(body).append(
      h('p', { text: `Equipe da ${info.clinic_name}: entre com a conta que a clínica usa.` }),
      providerButton(clinicId, info.display_name),
      h('p', { class: 'muted', text: 'Você será levado ao provedor de login da clínica e voltará ao atende em seguida.' }));
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    body.removeAttribute('aria-busy');
    const missing = err instanceof ApiError && (err.status === 404 || err.status === 400);
    if (missing && lastClinic() === clinicId) rememberClinic(null);
    clear(body).append(alertNode(missing
      ? 'Esta clínica não tem login único. Entre com e-mail e senha.'
      : errorMessage(err)));
  });
  return h('div', { class: 'view view-narrow', dataset: { view: 'login-sso' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/entrar', text: '← Entrar com e-mail e senha' })),
    h('h1', { tabindex: '-1', text: 'Entrar com o login da clínica' }),
    h('section', { class: 'panel' }, body));
}

/**
 * The login page's button for the clinic used last on this device (empty when none).
 * @param {import('../types.js').ViewContext} ctx
 */
export function lastSsoButton(ctx) {
  const box = h('div', { class: 'stack', hidden: true });
  const clinicId = lastClinic();
  if (!clinicId) return box;
  publicGet(`/api/auth/oidc/${seg(clinicId)}`).then((info) => {
    if (!ctx.isCurrent()) return;
    box.append(
      h('p', { class: 'muted', text: `Equipe da ${info.clinic_name}:` }),
      providerButton(clinicId, info.display_name),
      h('p', { class: 'muted', text: 'Ou entre com e-mail e senha:' }));
    box.hidden = false;
  }).catch(() => {
    // No longer there: the password login stays.
  });
  return box;
}

/**
 * View "sso": where the provider's login comes back.
 * @param {import('../types.js').ViewContext} ctx
 * @param {URLSearchParams} params
 * @param {{onLoggedIn: (user: import('../types.js').Me|null) => void}} opts
 */
export function renderSsoReturn(ctx, params, { onLoggedIn }) {
  document.title = 'Entrando — atende';
  const panel = h('section', { class: 'panel' });
  const root = h('div', { class: 'view view-narrow', dataset: { view: 'sso' } },
    h('h1', { tabindex: '-1', text: 'Entrar com o login da clínica' }),
    panel);
  const error = params.get('erro');
  const mfaToken = params.get('mfa');
  const clinic = params.get('clinica');
  // The token and the code are not left in the address bar or the history.
  history.replaceState(null, '', '#/sso');

  /** @param {string} [why] */
  function restart(why) {
    clear(panel).append(
      alertNode(why || 'Comece de novo.'),
      h('p', {}, h('a', { href: clinic ? `#/entrar/${seg(clinic)}` : '#/entrar', text: 'Voltar para o login' })));
  }

  if (error) {
    const known = Object.hasOwn(REFUSALS, error);
    restart(known ? REFUSALS[/** @type {keyof typeof REFUSALS} */ (error)] : 'O login foi recusado.');
    panel.dataset.code = error;
  } else if (mfaToken) {
    const challenge = new MfaRequired(mfaToken, ['totp', 'recovery_code']);
    panel.append(secondStep(ctx, challenge, {
      onLoggedIn,
      restart: (why) => restart(why || 'A verificação foi cancelada.'),
    }));
  } else {
    panel.setAttribute('aria-busy', 'true');
    panel.append(loadingNode('Entrando…'));
    adoptSession().then((data) => {
      if (!ctx.isCurrent()) return;
      onLoggedIn(data && typeof data === 'object' ? /** @type {any} */ (data).user : null);
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      panel.removeAttribute('aria-busy');
      restart(errorMessage(err));
    });
  }
  return root;
}
