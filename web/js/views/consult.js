// @ts-check
// Teleconsultation, the patient's side: #/consulta/{token} (public: the link is the key).
// The same page serves an invited third participant (interpreter, family member): the
// preview then says `as: "guest"` and the page speaks to them as a guest.
//
//   GET  /api/public/consults/{token}           professional, clinic, time, zone, opens_at,
//                                               as (patient | guest), guest_name, media
//   GET  /api/consults/{id}/ice?token=…         ICE servers
//   POST /api/consults/{id}/media/check?token=… the pre-call network check (call.js
//                                               ConnectionCheck)
//   …/media, …/media/publish, …/media/subscribe?token=…   the relayed call (RelayLink)
//   WS   guest `{consult: token}` → consult:<id> enter → STATE; signal (answers, candidates,
//                                               restart-request; the patient only); chat;
//                                               use-relay; pushes as on the professional's
//                                               page
//
// Stages (`data-stage` on the view): `check` (before entering: the room's opening time and
// the camera/microphone check, with a live microphone meter, then the network check against
// the server: a verdict, latency, loss and rate, and the camera as it arrives through the
// internet), `waiting` (virtual waiting room), `call`, `ended`, `left` (the patient left the
// call: "Voltar à chamada"), `closed` (invalid or cancelled link; for a guest, also the
// invitation taken back by the professional: `link_revoked`, their socket closed and the
// reconnect refused, final, no retry). A reload while waiting or in the call goes straight
// back in: after `enter` answers `in_call`, a `restart-request` makes the professional offer
// again ("Voltando à chamada…"). The patient never offers (see call.js). In a relayed call
// (`media: "relay"`) the page publishes and subscribes instead; a guest only ever takes
// part through the relay. The network check never blocks entry.
//
// The `check` stage's screen is views/consult-check.js. For the browser tests,
// `window.__atendeCall` exposes the call (see call.js).

import { ApiError, publicDelete, publicGet, publicPost, qs, seg } from '../api.js';
import { createGuestClient } from '../realtime.js';
import { h, alertNode, clear, errorMessage, loadingNode } from '../ui.js';
import { DEFAULT_TZ, whenText } from '../agenda-util.js';
import {
  CONNECTION_TEXT, PeerLink, RelayLink, durationWords, exposeCallForTests, formatDuration, openLocalMedia,
  playInto, stopStream,
} from '../call.js';
import { callButton, mediaToggles, videoElement, videoStage } from './call-parts.js';
import { checkScreen } from './consult-check.js';
import { consultChat } from './consult-chat.js';

const RECHECK_LATE_MS = 15_000;
/** Refusals of the link itself (handled by the guest client's onAuthError). `link_revoked`:
 * the professional took a guest's invitation back (final: see linkError). */
const AUTH_CODES = new Set(['too_early', 'consult_cancelled', 'invalid_token', 'invalid_payload', 'link_revoked']);

/** sessionStorage key: this tab's guest already entered the room (a reload goes back in). */
function enteredKey(token) {
  return `atende.consult.entered.${token.slice(-24)}`;
}

function closedView(kind, title, message, note = '') {
  document.title = `${title} — atende`;
  return h('div', { class: 'view phone-view public-message tc-patient', dataset: { view: 'consult', stage: 'closed', reason: kind } },
    h('h1', { tabindex: '-1', text: title }),
    h('p', { class: 'lead', text: message }),
    note ? h('p', { class: 'muted', text: note }) : null);
}

function linkError(err) {
  if (err && err.code === 'link_revoked') {
    // A guest whose invitation was taken back: at the first load, or thrown out of the
    // call (the server closes the socket, and the reconnect's `auth` is refused).
    return closedView('revoked', 'Participação encerrada', 'O profissional encerrou sua participação nesta consulta.',
      'Este link não funciona mais. Sua câmera e seu microfone foram desligados; você pode fechar esta página.');
  }
  if (err && err.code === 'consult_cancelled') {
    return closedView('cancelled', 'Consulta cancelada', 'Esta teleconsulta foi cancelada. Se precisar, fale com a clínica para marcar outro horário.');
  }
  return closedView('invalid', 'Link inválido ou expirado', 'Não foi possível abrir esta teleconsulta. Confira se o link está completo ou peça um novo à clínica.');
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} token the link's token
 */
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
  /** The relayed call (media `relay`), instead of `link`. */
  let relay = null;
  /** An invited third participant (interpreter, family member), not the patient. */
  let isGuest = false;
  let chat = null;
  /**
   * The camera and microphone ({stream, missing, error}), the microphone meter, whether they
   * were tested, and the pre-call network check while it runs.
   * @type {import('./consult-check.js').LocalDevices}
   */
  const local = { media: null, meter: null, checked: false, check: null };
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
    if (local.meter) local.meter.stop();
    local.meter = null;
    if (local.check) local.check.stop();
    local.check = null;
    if (link) link.close();
    link = null;
    if (relay) relay.close();
    relay = null;
    if (handle) handle.leave();
    handle = null;
    if (client) client.destroy();
    client = null;
    if (local.media) stopStream(local.media.stream);
    local.media = null;
  }

  const unexpose = exposeCallForTests('patient', () => ({ link: relay || link, media: local.media, state, check: local.check }));
  ctx.onCleanup(() => {
    // Leaving the page (not reloading it): the others stop waiting for this video.
    if (relay && stage === 'call') relay.close({ leave: true });
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
    isGuest = info.as === 'guest';
    root.dataset.as = isGuest ? 'guest' : 'patient';
    const patientName = info.patient_first_name || 'o(a) paciente';
    document.title = isGuest ? `Teleconsulta de ${patientName} — atende` : `Teleconsulta com ${pro} — atende`;
    clear(root).append(
      h('div', { class: 'tc-patient-head' },
        h('p', { class: 'phone-clinic', text: info.clinic_name || '' }),
        h('h1', { tabindex: '-1', text: isGuest ? `Teleconsulta de ${patientName}` : `Teleconsulta com ${pro}` }),
        isGuest
          ? h('p', { class: 'tc-invited-by', text: `Você foi convidado(a) por ${pro} para a teleconsulta de ${patientName}.` })
          : null,
        h('p', { class: 'tc-when', text: `${whenText(info.starts_at, tz)} (horário da clínica)` })),
      liveText,
      body);
    chat = consultChat({
      push: (event, payload) => (handle ? handle.push(event, payload) : Promise.reject(new Error('not joined'))),
      timeZone: () => (state && state.time_zone) || tz,
      me: { role: isGuest ? 'guest' : 'patient', name: isGuest ? info.guest_name || '' : '' },
    });
    if (info.status === 'ended') {
      showEnded(info.ended_reason === 'cancelled' ? 'A consulta foi cancelada. Você pode fechar esta página.' : 'Esta teleconsulta já foi encerrada.');
      return;
    }
    // Back on the page (reload): straight into the room, with the camera on again. The
    // patient's status says so; a guest's tab remembers it.
    const back = isGuest ? sessionFlag() && info.status !== 'ended' : info.status === 'waiting' || info.status === 'in_call';
    if (back) {
      resuming = info.status === 'in_call';
      showResuming();
      return;
    }
    showCheck();
  }

  function sessionFlag(value) {
    try {
      if (value === undefined) return sessionStorage.getItem(enteredKey(token)) === '1';
      if (value) sessionStorage.setItem(enteredKey(token), '1');
      else sessionStorage.removeItem(enteredKey(token));
    } catch {
      // Storage blocked: a reload shows the check again.
    }
    return false;
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

  /** @param {{tooEarly?: boolean}} [opts] */
  function showCheck(opts) {
    setStage('check');
    stageCleanup = checkScreen({
      body,
      info: () => info,
      setInfo: (fresh) => {
        info = fresh;
      },
      url,
      token,
      tz,
      isGuest,
      local,
      isOpen,
      isCurrent: () => ctx.isCurrent(),
      here: () => ctx.isCurrent() && stage === 'check',
      later,
      closeLink,
      enterRoom,
    }, opts);
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
      local.media = res;
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
      closeLink(err);
    });
    if (isGuest) sessionFlag(true);
    // A guest only ever takes part through the relay: no peer-to-peer link.
    link = isGuest ? null : new PeerLink({
      side: 'patient',
      send: (payload) => (handle ? handle.push('signal', payload) : Promise.reject(new Error('not joined'))),
      iceServers,
      tracks: localTracks,
      onRemoteStream: (stream) => {
        if (callStage) callStage.showRemote(stream);
        renderCall();
      },
      onState: () => renderCall(),
      onGiveUp: () => askRelay(),
    });
    client.connect();
    handle = client.join(`consult:${info.appointment_id}`, {
      // Chat messages are stored events: the whole chat on a fresh page, what is new after.
      since: chat.lastSeq,
      events: {
        'consult.state': (payload) => apply(payload),
        'consult.media': (payload) => {
          if (relay && stage === 'call') relay.setPublishers(payload && payload.publishers);
        },
        'consult.chat': (payload, frame) => chat.receive(payload, frame),
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
      onJoin: (joinInfo) => {
        chat.joined(joinInfo);
        doEnter(joinInfo);
      },
      onStatus: (st) => {
        liveText.dataset.state = st === 'connected' ? 'live' : st;
        if (st === 'connected' && handle && handle.joined) liveText.textContent = 'Conectado à sala';
        else liveText.textContent = st === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
      },
      onError: (err) => {
        if (!ctx.isCurrent()) return;
        // Taken back between the auth and the join (the join was refused): final.
        if (err.code === 'link_revoked') {
          closeLink(err);
          return;
        }
        // A refused link (too early, cancelled, invalid) also reaches onAuthError above.
        if (AUTH_CODES.has(err.code)) return;
        closeConnection();
        if (err.code === 'not_found' || err.code === 'forbidden') {
          closeLink(err);
          return;
        }
        showProblem(errorText(err));
      },
    });
  }

  function iceServers() {
    return publicGet(`/api/consults/${seg(info.appointment_id)}/ice${qs({ token })}`).then((res) => res.ice_servers);
  }

  function localTracks() {
    const stream = local.media ? local.media.stream : null;
    return {
      stream,
      audio: stream ? stream.getAudioTracks()[0] || null : null,
      video: stream ? stream.getVideoTracks()[0] || null : null,
    };
  }

  /** Peer to peer failed for good: ask the server to move the call to its relay. */
  function askRelay() {
    if (!handle || !state || state.relay_mode !== 'fallback' || state.media === 'relay' || stage !== 'call') return;
    handle.push('use-relay', {}).catch(() => {
      // The professional may have asked already; the watcher asks again on the next failure.
    });
  }

  /** The relayed call: publish this side, subscribe to the others. */
  function startRelay(fromEnter) {
    if (link) {
      link.close();
      link = null;
      if (callStage) callStage.showRemote(null);
    }
    if (relay) {
      if (fromEnter) {
        // This page's socket came back: pushes may have been lost.
        relay.poke();
        relay.refresh();
      }
      return;
    }
    const mediaUrl = (path) => `/api/consults/${seg(info.appointment_id)}/media${path ? `/${path}` : ''}${qs({ token })}`;
    const r = new RelayLink({
      request: (method, path, body) => {
        if (method === 'GET') return publicGet(mediaUrl(path));
        if (method === 'DELETE') return publicDelete(mediaUrl(path));
        return publicPost(mediaUrl(path), body);
      },
      iceServers,
      tracks: localTracks,
      onChange: () => renderCall(),
      onState: () => renderCall(),
      onError: (err) => {
        if (relay === r) relay = null;
        if (err && err.code === 'consult_ended') {
          showEnded('A teleconsulta foi encerrada.');
          return;
        }
        if (err && err.code === 'link_revoked') {
          // The invitation was taken back (the socket's reconnect says so too).
          closeLink(err);
          return;
        }
        if (callNodes) {
          callNodes.problem.textContent = err && err.code === 'relay_disabled'
            ? 'Esta chamada não pode passar pelo servidor agora. Tente entrar de novo em instantes.'
            : `Não foi possível conectar a chamada: ${errorMessage(err)}`;
          callNodes.problem.hidden = false;
        }
        renderCall();
      },
    });
    relay = r;
    r.publish();
  }

  /** The link was refused for good (invalid, cancelled, taken back): stop the camera and
   * the call, and say so instead of the page (once; no retry). */
  function closeLink(err) {
    if (stage === 'closed') return;
    stopAll();
    setStage('closed');
    if (isGuest) sessionFlag(false);
    const focused = root.contains(document.activeElement) || document.activeElement === document.body;
    const view = linkError(err);
    root.replaceWith(view);
    const heading = view.querySelector('h1');
    if (focused && heading) heading.focus();
  }

  function errorText(err) {
    if (err && err.name === 'RealtimeError') return `Não foi possível entrar na sala: ${err.message}.`;
    return errorMessage(err);
  }

  /** Drop the socket and the call (the camera stays on). */
  function closeConnection({ leave = false } = {}) {
    if (link) link.close();
    link = null;
    if (relay) relay.close({ leave });
    relay = null;
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
    chat.setAvailable(state.status === 'in_call', state.status === 'in_call' ? '' : 'O chat fica disponível durante a chamada.');
    if (state.status === 'in_call') {
      const wasCall = stage === 'call';
      if (!wasCall) showCall();
      else renderCall();
      if (state.media === 'relay') {
        startRelay(fromEnter);
        renderCall();
        return;
      }
      // A guest without the relay waits for it (renderCall says so).
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
    const title = h('p', { class: 'tc-wait-title', text: isGuest ? 'Aguardando o início da consulta' : `Aguarde, ${pro} vai chamar você em instantes.` });
    const detail = h('p', { class: 'tc-wait-detail' });
    const selfVideo = videoElement({ self: true, label: 'Sua câmera', className: 'tc-wait-self' });
    const selfOff = h('p', { class: 'tc-preview-empty', text: 'Câmera desligada', hidden: true });
    const toggles = mediaToggles(() => (local.media ? local.media.stream : null), () => syncSelf());
    function syncSelf() {
      const cam = local.media && local.media.stream ? local.media.stream.getVideoTracks()[0] : null;
      playInto(selfVideo, cam ? local.media.stream : null);
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
        h('p', { class: 'muted small phone-hint', text: isGuest
          ? 'Mantenha esta página aberta: você entra na chamada assim que a consulta começar.'
          : 'Mantenha esta página aberta: a chamada começa aqui quando você for admitido(a).' })));
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
    } else if (late && !isGuest) {
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
        callStage.unmuteAll();
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
    const problem = h('p', { class: 'alert alert-error tc-call-problem', role: 'alert', hidden: true });
    const durationValue = h('span', { class: 'tc-duration-value', role: 'timer', text: '00:00' });
    const duration = h('p', { class: 'tc-duration' }, h('span', { class: 'visually-hidden', text: 'Duração da chamada: ' }), durationValue);
    const toggles = mediaToggles(() => (local.media ? local.media.stream : null), () => syncSelf());
    const leave = callButton({
      control: 'leave', iconName: 'hangup', label: 'Sair da chamada', className: 'btn-danger tc-ctl-end',
      onClick: () => leaveCall(),
    });
    function syncSelf() {
      const cam = local.media && local.media.stream ? local.media.stream.getVideoTracks()[0] : null;
      callStage.showSelf(local.media ? local.media.stream : null, { off: !cam || !cam.enabled });
    }
    clear(body).append(
      h('section', { class: 'tc-main tc-patient-call', 'aria-label': 'Chamada de vídeo' },
        h('h2', { class: 'visually-hidden', tabindex: '-1', text: isGuest ? `Teleconsulta de ${info.patient_first_name || 'paciente'}` : `Chamada com ${pro}` }),
        callStage.node,
        h('div', { class: 'tc-bar' }, connText, duration),
        problem,
        h('div', { class: 'tc-controls', role: 'group', 'aria-label': 'Controles da chamada' },
          toggles.mic.node, toggles.camera.node, leave),
        soundButton),
      chat.node);
    callNodes = { connText, durationValue, problem };
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
    const current = relay || link;
    const conn = current ? current.state : 'connecting';
    const pro = info.professional_name || 'o profissional';
    root.dataset.connection = conn;
    root.dataset.media = relay ? 'relay' : 'p2p';
    let text = CONNECTION_TEXT[conn] || '';
    if (resuming && conn !== 'connected') text = 'Voltando à chamada…';
    if (conn === 'connected') resuming = false;
    callNodes.connText.textContent = text;
    callNodes.connText.dataset.state = conn;
    if (relay) {
      const remotes = relay.remotes;
      callStage.setTiles(remotes);
      callStage.setNote(remotes.length ? '' : conn === 'connected' ? 'Aguardando os outros participantes…' : text || 'Conectando…');
      return;
    }
    callStage.setTiles(null);
    if (!link) {
      // A guest before the call moved to the relay.
      callStage.setNote('Aguardando a conexão da chamada…');
      return;
    }
    const remote = callStage.remote.srcObject;
    const hasVideo = remote && remote.getVideoTracks().some((t) => t.readyState === 'live');
    callStage.setNote(conn === 'connected' && hasVideo ? '' : `${text || 'Conectando…'} O vídeo de ${pro} aparece aqui.`);
  }

  function leaveCall() {
    closeConnection({ leave: true });
    if (local.media) stopStream(local.media.stream);
    local.media = null;
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
