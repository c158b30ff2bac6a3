// @ts-check
// The clinic's revenue report ("Relatórios"), for clinic administrators: a period (this month
// by default, in the clinic's zone), what was received and given back in total, by payment
// method, professional, service and day — each with a bar to compare at a glance — and
// "Baixar CSV" for the accountant (UTF-8 with BOM, `;` and decimal comma, as Excel in pt-BR
// opens it; or `,` for other spreadsheets).
//
//   GET /api/clinics/{c}/reports/revenue?from=&to=
//   GET /api/clinics/{c}/reports/revenue.csv?from=&to=&sep=semicolon|comma
//
// Below it, for the same period, attendance and occupancy (views/report-attendance.js).

import { api, qs, seg } from '../api.js';
import { mediumDate, monthOf, todayIn } from '../agenda-util.js';
import { capitalize } from '../messages.js';
import { createForm, errorMessage, h, loadInto } from '../ui.js';
import { brl } from './cash.js';
import { saveBlob } from './documents.js';
import { attendanceSection } from './report-attendance.js';

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{membership: import('../types.js').Membership, params: URLSearchParams, homeHref: string}} opts
 */
export function renderReports(ctx, { membership, homeHref }) {
  const clinicId = membership.clinic_id;
  const base = `/api/clinics/${seg(clinicId)}/reports/revenue`;
  document.title = `Relatórios — ${membership.clinic_name} — atende`;
  const result = h('div', { class: 'report-body', 'aria-live': 'polite' });
  const download = h('p', { class: 'form-status', role: 'status' });
  let period = monthOf(todayIn('America/Sao_Paulo'));
  const attendance = attendanceSection(clinicId);

  const form = createForm({
    label: 'Período do relatório',
    className: 'report-period',
    fields: [
      { name: 'from', label: 'De', type: 'date', required: true, value: period.from },
      { name: 'to', label: 'Até', type: 'date', required: true, value: period.to },
      { name: 'sep', label: 'CSV para', type: 'select', noOptionalTag: true, value: 'semicolon', options: [['semicolon', 'Excel (ponto e vírgula)'], ['comma', 'Outras planilhas (vírgula)']] },
    ],
    submitLabel: 'Ver relatório',
    busyLabel: 'Carregando…',
    extraActions: h('button', {
      type: 'button', class: 'btn btn-secondary', text: 'Baixar CSV', dataset: { action: 'csv' },
      onclick: () => csv(),
    }),
    onSubmit: async (values) => {
      period = { from: values.from, to: values.to };
      await show();
      return undefined;
    },
  });

  async function show() {
    attendance.load(period);
    await loadInto(result, () => api.get(`${base}${qs(period)}`), (r) => {
      if (!ctx.isCurrent()) return [];
      if (!r.total.count) return [h('p', { class: 'empty', text: 'Nenhum recebimento neste período.' })];
      return [
        h('dl', { class: 'report-totals', dataset: { report: 'totals' } },
          total('Recebido', r.total.received_cents),
          total('Devolvido', r.total.refunded_cents),
          total('Líquido', r.total.net_cents)),
        h('div', { class: 'grid-2' },
          table('Por forma de pagamento', 'method', r.by_method),
          table('Por profissional', 'professional', r.by_professional)),
        h('div', { class: 'grid-2' },
          table('Por serviço', 'service', r.by_service),
          table('Por dia', 'day', r.by_day.map((/** @type {any} */ d) => ({ ...d, label: mediumDate(d.key) })))),
      ];
    });
  }

  async function csv() {
    download.textContent = 'Gerando o CSV…';
    const sep = /** @type {HTMLSelectElement|undefined} */ (form.get('sep')?.input)?.value || 'semicolon';
    try {
      const blob = await api.download(`${base}.csv${qs({ ...period, sep })}`);
      saveBlob(blob, `receitas-${period.from}-a-${period.to}.csv`);
      download.textContent = 'CSV baixado.';
    } catch (err) {
      download.textContent = `Não foi possível gerar o CSV. ${errorMessage(err)}`;
    }
  }

  // The month of the clinic's today.
  api.get(`/api/clinics/${seg(clinicId)}`).then((c) => {
    if (c && c.time_zone) {
      period = monthOf(todayIn(c.time_zone));
      const from = form.get('from');
      const to = form.get('to');
      if (from) from.input.value = period.from;
      if (to) to.input.value = period.to;
    }
  }).catch(() => {}).finally(() => show());
  return h('div', { class: 'view', dataset: { view: 'reports' } },
    h('div', { class: 'view-header' },
      h('h1', { tabindex: '-1', text: `Relatórios — ${membership.clinic_name}` }),
      h('a', { class: 'btn btn-secondary btn-small', href: homeHref, text: 'Voltar à clínica' })),
    h('section', { class: 'panel', 'aria-labelledby': 'report-heading' },
      h('h2', { id: 'report-heading', text: 'Receitas' }),
      h('p', { class: 'muted', text: 'Pix, cartão e dinheiro recebidos no período, menos as devoluções, a partir do livro-caixa da clínica.' }),
      form.form, download, result),
    attendance.node);
}

/** A bar `share` (0–1) of its cell wide (set through the CSSOM: the CSP refuses style attributes). */
function bar(/** @type {number} */ share) {
  const el = h('span', { class: 'report-bar', 'aria-hidden': 'true' });
  el.style.inlineSize = `${Math.round(share * 100)}%`;
  return el;
}

function total(/** @type {string} */ label, /** @type {number} */ cents) {
  return h('div', { class: 'report-total' }, h('dt', { text: label }), h('dd', { text: brl(cents) }));
}

/**
 * A group's table with a bar per row (its share of the largest net).
 * @param {string} caption @param {string} kind @param {any[]} rows
 */
function table(caption, kind, rows) {
  const max = Math.max(1, ...rows.map((r) => Math.abs(r.sums.net_cents)));
  return h('section', { class: 'report-group', dataset: { report: kind } },
    h('h3', { text: caption }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h('thead', null, h('tr', null, [capitalize(caption.replace('Por ', '')), 'Recebido', 'Devolvido', 'Líquido'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', null, rows.map((r) => h('tr', { dataset: { key: r.key } },
        h('th', { scope: 'row', 'data-label': 'Grupo' }, r.label, bar(Math.abs(r.sums.net_cents) / max)),
        h('td', { 'data-label': 'Recebido', text: brl(r.sums.received_cents) }),
        h('td', { 'data-label': 'Devolvido', text: brl(r.sums.refunded_cents) }),
        h('td', { 'data-label': 'Líquido', text: brl(r.sums.net_cents) })))))));
}
