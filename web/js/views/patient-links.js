// @ts-check
// Identity by proof (docs/security.md, "Patient identity"): the clinic's staff generate a
// one-time access code for one of their patient records and see its links; the patient
// types the code in their portal ("Vincular à clínica") and sees the clinics linked.

import { api, me as fetchMe, seg } from '../api.js';
import { clinicName } from '../messages.js';
import { h, clear, alertNode, createForm, errorMessage, formatDateTime, loadingNode } from '../ui.js';

/**
 * A link as the clinic's staff see it (`GET /api/clinics/{c}/patients/{p}/links`).
 * @typedef {object} PatientLink
 * @property {string} id
 * @property {'suggested'|'pending'|'linked'|'revoked'} state
 * @property {string} method
 * @property {string|null} account_name
 * @property {string|null} account_email
 * @property {string|null} expires_at
 * @property {string} created_at
 */

/**
 * A clinic record linked to the caller (`me.linked_records`, `GET /api/me/links`).
 * @typedef {object} LinkedRecord
 * @property {string} link_id
 * @property {string} clinic_id
 * @property {string} clinic_name
 * @property {string} patient_id
 */

const STATE_LABELS = {
  suggested: 'Sugestão (mesmo CPF; não dá acesso)',
  pending: 'Código aguardando uso',
  pending_link: 'Link enviado por e-mail, aguardando uso',
  linked: 'Vinculado',
  revoked: 'Encerrado',
};

/**
 * Staff: "Acesso do paciente" — generate a code, list and revoke links of the record.
 * @param {{isCurrent: () => boolean}} ctx
 * @param {string} clinicId
 * @param {string} patientId
 */
export function accessCodePanel(ctx, clinicId, patientId) {
  const base = `/api/clinics/${seg(clinicId)}/patients/${seg(patientId)}/links`;
  const codeBox = h('div', { role: 'status' });
  const list = h('div');
  const button = h('button', { type: 'button', class: 'btn btn-primary', text: 'Gerar código de acesso' });
  const mailButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Enviar link por e-mail' });

  mailButton.addEventListener('click', async () => {
    mailButton.disabled = true;
    try {
      const sent = await api.post(`${base}/email`, {});
      clear(codeBox).append(h('p', { class: 'notice', role: 'status' },
        `Link enviado para ${sent.sent_to} (vale uma vez, até `, formatDateTime(sent.expires_at), ').'));
      load();
    } catch (err) {
      clear(codeBox).append(alertNode(errorMessage(err)));
    } finally {
      mailButton.disabled = false;
    }
  });

  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const issued = await api.post(`${base}/code`, {});
      clear(codeBox).append(
        h('p', null, 'Entregue este código ao paciente (vale uma vez, até ',
          formatDateTime(issued.expires_at), '):'),
        h('p', { class: 'access-code', text: issued.code }));
      load();
    } catch (err) {
      clear(codeBox).append(alertNode(errorMessage(err)));
    } finally {
      button.disabled = false;
    }
  });

  /** @param {PatientLink[]} links */
  function render(links) {
    const rows = links.filter((l) => l.state !== 'revoked');
    if (!rows.length) {
      clear(list).append(h('p', { class: 'muted', text: 'Nenhuma conta vinculada a este cadastro.' }));
      return;
    }
    clear(list).append(h('ul', { class: 'plain-list' }, rows.map((l) => {
      const revoke = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Revogar' });
      revoke.addEventListener('click', async () => {
        revoke.disabled = true;
        try {
          await api.post(`${base}/${seg(l.id)}/revoke`, {});
          load();
        } catch (err) {
          revoke.disabled = false;
          clear(codeBox).append(alertNode(errorMessage(err)));
        }
      });
      const who = l.account_email ? ` — ${l.account_name || ''} <${l.account_email}>` : '';
      const actions = [revoke];
      if (l.state === 'suggested') actions.unshift(confirmButton(l));
      const label = l.state === 'pending' && l.method === 'contact_link' ? STATE_LABELS.pending_link : STATE_LABELS[l.state];
      return h('li', null, `${label || l.state}${who} `, ...actions);
    })));
  }

  /**
   * "Confirmar identidade": the person is here with a document bearing this CPF. Their own
   * record from booking online is folded into this one.
   * @param {PatientLink} l
   */
  function confirmButton(l) {
    const confirm = h('button', { type: 'button', class: 'btn btn-primary btn-small', text: 'Confirmar identidade' });
    confirm.addEventListener('click', async () => {
      const ok = window.confirm(`Você conferiu pessoalmente um documento com o CPF deste cadastro de ${l.account_name || 'quem criou a conta'}? `
        + 'A conta passa a ver este cadastro, e o cadastro que a pessoa criou ao agendar é unido a este.');
      if (!ok) return;
      confirm.disabled = true;
      try {
        const done = await api.post(`${base}/${seg(l.id)}/confirm`, { identity_checked: true });
        clear(codeBox).append(h('p', { class: 'notice', role: 'status', text: done.folded_record
          ? 'Identidade confirmada: a conta foi vinculada e o cadastro criado pelo paciente foi unido a este.'
          : 'Identidade confirmada: a conta foi vinculada a este cadastro.' }));
        load();
      } catch (err) {
        confirm.disabled = false;
        clear(codeBox).append(alertNode(errorMessage(err)));
      }
    });
    return confirm;
  }

  function load() {
    clear(list).append(loadingNode());
    api.get(base).then((links) => {
      if (ctx.isCurrent()) render(Array.isArray(links) ? links : []);
    }).catch((err) => {
      if (ctx.isCurrent()) clear(list).append(alertNode(errorMessage(err)));
    });
  }
  load();

  return h('section', { class: 'panel', 'aria-labelledby': 'pd-access' },
    h('h2', { id: 'pd-access', text: 'Acesso do paciente' }),
    h('p', { class: 'muted small', text: 'O paciente vê consultas, documentos e conversas deste cadastro só depois de digitar, na conta dele, um código gerado aqui — ou de a recepção, com a pessoa e um documento com o CPF à frente, confirmar a identidade numa sugestão.' }),
    h('div', { class: 'form-actions' }, button, mailButton),
    codeBox, list);
}

/**
 * Patient: "Vincular à clínica" — type the code the clinic gave; the linked clinics.
 * @param {LinkedRecord[]} linked
 */
export function linkClinicPanel(linked) {
  const list = h('ul', { class: 'plain-list' });
  /** @param {LinkedRecord[]} records */
  function render(records) {
    clear(list).append(...(records.length
      ? records.map((r) => h('li', { text: r.clinic_name }))
      : [h('li', { class: 'muted', text: 'Nenhuma clínica vinculada ainda.' })]));
  }
  render(linked);
  const form = createForm({
    label: 'Vincular à clínica',
    submitLabel: 'Vincular',
    busyLabel: 'Vinculando…',
    codeToField: { invalid_link_code: 'code' },
    fields: [{
      name: 'code', label: 'Código de acesso', required: true, autocomplete: 'off',
      maxlength: 24, placeholder: 'XXXXX-XXXXX-XXXXX',
      hint: 'Peça o código na recepção da clínica.',
    }],
    onSubmit: async (values) => {
      const record = await api.post('/api/me/links/redeem', { code: values.code });
      form.reset();
      const fresh = await api.get('/api/me/links');
      render(Array.isArray(fresh) ? fresh : [record]);
      return `Pronto: seu cadastro na ${clinicName(record.clinic_name)} está vinculado à sua conta.`;
    },
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'link-clinic-heading' },
    h('h2', { id: 'link-clinic-heading', text: 'Vincular à clínica' }),
    h('p', { class: 'muted small', text: 'Suas consultas, documentos e conversas de uma clínica aparecem aqui depois que você digita o código que ela lhe deu.' }),
    list, form.form);
}

/** A clinic's e-mailed link waiting for a login in this browser (kept across tabs: the
 * sign-up link may open in another one). */
const LINK_KEY = 'atende.link.pending';

/** @param {string} token */
export function keepLinkForLogin(token) {
  try { localStorage.setItem(LINK_KEY, token); } catch { /* private mode: the link just needs opening again */ }
}

/** The link page to go back to after a login, once. */
export function takeLinkAfterLogin() {
  let token = null;
  try {
    token = localStorage.getItem(LINK_KEY);
    localStorage.removeItem(LINK_KEY);
  } catch { /* private mode */ }
  return token ? `#/vincular/${token}` : null;
}

/** The login page's notice while a link waits. */
export function linkLoginNotice() {
  try {
    return localStorage.getItem(LINK_KEY) ? 'Entre (ou crie sua conta de paciente) para vincular seu cadastro na clínica.' : null;
  } catch {
    return null;
  }
}

/**
 * Patient: the page a clinic's e-mailed link opens (`#/vincular/{token}`), logged in.
 * @param {{isCurrent: () => boolean}} ctx
 * @param {object} me the session's profile (refreshed when a record is linked)
 * @param {string} token
 */
export function renderAcceptLink(ctx, me, token) {
  const status = h('div', { role: 'status' }, loadingNode());
  const home = h('p', null, h('a', { href: '#/', text: 'Ir para o início' }));
  home.hidden = true;
  api.post('/api/me/links/accept', { token }).then(async (record) => {
    Object.assign(me, await fetchMe());
    if (!ctx.isCurrent()) return;
    clear(status).append(h('p', { class: 'notice', text: `Pronto: seu cadastro na ${clinicName(record.clinic_name)} está vinculado à sua conta.` }));
    home.hidden = false;
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    clear(status).append(alertNode(errorMessage(err)));
    home.hidden = false;
  });
  return h('section', { class: 'panel narrow', 'data-view': 'accept-link', 'aria-labelledby': 'accept-link-heading' },
    h('h1', { id: 'accept-link-heading', text: 'Vincular cadastro' }),
    status, home);
}
