// @ts-check
// The front desk's cash register ("Caixa"), for receptionists and clinic administrators:
// open it with the drawer's change, take payments and refunds (cash, the card machine with
// its NSU, Pix at the counter), see each method's totals and what the drawer should hold, and
// close it with the counted cash (the report shows what is over or missing). Administrators
// also read any day's closings and record an audited adjustment on a closed one.
//
//   GET  /api/clinics/{c}/cash                                  the caller's open session
//   POST /api/clinics/{c}/cash/open | movements | close
//   GET  /api/clinics/{c}/cash/sessions?date=YYYY-MM-DD         a day's sessions (admin)
//   POST /api/clinics/{c}/cash/sessions/{s}/adjustments         (admin)
//
// `#/clinica/{c}/caixa?consulta={id}` opens with the payment form filled for that
// appointment ("Receber no caixa" in the agenda's appointment dialog leaves its description
// in sessionStorage under `cashPrefillKey(id)`; the amount due comes from its payment):
// paying it here turns it "Pago" on every agenda screen and in the patient's list, live.

import { api, ApiError, qs, seg } from '../api.js';
import { parseMoney, sessionGet, timeIn, todayIn, whenText } from '../agenda-util.js';
import { createForm, disclosure, errorMessage, h, loadInto } from '../ui.js';

/** @type {Record<string, string>} */
const METHODS = { cash: 'Dinheiro', card: 'Cartão (maquininha)', pix: 'Pix' };
/** @type {Record<string, string>} */
const KINDS = { payment: 'Recebimento', refund: 'Devolução', adjustment: 'Ajuste' };
/** @type {Record<string, string>} */
const ERRORS = {
  cash_session_open: 'Você já tem um caixa aberto nesta clínica.',
  no_open_cash_session: 'Abra o caixa antes de registrar.',
  nsu_required: 'Informe o NSU do comprovante da maquininha.',
  invalid_nsu: 'NSU: até 20 letras ou números.',
  invalid_amount: 'Informe um valor maior que zero.',
  unknown_appointment: 'Consulta não encontrada nesta clínica.',
};

/** Where the agenda leaves the description of the appointment to charge. */
export function cashPrefillKey(/** @type {string} */ appointmentId) {
  return `atende.cash.for.${appointmentId}`;
}

/** "R$ 0,00", "-R$ 5,00": every amount of the register, zero included. */
export function brl(/** @type {number} */ cents) {
  return new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' }).format((cents || 0) / 100);
}

/** Centavos from a form field, or an error for the field. */
function amountOf(/** @type {string|undefined} */ text) {
  const cents = parseMoney(text || '');
  return cents === null || cents <= 0 ? null : cents;
}

function failure(/** @type {unknown} */ err) {
  return (err instanceof ApiError && ERRORS[err.code]) || errorMessage(err);
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{membership: import('../types.js').Membership, params: URLSearchParams, homeHref: string}} opts
 */
export function renderCash(ctx, { membership, params, homeHref }) {
  const clinicId = membership.clinic_id;
  const base = `/api/clinics/${seg(clinicId)}/cash`;
  let tz = 'America/Sao_Paulo';
  document.title = `Caixa — ${membership.clinic_name} — atende`;
  const body = h('div', { class: 'cash-body' });
  const root = h('div', { class: 'view', dataset: { view: 'cash' } },
    h('div', { class: 'view-header' },
      h('h1', { tabindex: '-1', text: `Caixa — ${membership.clinic_name}` }),
      h('a', { class: 'btn btn-secondary btn-small', href: homeHref, text: 'Voltar à clínica' })),
    body);

  /** The appointment to charge, from "Receber no caixa". */
  const forAppointment = params.get('consulta');
  /** @type {Promise<any>|null} */
  const prefill = forAppointment
    ? api.get(`/api/clinics/${seg(clinicId)}/appointments/${seg(forAppointment)}/payment`)
      .then((payment) => ({ payment, description: sessionGet(cashPrefillKey(forAppointment)) || 'Consulta' }))
      .catch(() => null)
    : null;
  const clinic = api.get(`/api/clinics/${seg(clinicId)}`).then((c) => {
    if (c && c.time_zone) tz = c.time_zone;
  }).catch(() => {});

  async function load() {
    await clinic;
    const filled = prefill ? await prefill : null;
    await loadInto(body, () => api.get(base), (session) => {
      if (!ctx.isCurrent()) return [];
      const parts = session ? [openSession(session, filled)] : [closedPanel()];
      if (membership.role === 'clinic_admin') parts.push(dayPanel());
      return parts;
    });
  }

  function closedPanel() {
    const form = createForm({
      label: 'Abrir o caixa',
      fields: [{
        name: 'opening', label: 'Troco na gaveta (R$)', inputmode: 'decimal', required: true, value: '0,00',
        hint: 'O dinheiro que já está na gaveta ao abrir.',
        validate: (v) => (parseMoney(v) === null ? 'Informe um valor em reais, como 100,00.' : null),
      }],
      submitLabel: 'Abrir caixa',
      busyLabel: 'Abrindo…',
      onSubmit: async (values) => {
        try {
          await api.post(`${base}/open`, { opening_cents: parseMoney(values.opening) || 0 });
        } catch (err) {
          throw new Error(failure(err));
        }
        await load();
        return undefined;
      },
    });
    return h('section', { class: 'panel', 'aria-labelledby': 'cash-closed-heading', dataset: { cash: 'closed' } },
      h('h2', { id: 'cash-closed-heading', text: 'Caixa fechado' }),
      h('p', { class: 'muted', text: 'Abra o caixa para registrar os pagamentos recebidos na recepção.' }),
      form.form);
  }

  /** @param {any} s the open session @param {any} filled the appointment to charge */
  function openSession(s, filled) {
    const section = h('section', { class: 'panel', 'aria-labelledby': 'cash-open-heading', dataset: { cash: 'open', session: s.id } },
      h('h2', { id: 'cash-open-heading', text: 'Caixa aberto' }),
      h('p', { class: 'muted' }, `Aberto ${whenText(s.opened_at, tz)} com ${brl(s.opening_cents)} de troco. `,
        h('strong', { dataset: { cash: 'expected' }, text: `Na gaveta agora: ${brl(s.expected_cash_cents)}` })),
      totalsTable(s.totals, 'Totais deste caixa'));
    const record = movementForm(filled);
    section.append(
      h('h3', { text: 'Registrar' }), record.form,
      h('h3', { text: 'Movimentos' }), movementsTable(s.movements, tz),
      h('h3', { text: 'Fechar o caixa' }), closeForm(s).form);
    return section;
  }

  /** @param {{payment: any, description: string}|null} filled */
  function movementForm(filled) {
    const payment = filled && filled.payment;
    const apptId = payment ? payment.appointment_id : null;
    const due = payment ? Math.max(0, payment.price_cents - payment.paid_cents + payment.refunded_cents) : 0;
    const description = filled ? filled.description : '';
    const form = createForm({
      label: 'Registrar movimento',
      fields: [
        { name: 'kind', label: 'Tipo', type: 'select', noOptionalTag: true, value: 'payment', options: Object.entries(KINDS).filter(([k]) => k !== 'adjustment') },
        { name: 'method', label: 'Forma', type: 'select', noOptionalTag: true, value: 'cash', options: Object.entries(METHODS) },
        {
          name: 'amount', label: 'Valor (R$)', inputmode: 'decimal', required: true,
          value: due ? (due / 100).toFixed(2).replace('.', ',') : '',
          validate: (v) => (amountOf(v) === null ? 'Informe um valor maior que zero, como 150,00.' : null),
        },
        { name: 'nsu', label: 'NSU do comprovante', maxlength: 20, hint: 'Obrigatório para cartão.' },
        { name: 'description', label: 'Descrição', maxlength: 200, value: description, wide: true },
      ],
      submitLabel: 'Registrar',
      busyLabel: 'Registrando…',
      codeToField: { nsu_required: 'nsu', invalid_nsu: 'nsu', invalid_amount: 'amount', invalid_description: 'description' },
      onSubmit: async (values) => {
        const movement = {
          kind: values.kind,
          method: values.method,
          amount_cents: amountOf(values.amount),
          nsu: values.method === 'card' ? values.nsu : undefined,
          description: values.description,
          appointment_id: apptId || undefined,
        };
        await api.post(`${base}/movements`, movement);
        if (apptId) ctx.navigate(`#/clinica/${seg(clinicId)}/caixa${qs({ papel: params.get('papel') })}`, { replace: true });
        else await load();
        return undefined;
      },
    });
    const nsu = form.get('nsu');
    const method = form.get('method');
    if (nsu && method) {
      const sync = () => { nsu.wrap.hidden = method.input.value !== 'card'; };
      method.input.addEventListener('change', sync);
      sync();
    }
    if (apptId) {
      form.form.prepend(h('p', { class: 'alert alert-info', dataset: { cash: 'for-appointment' } },
        `Recebendo: ${description}.`, payment.status === 'paid' ? ' Esta consulta já está paga.' : ''));
    }
    return form;
  }

  /** @param {any} s */
  function closeForm(s) {
    return createForm({
      label: 'Fechar o caixa',
      fields: [
        {
          name: 'counted', label: 'Dinheiro contado na gaveta (R$)', inputmode: 'decimal', required: true,
          hint: `O sistema espera ${brl(s.expected_cash_cents)}.`,
          validate: (v) => (parseMoney(v) === null ? 'Informe o valor contado, como 250,00.' : null),
        },
        { name: 'note', label: 'Observação', maxlength: 500, wide: true },
      ],
      submitLabel: 'Fechar caixa',
      busyLabel: 'Fechando…',
      onSubmit: async (values) => {
        let report;
        try {
          report = await api.post(`${base}/close`, { counted_cents: parseMoney(values.counted) || 0, note: values.note });
        } catch (err) {
          throw new Error(failure(err));
        }
        body.replaceChildren(closingReport(report),
          h('p', null, h('button', { type: 'button', class: 'btn btn-secondary', text: 'Abrir outro caixa', onclick: () => load() })));
        const heading = body.querySelector('h2');
        if (heading instanceof HTMLElement) { heading.tabIndex = -1; heading.focus(); }
        return undefined;
      },
    });
  }

  /** @param {any} s a closed session */
  function closingReport(s) {
    const diff = s.difference_cents || 0;
    const diffText = diff === 0 ? 'Sem diferença' : diff > 0 ? `Sobra de ${brl(diff)}` : `Falta de ${brl(-diff)}`;
    return h('section', { class: 'panel', 'aria-labelledby': `cash-report-${s.id}`, dataset: { cash: 'report', session: s.id } },
      h('h2', { id: `cash-report-${s.id}`, text: `Fechamento — aberto ${whenText(s.opened_at, tz)}${s.closed_at ? `, fechado às ${timeIn(s.closed_at, tz)}` : ''}` }),
      h('dl', { class: 'details' },
        ...[
          ['Troco inicial', brl(s.opening_cents)],
          ['Dinheiro esperado', brl(s.expected_cash_cents)],
          ['Dinheiro contado', brl(s.counted_cents)],
          ['Diferença', diffText],
          s.note ? ['Observação', s.note] : null,
        ].filter(Boolean).map((row) => h('div', { class: 'details-row' }, h('dt', { text: row[0] }), h('dd', { text: row[1] })))),
      totalsTable(s.totals, 'Totais por forma de pagamento'),
      movementsTable(s.movements, tz));
  }

  function dayPanel() {
    const list = h('div', { class: 'cash-day' });
    const form = createForm({
      label: 'Fechamentos de um dia',
      fields: [{ name: 'date', label: 'Dia', type: 'date', required: true, value: todayIn(tz) }],
      submitLabel: 'Ver fechamentos',
      onSubmit: async (values) => {
        showDay(values.date);
        return undefined;
      },
    });
    function showDay(/** @type {string} */ date) {
      loadInto(list, () => api.get(`${base}/sessions${qs({ date })}`), (sessions) => {
        const rows = Array.isArray(sessions) ? sessions : [];
        if (!rows.length) return [h('p', { class: 'empty', text: 'Nenhum caixa aberto neste dia.' })];
        return rows.map((s) => (s.closed_at
          ? h('div', null, closingReport(s), disclosure('Registrar ajuste', adjustForm(s, () => showDay(date)).form))
          : h('p', { class: 'muted', text: `Caixa aberto desde ${whenText(s.opened_at, tz)}, ainda não fechado.` })));
      });
    }
    showDay(todayIn(tz));
    return h('section', { class: 'panel', 'aria-labelledby': 'cash-day-heading', dataset: { cash: 'day' } },
      h('h2', { id: 'cash-day-heading', text: 'Fechamentos do dia' }), form.form, list);
  }

  /** An administrator's correction of a closed session (audited). */
  function adjustForm(/** @type {any} */ s, /** @type {() => void} */ done) {
    return createForm({
      label: 'Ajuste do caixa',
      fields: [
        { name: 'method', label: 'Forma', type: 'select', noOptionalTag: true, value: 'cash', options: Object.entries(METHODS) },
        { name: 'direction', label: 'Ajuste', type: 'select', noOptionalTag: true, value: 'found', options: [['found', 'Dinheiro a mais (entrada)'], ['missing', 'Dinheiro a menos (saída)']] },
        {
          name: 'amount', label: 'Valor (R$)', inputmode: 'decimal', required: true,
          validate: (v) => (amountOf(v) === null ? 'Informe um valor maior que zero.' : null),
        },
        { name: 'reason', label: 'Motivo', required: true, maxlength: 200, wide: true },
      ],
      submitLabel: 'Registrar ajuste',
      onSubmit: async (values) => {
        const cents = amountOf(values.amount) || 0;
        try {
          await api.post(`${base}/sessions/${seg(s.id)}/adjustments`, {
            method: values.method, amount_cents: values.direction === 'missing' ? -cents : cents, reason: values.reason,
          });
        } catch (err) {
          throw new Error(failure(err));
        }
        done();
        return 'Ajuste registrado.';
      },
    });
  }

  load();
  return root;
}

/** @param {any[]} totals @param {string} caption */
function totalsTable(totals, caption) {
  const rows = (Array.isArray(totals) ? totals : []);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', dataset: { cash: 'totals' } },
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', null, h('tr', null, ['Forma', 'Recebido', 'Devolvido', 'Ajustes', 'Líquido'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', null, rows.map((t) => h('tr', { dataset: { method: t.method } },
      h('th', { scope: 'row', 'data-label': 'Forma', text: METHODS[t.method] || t.method }),
      h('td', { 'data-label': 'Recebido', text: brl(t.payments_cents) }),
      h('td', { 'data-label': 'Devolvido', text: brl(t.refunds_cents) }),
      h('td', { 'data-label': 'Ajustes', text: brl(t.adjustments_cents) }),
      h('td', { 'data-label': 'Líquido', dataset: { net: String(t.net_cents) }, text: brl(t.net_cents) }))))));
}

/** @param {any[]} movements @param {string} tz */
function movementsTable(movements, tz) {
  const rows = Array.isArray(movements) ? movements : [];
  if (!rows.length) return h('p', { class: 'empty', text: 'Nenhum movimento ainda.' });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', dataset: { cash: 'movements' } },
    h('caption', { class: 'visually-hidden', text: 'Movimentos do caixa' }),
    h('thead', null, h('tr', null, ['Hora', 'Tipo', 'Forma', 'Valor', 'NSU', 'Descrição'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', null, rows.map((m) => h('tr', { dataset: { kind: m.kind } },
      h('td', { 'data-label': 'Hora', text: timeIn(m.created_at, tz) }),
      h('td', { 'data-label': 'Tipo', text: KINDS[m.kind] || m.kind }),
      h('td', { 'data-label': 'Forma', text: METHODS[m.method] || m.method }),
      h('td', { 'data-label': 'Valor', text: brl(m.kind === 'refund' ? -m.amount_cents : m.amount_cents) }),
      h('td', { 'data-label': 'NSU', text: m.nsu || '—' }),
      h('td', { 'data-label': 'Descrição', text: m.description || '—' }))))));
}
