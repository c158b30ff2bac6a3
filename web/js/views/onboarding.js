// @ts-check
// "Implantação da clínica" (#/clinica/{id}/implantacao for its admin; #/plataforma/clinica/{id}
// for the platform admin): the onboarding of a clinic as a guided sequence over the existing
// routes — 1 the clinic's data, 2 hours and services, 3 professionals and their agendas,
// 4 the reception team (and more administrators), 5 prices. Each step says whether it is
// done (web/js/onboarding.js decides) and the first open one is marked as the current step.
// The platform admin adds people (steps 3 and 4); hours, services and prices are the clinic
// admin's (they need a role in the clinic).

import { api, qs, seg } from '../api.js';
import { h, clear, alertNode, errorMessage, formatAddress, loadingNode, professionLabel, roleLabel } from '../ui.js';
import { money } from '../agenda-util.js';
import { clinicName, professionNoun } from '../messages.js';
import { onboardingSteps } from '../onboarding.js';
import { memberKey, professionalForm, staffForm, teamPanels } from './team.js';

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 * @param {{platform?: boolean, backHref: string, roleParam?: string|null}} opts
 */
export function renderOnboarding(ctx, me, clinicId, { platform = false, backHref, roleParam = null }) {
  document.title = 'Implantação da clínica — atende';
  const heading = h('h1', { tabindex: '-1', text: 'Implantação da clínica' });
  const progress = h('p', { class: 'muted', role: 'status', dataset: { onboarding: 'progress' } });
  const stepsNav = h('ol', { class: 'onboarding-steps', 'aria-label': 'Etapas da implantação' });
  const body = h('div', { class: 'onboarding-body' }, loadingNode());
  const root = h('div', { class: 'view', dataset: { view: 'onboarding' } },
    h('nav', { class: 'breadcrumb', 'aria-label': 'Navegação' }, h('a', { href: backHref, text: '← Voltar' })),
    heading, progress, stepsNav, body);

  const settingsHref = (prof) => `#/clinica/${seg(clinicId)}/horarios${qs({ prof, papel: roleParam })}`;
  /** @type {Record<string, HTMLElement>} */
  const marks = {};
  const facts = { clinic: false, services: 0, members: [], hours: {}, prices: [] };
  /** @type {Record<string, any>} */
  let clinic = null;

  function refreshSteps() {
    const { steps, current, doneCount } = onboardingSteps(facts);
    progress.textContent = `${doneCount} de ${steps.length} etapas concluídas.`;
    clear(stepsNav).append(...steps.map((s, i) => h('li', {
      class: `onboarding-step${s.done ? ' is-done' : ''}${s.key === current ? ' is-current' : ''}`,
      'aria-current': s.key === current ? 'step' : null,
      dataset: { step: s.key, done: String(s.done) },
    }, h('a', { href: `#onb-${s.key}`, onclick: (ev) => jump(ev, s.key) }, `${i + 1}. ${s.title}`),
    h('span', { class: s.done ? 'badge badge-ok' : 'badge badge-muted', text: s.done ? 'Concluída' : 'Pendente' }))));
    for (const s of steps) {
      const mark = marks[s.key];
      if (mark) {
        mark.textContent = s.done ? 'Concluída' : 'Pendente';
        mark.className = s.done ? 'badge badge-ok' : 'badge badge-muted';
      }
    }
  }

  /** In-page links that do not change the route (the hash is the router's). */
  function jump(ev, key) {
    ev.preventDefault();
    const target = document.getElementById(`onb-${key}`);
    if (target) {
      target.scrollIntoView({ block: 'start' });
      const title = target.querySelector('h2');
      if (title) /** @type {HTMLElement} */ (title).focus();
    }
  }

  /** A numbered step's panel. */
  function step(key, n, title, intro, ...content) {
    marks[key] = h('span', { class: 'badge badge-muted', text: 'Pendente' });
    return h('section', { class: 'panel onboarding-panel', id: `onb-${key}`, 'aria-labelledby': `onb-${key}-h`, dataset: { step: key } },
      h('div', { class: 'card-head' }, h('h2', { id: `onb-${key}-h`, tabindex: '-1', text: `${n}. ${title}` }), marks[key]),
      h('p', { class: 'muted', text: intro }),
      ...content);
  }

  async function load() {
    try {
      clinic = await api.get(`/api/clinics/${seg(clinicId)}`);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      clear(body).append(alertNode(errorMessage(err)));
      return;
    }
    if (!ctx.isCurrent()) return;
    facts.clinic = true;
    heading.textContent = `Implantação — ${clinicName(clinic.name)}`;
    document.title = `Implantação — ${clinicName(clinic.name)} — atende`;
    const prosBox = h('div', { class: 'onboarding-pros' }, loadingNode());
    const servicesBox = h('div', null);
    const pricesBox = h('div', null);
    const known = new Set();
    const [team, , reloadTeam] = teamPanels(me, clinicId, {
      onChange: (members) => {
        facts.members = members;
        known.clear();
        for (const m of members) known.add(memberKey(m));
        professionals(members, prosBox);
        refreshSteps();
      },
    });
    const staff = staffForm(clinicId, known, reloadTeam);
    const pro = professionalForm(clinicId, known, reloadTeam);
    clear(body).append(
      step('clinic', 1, 'Dados da clínica', 'Como a clínica aparece para os pacientes e nos documentos.',
        h('dl', { class: 'details' },
          h('dt', { text: 'Nome' }), h('dd', { text: clinic.name }),
          h('dt', { text: 'CNPJ' }), h('dd', { text: clinic.cnpj || '—' }),
          h('dt', { text: 'Endereço' }), h('dd', { text: formatAddress(clinic.address) }),
          h('dt', { text: 'Fuso horário' }), h('dd', { text: clinic.time_zone || 'America/Sao_Paulo' }))),
      step('hours', 2, 'Horários e serviços', 'Os tipos de consulta (duração e preço) e os horários de atendimento de cada profissional.',
        servicesBox),
      step('professionals', 3, 'Profissionais e suas agendas', 'Quem atende na clínica, com o registro no conselho; depois, os horários de cada um.',
        prosBox, h('h3', { text: 'Adicionar profissional' }), pro.form),
      step('staff', 4, 'Equipe da recepção', 'Recepcionistas e administradores entram com o e-mail e a senha inicial informados aqui (e podem trocá-la em “Segurança”).',
        h('h3', { text: 'Adicionar recepcionista/administrador' }), staff.form, team),
      step('prices', 5, 'Preços', 'O valor de cada tipo de consulta (um profissional pode ter o seu próprio).', pricesBox));
    refreshSteps();
    if (platform) {
      servicesBox.append(h('p', { class: 'note', text: 'Os serviços e horários são definidos pela administração da clínica, depois de entrar com o seu acesso.' }));
      pricesBox.append(h('p', { class: 'note', text: 'Os preços são definidos pela administração da clínica.' }));
      return;
    }
    servicesBox.append(h('p', null, h('a', { class: 'btn btn-secondary', href: settingsHref(null), text: 'Abrir horários e serviços' })));
    Promise.all([
      api.get(`/api/clinics/${seg(clinicId)}/services`).then((list) => {
        facts.services = Array.isArray(list) ? list.length : 0;
        servicesBox.prepend(h('p', { text: facts.services
          ? `${facts.services === 1 ? '1 tipo de consulta cadastrado' : `${facts.services} tipos de consulta cadastrados`}.`
          : 'Nenhum tipo de consulta cadastrado ainda.' }));
      }),
      api.get(`/api/clinics/${seg(clinicId)}/prices`).then((lines) => {
        facts.prices = Array.isArray(lines) ? lines : [];
        pricesTable(facts.prices, pricesBox);
      }),
    ]).catch((err) => body.prepend(alertNode(errorMessage(err)))).finally(() => {
      if (ctx.isCurrent()) refreshSteps();
    });
  }

  /** Step 3's list: each professional, whether their hours are set, and the link to set them. */
  function professionals(members, box) {
    const pros = members.filter((m) => m.role === 'professional');
    if (!pros.length) {
      clear(box).append(h('p', { class: 'empty', text: 'Nenhum profissional ainda.' }));
      return;
    }
    const items = pros.map((m) => {
      const state = h('span', { class: 'badge badge-muted', text: platform ? 'Horários com a clínica' : 'Verificando horários…' });
      if (!platform) {
        api.get(`/api/clinics/${seg(clinicId)}/professionals/${seg(m.user_id)}/schedule`).then((s) => {
          const n = (s && Array.isArray(s.hours)) ? s.hours.length : 0;
          facts.hours[m.user_id] = n;
          state.textContent = n ? 'Horários definidos' : 'Sem horários';
          state.className = n ? 'badge badge-ok' : 'badge badge-warn';
          refreshSteps();
        }).catch(() => { state.textContent = 'Horários indisponíveis'; });
      }
      const prof = m.professional;
      return h('li', { class: 'card', dataset: { professional: m.user_id } },
        h('div', { class: 'card-head' }, h('span', { class: 'card-title', text: m.full_name }), state),
        h('span', { class: 'card-meta', text: prof ? (professionNoun(prof.profession, prof.gender) || professionLabel(prof.profession)) : roleLabel(m.role) }),
        platform ? null : h('a', { class: 'btn btn-secondary btn-small', href: settingsHref(m.user_id), text: `Definir horários de ${m.full_name}` }));
    });
    clear(box).append(h('ul', { class: 'card-list' }, items));
  }

  function pricesTable(lines, box) {
    if (!lines.length) {
      box.append(h('p', { class: 'empty', text: 'Cadastre os tipos de consulta na etapa 2 para definir os preços.' }));
      return;
    }
    box.append(h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden', text: 'Preços por tipo de consulta' }),
      h('thead', null, h('tr', null, h('th', { scope: 'col', text: 'Tipo de consulta' }), h('th', { scope: 'col', text: 'Preço' }))),
      h('tbody', null, lines.map((l) => h('tr', null,
        h('td', { text: l.service_name }),
        h('td', { text: l.price_cents ? money(l.price_cents) : 'Sem preço' }))))),
    h('p', null, h('a', { class: 'btn btn-secondary', href: settingsHref(null), text: 'Alterar preços' })));
  }

  load();
  return root;
}
