// @ts-check
// Public verification of a signed document (no login): #/verificar and #/verificar/{id}.
//
// The QR code printed on every PDF points to /v/{id}, which sends people here. The page
// asks for the verification code printed on the document (the id alone reveals nothing):
//
//   GET  /api/public/documents/{code}   kind, professional + council, clinic, patient
//                                       initials, dates, status, SHA-256, pdf_url; 404 unknown
//   POST /api/public/documents/check    the raw bytes of a PDF → {intact, sha256, document?,
//                                       further_signatures?, changed_after_signing}
//   GET  /api/public/signing-ca.pem     the installation CA's certificate
//
// Pharmacies can also check the signature itself at validar.iti.gov.br.

import { ApiError, publicGet, publicUpload, seg } from '../api.js';
import { h, alertNode, append, clear, detailsList, errorMessage, uid } from '../ui.js';
import { docWhen, kindLabel } from './documents.js';
import { caLink } from './signing-key.js';

/** Largest file checked (the server's limit). */
const MAX_PDF_BYTES = 10 * 1024 * 1024;

/** Same origin as this page: the server's link, else the same path here. */
function pdfHref(view) {
  try {
    const url = new URL(view.pdf_url, location.href);
    if (url.origin === location.origin) return url.href;
    return url.pathname;
  } catch {
    return null;
  }
}

/** Big status box: what a pharmacist needs to read first. */
function verdict(view) {
  if (view.status === 'revoked') {
    const when = view.revoked_at ? ` em ${docWhen(view.revoked_at)}` : '';
    return {
      tone: 'bad',
      title: `Documento REVOGADO${when}`,
      text: view.revoked_reason
        ? `Motivo: ${view.revoked_reason}. Este documento não deve ser aceito.`
        : 'Este documento não deve ser aceito.',
    };
  }
  if (view.status === 'signed' && view.signature_notice) {
    // Signed by a certificate outside ICP-Brasil: authentic here, but not for a pharmacy.
    return {
      tone: 'bad',
      title: view.signature_notice,
      text: 'Emitido e assinado pelo profissional abaixo e não revogado, mas com um certificado que não é ICP-Brasil: não vale para dispensação de medicamentos.',
    };
  }
  if (view.status === 'signed') {
    return { tone: 'ok', title: 'Documento válido e assinado (ICP-Brasil)', text: 'Emitido e assinado digitalmente pelo profissional abaixo, e não revogado.' };
  }
  if (view.status === 'failed') {
    return { tone: 'bad', title: 'Documento sem assinatura', text: 'A assinatura deste documento não foi concluída: ele não tem validade.' };
  }
  return { tone: 'neutral', title: 'Aguardando assinatura', text: 'O documento foi emitido e a assinatura digital ainda está sendo feita. Tente de novo em instantes.' };
}

/**
 * @param {string} tone `ok`, `bad` or `neutral`
 * @param {string} title
 * @param {string} text
 * @param {{heading?: 'h1'|'h2'|'h3'}} [opts]
 */
function statusBox(tone, title, text, { heading = 'h2' } = {}) {
  return h('div', { class: `ln-status ln-status-${tone} vf-status`, role: 'status', dataset: { tone } },
    h(heading, { class: 'ln-status-title', tabindex: '-1', text: title }),
    text ? h('p', { class: 'ln-status-text', text }) : null);
}

function viewDetails(view) {
  return detailsList([
    ['Documento', kindLabel(view.kind)],
    ['Profissional', [view.professional_name, view.council].filter(Boolean).join(' — ')],
    ['Clínica', view.clinic_name],
    ['Paciente', view.patient_initials],
    ['Emitido em', docWhen(view.issued_at)],
    ['Assinado em', docWhen(view.signed_at)],
    ['SHA-256 do PDF', view.sha256 ? h('code', { class: 'vf-hash', text: view.sha256 }) : ''],
  ], 'details vf-details');
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {string|null} documentId from the URL (the QR code's link), if any
 */
export function renderVerify(ctx, documentId) {
  document.title = 'Verificar documento — atende';
  const codeId = uid('vf-code');
  const fileId = uid('vf-file');
  const codeInput = h('input', {
    id: codeId,
    name: 'code',
    type: 'text',
    required: true,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: 20,
    placeholder: 'ABCDE-FGH23',
    'aria-describedby': `${codeId}-hint`,
  });
  const codeButton = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Verificar' });
  const codeErrors = h('div');
  const result = h('div', { class: 'vf-result', 'aria-live': 'polite' });
  const codeForm = h('form', { class: 'form vf-form', novalidate: true, role: 'search', 'aria-label': 'Verificar pelo código' },
    h('div', { class: 'field' },
      h('label', { for: codeId, text: 'Código de verificação' }),
      h('p', { class: 'field-hint', id: `${codeId}-hint`, text: 'Está impresso no documento, junto ao QR code (ex.: ABCDE-FGH23).' }),
      h('div', { class: 'search-row' }, codeInput, codeButton)),
    codeErrors);

  const fileInput = h('input', { id: fileId, name: 'file', type: 'file', accept: 'application/pdf,.pdf' });
  const fileButton = h('button', { type: 'submit', class: 'btn btn-secondary', text: 'Verificar arquivo' });
  const fileResult = h('div', { class: 'vf-file-result', 'aria-live': 'polite' });
  const fileForm = h('form', { class: 'form vf-file-form', novalidate: true, 'aria-label': 'Verificar um arquivo' },
    h('div', { class: 'field' },
      h('label', { for: fileId, text: 'Arquivo PDF recebido' }),
      fileInput),
    h('div', { class: 'form-actions' }, fileButton),
    fileResult);

  const root = h('div', { class: 'view vf-view', dataset: { view: 'verify', state: 'form' } },
    h('p', { class: 'phone-clinic', text: 'atende · verificação de documentos' }),
    h('h1', { tabindex: '-1', text: 'Verificar documento' }),
    h('p', { class: 'lead', text: 'Confira se uma receita, um atestado ou uma solicitação de exames emitido pelo atende é autêntico e continua válido.' }),
    h('section', { class: 'panel', 'aria-labelledby': 'vf-code-heading' },
      h('h2', { id: 'vf-code-heading', class: 'visually-hidden', text: 'Verificar pelo código' }),
      codeForm),
    result,
    h('section', { class: 'panel', 'aria-labelledby': 'vf-file-heading' },
      h('h2', { id: 'vf-file-heading', text: 'Verificar um arquivo' }),
      h('p', { class: 'small', text: 'Recebeu o PDF por mensagem ou e-mail? Envie o arquivo para conferir se ele é idêntico, byte a byte, ao documento assinado aqui.' }),
      fileForm),
    h('section', { class: 'panel', 'aria-labelledby': 'vf-more-heading' },
      h('h2', { id: 'vf-more-heading', text: 'Outras formas de validar' }),
      h('p', { class: 'small' }, 'A assinatura digital está dentro do PDF (padrão PAdES). Farmácias também podem validar o arquivo no validador do ITI: ',
        h('a', { href: 'https://validar.iti.gov.br', target: '_blank', rel: 'noopener', text: 'validar.iti.gov.br' }), '.'),
      h('p', { class: 'small' }, 'Documentos assinados com um certificado da própria instalação do atende (não ICP-Brasil) são reconhecidos por validadores que confiem no ',
        caLink('Certificado da AC da instalação'), '.')));

  function setState(state) {
    root.dataset.state = state;
  }

  function showView(view) {
    const v = verdict(view);
    setState(view.status || 'unknown');
    const href = view.sha256 && view.pdf_url ? pdfHref(view) : null;
    append(clear(result), [
      statusBox(v.tone, v.title, v.text),
      documentId && view.id && String(view.id) !== String(documentId)
        ? h('p', { class: 'note note-warn small vf-mismatch', text: 'Atenção: este código é de outro documento, não do QR code que trouxe você até aqui. Confira o código impresso no papel.' })
        : null,
      h('section', { class: 'panel', 'aria-label': 'Dados do documento' },
        viewDetails(view),
        href
          ? h('p', null, h('a', { class: 'btn btn-secondary', href, download: `documento-${view.id || 'atende'}.pdf`, text: 'Baixar PDF' }))
          : null)]);
    const title = /** @type {HTMLElement|null} */ (result.querySelector('.ln-status-title'));
    if (title) title.focus();
  }

  codeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(codeErrors);
    codeInput.removeAttribute('aria-invalid');
    const code = codeInput.value.replace(/\s+/g, '').toUpperCase();
    if (!code) {
      codeInput.setAttribute('aria-invalid', 'true');
      codeErrors.append(h('p', { class: 'field-error', text: 'Informe o código impresso no documento.' }));
      codeInput.focus();
      return;
    }
    codeButton.disabled = true;
    codeButton.textContent = 'Verificando…';
    try {
      const view = await publicGet(`/api/public/documents/${seg(code)}`);
      if (!ctx.isCurrent()) return;
      showView(view || {});
    } catch (err) {
      if (!ctx.isCurrent()) return;
      setState('not_found');
      if (err instanceof ApiError && err.status === 404) {
        clear(result).append(statusBox('bad', 'Código não encontrado',
          'Nenhum documento emitido aqui tem este código. Confira se digitou o código exatamente como está impresso.'));
        const title = /** @type {HTMLElement|null} */ (result.querySelector('.ln-status-title'));
        if (title) title.focus();
      } else {
        clear(result).append(alertNode(errorMessage(err)));
      }
    } finally {
      codeButton.disabled = false;
      codeButton.textContent = 'Verificar';
    }
  });

  fileForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(fileResult);
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      fileResult.append(h('p', { class: 'field-error', text: 'Escolha o arquivo PDF.' }));
      fileInput.focus();
      return;
    }
    if (file.size > MAX_PDF_BYTES) {
      fileResult.append(alertNode('O arquivo passa de 10 MB: não é um documento emitido aqui.'));
      return;
    }
    fileButton.disabled = true;
    fileButton.textContent = 'Verificando…';
    try {
      const res = await publicUpload('/api/public/documents/check', file);
      if (!ctx.isCurrent()) return;
      if (res && res.intact) {
        const doc = res.document || {};
        const revoked = doc.status === 'revoked';
        const further = res.further_signatures || [];
        append(fileResult, [
          statusBox('ok', further.length
            ? 'O documento assinado está íntegro dentro do arquivo'
            : 'O arquivo é idêntico ao documento assinado',
            `${kindLabel(doc.kind)}${doc.professional_name ? ` de ${doc.professional_name}` : ''}${doc.signed_at ? `, assinado em ${docWhen(doc.signed_at)}` : ''}.`,
            { heading: 'h3' }),
          revoked
            ? statusBox('bad', `Mas o documento foi REVOGADO${doc.revoked_at ? ` em ${docWhen(doc.revoked_at)}` : ''}`,
              doc.revoked_reason ? `Motivo: ${doc.revoked_reason}.` : '', { heading: 'h3' })
            : null,
          !revoked && doc.signature_notice
            ? statusBox('bad', doc.signature_notice, 'O certificado que assinou este arquivo não é ICP-Brasil.', { heading: 'h3' })
            : null,
          further.length
            ? h('div', { class: 'vf-further' },
              h('h3', { text: `Assinaturas acrescentadas depois (${further.length})` }),
              h('ul', {}, ...further.map((s) => h('li', {
                text: `${s.signer || 'Signatário sem nome'} — ${s.verified ? 'assinatura confere' : 'assinatura NÃO confere'}`,
              }))))
            : null]);
      } else if (res && res.changed_after_signing) {
        fileResult.append(statusBox('bad', 'Este arquivo foi alterado depois de assinado',
          'Ele começa com um documento emitido aqui, mas o conteúdo foi modificado depois da assinatura: não o aceite.', { heading: 'h3' }));
      } else {
        fileResult.append(statusBox('bad', 'Este arquivo não corresponde a nenhum documento emitido aqui',
          'Ele foi alterado depois de assinado ou não foi emitido pelo atende.', { heading: 'h3' }));
      }
      if (res && res.sha256) {
        fileResult.append(h('p', { class: 'small muted' }, 'SHA-256 do arquivo enviado: ', h('code', { class: 'vf-hash', text: res.sha256 })));
      }
      fileResult.dataset.intact = String(Boolean(res && res.intact));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      fileResult.append(alertNode(errorMessage(err)));
    } finally {
      fileButton.disabled = false;
      fileButton.textContent = 'Verificar arquivo';
    }
  });

  return root;
}
