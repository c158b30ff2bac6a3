// @ts-check
// "Painel e check-in" on the staff homes:
// - everyone on the staff: the self check-in QR code (big, printable) and its link;
// - clinic administrators also: a new check-in code, a link for the TV call panel (shown
//   once), and the call order rules (strict priority or alternating) and the default
//   service time used for the estimated waits.

import { api, seg } from '../api.js';
import {
  h, alertNode, append, clear, copyField, createForm, errorMessage, loadingNode, svgDataUrl,
} from '../ui.js';

const MODE_LABELS = {
  strict: 'Prioridades sempre primeiro',
  alternate: 'Alternar prioridades com os demais',
};

/** Print only the QR code card (see `body.print-qr` in css/queue.css). */
function printQr() {
  document.body.classList.add('print-qr');
  const done = () => {
    document.body.classList.remove('print-qr');
    window.removeEventListener('afterprint', done);
  };
  window.addEventListener('afterprint', done);
  window.print();
  // Browsers without `afterprint` (or a print dialog that never opened).
  setTimeout(done, 60_000);
}

/** A two-step confirmation next to a button (no modal). */
function confirmStep({ question, confirmLabel, onConfirm }) {
  const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: confirmLabel });
  const no = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Cancelar' });
  const node = h('div', { class: 'confirm-step', role: 'group', 'aria-label': question, hidden: true },
    h('p', { class: 'confirm-question', text: question }),
    h('div', { class: 'form-actions' }, yes, no));
  let opener = null;
  function close() {
    node.hidden = true;
    if (opener) opener.focus();
  }
  no.addEventListener('click', close);
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await onConfirm();
    } finally {
      yes.disabled = false;
      node.hidden = true;
    }
  });
  return {
    node,
    open(from) {
      opener = from;
      node.hidden = false;
      no.focus();
    },
  };
}

/**
 * The section. `membership`: the staff membership the home is for.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Membership} membership
 */
export function waitingRoomSetupPanel(ctx, membership) {
  const clinicId = membership.clinic_id;
  const admin = membership.role === 'clinic_admin';
  const base = `/api/clinics/${seg(clinicId)}/queue`;
  const headingId = 'wr-setup-heading';

  const checkinBox = h('div', { class: 'wr-checkin' });
  const tvBox = h('div', { class: 'wr-tv' });
  const settingsBox = h('div', { class: 'wr-settings' });

  const section = h('section', { class: 'panel wr-setup', 'aria-labelledby': headingId, dataset: { queue: 'setup' } },
    h('h2', { id: headingId, text: 'Painel e check-in' }),
    h('div', { class: 'wr-setup-grid' }, checkinBox, tvBox),
    settingsBox);

  // ------------------------------------------------------ check-in QR ---
  const qrStatus = h('p', { class: 'form-status', role: 'status' });
  const qrError = h('div', { class: 'wr-error' });
  const qrCard = h('div', { class: 'qr-print' });
  const linkSlot = h('div', { class: 'wr-link' });

  function showLink(link) {
    clear(qrCard).append(
      h('p', { class: 'qr-print-title', text: membership.clinic_name }),
      h('p', { class: 'qr-print-lead', text: 'Chegou? Faça seu check-in pelo celular' }),
      link.qr_svg
        ? h('img', {
          class: 'qr-img',
          src: svgDataUrl(link.qr_svg),
          alt: `QR code do check-in da ${membership.clinic_name}`,
          width: 320,
          height: 320,
        })
        : h('p', { class: 'muted', text: 'QR code indisponível: use o link abaixo.' }),
      h('p', { class: 'qr-print-steps', text: 'Aponte a câmera do celular para o código, informe CPF e data de nascimento e acompanhe sua vez.' }),
      h('p', { class: 'qr-print-url', text: link.url }));
    clear(linkSlot).append(copyField({ label: 'Link do check-in', value: link.url, name: 'checkin-link' }).node);
  }

  const printButton = h('button', { type: 'button', class: 'btn btn-primary', text: 'Imprimir QR code', onclick: printQr });
  const rotateButton = admin ? h('button', { type: 'button', class: 'btn btn-secondary', text: 'Gerar novo código' }) : null;
  const rotateConfirm = admin ? confirmStep({
    question: 'Gerar um novo código? O QR code impresso hoje deixará de funcionar.',
    confirmLabel: 'Sim, gerar novo código',
    onConfirm: async () => {
      clear(qrError);
      qrStatus.textContent = '';
      try {
        showLink(await api.post(`${base}/checkin-link`));
        qrStatus.textContent = 'Novo código gerado. Imprima o QR code novamente.';
      } catch (err) {
        qrError.append(alertNode(errorMessage(err)));
      }
      rotateButton.focus();
    },
  }) : null;
  if (rotateButton) rotateButton.addEventListener('click', () => rotateConfirm.open(rotateButton));

  append(checkinBox, [
    h('h3', { class: 'h3', text: 'Check-in pelo celular' }),
    h('p', { class: 'muted', text: 'Deixe este QR code na recepção: o paciente cadastrado faz o check-in sozinho e acompanha a fila pelo celular.' }),
    qrError, qrCard, linkSlot,
    h('div', { class: 'form-actions' }, printButton, rotateButton),
    rotateConfirm ? rotateConfirm.node : null,
    qrStatus]);
  qrCard.append(loadingNode());
  api.get(`${base}/checkin-link`).then((link) => {
    if (ctx.isCurrent()) showLink(link);
  }, (err) => {
    if (!ctx.isCurrent()) return;
    clear(qrCard);
    qrError.append(alertNode(errorMessage(err)));
  });

  // ------------------------------------------------------- TV panel ---
  if (!admin) {
    tvBox.append(
      h('h3', { class: 'h3', text: 'Painel de chamadas (TV)' }),
      h('p', { class: 'muted', text: 'O painel mostra na TV da sala de espera as senhas chamadas e a sala. Para abri-lo na TV, peça o link à administração da clínica.' }));
  } else {
    const tvStatus = h('p', { class: 'muted wr-tv-status' });
    const tvError = h('div', { class: 'wr-error' });
    const tvResult = h('div', { class: 'wr-tv-result', hidden: true });
    const tvButton = h('button', { type: 'button', class: 'btn btn-primary', text: 'Gerar link do painel' });
    let configured = false;

    async function createPanelLink() {
      clear(tvError);
      tvButton.disabled = true;
      try {
        const res = await api.post(`${base}/panel-token`);
        const url = new URL(res.path, location.origin).href;
        clear(tvResult).append(
          h('p', { class: 'note note-warn', text: 'Guarde este link agora: ele não será mostrado de novo. Quem tiver o link vê as chamadas; gerar outro desativa este.' }),
          copyField({ label: 'Link do painel', value: url, name: 'panel-link' }).node,
          h('p', null, h('a', {
            class: 'btn btn-secondary', href: url, target: '_blank', rel: 'noopener noreferrer', text: 'Abrir painel',
          })));
        tvResult.hidden = false;
        setConfigured(true);
      } catch (err) {
        tvError.append(alertNode(errorMessage(err)));
      } finally {
        tvButton.disabled = false;
      }
    }

    const tvConfirm = confirmStep({
      question: 'Gerar um novo link? A TV que usa o link atual deixará de mostrar as chamadas.',
      confirmLabel: 'Sim, gerar novo link',
      onConfirm: async () => {
        await createPanelLink();
        tvButton.focus();
      },
    });

    function setConfigured(value) {
      configured = value;
      tvStatus.textContent = configured
        ? 'Já existe um painel configurado. Gerar um novo link desativa o anterior.'
        : 'Nenhum painel configurado ainda.';
      tvButton.textContent = configured ? 'Gerar novo link do painel' : 'Gerar link do painel';
    }

    tvButton.addEventListener('click', () => {
      if (configured) tvConfirm.open(tvButton);
      else createPanelLink();
    });

    tvBox.append(
      h('h3', { class: 'h3', text: 'Painel de chamadas (TV)' }),
      h('p', { class: 'muted', text: 'Abra o link no navegador da TV da sala de espera: ele mostra as senhas chamadas, o nome abreviado e a sala, com aviso sonoro.' }),
      tvStatus, tvError,
      h('div', { class: 'form-actions' }, tvButton),
      tvConfirm.node,
      tvResult);
    setConfigured(false);
    tvStatus.textContent = '';

    // ---------------------------------------------------- settings ---
    settingsBox.append(loadingNode());
    api.get(`${base}/settings`).then((settings) => {
      if (!ctx.isCurrent()) return;
      setConfigured(Boolean(settings.panel_configured));
      clear(settingsBox).append(...settingsForm(base, settings));
    }, (err) => {
      if (!ctx.isCurrent()) return;
      clear(settingsBox).append(alertNode(errorMessage(err)));
    });
  }

  return section;
}

function numberCheck(min, max, message) {
  return (value) => {
    const n = Number(value);
    return Number.isInteger(n) && n >= min && n <= max ? null : message;
  };
}

function settingsForm(base, settings) {
  const ctrl = createForm({
    label: 'Ordem de chamada e estimativas',
    submitLabel: 'Salvar regras',
    busyLabel: 'Salvando…',
    className: 'form-grid wr-settings-form',
    codeToField: {
      invalid_priority_mode: 'priority_mode',
      invalid_priority_run: 'priority_run',
      invalid_service_minutes: 'default_service_minutes',
    },
    fields: [
      {
        name: 'priority_mode',
        label: 'Ordem de chamada',
        type: 'select',
        required: true,
        wide: true,
        value: settings.priority_mode,
        options: [
          ['strict', 'Prioridades sempre primeiro (estrita)'],
          ['alternate', 'Alternar: depois de algumas prioridades, chamar uma pessoa sem prioridade'],
        ],
        hint: 'Pessoas com prioridade legal (idosos, gestantes, pessoas com deficiência…) são sempre chamadas antes na ordem estrita.',
      },
      {
        name: 'priority_run',
        label: 'Prioridades seguidas antes de uma chamada sem prioridade',
        type: 'number',
        required: true,
        inputmode: 'numeric',
        value: settings.priority_run,
        hint: 'De 1 a 10. Vale só no modo alternado.',
        validate: numberCheck(1, 10, 'Use um número de 1 a 10.'),
      },
      {
        name: 'default_service_minutes',
        label: 'Tempo padrão de atendimento (minutos)',
        type: 'number',
        required: true,
        inputmode: 'numeric',
        value: settings.default_service_minutes,
        hint: 'De 1 a 240. Usado na espera estimada enquanto o profissional não tem atendimentos recentes.',
        validate: numberCheck(1, 240, 'Use um número de 1 a 240.'),
      },
    ],
    onSubmit: async (values) => {
      const saved = await api.put(`${base}/settings`, {
        priority_mode: values.priority_mode,
        priority_run: Number(values.priority_run),
        default_service_minutes: Number(values.default_service_minutes),
      });
      syncRun(saved.priority_mode);
      return `Regras salvas: ${MODE_LABELS[saved.priority_mode] || saved.priority_mode}`
        + (saved.priority_mode === 'alternate' ? ` (a cada ${saved.priority_run})` : '')
        + `; tempo padrão de ${saved.default_service_minutes} min.`;
    },
  });
  const mode = ctrl.get('priority_mode').input;
  const run = ctrl.get('priority_run').input;
  /** @type {Array<[HTMLInputElement, number, number]>} */
  const limits = [[/** @type {HTMLInputElement} */ (run), 1, 10],
    [/** @type {HTMLInputElement} */ (ctrl.get('default_service_minutes').input), 1, 240]];
  for (const [input, min, max] of limits) {
    input.min = String(min);
    input.max = String(max);
    input.step = '1';
  }
  function syncRun(value) {
    // The count only matters when alternating (it stays editable to prepare a change).
    ctrl.get('priority_run').wrap.classList.toggle('is-inactive', value !== 'alternate');
  }
  mode.addEventListener('change', () => syncRun(mode.value));
  syncRun(settings.priority_mode);
  return [
    h('h3', { class: 'h3', text: 'Ordem de chamada e estimativas' }),
    ctrl.form,
  ];
}
