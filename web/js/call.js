// Teleconsultation media and WebRTC, shared by the professional's call page
// (views/teleconsult.js) and the patient's link page (views/consult.js).
//
// Signaling runs over the `consult:<appointment id>` topic (see views/teleconsult.js):
// `signal {to, type: offer|answer|candidate|restart-request, sdp?, restart?, candidate?}`.
// The PROFESSIONAL always offers; the patient only answers. `PeerLink` below keeps one
// RTCPeerConnection per side and applies that convention:
//
// - professional: `offer()` creates the connection (one transceiver per kind, sending the
//   local track when there is one) and sends an offer; `reoffer()` (patient back after a
//   reload, or asking) resends a still-unanswered offer, else restarts ICE on the same
//   connection (Chrome then also renegotiates DTLS with a fresh peer); a `failed`
//   connection restarts ICE with fresh ICE servers (new TURN credentials).
// - patient: an offer from a new connection (another `o=` session id) gets a new
//   RTCPeerConnection; one from the same connection (ICE restart) is applied to it; the
//   same offer twice gets the same answer again. A `failed` connection, or one that stays
//   unconnected, sends `restart-request` (at most every few seconds).
// - Every signal is handled in order (one promise chain), so candidates that arrive while
//   an offer is being applied wait for it; candidates before any remote description are
//   kept for it. Events of a replaced connection are ignored.

/** pt-BR labels of the connection states a page shows. */
export const CONNECTION_TEXT = {
  idle: '',
  connecting: 'Conectando…',
  connected: 'Conectado',
  reconnecting: 'Reconectando…',
  closed: 'Chamada encerrada',
};

const RESTART_REQUEST_EVERY_MS = 5_000;
const STUCK_AFTER_MS = 12_000;

// ------------------------------------------------------------ local media ---

/** Whether this browser can make calls here (getUserMedia needs https or localhost). */
export function mediaSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.RTCPeerConnection);
}

/**
 * pt-BR message for a getUserMedia failure. `missing`: which devices were not found
 * ({audio, video}), when known.
 */
export function mediaErrorMessage(err, missing = null) {
  const name = err && err.name;
  if (!mediaSupported()) {
    return 'Este navegador não permite chamadas de vídeo nesta página. Use uma versão recente do Chrome, Edge, Firefox ou Safari.';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'Você não permitiu o uso da câmera e do microfone. Toque no cadeado ao lado do endereço do site, permita câmera e microfone e toque em "Tentar de novo".';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    if (missing && missing.video && !missing.audio) return 'Não encontramos sua câmera. Confira se ela está conectada e não está tampada, ou entre só com áudio.';
    if (missing && missing.audio && !missing.video) return 'Não encontramos seu microfone. Confira se ele está conectado, ou use um fone de ouvido com microfone.';
    return 'Não encontramos sua câmera nem seu microfone. Confira se estão conectados e tente de novo.';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'Sua câmera ou seu microfone está sendo usado por outro aplicativo (outra chamada, por exemplo). Feche-o e tente de novo.';
  }
  return 'Não foi possível ligar a câmera e o microfone. Tente de novo.';
}

/**
 * Camera and microphone. Resolves {stream, missing: {audio, video}, error}: `stream` has
 * whatever could be opened (maybe only one kind, or null), `error` a pt-BR message when
 * something is missing or refused.
 */
export async function openLocalMedia() {
  const missing = { audio: false, video: false };
  if (!mediaSupported()) {
    return { stream: null, missing: { audio: true, video: true }, error: mediaErrorMessage(null), denied: false };
  }
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    return { stream, missing, error: null, denied: false };
  } catch (err) {
    const name = err && err.name;
    if (name !== 'NotFoundError' && name !== 'OverconstrainedError' && name !== 'NotReadableError') {
      return { stream: null, missing: { audio: true, video: true }, error: mediaErrorMessage(err), denied: name === 'NotAllowedError' };
    }
    // One of the two may still work: try each alone, so a missing camera still allows audio.
    let stream = null;
    for (const kind of ['audio', 'video']) {
      try {
        const one = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio: true } : { video });
        if (!stream) stream = one;
        else for (const t of one.getTracks()) stream.addTrack(t);
      } catch {
        missing[kind] = true;
      }
    }
    return { stream, missing, error: mediaErrorMessage(err, missing), denied: false };
  }
}

export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

/**
 * Show `stream` in `video` and play it. Browsers may refuse to play sound without a click
 * on the page: then the video plays muted and `onBlocked()` runs (show an "Ativar som"
 * button that calls `unmute(video)`).
 */
export function playInto(video, stream, { onBlocked = null } = {}) {
  if (video.srcObject !== stream) video.srcObject = stream;
  if (!stream) return;
  const attempt = video.play();
  if (!attempt || typeof attempt.catch !== 'function') return;
  attempt.catch((err) => {
    if (!err || err.name !== 'NotAllowedError' || video.muted) return; // AbortError: replaced meanwhile
    video.muted = true;
    video.play().catch(() => {});
    if (onBlocked) onBlocked();
  });
}

export function unmute(video) {
  video.muted = false;
  const attempt = video.play();
  if (attempt && typeof attempt.catch === 'function') attempt.catch(() => {});
}

/**
 * A live microphone level meter: {node, stop()}. The level (0–100) is also in
 * `node.dataset.level`, and the highest seen in `node.dataset.peak`.
 */
export function micMeter(stream, { label = 'Nível do microfone' } = {}) {
  const fill = h('span', 'mic-meter-fill');
  const bar = document.createElement('span');
  bar.className = 'mic-meter';
  bar.setAttribute('role', 'meter');
  bar.setAttribute('aria-label', label);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', '0');
  bar.dataset.level = '0';
  bar.dataset.peak = '0';
  bar.append(fill);
  const track = stream && stream.getAudioTracks()[0];
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!track || !Ctx) return { node: bar, stop() {} };
  let audio = null;
  let timer = 0;
  try {
    audio = new Ctx();
    const source = audio.createMediaStreamSource(new MediaStream([track]));
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    timer = setInterval(() => {
      analyser.getByteTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += ((v - 128) / 128) ** 2;
      const rms = Math.sqrt(sum / data.length);
      // Speech sits around 0.02–0.2 RMS: a square-root curve makes it move visibly.
      const level = track.enabled ? Math.min(100, Math.round(Math.sqrt(rms) * 180)) : 0;
      fill.style.transform = `scaleX(${level / 100})`;
      bar.dataset.level = String(level);
      bar.setAttribute('aria-valuenow', String(level));
      if (level > Number(bar.dataset.peak)) bar.dataset.peak = String(level);
    }, 100);
  } catch {
    // No Web Audio: the meter stays still.
  }
  return {
    node: bar,
    stop() {
      clearInterval(timer);
      if (audio) audio.close().catch(() => {});
      audio = null;
    },
  };
}

function h(tag, className) {
  const el = document.createElement(tag);
  el.className = className;
  return el;
}

/** "04:05" or "1:04:05" */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(2, '0');
  const ss = String(seconds).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "12 minutos e 5 segundos" for screen readers and summaries. */
export function durationWords(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts = [];
  if (minutes) parts.push(`${minutes} ${minutes === 1 ? 'minuto' : 'minutos'}`);
  if (seconds || !minutes) parts.push(`${seconds} ${seconds === 1 ? 'segundo' : 'segundos'}`);
  return parts.join(' e ');
}

// ------------------------------------------------------------- PeerLink ---

/** `o=- <session id> <version> …` of an SDP: {session, version}. */
function sdpOrigin(sdp) {
  const m = /^o=\S+ (\S+) (\S+)/m.exec(String(sdp || ''));
  return m ? { session: m[1], version: m[2] } : { session: '', version: '' };
}

function toState(pc) {
  const s = pc.connectionState || pc.iceConnectionState;
  if (s === 'connected' || s === 'completed') return 'connected';
  if (s === 'disconnected' || s === 'failed') return 'reconnecting';
  if (s === 'closed') return 'closed';
  return 'connecting';
}

export class PeerLink {
  /**
   * @param {object} o
   * @param {'professional'|'patient'} o.side this page's side
   * @param {(payload: object) => Promise<unknown>} o.send sends a `signal` payload
   * @param {() => Promise<RTCIceServer[]>} o.iceServers fetches the ICE servers (fresh each time)
   * @param {() => {audio: MediaStreamTrack|null, video: MediaStreamTrack|null, stream: MediaStream|null}} o.tracks
   *   what this side sends right now
   * @param {(stream: MediaStream) => void} o.onRemoteStream
   * @param {(state: string) => void} o.onState connecting | connected | reconnecting | closed
   */
  constructor({ side, send, iceServers, tracks, onRemoteStream, onState }) {
    this.side = side;
    this.other = side === 'professional' ? 'patient' : 'professional';
    this.sendSignal = send;
    this.iceServers = iceServers;
    this.tracks = tracks;
    this.onRemoteStream = onRemoteStream;
    this.onState = onState;
    this.pc = null;
    this.remote = null;
    this.videoTransceiver = null;
    this.pendingCandidates = [];
    this.remoteOrigin = null;
    this.chain = Promise.resolve();
    this.closed = false;
    this.everConnected = false;
    this.lastRestartRequest = 0;
    this.stuckTimer = 0;
    this.restarting = false;
    this.state = 'connecting';
  }

  /** Run `fn` after every signal already queued (one at a time). */
  serial(fn) {
    const next = this.chain.then(() => (this.closed ? undefined : fn()));
    this.chain = next.catch(() => {});
    return next;
  }

  send(payload) {
    return Promise.resolve(this.sendSignal({ to: this.other, ...payload })).catch(() => {
      // Not joined right now, or the call ended: the next (re)join or restart catches up.
    });
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.onState) this.onState(state);
  }

  async newConnection() {
    this.dropConnection();
    let servers = [];
    try {
      servers = await this.iceServers();
    } catch {
      servers = []; // host candidates still work on the same network
    }
    if (this.closed) throw new Error('closed');
    const pc = new RTCPeerConnection({ iceServers: Array.isArray(servers) ? servers : [] });
    this.pc = pc;
    this.remote = new MediaStream();
    this.pendingCandidates = [];
    this.remoteOrigin = null;
    this.videoTransceiver = null;
    const remote = this.remote;
    pc.ontrack = (event) => {
      if (this.pc !== pc) return;
      if (!remote.getTracks().includes(event.track)) remote.addTrack(event.track);
      event.track.addEventListener('unmute', () => {
        if (this.pc === pc && this.onRemoteStream) this.onRemoteStream(remote);
      });
      if (this.onRemoteStream) this.onRemoteStream(remote);
    };
    pc.onicecandidate = (event) => {
      if (this.pc !== pc || !event.candidate || !event.candidate.candidate) return;
      const c = event.candidate;
      this.send({ type: 'candidate', candidate: { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } });
    };
    const changed = () => {
      if (this.pc !== pc) return;
      const state = toState(pc);
      if (state === 'connected') {
        this.everConnected = true;
        this.restarting = false;
        clearTimeout(this.stuckTimer);
        this.stuckTimer = 0;
      }
      this.setState(state);
      if (pc.connectionState === 'failed' || pc.iceConnectionState === 'failed') this.recover();
      else if (state !== 'connected') this.watchStuck();
    };
    pc.onconnectionstatechange = changed;
    pc.oniceconnectionstatechange = changed;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting');
    this.watchStuck();
    return pc;
  }

  dropConnection() {
    const pc = this.pc;
    this.pc = null;
    if (!pc) return;
    pc.ontrack = null;
    pc.onicecandidate = null;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    try {
      pc.close();
    } catch {
      // already closed
    }
  }

  /** Send `track` instead of the current video (screen sharing and back). */
  async replaceVideo(track) {
    const t = this.videoTransceiver;
    if (!t || !this.pc || this.pc.signalingState === 'closed') return;
    try {
      await t.sender.replaceTrack(track || null);
    } catch {
      // The next (re)offer picks up the current track anyway.
    }
  }

  /** Attach this side's tracks to the connection's transceivers (after the offer, for the patient). */
  async attachTracks(pc) {
    const mine = this.tracks();
    for (const kind of ['audio', 'video']) {
      let t = pc.getTransceivers().find((x) => x.receiver.track && x.receiver.track.kind === kind && !x.stopped);
      const track = mine[kind] || null;
      if (!t) {
        if (this.side !== 'professional') continue;
        t = track
          ? pc.addTransceiver(track, { direction: 'sendrecv', streams: mine.stream ? [mine.stream] : [] })
          : pc.addTransceiver(kind, { direction: 'recvonly' });
      } else {
        await t.sender.replaceTrack(track);
        if (track && mine.stream && typeof t.sender.setStreams === 'function') t.sender.setStreams(mine.stream);
        t.direction = track ? 'sendrecv' : 'recvonly';
      }
      if (kind === 'video') this.videoTransceiver = t;
    }
  }

  // ------------------------------------------------------- professional ---

  /** A new connection and its first offer (the call starts or this page reloaded). */
  offer() {
    return this.serial(async () => {
      const pc = await this.newConnection();
      await this.attachTracks(pc);
      await this.sendOffer(pc, false);
    });
  }

  async sendOffer(pc, restart) {
    const offer = await pc.createOffer(restart ? { iceRestart: true } : {});
    if (this.pc !== pc) return;
    await pc.setLocalDescription(offer);
    await this.send({ type: 'offer', sdp: pc.localDescription.sdp, restart });
  }

  /**
   * The patient is back (reload, new page) or asks for a new offer: resend an unanswered
   * offer, else restart ICE (fresh ICE servers) on the same connection.
   */
  reoffer() {
    return this.serial(async () => {
      const pc = this.pc;
      if (!pc || pc.signalingState === 'closed') {
        const fresh = await this.newConnection();
        await this.attachTracks(fresh);
        await this.sendOffer(fresh, false);
        return;
      }
      if (pc.signalingState === 'have-local-offer' && pc.localDescription) {
        await this.send({ type: 'offer', sdp: pc.localDescription.sdp, restart: this.restarting });
        return;
      }
      await this.restartIce(pc);
    });
  }

  async restartIce(pc) {
    this.restarting = true;
    this.setState('reconnecting');
    try {
      const servers = await this.iceServers();
      if (Array.isArray(servers) && this.pc === pc) pc.setConfiguration({ ...pc.getConfiguration(), iceServers: servers });
    } catch {
      // keep the servers we had
    }
    if (this.pc !== pc) return;
    if (typeof pc.restartIce === 'function') pc.restartIce();
    await this.sendOffer(pc, true);
  }

  /** A failed connection: the professional restarts ICE, the patient asks for it. */
  recover() {
    if (this.closed) return;
    if (this.side === 'professional') {
      const pc = this.pc;
      this.serial(async () => {
        if (this.pc !== pc || !pc) return;
        if (pc.signalingState === 'have-local-offer') return; // a restart is already under way
        await this.restartIce(pc);
      }).catch(() => {});
    } else {
      this.requestRestart();
    }
  }

  /** Not connected for a while: ask again (patient) or restart (professional). */
  watchStuck() {
    if (this.stuckTimer || this.closed) return;
    this.stuckTimer = setTimeout(() => {
      this.stuckTimer = 0;
      if (this.closed || this.state === 'connected') return;
      if (this.side === 'professional') {
        if (this.pc) this.reoffer().catch(() => {});
      } else {
        this.requestRestart(true);
      }
      this.watchStuck();
    }, STUCK_AFTER_MS);
  }

  // ------------------------------------------------------------ patient ---

  /** Ask the professional for a (new) offer; `force` skips the rate limit. */
  requestRestart(force = false) {
    if (this.closed) return;
    const now = Date.now();
    if (!force && now - this.lastRestartRequest < RESTART_REQUEST_EVERY_MS) return;
    this.lastRestartRequest = now;
    if (this.everConnected) this.setState('reconnecting');
    this.send({ type: 'restart-request' });
    this.watchStuck();
  }

  async answer(sdp) {
    const origin = sdpOrigin(sdp);
    let pc = this.pc;
    const same = pc && pc.signalingState !== 'closed' && this.remoteOrigin && this.remoteOrigin.session === origin.session;
    if (same && this.remoteOrigin.version === origin.version && pc.localDescription && pc.signalingState === 'stable') {
      // The same offer again (resent): the same answer again.
      await this.send({ type: 'answer', sdp: pc.localDescription.sdp });
      return;
    }
    if (!same) pc = await this.newConnection();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (this.pc !== pc) return;
    this.remoteOrigin = origin;
    await this.attachTracks(pc);
    await this.flushCandidates(pc);
    const answer = await pc.createAnswer();
    if (this.pc !== pc) return;
    await pc.setLocalDescription(answer);
    await this.send({ type: 'answer', sdp: pc.localDescription.sdp });
  }

  // ------------------------------------------------------------- shared ---

  async flushCandidates(pc) {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) {
      try {
        await pc.addIceCandidate(c);
      } catch {
        // A candidate of an older offer: harmless.
      }
    }
  }

  /** A `consult.signal` push (every connection gets them all: keep those for this side). */
  handleSignal(payload) {
    if (!payload || payload.to !== this.side || payload.from !== this.other) return Promise.resolve();
    return this.serial(() => this.applySignal(payload)).catch((err) => {
      // A negotiation step failed for good (the link was closed meanwhile, …): the stuck
      // watcher or the other side's next offer recovers.
      if (!this.closed) console.warn('teleconsulta: sinalização', err);
    });
  }

  /** One signal for this side (called in order, see serial()). */
  async applySignal(payload) {
    const pc = this.pc;
    switch (payload.type) {
      case 'offer':
        if (this.side !== 'patient' || typeof payload.sdp !== 'string') return;
        try {
          await this.answer(payload.sdp);
        } catch {
          // A broken negotiation: start over with a new offer.
          this.dropConnection();
          this.requestRestart(true);
        }
        return;
      case 'answer':
        if (this.side !== 'professional' || !pc || pc.signalingState !== 'have-local-offer') return;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: payload.sdp });
          await this.flushCandidates(pc);
        } catch {
          // An answer to another offer (crossed with a newer one): offer again from scratch.
          const fresh = await this.newConnection();
          await this.attachTracks(fresh);
          await this.sendOffer(fresh, false);
        }
        return;
      case 'candidate': {
        const c = payload.candidate;
        if (!c || !c.candidate) return;
        const init = { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
        if (!pc || !pc.remoteDescription) {
          this.pendingCandidates.push(init);
          return;
        }
        try {
          await pc.addIceCandidate(init);
        } catch {
          // A candidate of an older offer: harmless.
        }
        return;
      }
      case 'restart-request':
        if (this.side !== 'professional') return;
        // Queued behind this signal (not awaited here: that would wait for itself).
        this.reoffer().catch(() => {});
        return;
      default:
    }
  }

  /** Stop for good (call ended, page left). */
  close() {
    this.closed = true;
    clearTimeout(this.stuckTimer);
    this.dropConnection();
    this.setState('closed');
  }
}

/**
 * For the browser tests: `window.__atendeCall` exposes {side, pc, localStream, state} of the
 * call page on screen. `current()` returns {link, media, state}. Returns the clean-up that
 * removes it (only if it is still this page's).
 */
export function exposeCallForTests(side, current) {
  window.__atendeCall = {
    side,
    get pc() {
      const { link } = current();
      return link ? link.pc : null;
    },
    get localStream() {
      const { media } = current();
      return media ? media.stream : null;
    },
    get state() {
      return current().state;
    },
  };
  return () => {
    if (window.__atendeCall && window.__atendeCall.side === side) delete window.__atendeCall;
  };
}
