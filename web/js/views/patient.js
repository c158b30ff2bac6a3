// @ts-check
// Patient home: "Meus dados" and "Privacidade (LGPD)" with consent history.

import { api } from '../api.js';
import {
  h, clear, alertNode, commonCodeToField, createForm, detailsList, disclosure, displayName,
  errorMessage, formatAddress, formatBirth, formatDateTime, formatPhone, hasSocialName, loadingNode,
  addressFields, addressFromValues,
} from '../ui.js';
import { messagesPanel } from './chat.js';
import { myAppointmentsLink } from './my-appointments.js';
import { myDocumentsLink } from './my-documents.js';
import { linkClinicPanel } from './patient-links.js';
import { myRecordPanel } from './record.js';
import { dpoNode, exportPanel } from './privacy.js';

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 */
export function renderPatientHome(ctx, me) {
  const patient = me.patient || /** @type {Partial<import('../types.js').PatientRecord>} */ ({});
  const name = displayName(patient) || displayName(me);
  document.title = 'Minha conta — atende';

  const details = h('div');
  /** @param {import('../types.js').Address|null|undefined} address */
  const showDetails = (address) => details.replaceChildren(detailsList([
    hasSocialName(patient) ? ['Nome social', patient.social_name] : null,
    [hasSocialName(patient) ? 'Nome civil' : 'Nome', patient.full_name || me.full_name],
    ['CPF', patient.cpf],
    ['Nascimento', formatBirth(patient.birth_date)],
    ['Telefone', formatPhone(patient.phone)],
    ['E-mail', patient.email || me.email],
    ['Endereço', formatAddress(address) || 'Não informado'],
  ].filter(Boolean)));
  showDetails(patient.address);
  const data = h('section', { class: 'panel', 'aria-labelledby': 'my-data-heading' },
    h('h2', { id: 'my-data-heading', text: 'Meus dados' }),
    details,
    addressPanel(me, patient.address, showDetails),
    h('p', { class: 'muted small', text: 'Para corrigir os demais dados, fale com a recepção da sua clínica.' }));

  return h('div', { class: 'view', dataset: { view: 'home-patient' } },
    h('h1', { tabindex: '-1', text: `Olá, ${name}` }),
    h('div', { class: 'grid-2' }, myAppointmentsLink(), myDocumentsLink()),
    messagesPanel('Converse com os profissionais que atendem você.'),
    myRecordPanel(ctx),
    h('div', { class: 'grid-2' }, data, linkClinicPanel(me.linked_records || [])),
    privacySection(ctx));
}

/**
 * The patient's own address: on their profile and on every clinic record linked to their
 * account, so each clinic can print it where the law asks (receita de controle especial).
 * @param {import('../types.js').Me} me
 * @param {import('../types.js').Address|null|undefined} address
 * @param {(address: import('../types.js').Address|null|undefined) => void} onSaved
 */
function addressPanel(me, address, onSaved) {
  const records = [
    ...(me.patient && me.patient.id ? [me.patient.id] : []),
    ...(me.linked_records || []).map((r) => r.patient_id),
  ];
  if (!records.length) return null;
  const ctrl = createForm({
    label: 'Endereço',
    submitLabel: 'Salvar endereço',
    busyLabel: 'Salvando…',
    codeToField: commonCodeToField,
    className: 'form-grid',
    fields: addressFields({ required: true, initial: address || null }),
    onSubmit: async (values) => {
      const body = { address: addressFromValues(values) };
      let saved = null;
      for (const id of records) {
        saved = await api.put(`/api/patients/${encodeURIComponent(id)}/address`, body);
      }
      onSaved(saved && saved.address);
      const summary = panel.querySelector('summary');
      if (summary) summary.textContent = 'Alterar endereço';
      return 'Endereço salvo. As clínicas vinculadas à sua conta passam a vê-lo.';
    },
  });
  const panel = disclosure(address ? 'Alterar endereço' : 'Informar endereço', ctrl.form);
  return panel;
}

function privacySection(ctx) {
  const history = h('div', { class: 'consents' });
  const status = h('p', { class: 'form-status', role: 'status' });
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const withdrawButton = h('button', {
    type: 'button',
    class: 'btn btn-danger',
    text: 'Retirar consentimento',
    disabled: true,
  });

  const dialog = confirmDialog({
    title: 'Retirar consentimento?',
    body: [
      'Ao retirar seu consentimento, o atende e as clínicas deixam de tratar seus dados pessoais com base nele.',
      'Dados que precisam ser guardados por obrigação legal, como o prontuário, continuam armazenados pelo prazo previsto em lei.',
    ],
    confirmLabel: 'Sim, retirar consentimento',
    onConfirm: async () => {
      errorBox.hidden = true;
      withdrawButton.disabled = true;
      try {
        const list = await api.post('/api/me/consents/withdraw');
        renderHistory(Array.isArray(list) ? list : []);
        status.textContent = 'Seu consentimento foi retirado.';
      } catch (err) {
        errorBox.textContent = errorMessage(err);
        errorBox.hidden = false;
        withdrawButton.disabled = false;
      }
      withdrawButton.focus();
    },
  });

  withdrawButton.addEventListener('click', () => {
    status.textContent = '';
    dialog.open(withdrawButton);
  });

  const reconsent = reconsentPanel(ctx, (list) => {
    renderHistory(list);
    status.textContent = 'Seu consentimento foi registrado.';
  });

  function renderHistory(list) {
    clear(history);
    history.removeAttribute('aria-busy');
    const active = list.some((c) => !c.withdrawn_at);
    withdrawButton.disabled = !active;
    withdrawButton.hidden = !active;
    reconsent.setVisible(!active);
    if (!list.length) {
      history.append(h('p', { class: 'empty', text: 'Nenhum consentimento registrado.' }));
      return;
    }
    const sorted = [...list].sort((a, b) => String(b.accepted_at).localeCompare(String(a.accepted_at)));
    const table = h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden', text: 'Histórico de consentimentos' }),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'Versão dos termos' }),
        h('th', { scope: 'col', text: 'Aceito em' }),
        h('th', { scope: 'col', text: 'Situação' }))),
      h('tbody', null, sorted.map((c) => h('tr', null,
        h('td', { 'data-label': 'Versão', text: c.terms_version }),
        h('td', { 'data-label': 'Aceito em', text: formatDateTime(c.accepted_at) }),
        h('td', { 'data-label': 'Situação' },
          c.withdrawn_at
            ? h('span', { class: 'muted', text: `Retirado em ${formatDateTime(c.withdrawn_at)}` })
            : h('span', { class: 'badge badge-ok', text: 'Ativo' }))))));
    history.append(h('div', { class: 'table-wrap' }, table));
    if (!active) {
      history.append(h('p', { class: 'muted', text: 'Não há consentimento ativo.' }));
    }
  }

  history.setAttribute('aria-busy', 'true');
  history.append(loadingNode());
  api.get('/api/me/consents').then((list) => {
    if (ctx.isCurrent()) renderHistory(Array.isArray(list) ? list : []);
  }).catch((err) => {
    if (!ctx.isCurrent()) return;
    history.removeAttribute('aria-busy');
    clear(history).append(alertNode(errorMessage(err)));
  });

  return h('section', { class: 'panel', 'aria-labelledby': 'privacy-heading' },
    h('h2', { id: 'privacy-heading', text: 'Privacidade (LGPD)' }),
    h('p', null,
      'Pela Lei Geral de Proteção de Dados (Lei nº 13.709/2018), você pode consultar e retirar o consentimento que deu para o tratamento dos seus dados.'),
    h('h3', { text: 'Histórico de consentimentos' }),
    history, errorBox,
    h('div', { class: 'form-actions' }, withdrawButton),
    reconsent.element,
    status,
    exportPanel(),
    dpoNode('dpo'),
    dialog.element);
}

/** "Aceitar os termos novamente": shown while no consent is active. */
function reconsentPanel(ctx, onAccepted) {
  const body = h('div');
  const element = disclosure('Aceitar os termos atuais novamente', body);
  element.hidden = true;
  let loaded = false;

  function load() {
    loaded = true;
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode('Carregando os termos de uso…'));
    api.get('/api/terms').then((terms) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      const version = terms && terms.version ? String(terms.version) : '';
      const form = createForm({
        label: 'Aceitar os termos atuais',
        submitLabel: 'Registrar consentimento',
        busyLabel: 'Registrando…',
        fields: [{
          name: 'accepted_terms',
          type: 'checkbox',
          required: true,
          label: `Li e aceito os termos de uso e a política de privacidade (versão ${version || '—'})`,
        }],
        onSubmit: async () => {
          const list = await api.post('/api/me/consents', { terms_version: version });
          form.reset();
          element.open = false;
          onAccepted(Array.isArray(list) ? list : []);
          return undefined;
        },
      });
      clear(body).append(
        h('div', {
          class: 'terms',
          tabindex: '0',
          role: 'region',
          'aria-label': `Termos de uso e política de privacidade, versão ${version || '—'}`,
          text: (terms && terms.text) || 'Termos indisponíveis.',
        }),
        form.form,
      );
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      loaded = false;
      body.removeAttribute('aria-busy');
      clear(body).append(alertNode(errorMessage(err)));
    });
  }

  element.addEventListener('toggle', () => {
    if (element.open && !loaded) load();
  });

  return {
    element,
    setVisible(visible) {
      element.hidden = !visible;
    },
  };
}

/** Accessible confirmation dialog built on <dialog>. */
function confirmDialog({ title, body, confirmLabel, onConfirm }) {
  const titleId = 'confirm-title';
  const cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Cancelar' });
  const confirm = h('button', { type: 'button', class: 'btn btn-danger', text: confirmLabel });
  const element = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId, text: title }),
    body.map((p) => h('p', { text: p })),
    h('div', { class: 'form-actions' }, cancel, confirm));
  let opener = null;

  cancel.addEventListener('click', () => element.close('cancel'));
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    element.close('confirm');
    try {
      await onConfirm();
    } finally {
      confirm.disabled = false;
    }
  });
  element.addEventListener('close', () => {
    if (element.returnValue !== 'confirm' && opener) opener.focus();
  });

  return {
    element,
    open(from) {
      opener = from;
      element.returnValue = '';
      element.showModal();
      cancel.focus();
    },
  };
}
