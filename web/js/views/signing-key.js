// @ts-check
// "Minha assinatura digital" (#/minha-assinatura): the certificate a professional's
// documents are signed with.
//
//   GET    /api/me/signing-key   {source: installation_ca|imported, subject, issuer, not_after, created_at, icp_brasil}
//   PUT    /api/me/signing-key   {pkcs12: base64 of the .pfx/.p12, password} → same shape
//   DELETE /api/me/signing-key   204: back to a certificate from the installation's own CA
//   GET    /api/public/signing-ca.pem   the installation CA (for validators to trust)

import { api } from '../api.js';
import { h, alertNode, append, clear, detailsList, errorMessage, loadingNode, uid } from '../ui.js';
import { docWhen } from './documents.js';

/** Largest file read in the browser (real A1 files have a few KB). */
const MAX_FILE_BYTES = 1024 * 1024;

const SOURCE_LABELS = {
  installation_ca: 'Certificado da AC desta instalação do atende',
  imported: 'Certificado importado (A1, .pfx/.p12)',
};

/** ArrayBuffer → base64, in chunks (String.fromCharCode has an argument limit). */
function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** How far ahead the page (and the operators' alert) warns of an expiring certificate. */
const WARN_DAYS = 30;
const DAY_MS = 86_400_000;

/**
 * What to tell a professional about their certificate's expiry at `now`: nothing while it
 * has more than 30 days left; a warning with the days left (rounded up) before; an error
 * once expired, since documents signed with it would not validate.
 * @param {string} notAfter ISO time
 * @param {Date} now
 * @returns {{level: 'warn' | 'error', text: string} | null}
 */
export function expiryNotice(notAfter, now) {
  const end = Date.parse(notAfter);
  if (Number.isNaN(end)) return null;
  const left = end - now.getTime();
  if (left <= 0) {
    return {
      level: 'error',
      text: 'Este certificado está vencido: os documentos assinados com ele não são aceitos pelos validadores. Importe um certificado válido antes de emitir novos documentos.',
    };
  }
  if (left > WARN_DAYS * DAY_MS) return null;
  const days = Math.ceil(left / DAY_MS);
  return {
    level: 'warn',
    text: `Este certificado vence em ${days} ${days === 1 ? 'dia' : 'dias'}. Antes do vencimento, importe abaixo um certificado válido (renovado com a sua autoridade certificadora).`,
  };
}

export function caLink(text = 'Baixar o certificado da AC da instalação (.pem)') {
  return h('a', { href: '/api/public/signing-ca.pem', download: 'atende-ac.pem', text });
}

/**
 * @param {import('../types.js').ViewContext} ctx
 */
export function renderSigningKey(ctx) {
  document.title = 'Minha assinatura digital — atende';
  const current = h('div', { class: 'sk-current' }, loadingNode());
  const status = h('p', { class: 'form-status', role: 'status' });
  const root = h('div', { class: 'view view-medium sk-view', dataset: { view: 'signing-key' } },
    h('h1', { tabindex: '-1', text: 'Minha assinatura digital' }),
    h('p', { class: 'lead', text: 'As receitas, os atestados e as solicitações de exames que você emite são assinados digitalmente (padrão PAdES) com o certificado abaixo.' }),
    h('section', { class: 'panel', 'aria-labelledby': 'sk-current-heading' },
      h('h2', { id: 'sk-current-heading', text: 'Certificado em uso' }),
      current, status),
    importPanel(),
    h('p', { class: 'muted small sk-ca' }, 'Para quem valida documentos assinados com a AC da instalação: ', caLink('Certificado da AC da instalação'), '.'));

  let key = null;

  async function load() {
    current.setAttribute('aria-busy', 'true');
    try {
      key = await api.get('/api/me/signing-key');
      if (!ctx.isCurrent()) return;
      showKey();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      clear(current).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    } finally {
      current.removeAttribute('aria-busy');
    }
  }

  function showKey() {
    const imported = key.source === 'imported';
    const expiry = expiryNotice(key.not_after, new Date());
    append(clear(current), [
      expiry ? h('p', {
        class: `alert ${expiry.level === 'error' ? 'alert-error' : 'alert-warn'} sk-expiry`,
        role: expiry.level === 'error' ? 'alert' : 'status',
        dataset: { level: expiry.level },
        text: expiry.text,
      }) : null,
      h('p', null, h('span', {
        class: `badge ${imported ? 'badge-ok' : 'badge-warn'} sk-source`,
        dataset: { source: key.source || '' },
        text: SOURCE_LABELS[key.source] || key.source || '—',
      })),
      detailsList([
        ['Titular', key.subject],
        ['Emitido por', key.issuer],
        ['Válido até', docWhen(key.not_after)],
        ['Em uso desde', docWhen(key.created_at)],
        ['ICP-Brasil', key.icp_brasil ? 'Sim' : 'Não — os documentos trazem o aviso “Assinatura eletrônica não ICP-Brasil”'],
      ]),
      imported
        ? h('p', { class: 'muted small', text: 'Os próximos documentos serão assinados com o seu certificado importado.' })
        : h('div', { class: 'note note-warn small sk-note' },
          h('p', { text: 'Este certificado foi emitido pela autoridade certificadora (AC) própria desta instalação do atende. Ele garante a integridade e a autoria dentro do atende, mas não é ICP-Brasil: farmácias e o validador do ITI só o reconhecem se confiarem no certificado da AC da instalação.' }),
          h('p', { text: 'Para validade jurídica plena, importe abaixo o seu certificado ICP-Brasil do tipo A1.' })),
      imported ? resetControl() : null]);
  }

  /** "Voltar ao certificado da instalação" with an inline confirmation. */
  function resetControl() {
    const box = h('div', { class: 'sk-reset' });
    const errors = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const ask = h('button', { type: 'button', class: 'btn btn-secondary ag-action-danger', text: 'Voltar ao certificado da instalação' });
    function idle() {
      clear(box).append(errors, ask);
    }
    ask.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'btn btn-danger', text: 'Sim, deixar de usar meu certificado' });
      const no = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Voltar' });
      no.addEventListener('click', () => {
        idle();
        ask.focus();
      });
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        errors.hidden = true;
        try {
          await api.del('/api/me/signing-key');
          status.textContent = 'Pronto: os próximos documentos serão assinados com um certificado da AC da instalação.';
          await load();
        } catch (err) {
          errors.textContent = errorMessage(err);
          errors.hidden = false;
          yes.disabled = false;
        }
      });
      clear(box).append(errors, h('div', { class: 'wl-confirm', role: 'group', 'aria-label': 'Confirmar' },
        h('span', { text: 'Deixar de usar o certificado importado? Ele é apagado do atende e os documentos já assinados continuam válidos.' }),
        yes, no));
      yes.focus();
    });
    idle();
    return box;
  }

  function importPanel() {
    const fileId = uid('sk-file');
    const passId = uid('sk-pass');
    const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const file = h('input', { id: fileId, name: 'pkcs12', type: 'file', accept: '.pfx,.p12,application/x-pkcs12', required: true });
    const password = h('input', { id: passId, name: 'password', type: 'password', autocomplete: 'off', required: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Importar certificado' });
    const form = h('form', { class: 'form sk-form', novalidate: true, 'aria-label': 'Importar certificado A1' },
      errors,
      h('div', { class: 'form-fields' },
        h('div', { class: 'field' },
          h('label', { for: fileId, text: 'Arquivo do certificado (.pfx ou .p12)' }),
          file),
        h('div', { class: 'field' },
          h('label', { for: passId, text: 'Senha do certificado' }),
          h('p', { class: 'field-hint', text: 'Usada só para abrir o arquivo agora; a chave fica guardada cifrada no servidor.' }),
          password)),
      h('div', { class: 'form-actions' }, submit));

    function fail(message, input) {
      errors.textContent = message;
      errors.hidden = false;
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.hidden = true;
      status.textContent = '';
      file.removeAttribute('aria-invalid');
      password.removeAttribute('aria-invalid');
      const chosen = file.files && file.files[0];
      if (!chosen) return fail('Escolha o arquivo .pfx ou .p12 do seu certificado.', file);
      if (chosen.size > MAX_FILE_BYTES) return fail('Este arquivo é grande demais para um certificado A1.', file);
      if (!password.value) return fail('Informe a senha do certificado.', password);
      submit.disabled = true;
      submit.textContent = 'Importando…';
      try {
        const pkcs12 = toBase64(await chosen.arrayBuffer());
        key = await api.put('/api/me/signing-key', { pkcs12, password: password.value });
        form.reset();
        if (!ctx.isCurrent()) return;
        showKey();
        status.textContent = 'Certificado importado: os próximos documentos serão assinados com ele.';
      } catch (err) {
        const code = err && err.code;
        fail(errorMessage(err), code === 'invalid_pkcs12' ? password : null);
      } finally {
        submit.disabled = false;
        submit.textContent = 'Importar certificado';
        password.value = '';
      }
      return undefined;
    });

    return h('section', { class: 'panel', 'aria-labelledby': 'sk-import-heading' },
      h('h2', { id: 'sk-import-heading', text: 'Importar certificado ICP-Brasil A1' }),
      h('p', { class: 'muted', text: 'O certificado A1 é um arquivo .pfx ou .p12 protegido por senha, emitido por uma autoridade certificadora credenciada na ICP-Brasil. Certificados A3 (cartão ou token) não podem ser importados.' }),
      form);
  }

  load();
  return root;
}
