// @ts-check
// "Comparecimento e ocupação" on the clinic's reports page: per professional, the period's
// appointments and how they ended, the share of patients who did not come, and how full the
// agenda was (booked over offered hours), each with a bar.
//
//   GET /api/clinics/{c}/reports/attendance?from=&to=

import { api, qs, seg } from '../api.js';
import { professionalName } from '../messages.js';
import { h, loadInto } from '../ui.js';

/** "37 %" (one decimal under 10 %), or "—" when there is nothing to measure. */
export function percent(/** @type {number|null|undefined} */ share) {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  const p = share * 100;
  return `${p.toLocaleString('pt-BR', { maximumFractionDigits: p < 10 ? 1 : 0 })} %`;
}

/** "12 h 30 min" from minutes. */
export function hoursText(/** @type {number} */ minutes) {
  const h_ = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (!h_) return `${m} min`;
  return m ? `${h_} h ${m} min` : `${h_} h`;
}

/** A bar `share` (0–1, capped) wide; set through the CSSOM (the CSP refuses style attributes). */
function bar(/** @type {number|null} */ share, /** @type {string} */ kind) {
  const el = h('span', { class: `report-bar report-bar-${kind}`, 'aria-hidden': 'true' });
  el.style.inlineSize = `${Math.round(Math.min(1, Math.max(0, share || 0)) * 100)}%`;
  return el;
}

/**
 * The section; `load(period)` fills it for a period.
 * @param {string} clinicId
 */
export function attendanceSection(clinicId) {
  const body = h('div', { class: 'report-body', 'aria-live': 'polite' });
  const node = h('section', { class: 'panel', 'aria-labelledby': 'attendance-heading', dataset: { report: 'attendance' } },
    h('h2', { id: 'attendance-heading', text: 'Comparecimento e ocupação' }),
    h('p', { class: 'muted', text: 'Consultas do período por profissional: realizadas, faltas, canceladas, a taxa de faltas (entre as consultas já decididas) e a ocupação da agenda (horas agendadas sobre as horas de atendimento, descontados os bloqueios).' }),
    body);

  /** @param {{from: string, to: string}} period */
  async function load(period) {
    await loadInto(body, () => api.get(`/api/clinics/${seg(clinicId)}/reports/attendance${qs(period)}`), (r) => {
      const rows = (r.professionals || []).filter((/** @type {any} */ p) => p.appointments || p.cancelled || p.offered_minutes);
      if (!rows.length) return [h('p', { class: 'empty', text: 'Nenhum profissional com agenda neste período.' })];
      const t = r.total;
      return [
        h('dl', { class: 'report-totals', dataset: { report: 'attendance-totals' } },
          item('Consultas', String(t.appointments)),
          item('Taxa de faltas', percent(t.no_show_rate)),
          item('Ocupação', percent(t.occupancy))),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('caption', { class: 'visually-hidden', text: 'Comparecimento e ocupação por profissional' }),
          h('thead', null, h('tr', null, ['Profissional', 'Consultas', 'Realizadas', 'Faltas', 'Canceladas', 'Taxa de faltas', 'Ocupação']
            .map((x) => h('th', { scope: 'col', text: x })))),
          h('tbody', null, rows.map((/** @type {any} */ p) => h('tr', { dataset: { key: p.user_id } },
            h('th', { scope: 'row', 'data-label': 'Profissional', text: professionalName({ name: p.name, profession: p.profession, gender: p.gender }) || p.name }),
            h('td', { 'data-label': 'Consultas', text: String(p.appointments) }),
            h('td', { 'data-label': 'Realizadas', text: String(p.done) }),
            h('td', { 'data-label': 'Faltas', text: String(p.no_show) }),
            h('td', { 'data-label': 'Canceladas', text: String(p.cancelled) }),
            h('td', { 'data-label': 'Taxa de faltas' }, percent(p.no_show_rate), bar(p.no_show_rate, 'warn')),
            h('td', {
              'data-label': 'Ocupação',
              title: `${hoursText(p.booked_minutes)} agendadas de ${hoursText(p.offered_minutes)} de atendimento`,
            }, percent(p.occupancy), bar(p.occupancy, 'fill')))))))];
    });
  }
  return { node, load };
}

function item(/** @type {string} */ label, /** @type {string} */ value) {
  return h('div', { class: 'report-total' }, h('dt', { text: label }), h('dd', { text: value }));
}
