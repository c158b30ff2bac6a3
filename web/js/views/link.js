// @ts-check
// One-click links (no login): #/link/{action}/{token}
//
// The clinic sends these by WhatsApp, SMS or e-mail: an appointment's "confirm" and
// "cancel" links, and a waitlist offer's "accept" and "decline" links. The page first shows
// what the link does (POST /api/public/links/preview: the appointment in the clinic's time
// zone and whether the link was used), then one clear button uses it
// (POST /api/public/links/use) and the result is shown in plain words. Phone first.
//
// Errors: 401 invalid_token (tampered, wrong action), 401 link_expired, 409 link_used,
// 409 invalid_transition, 409 offer_closed, 409 offer_expired, 422 unknown_action.

import { ApiError, publicPost } from '../api.js';
import { h, alertNode, append, clear, errorMessage } from '../ui.js';
import {
  DEFAULT_TZ, KIND_LABELS, localDate, longDate, statusLabel, timeIn, whenText, zoneName,
} from '../agenda-util.js';

/** What each action shows and does. */
const ACTIONS = {
  confirm: {
    title: 'Confirmar presença',
    lead: 'Confirme que você vai a esta consulta. A clínica é avisada na hora.',
    button: 'Confirmar presença',
    busy: 'Confirmando…',
    buttonClass: 'btn-primary',
    doneTitle: 'Presença confirmada!',
    doneText: (when) => `Esperamos você ${when}.`,
    doneTone: 'ok',
  },
  cancel: {
    title: 'Cancelar consulta',
    lead: 'Não vai poder ir? Cancele para liberar o horário para outra pessoa.',
    button: 'Cancelar consulta',
    busy: 'Cancelando…',
    buttonClass: 'btn-danger',
    doneTitle: 'Consulta cancelada',
    doneText: () => 'O horário foi liberado. Para marcar outro dia, fale com a clínica.',
    doneTone: 'neutral',
  },
  accept: {
    title: 'Um horário vagou para você',
    lead: 'Você está na lista de espera e este horário ficou reservado para você por alguns minutos. Aceite para garantir a consulta.',
    button: 'Aceitar horário',
    busy: 'Reservando…',
    buttonClass: 'btn-primary',
    doneTitle: 'Horário reservado para você!',
    doneText: (when) => `Sua consulta está marcada para ${when}.`,
    doneTone: 'ok',
  },
  decline: {
    title: 'Recusar horário',
    lead: 'Não pode ir neste horário? Recuse para que ele seja oferecido à próxima pessoa da lista de espera.',
    button: 'Recusar',
    busy: 'Recusando…',
    buttonClass: 'btn-danger',
    doneTitle: 'Horário recusado',
    doneText: () => 'Obrigado por avisar. O horário vai para a próxima pessoa da lista de espera.',
    doneTone: 'neutral',
  },
};

const isOffer = (action) => action === 'accept' || action === 'decline';

/** Title and text for an error answer (preview or use). */
function problem(err, action) {
  const code = err instanceof ApiError ? err.code : '';
  if (code === 'invalid_token' || code === 'unknown_action' || (err instanceof ApiError && err.status === 400)) {
    return {
      title: 'Link inválido',
      text: 'Este link não é válido. Confira se você abriu o link completo, do jeito que recebeu. Se o problema continuar, fale com a clínica.',
    };
  }
  if (code === 'link_expired') {
    return isOffer(action)
      ? {
        title: 'O prazo para responder terminou',
        text: 'Este horário ficou reservado para você por alguns minutos e foi oferecido à próxima pessoa da lista de espera.',
      }
      : {
        title: 'Este link expirou',
        text: 'A consulta já começou ou já passou. Para qualquer mudança, fale com a clínica.',
      };
  }
  if (code === 'link_used') {
    return { title: 'Este link já foi usado', text: 'Cada link funciona uma vez só, e este já foi usado.' };
  }
  if (code === 'offer_expired') {
    return {
      title: 'O prazo para responder terminou',
      text: 'Este horário ficou reservado para você por alguns minutos e já foi oferecido à próxima pessoa da lista de espera.',
    };
  }
  if (code === 'offer_closed') {
    return { title: 'Esta oferta já foi encerrada', text: 'O horário já foi aceito, recusado ou expirou.' };
  }
  if (code === 'invalid_transition') {
    return {
      title: 'Não foi possível',
      text: action === 'confirm'
        ? 'Esta consulta não pode mais ser confirmada (ela pode ter sido cancelada ou remarcada). Fale com a clínica.'
        : 'Esta consulta não pode mais ser cancelada por aqui. Fale com a clínica.',
    };
  }
  return { title: 'Não foi possível abrir o link', text: errorMessage(err), retry: true };
}

/**
 * Why the button is not offered for an appointment in `status` (null: it is).
 * Mirrors the server's rules; the server decides anyway.
 */
function blocked(action, status) {
  if (action === 'confirm') {
    if (status === 'confirmed') return { tone: 'ok', title: 'Sua presença já está confirmada', text: 'Não é preciso fazer mais nada. Até lá!' };
    if (status === 'scheduled') return null;
  }
  if (action === 'cancel' && (status === 'scheduled' || status === 'confirmed')) return null;
  if (isOffer(action) && status === 'held') return null;
  if (status === 'cancelled') {
    return { tone: 'neutral', title: 'Esta consulta foi cancelada', text: 'Para marcar outro horário, fale com a clínica.' };
  }
  return { tone: 'neutral', title: 'Esta consulta não pode mais ser alterada por aqui', text: 'Para qualquer mudança, fale com a clínica.' };
}

/** The used link's state, from the appointment's current status. */
function usedState(action, status) {
  if (isOffer(action)) {
    // The offer was answered (by this link, the other one or the app) or lapsed.
    if (status === 'scheduled' || status === 'confirmed') {
      return { tone: 'ok', title: 'Este horário já é seu', text: 'A oferta já foi aceita: a consulta está marcada.' };
    }
    return { tone: 'neutral', title: 'Esta oferta já foi encerrada', text: 'O horário foi recusado ou o prazo para responder terminou: ele não está mais reservado para você.' };
  }
  return {
    tone: status === 'confirmed' ? 'ok' : 'neutral',
    title: 'Este link já foi usado',
    text: `Cada link funciona uma vez só. Situação atual da consulta: ${statusLabel(status)}.`,
  };
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} action `confirm`, `cancel`, `accept` or `decline` (anything else: an unknown link)
 * @param {string} token
 */
export function renderLink(ctx, action, token) {
  const spec = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : null;
  document.title = `${spec ? spec.title : 'Link'} — atende`;
  const root = h('div', { class: 'view view-narrow phone-view ln-view', dataset: { view: 'link', action: action || '', state: 'loading' } },
    h('p', { class: 'loading', role: 'status', text: 'Carregando…' }));

  if (!spec || !token) {
    showProblem(problem(new ApiError(401, 'invalid_token', 'link inválido'), action));
    return root;
  }

  /** Replace the page's content (null parts are skipped). */
  function show(...parts) {
    append(clear(root), parts);
  }

  function setState(state) {
    root.dataset.state = state;
  }

  function focusHeading() {
    const heading = root.querySelector('h1');
    if (heading) heading.focus();
  }

  /** The page's heading inside a coloured box: the state of the link in plain words. */
  function statusBox(tone, title, text) {
    return h('div', { class: `ln-status ln-status-${tone}`, role: 'status' },
      h('h1', { class: 'ln-status-title', tabindex: '-1', text: title }),
      text ? h('p', { class: 'ln-status-text', text }) : null);
  }

  function card(a) {
    const tz = a.time_zone || DEFAULT_TZ;
    const rows = [
      ['Profissional', a.professional_name],
      ['Serviço', a.service_name || 'Consulta'],
      ['Atendimento', KIND_LABELS[a.kind] || ''],
      ['Paciente', a.patient_name],
    ].filter(([, v]) => v);
    return h('section', { class: 'phone-card ln-card', 'aria-label': 'Consulta' },
      h('p', { class: 'ln-date', text: longDate(localDate(a.starts_at, tz)) }),
      h('p', { class: 'ln-time', text: timeIn(a.starts_at, tz) }),
      h('p', { class: 'ln-zone muted small', text: zoneName(tz) }),
      h('dl', { class: 'details ln-details' },
        rows.map(([label, value]) => h('div', { class: 'details-row' }, h('dt', { text: label }), h('dd', { text: value }))),
        h('div', { class: 'details-row' }, h('dt', { text: 'Situação' }),
          h('dd', null, h('span', { class: `badge ag-badge ag-st-${a.status} ln-appt-status`, text: statusLabel(a.status) })))));
  }

  function clinicLine(a) {
    return a && a.clinic_name ? h('p', { class: 'phone-clinic', text: a.clinic_name }) : null;
  }

  function showProblem(p, a = null) {
    setState('error');
    document.title = `${p.title} — atende`;
    show(
      clinicLine(a),
      statusBox('bad', p.title, p.text),
      a ? card(a) : null,
      p.retry ? h('button', {
        type: 'button', class: 'btn btn-primary btn-large ln-button', text: 'Tentar novamente',
        onclick: () => load(),
      }) : null);
  }

  function showPreview(res) {
    const a = res.appointment || {};
    if (res.used) {
      const s = usedState(action, a.status);
      setState('used');
      show(clinicLine(a), statusBox(s.tone, s.title, s.text), card(a));
      return;
    }
    const stop = blocked(action, a.status);
    if (stop) {
      setState('blocked');
      show(clinicLine(a), statusBox(stop.tone, stop.title, stop.text), card(a));
      return;
    }
    setState('preview');
    const errors = h('div', { class: 'ln-errors' });
    const button = h('button', { type: 'button', class: `btn ${spec.buttonClass} btn-large ln-button`, text: spec.button });
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = spec.busy;
      clear(errors);
      try {
        const done = await publicPost('/api/public/links/use', { action, token });
        if (!ctx.isCurrent()) return;
        showDone(done.appointment || a);
      } catch (err) {
        if (!ctx.isCurrent()) return;
        const p = problem(err, action);
        if (p.retry) {
          // A network or server failure: the link may still work.
          clear(errors).append(alertNode(p.text));
          button.disabled = false;
          button.textContent = spec.button;
          return;
        }
        showProblem(p, a);
        focusHeading();
      }
    });
    show(
      clinicLine(a),
      h('h1', { tabindex: '-1', text: spec.title }),
      h('p', { class: 'lead ln-lead', text: spec.lead }),
      card(a),
      errors,
      button,
      h('p', { class: 'muted small ln-note', text: 'Este link funciona uma vez.' }));
  }

  function showDone(a) {
    const tz = a.time_zone || DEFAULT_TZ;
    setState('done');
    document.title = `${spec.doneTitle} — atende`;
    show(
      clinicLine(a),
      statusBox(spec.doneTone, spec.doneTitle, spec.doneText(whenText(a.starts_at, tz))),
      card(a));
    focusHeading();
  }

  async function load() {
    setState('loading');
    show(h('p', { class: 'loading', role: 'status', text: 'Carregando…' }));
    try {
      const res = await publicPost('/api/public/links/preview', { action, token });
      if (!ctx.isCurrent()) return;
      showPreview(res || {});
    } catch (err) {
      if (!ctx.isCurrent()) return;
      showProblem(problem(err, action));
    }
    focusHeading();
  }

  load();
  return root;
}
