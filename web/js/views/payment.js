// @ts-check
// Paying an appointment by Pix, for the patient (the booking confirmation and "Minhas
// consultas"): what it costs, "Pagar com Pix" (the BR Code as a QR code and as "Pix copia e
// cola"), and "Pago" once the clinic's bank reports the Pix.
//
//   GET  /api/clinics/{c}/appointments/{id}/payment       price, status, open charge
//   POST /api/clinics/{c}/appointments/{id}/payment/pix   open (or return the open) charge
//
// Live: `payment.updated {appointment_id, payment}` on the patient's `user:<id>` topic; the
// view that owns the topic calls `update(payment)`.

import { api, ApiError, seg } from '../api.js';
import { money } from '../agenda-util.js';
import { h, clear, copyField, errorMessage, svgDataUrl } from '../ui.js';

/** @type {Record<string, string>} */
const STATUS_TEXT = {
  unpaid: 'A pagar',
  pending: 'Aguardando o Pix',
  paid: 'Pago',
  partially_refunded: 'Pago (devolução parcial)',
  refunded: 'Devolvido',
};

/** @type {Record<string, string>} */
const ERRORS = {
  pix_not_configured: 'Esta clínica ainda não recebe por Pix pelo atende. Pague na recepção.',
  nothing_to_pay: 'Esta consulta não tem valor a pagar.',
  already_paid: 'Esta consulta já está paga.',
  appointment_not_payable: 'Esta consulta foi cancelada.',
  psp_unavailable: 'O banco da clínica não respondeu. Tente novamente em instantes.',
};

/**
 * A payment panel for one appointment.
 * @param {{clinicId: string, appointmentId: string}} opts
 * @returns {{node: HTMLElement, update: (payment: any) => void}}
 */
export function pixPayment({ clinicId, appointmentId }) {
  const base = `/api/clinics/${seg(clinicId)}/appointments/${seg(appointmentId)}/payment`;
  const node = h('div', { class: 'pay-box', dataset: { payment: appointmentId } });
  const status = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  /** @type {any} */
  let current = null;

  function render(/** @type {any} */ p, /** @type {string} */ error = '') {
    current = p;
    clear(node).append(status);
    if (!p) return;
    if (p.price_cents <= 0 && p.status === 'unpaid') return;
    const label = STATUS_TEXT[p.status] || p.status;
    node.dataset.status = p.status;
    node.append(h('p', { class: 'pay-line' },
      h('span', { text: `Valor: ${money(p.price_cents)}` }), ' ',
      h('span', { class: `badge pay-badge pay-${p.status}`, text: label })));
    if (error) node.append(h('p', { class: 'alert alert-error', role: 'alert', text: error }));
    const charge = p.charge;
    if (p.status === 'pending' && charge && charge.status === 'active') {
      const copy = copyField({ label: 'Pix copia e cola', value: charge.br_code, name: 'pix', buttonLabel: 'Copiar código' });
      node.append(
        h('p', { class: 'small', text: 'Abra o app do seu banco, escolha pagar com Pix e leia o QR code ou cole o código.' }),
        charge.qr_svg ? h('img', {
          class: 'qr-img pay-qr', src: svgDataUrl(charge.qr_svg), width: 200, height: 200,
          alt: 'QR code do Pix desta consulta',
        }) : null,
        copy.node,
        h('p', { class: 'muted small', text: 'Assim que o banco confirmar, esta consulta aparece como paga.' }));
    } else if (p.status === 'unpaid') {
      const button = h('button', { type: 'button', class: 'btn btn-primary btn-small', text: 'Pagar com Pix', dataset: { action: 'pay-pix' } });
      button.addEventListener('click', async () => {
        button.disabled = true;
        button.textContent = 'Gerando o Pix…';
        try {
          render(await api.post(`${base}/pix`, {}));
          status.textContent = 'Pix gerado. Pague pelo app do seu banco.';
        } catch (err) {
          const code = err instanceof ApiError ? err.code : '';
          render(current, ERRORS[code] || errorMessage(err));
        }
      });
      node.append(button);
    }
  }

  function update(/** @type {any} */ p) {
    const was = current && current.status;
    render(p);
    if (was !== p.status && p.status === 'paid') status.textContent = 'Pagamento confirmado.';
  }

  api.get(base).then((p) => render(p)).catch(() => clear(node));
  return { node, update };
}
