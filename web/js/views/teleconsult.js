// @ts-check
// Teleconsultation, the professional's side: #/teleconsulta/{appointment_id}.
//
//   GET  /api/consults/{id}        the session (status, times, participants, media,
//                                  relay_mode) + `patient_link`
//   GET  /api/consults/{id}/ice    ICE servers (fresh TURN credentials at every restart)
//   POST /api/consults/{id}/guests a third participant's link (interpreter, family member)
//   GET  /api/consults/{id}/guests the invitations (revoked_at: taken back), for the list
//   DELETE …/guests/{guest_id}     take an invitation back ("Remover"): the guest is out
//   …/media, …/media/publish, …/media/subscribe   the relayed call (see call.js RelayLink)
//   WS   consult:<id>              enter → STATE; admit; end; signal (see call.js); chat;
//                                  use-relay
//        pushes: consult.state (STATE), consult.signal, consult.media, consult.chat,
//                consult.ended, presence.*
//
// The page shows the virtual waiting room ("Sala de espera": the patient waiting since
// hh:mm, "Admitir paciente"), the patient's link to copy, the local preview and, once the
// patient is admitted, the call: remote video, microphone/camera/screen buttons, the call's
// duration (from `admitted_at`) and "Encerrar consulta". The professional is the offerer:
// after admitting, after a reload of this page during the call ("Voltando à chamada…"), and
// when the patient asks (`restart-request`: their page reloaded) or comes back (presence).
// Every (re)join sends `enter` again: consult pushes are not replayed after a reconnect
// (chat messages are: they are stored events, see consult-chat.js).
//
// The call's media runs peer to peer (`media: "p2p"`, PeerLink) or through the server's
// relay (`media: "relay"`, RelayLink: one tile per remote participant). In relay mode
// `fallback`, a peer-to-peer connection that failed and did not come back after an ICE
// restart sends `use-relay`, and the server moves everyone to the relay. "Convidar
// participante" makes a link for an interpreter or a family member (the call then goes
// through the relay); "Remover" takes it back (the guest leaves the call, the link stops
// working).
//
// "Convidar participante" is views/teleconsult-guests.js. For the browser tests,
// `window.__atendeCall` exposes the call (see call.js).

import { api, seg } from '../api.js';
import { realtime } from '../realtime.js';
import { h, alertNode, clear, copyField, errorMessage, loadingNode } from '../ui.js';
import { DEFAULT_TZ, timeIn, whenText } from '../agenda-util.js';
import {
  CONNECTION_TEXT, PeerLink, RelayLink, durationWords, exposeCallForTests, formatDuration, openLocalMedia,
  stopStream,
} from '../call.js';
import {
  callButton, consultError, consultStatusLabel, mediaToggles, toggleButton, videoStage,
} from './call-parts.js';
import { consultChat } from './consult-chat.js';
import { invitePanel } from './teleconsult-guests.js';

/** The clinic's time zone (the session answer names the clinic, not its zone). */
async function clinicZone(me, clinicName) {
  const m = (me.memberships || []).find((x) => x.clinic_name === clinicName);
  if (!m) return DEFAULT_TZ;
  try {
    const info = await api.get(`/api/clinics/${seg(m.clinic_id)}`);
    return (info && info.time_zone) || DEFAULT_TZ;
  } catch {
    return DEFAULT_TZ;
  }
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string} appointmentId
 */
export function renderTeleconsult(ctx, me, appointmentId) {
  document.title = 'Teleconsulta — atende';
  const root = h('div', {
    class: 'view tc-view',
    dataset: { view: 'teleconsult', live: 'false', status: 'loading', connection: 'idle' },
  }, h('h1', { class: 'visually-hidden', tabindex: '-1', text: 'Teleconsulta' }), loadingNode());

  let state = null;
  let tz = DEFAULT_TZ;
  let handle = null;
  let link = null;
  /** The relayed call (media `relay`), instead of `link`. */
  let relay = null;
  /** {stream, missing, error} of the camera and microphone */
  let media = null;
  let mediaReady = null;
  let screenTrack = null;
  let durationTimer = 0;
  let ended = false;
  let rejoining = false;
  /** The first offer was made (or is being made): later STATEs only re-offer. */
  let callStarted = false;

  const unexpose = exposeCallForTests('professional', () => ({ link: relay || link, media, state }));
  const cleanup = () => {
    clearInterval(durationTimer);
    if (handle) handle.leave();
    if (link) link.close();
    // Leaving the page (not reloading it): the others stop waiting for this video.
    if (relay) relay.close({ leave: !ended });
    if (screenTrack) screenTrack.stop();
    if (media) stopStream(media.stream);
    unexpose();
    document.title = 'atende';
  };
  ctx.onCleanup(cleanup);


  (async () => {
    let consult;
    try {
      consult = await api.get(`/api/consults/${seg(appointmentId)}`);
    } catch (err) {
      if (!ctx.isCurrent()) return;
      root.dataset.status = 'error';
      const notFound = err && err.status === 404;
      clear(root).append(
        h('h1', { tabindex: '-1', text: notFound ? 'Teleconsulta não encontrada' : 'Não foi possível abrir a teleconsulta' }),
        notFound
          ? h('p', { text: 'Ela pode ter sido desmarcada ou não ser uma teleconsulta sua.' })
          : alertNode(errorMessage(err)),
        h('p', null, h('a', { href: '#/minha-agenda', text: 'Ir para a minha agenda' })));
      return;
    }
    tz = await clinicZone(me, consult.clinic_name);
    if (!ctx.isCurrent()) return;
    build(consult);
  })();

  function build(consult) {
    state = consult;
    const first = consult.patient_first_name || 'Paciente';
    document.title = `Teleconsulta com ${first} — atende`;

    // ----- header
    const statusBadge = h('span', { class: 'badge tc-status-badge' });
    const liveText = h('p', { class: 'muted small ag-live', role: 'status', text: 'Conectando…' });
    const header = h('div', { class: 'view-header tc-header' },
      h('div', null,
        h('p', { class: 'tc-eyebrow', text: 'Teleconsulta' }),
        h('h1', { tabindex: '-1', text: `Consulta com ${first}` }),
        h('p', { class: 'card-meta tc-meta' },
          h('span', { class: 'tc-when', text: `${whenText(consult.starts_at, tz)}–${timeIn(consult.ends_at, tz)}` }),
          h('span', { text: consult.clinic_name || '' }),
          statusBadge)),
      liveText);

    // ----- stage and controls
    const soundButton = callButton({
      control: 'sound', iconName: 'sound', label: 'Ativar som do paciente', className: 'btn-secondary tc-sound',
      onClick: () => {
        stage.unmuteAll();
        soundButton.hidden = true;
      },
    });
    soundButton.hidden = true;
    const stage = videoStage({
      remoteLabel: `Vídeo de ${first}`,
      selfLabel: 'Sua câmera',
      onSoundBlocked: () => {
        soundButton.hidden = false;
      },
    });
    const connText = h('p', { class: 'tc-conn', role: 'status' });
    const mediaMode = h('p', { class: 'muted small tc-media-mode', hidden: true, text: 'Chamada pelo servidor do atende' });
    const duration = h('p', { class: 'tc-duration', hidden: true },
      h('span', { class: 'visually-hidden', text: 'Duração da chamada: ' }),
      h('span', { class: 'tc-duration-value', role: 'timer', text: '00:00' }));
    const durationValue = duration.querySelector('.tc-duration-value');
    const toggles = mediaToggles(() => (media ? media.stream : null), () => showSelf());
    const canShare = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    const share = toggleButton({
      control: 'screen', onIcon: 'screen', offIcon: 'screen', onLabel: 'Compartilhar tela', offLabel: 'Parar de compartilhar',
      onClick: () => (screenTrack ? stopShare() : startShare()),
    });
    share.node.hidden = !canShare;
    const endButton = callButton({
      control: 'end', iconName: 'hangup', label: 'Encerrar consulta', className: 'btn-danger tc-ctl-end',
      onClick: () => {
        endConfirm.hidden = false;
        endNo.focus();
      },
    });
    const endYes = h('button', { type: 'button', class: 'btn btn-danger btn-small', text: 'Sim, encerrar' });
    const endNo = h('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Continuar na chamada' });
    const endError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const endConfirm = h('div', { class: 'confirm-step tc-end-confirm', role: 'group', 'aria-label': 'Encerrar a teleconsulta?', hidden: true },
      h('p', { class: 'confirm-question', text: `Encerrar a teleconsulta? A chamada termina para você e para ${first}.` }),
      endError,
      h('div', { class: 'form-actions' }, endYes, endNo));
    endNo.addEventListener('click', () => {
      endConfirm.hidden = true;
      endError.hidden = true;
      endButton.focus();
    });
    endYes.addEventListener('click', () => endConsult());
    const controls = h('div', { class: 'tc-controls', role: 'group', 'aria-label': 'Controles da chamada' },
      toggles.mic.node, toggles.camera.node, share.node, endButton);
    const mediaNote = h('div', { class: 'tc-media-note', hidden: true });
    const endedBox = h('section', { class: 'panel tc-ended', hidden: true, 'aria-labelledby': 'tc-ended-title' });
    const callArea = h('section', { class: 'tc-main', 'aria-label': 'Chamada de vídeo' },
      stage.node,
      h('div', { class: 'tc-bar' }, connText, mediaMode, duration),
      controls, soundButton, endConfirm, mediaNote);

    // ----- waiting room and link
    const waitingText = h('p', { class: 'tc-waiting-text', role: 'status' });
    const admitError = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const admitButton = h('button', { type: 'button', class: 'btn btn-primary tc-admit', text: 'Admitir paciente', disabled: true });
    admitButton.addEventListener('click', () => admit());
    const waitingPanel = h('section', { class: 'panel tc-waiting', 'aria-labelledby': 'tc-waiting-title', dataset: { waiting: 'scheduled' } },
      h('h2', { id: 'tc-waiting-title', class: 'h3', text: 'Sala de espera' }),
      waitingText, admitError, admitButton);
    const linkUrl = new URL(consult.patient_link || '/', location.origin).href;
    const linkPanel = h('section', { class: 'panel tc-link', 'aria-labelledby': 'tc-link-title' },
      h('h2', { id: 'tc-link-title', class: 'h3', text: 'Link do paciente' }),
      h('p', { class: 'muted small', text: 'O paciente entra pela página deste link, sem senha. Envie por mensagem se ele não o recebeu.' }),
      copyField({ label: 'Link de entrada do paciente', value: linkUrl, name: 'patient-link', buttonLabel: 'Copiar link do paciente' }).node);

    // ----- chat
    const chat = consultChat({
      push: (event, payload) => (handle ? handle.push(event, payload) : Promise.reject(new Error('not joined'))),
      timeZone: () => state.time_zone || tz,
      me: { role: 'professional', name: consult.professional_name || '' },
      open: true,
    });

    // ----- third participant
    const invite = invitePanel({ ctx, appointmentId, consult, tz, isEnded: () => ended });

    const side = h('aside', { class: 'tc-side' },
      waitingPanel, chat.node, invite.node, linkPanel,
      h('p', { class: 'small' }, h('a', { href: '#/minha-agenda', text: 'Voltar à minha agenda' })));

    clear(root).append(header, h('div', { class: 'tc-layout' }, h('div', { class: 'tc-main-col' }, callArea, endedBox), side));

    // ----- local media (preview at once; the call uses it once admitted)
    function showSelf() {
      const stream = screenTrack ? new MediaStream([screenTrack]) : media && media.stream;
      const cam = media && media.stream ? media.stream.getVideoTracks()[0] : null;
      stage.showSelf(stream || null, { mirrored: !screenTrack, off: !screenTrack && (!cam || !cam.enabled) });
    }

    function startMedia() {
      mediaReady = openLocalMedia().then((res) => {
        if (!ctx.isCurrent() || ended) {
          stopStream(res.stream);
          return;
        }
        if (media) stopStream(media.stream);
        media = res;
        for (const t of res.stream ? res.stream.getTracks() : []) {
          // The browser stopped it (device unplugged, permission withdrawn).
          t.addEventListener('ended', () => {
            if (media !== res || ended) return;
            toggles.sync();
            showSelf();
          });
        }
        toggles.sync();
        showSelf();
        clear(mediaNote);
        mediaNote.hidden = !res.error;
        if (res.error) {
          mediaNote.append(alertNode(res.error), h('button', {
            type: 'button', class: 'btn btn-secondary btn-small', text: 'Tentar de novo',
            onclick: async () => {
              startMedia();
              await mediaReady;
              // New tracks: a new connection sends them.
              if (relay && !ended) relay.publish();
              else if (link && state.status === 'in_call' && !ended) link.offer().catch(() => {});
            },
          }));
        }
      });
      return mediaReady;
    }
    startMedia();

    async function startShare() {
      let display;
      try {
        display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      } catch (err) {
        if (err && err.name !== 'NotAllowedError' && err.name !== 'AbortError') {
          clear(mediaNote).append(alertNode('Não foi possível compartilhar a tela.'));
          mediaNote.hidden = false;
        }
        return;
      }
      if (!ctx.isCurrent() || ended) {
        stopStream(display);
        return;
      }
      screenTrack = display.getVideoTracks()[0] || null;
      if (!screenTrack) return;
      // The browser's own "Parar de compartilhar" bar ends the track.
      screenTrack.addEventListener('ended', () => stopShare());
      share.set(false);
      showSelf();
      if (relay) await relay.replaceVideo(screenTrack);
      else if (link) await link.replaceVideo(screenTrack);
    }

    async function stopShare() {
      const t = screenTrack;
      if (!t) return;
      screenTrack = null;
      share.set(true);
      const cam = media && media.stream ? media.stream.getVideoTracks()[0] || null : null;
      if (relay) await relay.replaceVideo(cam);
      else if (link) await link.replaceVideo(cam);
      t.stop();
      showSelf();
    }

    // ----- the peer connection
    function localTracks() {
      const stream = media ? media.stream : null;
      return {
        stream,
        audio: stream ? stream.getAudioTracks()[0] || null : null,
        video: screenTrack || (stream ? stream.getVideoTracks()[0] || null : null),
      };
    }

    function ensureLink() {
      if (link) return link;
      link = new PeerLink({
        side: 'professional',
        send: (payload) => handle.push('signal', payload),
        iceServers: async () => (await api.get(`/api/consults/${seg(appointmentId)}/ice`)).ice_servers,
        tracks: localTracks,
        onRemoteStream: (stream) => {
          stage.showRemote(stream);
          renderStage();
        },
        onState: () => renderStage(),
        onGiveUp: () => askRelay(),
      });
      return link;
    }

    /** Peer to peer failed for good: ask the server to move the call to its relay. */
    function askRelay() {
      if (ended || !handle || state.relay_mode !== 'fallback' || state.media === 'relay') return;
      handle.push('use-relay', {}).catch(() => {
        // The other side may have asked already; the watcher asks again on the next failure.
      });
    }

    /** The relayed call: publish this side, subscribe to the others. */
    async function startRelay(fromEnter) {
      if (link) {
        link.close();
        link = null;
        stage.showRemote(null);
      }
      if (relay) {
        if (fromEnter) {
          // Back after a reconnect of this page's socket: pushes may have been lost.
          relay.poke();
          relay.refresh();
        }
        return;
      }
      const mediaUrl = (path) => `/api/consults/${seg(appointmentId)}/media${path ? `/${path}` : ''}`;
      const r = new RelayLink({
        request: (method, path, body) => {
          if (method === 'GET') return api.get(mediaUrl(path));
          if (method === 'DELETE') return api.del(mediaUrl(path));
          return api.post(mediaUrl(path), body);
        },
        iceServers: async () => (await api.get(`/api/consults/${seg(appointmentId)}/ice`)).ice_servers,
        tracks: localTracks,
        onChange: () => renderStage(),
        onState: () => renderStage(),
        onError: (err) => {
          if (relay === r) relay = null;
          if (err && err.code === 'consult_ended') {
            finish();
            return;
          }
          clear(mediaNote).append(alertNode(consultError(err)));
          mediaNote.hidden = false;
          renderStage();
        },
      });
      relay = r;
      renderStage();
      if (mediaReady) await mediaReady;
      if (!ctx.isCurrent() || ended || relay !== r) return;
      r.publish();
    }

    async function startCall() {
      if (mediaReady) await mediaReady;
      if (!ctx.isCurrent() || ended || relay) return;
      ensureLink().offer().catch((err) => {
        // Closed meanwhile (ended, page left); otherwise the stuck watcher offers again.
        if (!ended && ctx.isCurrent()) console.warn('teleconsulta: oferta', err);
      });
    }

    // ----- rendering
    function renderStage() {
      const status = state.status;
      const current = relay || link;
      const conn = status === 'in_call' && current ? current.state : 'idle';
      root.dataset.connection = conn;
      root.dataset.media = relay ? 'relay' : 'p2p';
      mediaMode.hidden = !relay || status !== 'in_call';
      if (status === 'in_call') {
        connText.textContent = rejoining && conn !== 'connected' ? 'Voltando à chamada…' : CONNECTION_TEXT[conn] || '';
        if (conn === 'connected') rejoining = false;
      } else connText.textContent = '';
      connText.dataset.state = conn;
      if (relay && status === 'in_call') {
        const remotes = relay.remotes;
        stage.setTiles(remotes);
        stage.setNote(remotes.length ? '' : `${conn === 'connected' ? 'Aguardando os outros participantes…' : connText.textContent || 'Conectando…'} O vídeo de ${first} aparece aqui.`);
        return;
      }
      stage.setTiles(null);
      const remote = /** @type {MediaStream|null} */ (stage.remote.srcObject);
      const hasVideo = remote && remote.getVideoTracks().some((t) => t.readyState === 'live');
      if (status === 'in_call') {
        stage.setNote(conn === 'connected' && hasVideo ? '' : `${connText.textContent || 'Conectando…'} O vídeo de ${first} aparece aqui.`);
      } else if (status === 'waiting') {
        stage.setNote(`${first} está na sala de espera. Admita o paciente para começar a chamada.`);
      } else {
        stage.setNote(`O vídeo de ${first} aparece aqui quando a chamada começar.`);
      }
    }

    function renderState() {
      const s = state;
      root.dataset.status = s.status;
      statusBadge.textContent = consultStatusLabel(s.status);
      statusBadge.dataset.status = s.status;
      waitingPanel.dataset.waiting = s.status;
      admitButton.hidden = s.status === 'in_call' || s.status === 'ended';
      admitButton.disabled = s.status !== 'waiting';
      if (s.status === 'scheduled') {
        waitingText.textContent = `${first} ainda não entrou na sala de espera.`;
      } else if (s.status === 'waiting') {
        waitingText.textContent = s.waiting_at
          ? `${first} está na sala de espera desde ${timeIn(s.waiting_at, tz)}.`
          : `${first} está na sala de espera.`;
      } else if (s.status === 'in_call') {
        waitingText.textContent = s.admitted_at
          ? `Em chamada com ${first} desde ${timeIn(s.admitted_at, tz)}.`
          : `Em chamada com ${first}.`;
      } else {
        waitingText.textContent = 'Teleconsulta encerrada.';
      }
      const inCall = s.status === 'in_call';
      duration.hidden = !inCall;
      clearInterval(durationTimer);
      durationTimer = 0;
      if (inCall && s.admitted_at) {
        const tick = () => {
          durationValue.textContent = formatDuration(Date.now() - Date.parse(s.admitted_at));
        };
        tick();
        durationTimer = setInterval(tick, 1000);
      }
      endButton.disabled = s.status === 'ended';
      invite.render(s);
      chat.setAvailable(s.status === 'in_call', s.status === 'in_call' ? ''
        : s.status === 'ended' ? 'A teleconsulta foi encerrada.' : 'O chat fica disponível durante a chamada.');
      document.title = s.status === 'waiting'
        ? `${first} na sala de espera — atende`
        : `Teleconsulta com ${first} — atende`;
      renderStage();
    }

    /** A new STATE (enter reply, admit reply, push). */
    function apply(next, { fromEnter = false } = {}) {
      if (!next || ended) return;
      const before = state.status;
      state = { ...state, ...next };
      if (state.status === 'ended') {
        finish();
        return;
      }
      renderState();
      if (state.status !== 'in_call') return;
      if (state.media === 'relay') {
        if (!callStarted && fromEnter && before === 'in_call') rejoining = true;
        callStarted = true;
        startRelay(fromEnter);
        renderStage();
        return;
      }
      if (!callStarted) {
        callStarted = true;
        if (fromEnter && before === 'in_call') rejoining = true;
        startCall();
      } else if (fromEnter && link && link.state !== 'connected') {
        // Back after a reconnect of this page's socket: signals may have been lost.
        link.reoffer().catch(() => {});
      }
      renderStage();
    }

    async function enter(info) {
      try {
        const res = await handle.push('enter', {});
        if (!ctx.isCurrent()) return;
        apply(res, { fromEnter: true });
      } catch (err) {
        if (!ctx.isCurrent()) return;
        if (err.code === 'consult_ended') finish();
        else if (!info || !info.rejoin) {
          clear(mediaNote).append(alertNode(consultError(err)));
          mediaNote.hidden = false;
        }
      }
    }

    async function admit() {
      admitError.hidden = true;
      admitButton.disabled = true;
      try {
        const res = await handle.push('admit', {});
        if (!ctx.isCurrent()) return;
        apply(res);
      } catch (err) {
        if (!ctx.isCurrent()) return;
        admitError.textContent = consultError(err);
        admitError.hidden = false;
        admitButton.disabled = state.status !== 'waiting';
      }
    }

    async function endConsult() {
      endYes.disabled = true;
      endError.hidden = true;
      try {
        const res = await handle.push('end', {});
        if (!ctx.isCurrent()) return;
        state = { ...state, ...res };
        finish();
      } catch (err) {
        if (!ctx.isCurrent()) return;
        if (err.code === 'consult_ended') {
          finish();
          return;
        }
        endError.textContent = consultError(err);
        endError.hidden = false;
        endYes.disabled = false;
      }
    }

    /** The session is over (here, in another tab, or the appointment was cancelled): stop
     * everything and show a summary. */
    function finish() {
      if (ended) return;
      ended = true;
      state = { ...state, status: 'ended' };
      if (link) link.close();
      if (relay) relay.close();
      if (screenTrack) screenTrack.stop();
      screenTrack = null;
      if (media) stopStream(media.stream);
      renderState();
      root.dataset.connection = 'closed';
      callArea.hidden = true;
      side.hidden = true;
      const at = state.ended_at || new Date().toISOString();
      const lasted = state.admitted_at ? Date.parse(at) - Date.parse(state.admitted_at) : null;
      const cancelled = state.ended_reason === 'cancelled';
      const abandoned = state.ended_reason === 'abandoned';
      clear(endedBox).append(
        h('h2', { id: 'tc-ended-title', tabindex: '-1', text: cancelled ? 'Consulta cancelada' : 'Teleconsulta encerrada' }),
        h('p', { text: cancelled
          ? 'A consulta foi cancelada na agenda e a sala foi fechada.'
          : abandoned
            ? `Encerrada às ${timeIn(at, tz)} porque ninguém estava conectado à chamada.`
            : `Encerrada às ${timeIn(at, tz)}${lasted !== null && lasted >= 0 ? `, depois de ${durationWords(lasted)} de chamada` : ''}.` }),
        h('p', null, h('a', { class: 'btn btn-secondary', href: '#/minha-agenda', text: 'Voltar à minha agenda' })));
      endedBox.hidden = false;
      const heading = endedBox.querySelector('h2');
      if (heading && root.contains(document.activeElement)) heading.focus();
    }

    renderState();

    // ----- live
    handle = realtime.join(`consult:${consult.appointment_id || appointmentId}`, {
      // Chat messages are stored events: from the start on a fresh page (see consult-chat.js).
      since: chat.lastSeq,
      events: {
        'consult.state': (payload) => apply(payload),
        'consult.media': (payload) => {
          if (relay && !ended) relay.setPublishers(payload && payload.publishers);
        },
        'consult.chat': (payload, frame) => chat.receive(payload, frame),
        'consult.signal': (payload) => {
          if (link && !ended) link.handleSignal(payload);
        },
        'consult.ended': (payload) => {
          if (payload && payload.state) state = { ...state, ...payload.state };
          if (payload && payload.reason) state = { ...state, ended_reason: payload.reason };
          finish();
        },
        'presence.join': (payload) => {
          // A patient logged in (not by the link) opened the call again: offer anew.
          if (payload && payload.role === 'patient' && state.status === 'in_call' && link && link.pc && !ended) {
            link.reoffer().catch(() => {});
          }
        },
      },
      onJoin: (info) => {
        chat.joined(info);
        liveText.textContent = 'Ao vivo';
        root.dataset.live = 'true';
        enter(info);
      },
      onStatus: (st) => {
        if (st !== 'connected' || !handle || !handle.joined) {
          liveText.textContent = st === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
          root.dataset.live = 'false';
        }
      },
      onError: (err) => {
        liveText.textContent = 'Sem conexão com a sala';
        root.dataset.live = 'false';
        clear(mediaNote).append(alertNode(consultError(err)));
        mediaNote.hidden = false;
      },
    });
  }

  return root;
}
