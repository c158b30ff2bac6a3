// Teleconsultation, the patient's side: #/consulta/{token} (public: the link is the key).
//
//   GET /api/public/consults/{token}            professional, clinic, time, zone, opens_at
//   GET /api/consults/{id}/ice?token=…          ICE servers
//   WS  guest `{consult: token}` → consult:<id>  enter → STATE; signal (answers, candidates,
//                                                restart-request); pushes as on the
//                                                professional's page
//
// Stages (`data-stage` on the view): `check` (before entering: the room's opening time and
// the camera/microphone check, with a live microphone meter), `waiting` (virtual waiting
// room), `call`, `ended`, `left` (the patient left the call: "Voltar à chamada"), `closed`
// (invalid or cancelled link). A reload while waiting or in the call goes straight back in:
// after `enter` answers `in_call`, a `restart-request` makes the professional offer again
// ("Voltando à chamada…"). The patient never offers (see call.js).
//
// No network quality verdict is shown: there is no server-side check to base one on.
// For the browser tests, `window.__atendeCall` exposes {side, pc, localStream, state}.

import { ApiError, publicGet, qs, seg } from '../api.js';
import { createGuestClient } from '../realtime.js';
import { h, alertNode, clear, errorMessage, loadingNode } from '../ui.js';
import { DEFAULT_TZ, localDate, timeIn, todayIn, whenText } from '../agenda-util.js';
import {
  CONNECTION_TEXT, PeerLink, durationWords, exposeCallForTests, formatDuration, mediaSupported, micMeter,
  openLocalMedia, playInto, stopStream, unmute,
} from '../call.js';
import { callButton, mediaToggles, videoElement, videoStage } from './call-parts.js';

const RECHECK_LATE_MS = 15_000;
const TOO_EARLY_RETRY_MS = 15_000;
/** Refusals of the link itself (handled by the guest client's onAuthError). */
const AUTH_CODES = new Set(['too_early', 'consult_cancelled', 'invalid_token', 'invalid_payload']);

function closedView(kind, title, message) {
  document.title = `${title} — atende`;
  return h('div', { class: 'view phone-view public-message tc-patient', dataset: { view: 'consult', stage: 'closed', reason: kind } },
    h('h1', { tabindex: '-1', text: title }),
    h('p', { class: 'lead', text: message }));
}

function linkError(err) {
  if (err && err.code === 'consult_cancelled') {
    return closedView('cancelled', 'Consulta cancelada', 'Esta teleconsulta foi cancelada. Se precisar, fale com a clínica para marcar outro horário.');
  }
  return closedView('invalid', 'Link inválido ou expirado', 'Não foi possível abrir esta teleconsulta. Confira se o link está completo ou peça um novo à clínica.');
}

/** "às 09:30" today, else "em terça-feira, 25/11 às 09:30". */
function atText(iso, tz) {
  return localDate(iso, tz) === todayIn(tz) ? `às ${timeIn(iso, tz)}` : `em ${whenText(iso, tz)}`;
}

export function renderConsult(ctx, token) {
  document.title = 'Teleconsulta — atende';
  const root = h('div', { class: 'view tc-patient', dataset: { view: 'consult', stage: 'loading', live: 'false' } },
    h('h1', { class: 'visually-hidden', tabindex: '-1', text: 'Teleconsulta' }),
    loadingNode('Carregando sua teleconsulta…'));

  let info = null;
  let tz = DEFAULT_TZ;
  let state = null;
  let client = null;
  let handle = null;
  let link = null;
  /** {stream, missing, error} of the camera and microphone */
  let media = null;
  let meter = null;
  let checked = false;
  let professionalHere = false;
  /** This page found the call going on (reload): it asks for a new offer. */
  let resuming = false;
  let stage = null;
  const timers = new Set();
  let stageCleanup = null;

  function later(fn, ms) {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  }

  function stopAll() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (stageCleanup) stageCleanup();
    stageCleanup = null;
    if (meter) meter.stop();
    meter = null;
    if (link) link.close();
    link = null;
    if (handle) handle.leave();
    handle = null;
    if (client) client.destroy();
    client = null;
    if (media) stopStream(media.stream);
    media = null;
  }

  const unexpose = exposeCallForTests('patient', () => ({ link, media, state }));
  ctx.onCleanup(() => {
    stopAll();
    unexpose();
    document.title = 'atende';
  });


  const url = `/api/public/consults/${seg(token)}`;

  publicGet(url).then((data) => {
    if (!ctx.isCurrent()) return;
    info = data;
    state = data;
    tz = data.time_zone || DEFAULT_TZ;
    start();
  }, (err) => {
    if (!ctx.isCurrent()) return;
    if (err instanceof ApiError && err.status === 401) root.replaceWith(linkError(err));
    else showLoadError(err);
  });

  function showLoadError(err) {
    root.dataset.stage = 'error';
    clear(root).append(
      h('h1', { tabindex: '-1', text: 'Não foi possível abrir a teleconsulta' }),
      alertNode(errorMessage(err)),
      h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar novamente', onclick: () => ctx.navigate(location.hash) }));
  }

  // ------------------------------------------------------------ layout ---

  const body = h('div', { class: 'tc-patient-body' });
  const liveText = h('p', { class: 'phone-live muted small tc-live', dataset: { state: 'connecting' }, hidden: true });

  function start() {
    const pro = info.professional_name || 'o profissional';
    document.title = `Teleconsulta com ${pro} — atende`;
    clear(root).append(
      h('div', { class: 'tc-patient-head' },
        h('p', { class: 'phone-clinic', text: info.clinic_name || '' }),
        h('h1', { tabindex: '-1', text: `Teleconsulta com ${pro}` }),
        h('p', { class: 'tc-when', text: `${whenText(info.starts_at, tz)} (horário da clínica)` })),
      liveText,
      body);
    if (info.status === 'ended') {
      showEnded(info.ended_reason === 'cancelled' ? 'A consulta foi cancelada. Você pode fechar esta página.' : 'Esta teleconsulta já foi encerrada.');
      return;
    }
    if (info.status === 'waiting' || info.status === 'in_call') {
      // Back on the page (reload): straight into the room, with the camera on again.
      resuming = info.status === 'in_call';
      showResuming();
      return;
    }
    showCheck();
  }

  function setStage(name) {
    if (stageCleanup) stageCleanup();
    stageCleanup = null;
    stage = name;
    root.dataset.stage = name;
  }

  function isOpen() {
    return !info.opens_at || Date.now() >= Date.parse(info.opens_at);
  }

  // ------------------------------------------------------------- check ---

  function showCheck({ tooEarly = false } = {}) {
    setStage('check');
    const pro = info.professional_name || 'o profissional';
    const preview = videoElement({ self: true, label: 'Prévia da sua câmera', className: 'tc-preview' });
    const previewEmpty = h('p', { class: 'tc-preview-empty', text: 'A imagem da sua câmera aparece aqui.' });
    const previewBox = h('div', { class: 'tc-preview-box' }, preview, previewEmpty);
    const meterSlot = h('div', { class: 'tc-meter-slot' });
    const results = h('ul', { class: 'tc-check-list', hidden: true });
    const problem = h('div', { class: 'tc-check-problem' });
    const checkButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Testar câmera e microfone', dataset: { action: 'check' } });
    const opens = h('p', { class: 'tc-opens', role: 'status' });
    const enterButton = h('button', { type: 'button', class: 'btn btn-primary btn-large', text: 'Entrar na sala de espera', disabled: true, dataset: { action: 'enter' } });
    const enterHint = h('p', { class: 'muted small tc-enter-hint' });

    clear(body).append(
      h('section', { class: 'panel tc-check', 'aria-labelledby': 'tc-check-title' },
        h('h2', { id: 'tc-check-title', class: 'h3', text: 'Antes de entrar: teste sua câmera e seu microfone' }),
        h('p', { class: 'muted small', text: `Assim ${pro} consegue ver e ouvir você. O navegador vai pedir permissão: toque em "Permitir".` }),
        previewBox,
        h('div', { class: 'tc-mic-row' },
          h('span', { class: 'tc-mic-label', text: 'Microfone' }), meterSlot),
        results, problem, checkButton),
      h('section', { class: 'tc-enter', 'aria-label': 'Entrar' }, opens, enterButton, enterHint));

    function syncEnter() {
      const open = isOpen() && !tooEarly;
      enterButton.disabled = !open || !checked;
      if (!open) {
        opens.textContent = `A sala de espera abre ${atText(info.opens_at, tz)}. Esta página libera a entrada sozinha.`;
        opens.hidden = false;
      } else opens.hidden = true;
      enterHint.textContent = checked
        ? (media && media.stream ? '' : 'Você pode entrar mesmo assim, mas o profissional não vai ver nem ouvir você.')
        : 'Faça o teste da câmera e do microfone para liberar a entrada.';
      enterHint.hidden = !enterHint.textContent;
    }

    async function runCheck() {
      checkButton.disabled = true;
      checkButton.textContent = 'Testando…';
      clear(problem);
      if (meter) meter.stop();
      meter = null;
      if (media) stopStream(media.stream);
      media = null;
      const res = await openLocalMedia();
      if (!ctx.isCurrent() || stage !== 'check') {
        stopStream(res.stream);
        return;
      }
      media = res;
      checked = true;
      showMedia(res);
    }

    /** The check's outcome: preview, meter, results, problem. */
    function showMedia(res) {
      const stream = res.stream;
      const cam = stream ? stream.getVideoTracks()[0] : null;
      const mic = stream ? stream.getAudioTracks()[0] : null;
      playInto(preview, cam ? stream : null);
      previewEmpty.hidden = Boolean(cam);
      preview.hidden = !cam;
      meter = micMeter(stream);
      clear(meterSlot).append(meter.node);
      clear(results).append(
        h('li', { dataset: { check: 'camera', ok: String(Boolean(cam)) }, text: cam ? 'Câmera funcionando' : 'Câmera indisponível' }),
        h('li', { dataset: { check: 'microphone', ok: String(Boolean(mic)) }, text: mic ? 'Microfone funcionando: fale algo e veja a barra se mexer' : 'Microfone indisponível' }));
      results.hidden = false;
      if (res.error) problem.append(alertNode(res.error));
      checkButton.disabled = false;
      checkButton.textContent = res.error ? 'Tentar de novo' : 'Testar de novo';
      syncEnter();
    }

    checkButton.addEventListener('click', () => {
      // Created within the click: browsers only start audio after a user gesture.
      runCheck();
    });
    enterButton.addEventListener('click', () => {
      if (meter) meter.stop();
      meter = null;
      enterRoom();
    });
    if (!mediaSupported()) {
      problem.append(alertNode('Este navegador não permite chamadas de vídeo nesta página. Use uma versão recente do Chrome, Edge, Firefox ou Safari.'));
    }

    // Not open yet: look again when it opens (and at least every minute, in case the
    // appointment moved).
    function waitOpen() {
      if (isOpen() && !tooEarly) return;
      const wait = tooEarly ? TOO_EARLY_RETRY_MS : Math.min(60_000, Math.max(1000, Date.parse(info.opens_at) - Date.now() + 500));
      later(async () => {
        if (!ctx.isCurrent() || stage !== 'check') return;
        try {
          const fresh = await publicGet(url);
          if (!ctx.isCurrent() || stage !== 'check') return;
          info = fresh;
          tooEarly = false;
        } catch (err) {
          if (!ctx.isCurrent()) return;
          if (err instanceof ApiError && err.status === 401) {
            stopAll();
            root.replaceWith(linkError(err));
            return;
          }
        }
        syncEnter();
        waitOpen();
      }, wait);
    }
    if (checked && media) showMedia(media);
    syncEnter();
    waitOpen();
  }

  // -------------------------------------------------------- connecting ---

  function showResuming() {
    setStage('connecting');
    clear(body).append(h('p', { class: 'loading tc-resuming', role: 'status', text: resuming ? 'Voltando à chamada…' : 'Voltando à sala de espera…' }));
    openLocalMedia().then((res) => {
      if (!ctx.isCurrent() || stage !== 'connecting') {
        stopStream(res.stream);
        return;
      }
      media = res;
      enterRoom();
    });
  }

  /** Connect as the link's guest, join the consult topic and `enter`. */
  function enterRoom() {
    if (stage !== 'connecting') {
      setStage('connecting');
      clear(body).append(h('p', { class: 'loading', role: 'status', text: 'Entrando na sala de espera…' }));
    }
    liveText.hidden = false;
    client = createGuestClient({ consult: token });
    client.onAuthError((err) => {
      if (!ctx.isCurrent()) return;
      closeConnection();
      if (err.code === 'too_early') {
        showCheck({ tooEarly: true });
        return;
      }
      stopAll();
      root.replaceWith(linkError(err));
    });
    link = new PeerLink({
      side: 'patient',
      send: (payload) => (handle ? handle.push('signal', payload) : Promise.reject(new Error('not joined'))),
      iceServers: async () => (await publicGet(`/api/consults/${seg(info.appointment_id)}/ice${qs({ token })}`)).ice_servers,
      tracks: () => {
        const stream = media ? media.stream : null;
        return {
          stream,
          audio: stream ? stream.getAudioTracks()[0] || null : null,
          video: stream ? stream.getVideoTracks()[0] || null : null,
        };
      },
      onRemoteStream: (stream) => {
        if (callStage) callStage.showRemote(stream);
        renderCall();
      },
      onState: () => renderCall(),
    });
    client.connect();
    handle = client.join(`consult:${info.appointment_id}`, {
      events: {
        'consult.state': (payload) => apply(payload),
        'consult.signal': (payload) => {
          if (!link || stage === 'ended' || stage === 'left') return;
          if (payload && payload.type === 'offer' && payload.to === 'patient' && stage !== 'call') {
            // An offer means the call is on, even if its state push is still on its way.
            apply({ status: 'in_call' });
          }
          link.handleSignal(payload);
        },
        'consult.ended': (payload) => {
          if (payload && payload.state) state = { ...state, ...payload.state };
          showEnded((payload && payload.message) || 'A teleconsulta foi encerrada.');
        },
      },
      onPresence: (people) => {
        professionalHere = people.some((p) => p.role === 'professional');
        if (stage === 'waiting') renderWaiting();
      },
      onJoin: (joinInfo) => doEnter(joinInfo),
      onStatus: (st) => {
        liveText.dataset.state = st === 'connected' ? 'live' : st;
        if (st === 'connected' && handle && handle.joined) liveText.textContent = 'Conectado à sala';
        else liveText.textContent = st === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
      },
      onError: (err) => {
        // A refused link (too early, cancelled, invalid) also reaches onAuthError above.
        if (!ctx.isCurrent() || AUTH_CODES.has(err.code)) return;
        closeConnection();
        if (err.code === 'not_found' || err.code === 'forbidden') {
          stopAll();
          root.replaceWith(linkError(err));
          return;
        }
        showProblem(errorText(err));
      },
    });
  }

  function errorText(err) {
    if (err && err.name === 'RealtimeError') return `Não foi possível entrar na sala: ${err.message}.`;
    return errorMessage(err);
  }

  /** Drop the socket and the call (the camera stays on). */
  function closeConnection() {
    if (link) link.close();
    link = null;
    if (handle) handle.leave();
    handle = null;
    if (client) client.destroy();
    client = null;
    liveText.hidden = true;
  }

  async function doEnter(joinInfo) {
    liveText.dataset.state = 'live';
    liveText.textContent = 'Conectado à sala';
    root.dataset.live = 'true';
    try {
      const res = await handle.push('enter', {});
      if (!ctx.isCurrent() || !handle) return;
      apply(res, { fromEnter: true });
    } catch (err) {
      if (!ctx.isCurrent()) return;
      if (err.code === 'consult_ended') showEnded('Esta teleconsulta já foi encerrada.');
      else if (!(joinInfo && joinInfo.rejoin)) showProblem(errorText(err));
    }
  }

  function showProblem(message) {
    setStage('problem');
    clear(body).append(alertNode(message),
      h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar novamente', onclick: () => ctx.navigate(location.hash) }));
  }

  /** A new STATE (enter reply, push). */
  function apply(next, { fromEnter = false } = {}) {
    if (!next || stage === 'ended' || stage === 'left' || stage === 'closed') return;
    state = { ...state, ...next };
    if (state.status === 'ended') {
      showEnded(state.ended_reason === 'cancelled' ? 'A consulta foi cancelada. Você pode fechar esta página.' : 'A teleconsulta foi encerrada.');
      return;
    }
    if (state.status === 'in_call') {
      const wasCall = stage === 'call';
      if (!wasCall) showCall();
      else renderCall();
      if (!link) return;
      if (fromEnter && link.state !== 'connected') {
        // This page (re)connected during the call (reload, lost socket): ask the
        // professional for a new offer (an offer already on its way is just sent again).
        link.requestRestart(true);
      } else if (!wasCall) {
        // Just admitted: the offer is on its way; ask again if it does not come.
        link.watchStuck();
      }
      return;
    }
    if (stage !== 'waiting') showWaiting();
    else renderWaiting();
  }

  // ----------------------------------------------------------- waiting ---

  let waitingNodes = null;

  function showWaiting() {
    setStage('waiting');
    const pro = info.professional_name || 'O profissional';
    const title = h('p', { class: 'tc-wait-title', text: `Aguarde, ${pro} vai chamar você em instantes.` });
    const detail = h('p', { class: 'tc-wait-detail' });
    const selfVideo = videoElement({ self: true, label: 'Sua câmera', className: 'tc-wait-self' });
    const selfOff = h('p', { class: 'tc-preview-empty', text: 'Câmera desligada', hidden: true });
    const toggles = mediaToggles(() => (media ? media.stream : null), () => syncSelf());
    function syncSelf() {
      const cam = media && media.stream ? media.stream.getVideoTracks()[0] : null;
      playInto(selfVideo, cam ? media.stream : null);
      selfVideo.hidden = !cam || !cam.enabled;
      selfOff.hidden = Boolean(cam && cam.enabled);
      selfOff.textContent = cam ? 'Câmera desligada' : 'Sem câmera';
    }
    clear(body).append(
      h('section', { class: 'phone-card tc-waiting-room', 'aria-labelledby': 'tc-wait-heading' },
        h('h2', { id: 'tc-wait-heading', class: 'phone-label', tabindex: '-1', text: 'Sala de espera' }),
        h('div', { class: 'tc-wait-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' }, title, detail),
        h('div', { class: 'tc-preview-box tc-preview-small' }, selfVideo, selfOff),
        h('div', { class: 'tc-controls', role: 'group', 'aria-label': 'Câmera e microfone' }, toggles.mic.node, toggles.camera.node),
        h('p', { class: 'muted small phone-hint', text: 'Mantenha esta página aberta: a chamada começa aqui quando você for admitido(a).' })));
    waitingNodes = { title, detail };
    syncSelf();
    renderWaiting();
    const heading = body.querySelector('h2');
    if (heading) heading.focus();
    const tick = setInterval(() => renderWaiting(), RECHECK_LATE_MS);
    stageCleanup = () => clearInterval(tick);
  }

  function renderWaiting() {
    if (!waitingNodes || stage !== 'waiting') return;
    const { detail } = waitingNodes;
    const late = Date.now() > Date.parse(info.starts_at);
    let text = '';
    let kind = 'waiting';
    if (professionalHere) {
      text = 'O(a) profissional já está na sala.';
      kind = 'present';
    } else if (late) {
      text = 'O(a) profissional está um pouco atrasado(a). Fique nesta página: você será chamado(a) assim que ele(a) entrar.';
      kind = 'late';
    }
    detail.textContent = text;
    detail.hidden = !text;
    detail.dataset.kind = kind;
    root.dataset.waiting = kind;
  }

  // -------------------------------------------------------------- call ---

  let callStage = null;
  let callNodes = null;

  function showCall() {
    setStage('call');
    const pro = info.professional_name || 'Profissional';
    const soundButton = callButton({
      control: 'sound', iconName: 'sound', label: 'Ativar som', className: 'btn-secondary tc-sound',
      onClick: () => {
        unmute(callStage.remote);
        soundButton.hidden = true;
      },
    });
    soundButton.hidden = true;
    callStage = videoStage({
      remoteLabel: `Vídeo de ${pro}`,
      selfLabel: 'Sua câmera',
      onSoundBlocked: () => {
        soundButton.hidden = false;
      },
    });
    const connText = h('p', { class: 'tc-conn', role: 'status' });
    const durationValue = h('span', { class: 'tc-duration-value', role: 'timer', text: '00:00' });
    const duration = h('p', { class: 'tc-duration' }, h('span', { class: 'visually-hidden', text: 'Duração da chamada: ' }), durationValue);
    const toggles = mediaToggles(() => (media ? media.stream : null), () => syncSelf());
    const leave = callButton({
      control: 'leave', iconName: 'hangup', label: 'Sair da chamada', className: 'btn-danger tc-ctl-end',
      onClick: () => leaveCall(),
    });
    function syncSelf() {
      const cam = media && media.stream ? media.stream.getVideoTracks()[0] : null;
      callStage.showSelf(media ? media.stream : null, { off: !cam || !cam.enabled });
    }
    clear(body).append(
      h('section', { class: 'tc-main tc-patient-call', 'aria-label': 'Chamada de vídeo' },
        h('h2', { class: 'visually-hidden', tabindex: '-1', text: `Chamada com ${pro}` }),
        callStage.node,
        h('div', { class: 'tc-bar' }, connText, duration),
        h('div', { class: 'tc-controls', role: 'group', 'aria-label': 'Controles da chamada' },
          toggles.mic.node, toggles.camera.node, leave),
        soundButton));
    callNodes = { connText, durationValue };
    syncSelf();
    if (link && link.remote && link.pc) callStage.showRemote(link.remote);
    const tick = () => {
      if (state.admitted_at) durationValue.textContent = formatDuration(Date.now() - Date.parse(state.admitted_at));
    };
    tick();
    const timer = setInterval(tick, 1000);
    stageCleanup = () => clearInterval(timer);
    renderCall();
    const heading = body.querySelector('h2');
    if (heading) heading.focus();
  }

  function renderCall() {
    if (stage !== 'call' || !callNodes) return;
    const conn = link ? link.state : 'connecting';
    const pro = info.professional_name || 'o profissional';
    root.dataset.connection = conn;
    let text = CONNECTION_TEXT[conn] || '';
    if (resuming && conn !== 'connected') text = 'Voltando à chamada…';
    if (conn === 'connected') resuming = false;
    callNodes.connText.textContent = text;
    callNodes.connText.dataset.state = conn;
    const remote = callStage.remote.srcObject;
    const hasVideo = remote && remote.getVideoTracks().some((t) => t.readyState === 'live');
    callStage.setNote(conn === 'connected' && hasVideo ? '' : `${text || 'Conectando…'} O vídeo de ${pro} aparece aqui.`);
  }

  function leaveCall() {
    closeConnection();
    if (media) stopStream(media.stream);
    media = null;
    setStage('left');
    root.dataset.connection = 'closed';
    clear(body).append(
      h('section', { class: 'phone-card tc-left', 'aria-labelledby': 'tc-left-title' },
        h('h2', { id: 'tc-left-title', class: 'phone-label', tabindex: '-1', text: 'Você saiu da chamada' }),
        h('p', { text: 'Se saiu por engano, volte: o profissional continua na sala até encerrar a consulta.' }),
        h('button', {
          type: 'button', class: 'btn btn-primary btn-large', text: 'Voltar à chamada',
          onclick: () => {
            resuming = true;
            showResuming();
          },
        })));
    body.querySelector('h2').focus();
  }

  // ------------------------------------------------------------- ended ---

  function showEnded(message) {
    if (stage === 'ended') return;
    const lasted = state && state.admitted_at && state.ended_at
      ? Date.parse(state.ended_at) - Date.parse(state.admitted_at) : null;
    stopAll();
    setStage('ended');
    root.dataset.connection = 'closed';
    liveText.hidden = true;
    clear(body).append(
      h('section', { class: 'phone-card tc-ended-card', 'aria-labelledby': 'tc-ended-title' },
        h('h2', { id: 'tc-ended-title', class: 'phone-label', tabindex: '-1', text: 'Teleconsulta encerrada' }),
        h('p', { class: 'tc-ended-message', role: 'status', text: message }),
        lasted !== null && lasted > 0 ? h('p', { class: 'muted small', text: `Duração da chamada: ${durationWords(lasted)}.` }) : null,
        h('p', { class: 'muted small', text: 'Sua câmera e seu microfone foram desligados. Você pode fechar esta página.' })));
    document.title = 'Teleconsulta encerrada — atende';
    const heading = body.querySelector('h2');
    if (heading) heading.focus();
  }

  return root;
}
