// @ts-check
// The waiting room for people without a staff login (no header, no login needed):
//
//   #/painel/{token}     the TV call panel of the waiting room
//   #/fila/{tracker}     a patient's phone page: their ticket and place in line, live
//   #/checkin/{code}     self check-in from the QR code at reception
//
// The credentials (panel secret, tracker, check-in code) come from the URL and are sent in
// POST bodies; they authenticate a guest WebSocket (see realtime.js) that may only join the
// clinic's redacted `clinic:<id>:panel` topic. Nothing shown here has a full name or a CPF.

import { api, ApiError, isLoggedIn, me as fetchMe, publicPost } from '../api.js';
import { panelFeed } from '../panel-feed.js';
import { createGuestClient } from '../realtime.js';
import { h, alertNode, append, clear, createForm, CPF_PATTERN, errorMessage, plural } from '../ui.js';

/** A message for the next phone page (set by the check-in page before it navigates). */
let trackerNotice = null;

/** "Consultório 2" → "ao Consultório 2"; "Sala 3" → "à Sala 3". */
export function toRoom(room) {
  const name = String(room || '').trim();
  if (!name) return 'à recepção';
  const first = name.split(/\s+/)[0].toLocaleLowerCase('pt-BR');
  const feminine = ['sala', 'recepção', 'recepcao', 'triagem', 'enfermaria', 'clínica', 'clinica', 'unidade', 'mesa', 'cabine'];
  const masculine = ['consultório', 'consultorio', 'guichê', 'guiche', 'box', 'setor', 'posto', 'ambulatório',
    'ambulatorio', 'laboratório', 'laboratorio', 'bloco', 'andar', 'balcão', 'balcao', 'gabinete'];
  if (feminine.includes(first)) return `à ${name}`;
  if (masculine.includes(first)) return `ao ${name}`;
  return `ao local: ${name}`;
}

function connectionText(state) {
  if (state === 'live') return 'Ao vivo';
  if (state === 'reconnecting') return 'Reconectando…';
  if (state === 'error') return 'Sem conexão';
  return 'Conectando…';
}

function invalidLinkView(kind, title, message) {
  document.title = `${title} — atende`;
  return h('div', { class: `view view-narrow public-message`, dataset: { view: kind, state: 'invalid' } },
    h('h1', { tabindex: '-1', text: title }),
    h('p', { class: 'lead', text: message }));
}

// ------------------------------------------------------------- TV panel ---

const CHIME_NOTES = [[659.25, 0], [523.25, 0.42]]; // E5, then C5: "ding-dong"

/** Two tones on a WebAudio oscillator (no audio files). */
function playChime(audio) {
  const start = audio.currentTime + 0.02;
  for (const [freq, at] of CHIME_NOTES) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const t = start + at;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.5, t + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 1.1);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(t);
    osc.stop(t + 1.2);
  }
}

/** Keep the TV from sleeping while the panel is shown (where the browser allows it). */
function keepAwake(ctx) {
  let lock = null;
  let active = true;
  async function request() {
    if (!active || !navigator.wakeLock || document.visibilityState !== 'visible') return;
    try {
      lock = await navigator.wakeLock.request('screen');
    } catch {
      lock = null; // not allowed here: the TV's own settings decide
    }
  }
  const onVisible = () => {
    if (document.visibilityState === 'visible' && !lock) request();
  };
  document.addEventListener('visibilitychange', onVisible);
  request();
  ctx.onCleanup(() => {
    active = false;
    document.removeEventListener('visibilitychange', onVisible);
    if (lock) lock.release().catch(() => {});
  });
}

/**
 * `#/painel/{token}`: the TV call panel.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} token the TV panel's link token
 */
export function renderPanel(ctx, token) {
  document.title = 'Painel de chamadas — atende';
  const root = h('div', { class: 'tv', dataset: { view: 'panel', live: 'false', chimes: '0', sound: 'off' } },
    h('p', { class: 'tv-loading', role: 'status', text: 'Carregando o painel…' }));

  let client = null;
  let feed = null;
  let audio = null;
  let clockTimer = 0;
  let flashTimer = 0;
  let retryTimer = 0;
  /** ticket → "called_at|recalls" of every call seen (to spot new calls and recalls). */
  const seen = new Map();
  let first = true;

  ctx.onCleanup(() => {
    clearInterval(clockTimer);
    clearTimeout(flashTimer);
    clearTimeout(retryTimer);
    if (feed) feed.leave();
    if (client) client.destroy();
    if (audio) audio.close().catch(() => {});
  });

  function fail(err) {
    if (!ctx.isCurrent()) return;
    const invalid = err && (err.status === 401 || err.code === 'invalid_token');
    const view = invalid
      ? invalidLinkView('panel', 'Link do painel inválido',
        'Este link de painel não vale mais (um novo link pode ter sido gerado). Peça à administração da clínica o link atual do painel de chamadas.')
      : h('div', { class: 'view view-narrow public-message', dataset: { view: 'panel', state: 'error' } },
        h('h1', { tabindex: '-1', text: 'Não foi possível abrir o painel' }),
        alertNode(errorMessage(err)),
        h('p', { text: 'O painel tenta de novo sozinho em alguns segundos.' }),
        h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar agora', onclick: () => ctx.navigate(location.hash) }));
    root.replaceWith(view);
    // Nobody may be near the TV: try again by itself (the server may be restarting).
    if (!invalid) retryTimer = setTimeout(() => ctx.navigate(location.hash), 15_000);
  }

  publicPost('/api/public/panel', { token }).then((data) => {
    if (!ctx.isCurrent()) return;
    build(data);
  }, fail);

  function build(data) {
    document.title = `Painel de chamadas — ${data.clinic_name} — atende`;
    const clock = h('p', { class: 'tv-clock' });
    const clockTime = h('span', { class: 'tv-time' });
    const clockDate = h('span', { class: 'tv-date' });
    clock.append(clockTime, clockDate);
    const label = h('p', { class: 'tv-label', text: 'Senha' });
    const ticket = h('p', { class: 'tv-ticket' });
    const name = h('p', { class: 'tv-name' });
    const room = h('p', { class: 'tv-room' });
    const recall = h('p', { class: 'tv-recall' });
    const current = h('section', { class: 'tv-current', 'aria-label': 'Chamada atual', 'aria-live': 'polite', 'aria-atomic': 'true' },
      label, ticket, name, room, recall);
    const history = h('ol', { class: 'tv-history-list' });
    const status = h('span', { class: 'tv-status', dataset: { state: 'connecting' } },
      h('span', { class: 'tv-status-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'tv-status-text', text: 'Conectando…' }));
    const waitingCount = h('span', { class: 'tv-waiting' });
    const soundButton = h('button', { type: 'button', class: 'tv-button tv-sound', text: 'Ativar som' });
    const fullButton = document.fullscreenEnabled
      ? h('button', { type: 'button', class: 'tv-button tv-full', text: 'Tela cheia' })
      : null;

    clear(root).append(
      h('header', { class: 'tv-top' },
        h('h1', { class: 'tv-clinic', tabindex: '-1', text: data.clinic_name }),
        clock),
      current,
      h('section', { class: 'tv-history', 'aria-labelledby': 'tv-history-title' },
        h('h2', { id: 'tv-history-title', class: 'tv-history-title', text: 'Últimas chamadas' }),
        history),
      h('footer', { class: 'tv-foot' }, status, waitingCount, soundButton, fullButton));

    const timeFmt = new Intl.DateTimeFormat('pt-BR', { hour: '2-digit', minute: '2-digit' });
    const dateFmt = new Intl.DateTimeFormat('pt-BR', { weekday: 'long', day: 'numeric', month: 'long' });
    function tick() {
      const now = new Date();
      clockTime.textContent = timeFmt.format(now);
      clockDate.textContent = dateFmt.format(now);
    }
    tick();
    clockTimer = setInterval(tick, 1000);

    soundButton.addEventListener('click', () => {
      const Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) {
        soundButton.hidden = true;
        return;
      }
      try {
        audio = audio || new Ctor();
        audio.resume().catch(() => {});
        playChime(audio);
      } catch {
        audio = null;
        return;
      }
      root.dataset.sound = 'on';
      soundButton.hidden = true;
    });
    if (fullButton) {
      fullButton.addEventListener('click', () => {
        if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
        else document.documentElement.requestFullscreen().catch(() => {});
      });
      const onFull = () => {
        fullButton.textContent = document.fullscreenElement ? 'Sair da tela cheia' : 'Tela cheia';
      };
      document.addEventListener('fullscreenchange', onFull);
      ctx.onCleanup(() => document.removeEventListener('fullscreenchange', onFull));
    }
    keepAwake(ctx);

    function chime() {
      root.dataset.chimes = String(Number(root.dataset.chimes || 0) + 1);
      if (audio && audio.state !== 'closed') {
        try {
          playChime(audio);
        } catch {
          // a sound failure must not stop the panel
        }
      }
    }

    function flash() {
      current.classList.remove('is-new');
      void current.offsetWidth; // restart the animation
      current.classList.add('is-new');
      clearTimeout(flashTimer);
      flashTimer = setTimeout(() => current.classList.remove('is-new'), 8000);
    }

    function render(snapshot) {
      const calls = snapshot.calls;
      // New calls and recalls (a recall moves `called_at` and counts up `recalls`).
      let news = false;
      for (const c of calls) {
        const key = `${c.called_at || ''}|${c.recalls || 0}`;
        if (seen.get(c.ticket) !== key) {
          if (!first) news = true;
          seen.set(c.ticket, key);
        }
      }
      const top = calls[0];
      if (top) {
        ticket.textContent = top.ticket;
        name.textContent = top.name || '';
        room.textContent = top.room || '';
        recall.textContent = top.recalls ? 'Chamada repetida' : '';
        current.classList.remove('is-empty');
        current.dataset.ticket = top.ticket;
      } else {
        ticket.textContent = '';
        name.textContent = 'Aguardando chamadas';
        room.textContent = '';
        recall.textContent = '';
        current.classList.add('is-empty');
        delete current.dataset.ticket;
      }
      label.hidden = !top;
      history.replaceChildren(...calls.slice(1, 6).map((c) => h('li', { class: 'tv-call', dataset: { ticket: c.ticket } },
        h('span', { class: 'tv-call-ticket', text: c.ticket }),
        h('span', { class: 'tv-call-name', text: c.name || '' }),
        h('span', { class: 'tv-call-room', text: c.room || '' }))));
      if (calls.length < 2) history.append(h('li', { class: 'tv-call tv-call-empty', text: 'Nenhuma chamada anterior hoje.' }));
      const n = snapshot.waiting.length;
      waitingCount.textContent = n ? plural(n, 'pessoa aguardando', 'pessoas aguardando') : 'Ninguém aguardando';
      root.dataset.version = String(snapshot.version);
      if (news) {
        flash();
        chime();
      }
      first = false;
    }

    function setState(state) {
      const shown = state === 'offline' && client && client.state === 'reconnecting' ? 'reconnecting' : state;
      status.dataset.state = shown;
      status.lastChild.textContent = connectionText(shown);
      root.dataset.live = state === 'live' ? 'true' : 'false';
    }

    client = createGuestClient({ panel: token });
    client.onAuthError(fail);
    feed = panelFeed({
      client,
      topic: data.topic,
      refresh: async () => (await publicPost('/api/public/panel', { token })).snapshot,
      onSnapshot: render,
      pollMs: 60_000,
      onState: (state, err) => {
        if (state === 'error' && err && err.status === 401) fail(err);
        else setState(state === 'error' ? 'error' : state);
      },
      onError: fail,
    });
    feed.accept(data.snapshot, true);
    client.connect();
  }

  return root;
}

// ------------------------------------------------------ phone page ---

const FINAL_TEXT = {
  in_service: ['Atendimento em andamento', 'Você está sendo atendido(a).'],
  done: ['Atendimento concluído', 'Obrigado pela visita!'],
  no_show: ['Você não compareceu — procure a recepção', 'Sua senha foi chamada e encerrada. A recepção pode colocar você de volta na fila.'],
  left: ['Você saiu da fila', 'Se ainda precisa de atendimento, procure a recepção.'],
};

/**
 * `#/fila/{tracker}`: the patient's ticket and place in line.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} tracker the patient's ticket token
 */
export function renderTracker(ctx, tracker) {
  document.title = 'Minha senha — atende';
  const root = h('div', { class: 'view phone-view', dataset: { view: 'tracker', live: 'false' } },
    h('p', { class: 'loading', role: 'status', text: 'Carregando sua senha…' }));

  let client = null;
  let feed = null;
  let entry = null;
  let today = true;
  let tracking = null;
  let trackAgain = false;

  ctx.onCleanup(() => {
    if (feed) feed.leave();
    if (client) client.destroy();
    document.title = 'atende';
  });

  function fail(err) {
    if (!ctx.isCurrent()) return;
    const invalid = err && (err.status === 401 || err.code === 'invalid_token');
    const view = invalid
      ? invalidLinkView('tracker', 'Link inválido ou expirado',
        'Não encontramos esta senha. O link do acompanhamento vale só no dia do atendimento: peça ajuda à recepção.')
      : h('div', { class: 'view view-narrow public-message', dataset: { view: 'tracker', state: 'error' } },
        h('h1', { tabindex: '-1', text: 'Não foi possível carregar sua senha' }),
        alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar novamente', onclick: () => ctx.navigate(location.hash) }));
    root.replaceWith(view);
  }

  const track = () => publicPost('/api/public/queue/track', { tracker });

  track().then((data) => {
    if (!ctx.isCurrent()) return;
    build(data);
  }, fail);

  function build(data) {
    entry = data.entry;
    today = data.today !== false;
    const notice = trackerNotice;
    trackerNotice = null;

    const ticket = h('p', { class: 'phone-ticket', text: entry.ticket });
    const name = h('p', { class: 'phone-name', text: entry.name || '' });
    const statusTitle = h('p', { class: 'phone-status-title' });
    const statusDetail = h('p', { class: 'phone-status-detail' });
    const statusBox = h('div', { class: 'phone-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' },
      statusTitle, statusDetail);
    const live = h('p', { class: 'phone-live muted small', dataset: { state: 'connecting' }, text: 'Conectando…' });
    const callsBox = h('div', { class: 'phone-calls' });
    const hint = h('p', { class: 'muted small phone-hint', text: 'Mantenha esta página aberta: ela se atualiza sozinha e avisa quando for a sua vez.' });

    append(clear(root), [
      h('p', { class: 'phone-clinic', text: data.clinic_name }),
      notice ? h('p', { class: 'alert alert-info phone-notice', role: 'status', text: notice }) : null,
      h('div', { class: 'phone-card' },
        h('h1', { class: 'phone-label', tabindex: '-1', text: 'Sua senha' }),
        ticket, name),
      statusBox,
      live,
      callsBox,
      hint]);

    function setStatus(kind, title, detail) {
      hint.hidden = kind !== 'waiting' && kind !== 'called';
      statusBox.dataset.status = kind;
      root.dataset.status = kind;
      statusTitle.textContent = title;
      statusDetail.textContent = detail || '';
    }

    function renderCalls(snapshot) {
      const calls = (snapshot ? snapshot.calls : []).slice(0, 3);
      clear(callsBox);
      if (!calls.length || !today) return;
      callsBox.append(
        h('h2', { class: 'phone-calls-title', text: 'Últimas chamadas' }),
        h('ul', { class: 'phone-calls-list' }, calls.map((c) => h('li', { class: c.ticket === entry.ticket ? 'is-mine' : null },
          h('span', { class: 'phone-call-ticket', text: c.ticket }),
          h('span', { class: 'phone-call-room', text: c.room || '' })))));
    }

    function render() {
      const snapshot = feed ? feed.snapshot : data.snapshot;
      ticket.textContent = entry.ticket;
      name.textContent = entry.name || '';
      if (!today) {
        setStatus('old', 'Esta senha não é de hoje', 'Para ser atendido(a) hoje, faça um novo check-in na recepção.');
        renderCalls(null);
        return;
      }
      if (entry.status === 'waiting') {
        const waiting = snapshot ? snapshot.waiting : [];
        const index = waiting.findIndex((w) => w.ticket === entry.ticket);
        if (index < 0) {
          setStatus('waiting', 'Aguardando', 'Calculando sua posição na fila…');
        } else {
          const eta = Number(waiting[index].eta_minutes) || 0;
          const ahead = index === 0
            ? 'Ninguém na sua frente: você é o próximo'
            : `${plural(index, 'pessoa', 'pessoas')} na sua frente`;
          setStatus('waiting', 'Aguardando', eta > 0 ? `${ahead}, espera estimada ~${eta} min` : ahead);
        }
        document.title = `Senha ${entry.ticket}: aguardando — atende`;
      } else if (entry.status === 'called') {
        setStatus('called', 'É a sua vez!', `Dirija-se ${toRoom(entry.room)}`
          + (entry.recalls ? ' (chamada repetida)' : ''));
        document.title = `É a sua vez! ${entry.ticket} — atende`;
      } else {
        const [title, detail] = FINAL_TEXT[entry.status] || ['Senha encerrada', 'Procure a recepção se precisar.'];
        setStatus(entry.status, title, detail);
        document.title = `Senha ${entry.ticket} — atende`;
      }
      renderCalls(snapshot);
    }

    /** Status changes that the snapshot cannot show: ask the server for ours. */
    async function refreshEntry() {
      if (tracking) {
        trackAgain = true;
        return tracking;
      }
      tracking = (async () => {
        do {
          trackAgain = false;
          try {
            const fresh = await track();
            if (!ctx.isCurrent()) return;
            setEntry(fresh.entry);
            today = fresh.today !== false;
            if (!feed || !feed.accept(fresh.snapshot, true)) render();
          } catch (err) {
            if (!ctx.isCurrent()) return;
            if (err && err.status === 401) {
              fail(err);
              return;
            }
            // Offline for a moment: the next push or rejoin asks again.
          }
        } while (trackAgain && ctx.isCurrent());
        tracking = null;
      })();
      return tracking;
    }

    function alertTurn() {
      // Vibrating needs a tap on the page first; without it the browser refuses (and says so).
      if (typeof navigator.vibrate === 'function' && navigator.userActivation && navigator.userActivation.hasBeenActive) {
        try {
          navigator.vibrate([400, 200, 400, 200, 400]);
        } catch {
          // ignore
        }
      }
      root.dataset.alerts = String(Number(root.dataset.alerts || 0) + 1);
    }

    function setEntry(next) {
      if (!next) return;
      const turned = next.status === 'called'
        && (entry.status !== 'called' || (next.recalls || 0) > (entry.recalls || 0));
      entry = next;
      if (turned) alertTurn();
    }

    function onSnapshot(snapshot, fetched) {
      render();
      // A fetched snapshot came with our entry (or is the one we started with).
      if (!today || fetched) return;
      // The place in line comes from the snapshot; a change of our own status (called,
      // in service, finished, back in line) only our entry tells.
      const inWaiting = snapshot.waiting.some((w) => w.ticket === entry.ticket);
      const needsEntry = entry.status === 'waiting'
        ? !inWaiting
        : entry.status === 'called' || entry.status === 'in_service' || inWaiting;
      if (needsEntry) refreshEntry();
    }

    function setLive(state) {
      const shown = state === 'offline' && client && client.state === 'reconnecting' ? 'reconnecting' : state;
      live.dataset.state = shown;
      live.textContent = shown === 'live' ? 'Atualizado ao vivo.' : `${connectionText(shown)}`;
      root.dataset.live = state === 'live' ? 'true' : 'false';
    }

    render();
    if (!today) {
      live.hidden = true;
      return;
    }
    client = createGuestClient({ tracker });
    client.onAuthError(fail);
    feed = panelFeed({
      client,
      topic: data.topic,
      // Every (re)join: our entry and the snapshot, fresh (one request at a time, so an
      // older answer never overwrites a newer one).
      refresh: async () => {
        await refreshEntry();
        return null;
      },
      onSnapshot,
      pollMs: 90_000,
      onState: (state, err) => {
        if (state === 'error' && err && err.status === 401) fail(err);
        else setLive(state === 'error' ? 'offline' : state);
      },
      onError: fail,
    });
    feed.accept(data.snapshot, true);
    client.connect();
  }

  return root;
}

// ------------------------------------------------------ self check-in ---

const CHECKIN_MESSAGES = {
  patient_not_found: 'Não encontramos seu cadastro nesta clínica com este CPF e esta data de nascimento. Confira os dados ou procure a recepção.',
  invalid_cpf: 'CPF inválido. Confira os 11 números.',
  invalid_birth_date: 'Informe sua data de nascimento.',
  not_found: 'Este QR code de check-in não vale mais. Procure a recepção.',
  http_404: 'Este QR code de check-in não vale mais. Procure a recepção.',
};

function waitText(seconds) {
  if (!seconds || seconds < 60) return 'alguns instantes';
  const minutes = Math.ceil(seconds / 60);
  return plural(minutes, 'minuto', 'minutos');
}

/** An ApiError from self check-in, with the message the patient should read. */
function checkinError(err) {
  if (!(err instanceof ApiError)) return err;
  let message = CHECKIN_MESSAGES[err.code] || (err.status === 404 ? CHECKIN_MESSAGES.not_found : null);
  if (err.status === 429) {
    message = `Muitas tentativas. Aguarde ${waitText(err.retryAfter)} e tente novamente.`;
  }
  return message ? new ApiError(err.status, err.code, message, { retryAfter: err.retryAfter, body: err.body }) : err;
}

function goToTracker(ctx, result) {
  trackerNotice = result.created === false
    ? `Você já estava na fila de hoje com a senha ${result.ticket}.`
    : `Check-in feito! Sua senha é ${result.ticket}.`;
  const path = String(result.tracker_path || `/#/fila/${encodeURIComponent(result.tracker)}`);
  ctx.navigate(path.slice(path.indexOf('#')));
}

/**
 * `#/checkin/{code}`: self check-in.
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} code the reception's check-in code
 */
export function renderCheckin(ctx, code) {
  document.title = 'Check-in — atende';
  const root = h('div', { class: 'view view-narrow phone-view', dataset: { view: 'checkin' } },
    h('p', { class: 'loading', role: 'status', text: 'Carregando…' }));

  Promise.all([
    publicPost('/api/public/checkin/clinic', { code }),
    isLoggedIn() ? fetchMe().catch(() => null) : Promise.resolve(null),
  ]).then(([clinic, me]) => {
    if (ctx.isCurrent()) build(clinic, me);
  }, (err) => {
    if (!ctx.isCurrent()) return;
    if (err instanceof ApiError && err.status === 404) {
      root.replaceWith(invalidLinkView('checkin', 'QR code inválido', CHECKIN_MESSAGES.not_found));
      return;
    }
    clear(root).append(
      h('h1', { tabindex: '-1', text: 'Não foi possível abrir o check-in' }),
      alertNode(errorMessage(err)),
      h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar novamente', onclick: () => ctx.navigate(location.hash) }));
  });

  function build(clinic, me) {
    document.title = `Check-in — ${clinic.clinic_name} — atende`;
    const patient = me && me.patient ? me.patient : null;

    const form = createForm({
      label: 'Check-in com CPF e data de nascimento',
      submitLabel: 'Fazer check-in',
      busyLabel: 'Registrando…',
      className: 'checkin-form',
      codeToField: { invalid_cpf: 'cpf', invalid_birth_date: 'birth_date' },
      fields: [
        {
          name: 'cpf', label: 'CPF', required: true, inputmode: 'numeric', autocomplete: 'off', mask: 'cpf',
          maxlength: 14, pattern: CPF_PATTERN, patternMessage: 'Informe os 11 números do CPF.', placeholder: '000.000.000-00',
        },
        { name: 'birth_date', label: 'Data de nascimento', type: 'date', required: true, autocomplete: 'off' },
      ],
      onSubmit: async (values) => {
        let result;
        try {
          result = await publicPost('/api/public/checkin', { code, cpf: values.cpf, birth_date: values.birth_date });
        } catch (err) {
          throw checkinError(err);
        }
        goToTracker(ctx, result);
        return undefined;
      },
    });

    /** @type {HTMLElement[]} */
    const parts = [
      h('p', { class: 'phone-clinic', text: clinic.clinic_name }),
      h('h1', { tabindex: '-1', text: 'Check-in na recepção' }),
      h('p', { class: 'lead', text: 'Chegou à clínica? Registre sua chegada aqui e acompanhe pelo celular quando será a sua vez.' }),
    ];

    if (patient) {
      const oneTapError = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
      const button = h('button', { type: 'button', class: 'btn btn-primary btn-large', text: 'Fazer check-in' });
      button.addEventListener('click', async () => {
        oneTapError.hidden = true;
        button.disabled = true;
        button.textContent = 'Registrando…';
        try {
          // With the patient's login: no CPF needed.
          goToTracker(ctx, await api.post('/api/public/checkin', { code }));
        } catch (err) {
          oneTapError.textContent = errorMessage(checkinError(err));
          oneTapError.hidden = false;
        } finally {
          button.disabled = false;
          button.textContent = 'Fazer check-in';
        }
      });
      const who = patient.social_name || patient.full_name || me.full_name || '';
      parts.push(h('section', { class: 'panel checkin-one-tap', 'aria-label': 'Check-in com sua conta' },
        h('p', null, 'Você entrou como ', h('strong', { text: who }), '.'),
        oneTapError,
        button),
      h('details', { class: 'disclosure' },
        h('summary', { text: 'Não é você? Use CPF e data de nascimento' }),
        h('div', { class: 'disclosure-body' }, form.form)));
    } else {
      parts.push(h('section', { class: 'panel' },
        h('p', { class: 'muted', text: 'Informe o CPF e a data de nascimento do seu cadastro nesta clínica.' }),
        form.form));
    }
    parts.push(h('p', { class: 'muted small', text: 'Ainda não tem cadastro nesta clínica? Procure a recepção.' }));
    clear(root).append(...parts);
  }

  return root;
}
