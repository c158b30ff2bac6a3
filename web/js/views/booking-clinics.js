// @ts-check
// "Agendar consulta" (#/agendar): the first step of booking from inside the app — choose the
// clinic; its booking page (#/agendar/{clinic}, views/booking.js) then takes the
// professional, the service and a slot with live availability, and confirms.
//
//   GET /api/public/clinics     the clinics that take bookings, by name

import { api, seg } from '../api.js';
import { h, clear, alertNode, errorMessage, loadingNode } from '../ui.js';
import { clinicName, join } from '../messages.js';

/**
 * @param {import('../types.js').ViewContext} ctx
 */
export function renderBookingClinics(ctx) {
  document.title = 'Agendar consulta — atende';
  const listBox = h('div', { class: 'bk-clinics', 'aria-live': 'polite' }, loadingNode());
  const root = h('div', { class: 'view view-medium bk-view', dataset: { view: 'booking-clinics' } },
    h('h1', { tabindex: '-1', text: 'Agendar consulta' }),
    h('p', { class: 'lead', text: 'Escolha a clínica. Em seguida, o profissional e um horário livre.' }),
    h('section', { class: 'panel bk-step', 'aria-labelledby': 'bk-clinic-step' },
      h('h2', { id: 'bk-clinic-step', class: 'bk-step-title' },
        h('span', { class: 'bk-step-n', 'aria-hidden': 'true', text: '1' }), 'Clínica'),
      listBox));

  async function load() {
    try {
      const list = await api.get('/api/public/clinics');
      if (!ctx.isCurrent()) return;
      const clinics = Array.isArray(list) ? list : [];
      clear(listBox).append(clinics.length
        ? h('ul', { class: 'card-list bk-clinic-list' }, clinics.map((c) => h('li', { class: 'card' },
          h('a', {
            class: 'card-title bk-clinic-link',
            href: `#/agendar/${seg(c.clinic_id)}`,
            dataset: { clinicId: c.clinic_id },
            text: clinicName(c.name),
          }),
          h('span', { class: 'card-meta', text: join([c.city, c.uf], ' — ') }))))
        : h('p', { class: 'empty', text: 'Nenhuma clínica recebe agendamentos pela internet no momento.' }));
    } catch (err) {
      if (!ctx.isCurrent()) return;
      clear(listBox).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    }
  }
  load();
  return root;
}
