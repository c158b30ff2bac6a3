// @ts-check
// "Login único (SSO)" on the clinic admin's home: the clinic's OpenID Connect provider
// (Google Workspace, Microsoft Entra, Keycloak…). The client secret is write-only.
//
//   GET    /api/clinics/{id}/oidc → the connection, or null when none yet
//   PUT    /api/clinics/{id}/oidc {issuer, client_id, client_secret?, display_name, allowed_domain?}
//          422 oidc_issuer_invalid when the issuer has no discovery document
//   DELETE /api/clinics/{id}/oidc

import { api, seg } from '../api.js';
import { h, clear, createForm, errorMessage, alertNode, loadingNode } from '../ui.js';

/** @param {string} clinicId */
export function clinicSsoPanel(clinicId) {
  const path = `/api/clinics/${seg(clinicId)}/oidc`;
  const body = h('div', { class: 'stack', 'aria-busy': 'true' }, loadingNode('Carregando…'));

  /** @param {any} current the saved connection, or null */
  function render(current) {
    body.removeAttribute('aria-busy');
    const loginUrl = `${location.origin}/#/entrar/${clinicId}`;
    const ctrl = createForm({
      label: 'Login único da clínica',
      submitLabel: 'Salvar login único',
      busyLabel: 'Verificando o provedor…',
      codeToField: {
        oidc_issuer_invalid: 'issuer', invalid_client_id: 'client_id',
        invalid_client_secret: 'client_secret', invalid_display_name: 'display_name',
        invalid_domain: 'allowed_domain',
      },
      fields: [
        {
          name: 'issuer', label: 'Emissor (issuer)', type: 'url', required: true, noOptionalTag: true,
          value: current?.issuer, placeholder: 'https://accounts.google.com',
          hint: 'O endereço do provedor OpenID Connect; o atende lê a configuração em /.well-known/openid-configuration.',
        },
        { name: 'client_id', label: 'Client ID', required: true, noOptionalTag: true, value: current?.client_id },
        {
          name: 'client_secret', label: 'Client secret', type: 'password', required: !current,
          noOptionalTag: !current, autocomplete: 'off',
          hint: current ? 'Guardado com criptografia e nunca mostrado. Deixe em branco para manter o atual.' : 'Guardado com criptografia e nunca mostrado de novo.',
        },
        {
          name: 'display_name', label: 'Texto do botão', required: true, noOptionalTag: true, maxlength: 80,
          value: current?.display_name || 'Entrar com Google Workspace',
        },
        {
          name: 'allowed_domain', label: 'Domínio permitido', value: current?.allowed_domain,
          placeholder: 'clinica.com.br', hint: 'Só e-mails deste domínio entram pelo provedor.',
        },
      ],
      onSubmit: async (values) => {
        const saved = await api.put(path, {
          issuer: values.issuer,
          client_id: values.client_id,
          client_secret: values.client_secret || null,
          display_name: values.display_name,
          allowed_domain: values.allowed_domain || null,
        });
        clear(body).append(...render(saved));
        return undefined;
      },
    });
    const remove = current
      ? h('button', {
        type: 'button', class: 'btn btn-secondary', text: 'Desligar o login único',
        onclick: async () => {
          try {
            await api.del(path);
            clear(body).append(...render(null));
          } catch (err) {
            body.prepend(alertNode(errorMessage(err)));
          }
        },
      })
      : null;
    return [
      h('p', { class: 'muted', text: 'A equipe entra com a conta do provedor da clínica. Só entra quem já faz parte da equipe no atende com o mesmo e-mail; o provedor não dá papéis nem cria contas.' }),
      current
        ? h('dl', { class: 'facts' },
          h('dt', { text: 'Endereço de retorno (registre no provedor)' }), h('dd', {}, h('code', { text: current.redirect_uri })),
          h('dt', { text: 'Link de acesso para a equipe' }), h('dd', {}, h('a', { href: loginUrl, text: loginUrl })))
        : h('p', { class: 'muted', text: 'Depois de salvar, o atende mostra o endereço de retorno a registrar no provedor e o link de acesso da equipe.' }),
      ctrl.form,
      remove,
    ].filter(Boolean);
  }

  api.get(path).then((current) => clear(body).append(...render(current || null))).catch((err) => {
    body.removeAttribute('aria-busy');
    clear(body).append(alertNode(errorMessage(err)));
  });
  return h('section', { class: 'panel', 'aria-labelledby': `clinic-sso-${clinicId}` },
    h('h2', { id: `clinic-sso-${clinicId}`, text: 'Login único (SSO)' }),
    body);
}
