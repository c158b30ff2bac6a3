// @ts-check
// Teleconsultation media and WebRTC, shared by the professional's call page
// (views/teleconsult.js) and the patient's or guest's link page (views/consult.js).
//
// A call's media flows in one of two ways (`media` in the session state):
//
// - `p2p`: browser to browser, `PeerLink` below. Signaling runs over the
//   `consult:<appointment id>` topic (see views/teleconsult.js):
//   `signal {to, type: offer|answer|candidate|restart-request, sdp?, restart?, candidate?}`.
//   The PROFESSIONAL always offers; the patient only answers. `PeerLink` keeps one
//   RTCPeerConnection per side and applies that convention:
//
//   - professional: `offer()` creates the connection (one transceiver per kind, sending the
//     local track when there is one) and sends an offer; `reoffer()` (patient back after a
//     reload, or asking) resends a still-unanswered offer, else restarts ICE on the same
//     connection (Chrome then also renegotiates DTLS with a fresh peer); a `failed`
//     connection restarts ICE with fresh ICE servers (new TURN credentials).
//   - patient: an offer from a new connection (another `o=` session id) gets a new
//     RTCPeerConnection; one from the same connection (ICE restart) is applied to it; the
//     same offer twice gets the same answer again. A `failed` connection, or one that stays
//     unconnected, sends `restart-request` (at most every few seconds).
//   - Every signal is handled in order (one promise chain), so candidates that arrive while
//     an offer is being applied wait for it; candidates before any remote description are
//     kept for it. Events of a replaced connection are ignored.
//   - A connection that failed and is still down `GIVE_UP_AFTER_MS` later calls `onGiveUp`
//     (the pages then ask the server for the relay: WS `use-relay`, relay mode `fallback`).
//
// - `relay`: through atende's media server, `RelayLink` below. Each participant publishes
//   once (`POST …/media/publish`, sendonly audio + video) and subscribes to every other
//   publisher (`POST …/media/subscribe`, recvonly), one RTCPeerConnection each, with
//   non-trickle offers (gathering waited for, `GATHER_CAP_MS` at most). The publisher list
//   comes from `GET …/media` and the `consult.media` pushes.
//
// `ConnectionCheck` is the patient's pre-call network check: a connection to a server peer
// that reflects the camera and microphone and measures round trips over a data channel.

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
/** A failed peer-to-peer connection still down this long after its ICE restart: relay. */
const GIVE_UP_AFTER_MS = 15_000;
/** Longest wait for ICE gathering before a non-trickle offer goes out anyway. */
const GATHER_CAP_MS = 3_000;
/** A server connection not connected this long after its answer is tried again. */
const SERVER_CONNECT_MS = 10_000;
/** A `disconnected` server connection not back after this long is tried again. */
const DISCONNECTED_GRACE_MS = 5_000;
/** Backoff between attempts of a relay connection: base, cap (full jitter). */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 15_000;
/** ICE servers fetched for the relay are reused this long. */
const ICE_SERVERS_TTL_MS = 5 * 60_000;

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
   * @param {() => void} [o.onGiveUp] the connection failed and an ICE restart did not bring
   *   it back within GIVE_UP_AFTER_MS (called once per failure)
   */
  constructor({ side, send, iceServers, tracks, onRemoteStream, onState, onGiveUp = null }) {
    this.side = side;
    this.other = side === 'professional' ? 'patient' : 'professional';
    this.sendSignal = send;
    this.iceServers = iceServers;
    this.tracks = tracks;
    this.onRemoteStream = onRemoteStream;
    this.onState = onState;
    this.onGiveUp = onGiveUp;
    this.giveUpTimer = 0;
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
        clearTimeout(this.giveUpTimer);
        this.giveUpTimer = 0;
      }
      this.setState(state);
      if (pc.connectionState === 'failed' || pc.iceConnectionState === 'failed') {
        this.watchGiveUp();
        this.recover();
      } else if (state !== 'connected') this.watchStuck();
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

  /** After a failure: still not connected GIVE_UP_AFTER_MS later (the restart did not
   * help) → `onGiveUp()`. */
  watchGiveUp() {
    if (this.giveUpTimer || this.closed || !this.onGiveUp) return;
    this.giveUpTimer = setTimeout(() => {
      this.giveUpTimer = 0;
      if (this.closed || this.state === 'connected') return;
      this.onGiveUp();
    }, GIVE_UP_AFTER_MS);
  }

  /** What this link receives, for the test hook: one entry, the other side. */
  receivers() {
    return this.pc ? [{ id: this.other, role: this.other, name: null, pc: this.pc }] : [];
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
    clearTimeout(this.giveUpTimer);
    this.dropConnection();
    this.setState('closed');
  }
}

// -------------------------------------------------------- server peers ---

/** Resolve once `pc` has gathered its ICE candidates, or after `capMs` (non-trickle offers). */
export function gatheringComplete(pc, capMs = GATHER_CAP_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let timer = 0;
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', changed);
      resolve();
    };
    const changed = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    timer = setTimeout(done, capMs);
    pc.addEventListener('icegatheringstatechange', changed);
  });
}

/** `promise`, or a rejection with code `timeout` after `ms`. */
function withTimeout(promise, ms) {
  let timer = 0;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const err = /** @type {Error & {code?: string}} */ (new Error('timeout'));
      err.code = 'timeout';
      reject(err);
    }, ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function closePc(pc) {
  if (!pc) return;
  pc.ontrack = null;
  pc.onconnectionstatechange = null;
  pc.oniceconnectionstatechange = null;
  try {
    pc.close();
  } catch {
    // already closed
  }
}

/** Full-jitter backoff for the `attempt`-th retry (1, 2, …). */
function retryDelay(attempt) {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.max(RETRY_BASE_MS / 2, Math.random() * ceiling);
}

/**
 * The pre-call network check: one connection to atende's server peer, which sends the
 * camera and microphone back (how the other side will see and hear this one through the
 * internet) and talks over the `check` data channel:
 *
 * - `{type: 'ping', id}` → answered at once with `{type: 'pong', id}` (the server times it);
 * - `{type: 'report', rtt_ms, loss_pct, kbps, verdict: good|weak|bad|measuring, message}`
 *   about every second.
 *
 * The server ends it after about a minute (`onEnd`). No answer, or no connection within
 * SERVER_CONNECT_MS, is `onFail`: the page says so and lets the patient in anyway.
 */
export class ConnectionCheck {
  /**
   * @param {object} o
   * @param {(sdp: string) => Promise<{sdp: string}>} o.exchange posts the offer, resolves with the answer
   * @param {MediaStream|null} o.stream the camera and microphone to send (sendrecv)
   * @param {(stream: MediaStream) => void} o.onRemoteStream the media as the server got it
   * @param {(report: object) => void} o.onReport
   * @param {(err: Error) => void} o.onFail
   * @param {() => void} o.onEnd the server ended the check after reporting
   */
  constructor({ exchange, stream, onRemoteStream, onReport, onFail, onEnd }) {
    this.exchange = exchange;
    this.stream = stream;
    this.onRemoteStream = onRemoteStream;
    this.onReport = onReport;
    this.onFail = onFail;
    this.onEnd = onEnd;
    this.pc = null;
    this.channel = null;
    this.timer = 0;
    this.connected = false;
    this.reports = 0;
    this.done = false;
  }

  /** Start; never rejects (a failure is `onFail`). */
  async start() {
    try {
      await this.connect();
    } catch (err) {
      this.fail(err);
    }
  }

  async connect() {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const stream = this.stream;
    for (const track of stream ? stream.getTracks() : []) {
      pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    }
    // Before the offer, so that the offer has its m=application section.
    const channel = pc.createDataChannel('check');
    this.channel = channel;
    channel.onmessage = (event) => this.message(event.data);
    channel.onclose = () => this.finish();
    const remote = new MediaStream();
    pc.ontrack = (event) => {
      if (this.done) return;
      if (!remote.getTracks().includes(event.track)) remote.addTrack(event.track);
      if (this.onRemoteStream) this.onRemoteStream(remote);
    };
    pc.onconnectionstatechange = () => {
      if (this.done) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        this.connected = true;
        clearTimeout(this.timer);
      } else if (s === 'failed' || s === 'closed') {
        this.finish();
      }
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc);
      if (this.done) return;
      const answer = await withTimeout(this.exchange(pc.localDescription.sdp), SERVER_CONNECT_MS);
      if (this.done) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (err) {
      this.fail(err);
      return;
    }
    this.timer = setTimeout(() => {
      if (!this.connected) this.fail(new Error('no connection'));
    }, SERVER_CONNECT_MS);
  }

  message(data) {
    if (this.done || typeof data !== 'string') return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'ping') {
      try {
        this.channel.send(JSON.stringify({ type: 'pong', id: msg.id }));
      } catch {
        // closing
      }
    } else if (msg.type === 'report') {
      this.reports += 1;
      if (this.onReport) this.onReport(msg);
    }
  }

  /** The connection or its channel closed: an end after reports, else a failure. */
  finish() {
    if (this.done) return;
    if (!this.reports) {
      this.fail(new Error('closed before a report'));
      return;
    }
    this.stop();
    if (this.onEnd) this.onEnd();
  }

  fail(err) {
    if (this.done) return;
    this.stop();
    if (this.onFail) this.onFail(err);
  }

  /** Stop (the patient entered the room, tests again, or left the page). Quiet. */
  stop() {
    this.done = true;
    clearTimeout(this.timer);
    if (this.channel) {
      this.channel.onmessage = null;
      this.channel.onclose = null;
    }
    closePc(this.pc);
  }
}

/** Refusals of a relay request that retrying cannot fix. */
const RELAY_FATAL_CODES = new Set([
  'relay_disabled', 'consult_ended', 'consult_cancelled', 'invalid_token', 'forbidden', 'unauthenticated',
  'session_revoked', 'link_revoked',
]);

const ROLE_ORDER = { professional: 0, patient: 1, guest: 2 };

/**
 * The call through atende's media relay (SFU): this side publishes once and subscribes to
 * every other publisher. Publishing again replaces the previous publication (its id
 * changes, and the others resubscribe). A connection that fails, or stays unconnected, is
 * made again with backoff; a subscription whose publisher left (404) is dropped.
 */
export class RelayLink {
  /**
   * @param {object} o
   * @param {(method: string, path: string, body?: object) => Promise<any>} o.request an
   *   authenticated JSON request under `/api/consults/{id}/media` (`path`: '' for the
   *   publisher list, 'publish', 'subscribe'); rejects with an error carrying `code`
   * @param {() => Promise<RTCIceServer[]>} o.iceServers
   * @param {() => {audio: MediaStreamTrack|null, video: MediaStreamTrack|null, stream: MediaStream|null}} o.tracks
   *   what this side sends right now
   * @param {() => void} o.onChange the remote participants or their streams changed (`remotes`)
   * @param {(state: string) => void} o.onState this side's publication: connecting |
   *   connected | reconnecting | closed
   * @param {(err: import('./realtime.js').RealtimeError) => void} o.onError refused for good (relay_disabled, consult_ended, …)
   */
  constructor({ request, iceServers, tracks, onChange, onState, onError }) {
    this.request = request;
    this.iceServers = iceServers;
    this.tracks = tracks;
    this.onChange = onChange;
    this.onState = onState;
    this.onError = onError;
    this.state = 'connecting';
    this.closed = false;
    /** The publish connection. */
    this.pc = null;
    this.videoSender = null;
    this.publisherId = null;
    /** Every publisher id this page had (a stale list may still name an old one). */
    this.ownIds = new Set();
    this.pubGen = 0;
    this.pubAttempt = 0;
    this.pubTimer = 0;
    this.pubWatch = 0;
    this.everConnected = false;
    /** [{publisher_id, role, name}] as last known */
    this.publishers = [];
    /** Bumped at every list applied: an HTTP answer older than a push is dropped. */
    this.listVersion = 0;
    /** publisher id → {id, role, name, pc, stream, state, attempt, timer, watch, gen} */
    this.subs = new Map();
    this.servers = null;
    this.serversAt = 0;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    if (this.onState) this.onState(state);
  }

  changed() {
    if (!this.closed && this.onChange) this.onChange();
  }

  async iceList() {
    if (this.servers && Date.now() - this.serversAt < ICE_SERVERS_TTL_MS) return this.servers;
    try {
      const list = await this.iceServers();
      this.servers = Array.isArray(list) ? list : [];
      this.serversAt = Date.now();
    } catch {
      this.servers = this.servers || []; // host candidates still reach the server
    }
    return this.servers;
  }

  fatal(err) {
    if (this.closed) return;
    this.close();
    if (this.onError) this.onError(err);
  }

  /** Remote participants, professional first: [{id, role, name, stream, state}]. */
  get remotes() {
    return [...this.subs.values()]
      .map((s) => ({ id: s.id, role: s.role, name: s.name, stream: s.stream, state: s.state }))
      .sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9)
        || String(a.name || '').localeCompare(String(b.name || ''), 'pt-BR'));
  }

  /** What this link receives, for the test hook. */
  receivers() {
    return [...this.subs.values()].filter((s) => s.pc).map((s) => ({ id: s.id, role: s.role, name: s.name, pc: s.pc }));
  }

  // ------------------------------------------------------------ publish ---

  /** Publish (again): a new connection replaces the previous publication. */
  async publish() {
    clearTimeout(this.pubTimer);
    this.pubTimer = 0;
    clearTimeout(this.pubWatch);
    this.pubWatch = 0;
    if (this.closed) return;
    const gen = ++this.pubGen;
    closePc(this.pc);
    this.pc = null;
    this.videoSender = null;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting');
    const servers = await this.iceList();
    if (this.closed || gen !== this.pubGen) return;
    let pc = null;
    try {
      pc = new RTCPeerConnection({ iceServers: servers });
      this.pc = pc;
      const mine = this.tracks();
      for (const kind of ['audio', 'video']) {
        const track = mine[kind] || null;
        const t = track
          ? pc.addTransceiver(track, { direction: 'sendonly', streams: mine.stream ? [mine.stream] : [] })
          : pc.addTransceiver(kind, { direction: 'sendonly' });
        if (kind === 'video') this.videoSender = t.sender;
      }
      pc.onconnectionstatechange = () => this.publishState(pc);
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc);
      if (this.pc !== pc) return;
      const res = await this.request('POST', 'publish', { sdp: pc.localDescription.sdp });
      if (this.pc !== pc) return;
      if (!res || typeof res.sdp !== 'string') throw new Error('no answer');
      this.publisherId = res.publisher_id || null;
      if (this.publisherId) this.ownIds.add(this.publisherId);
      await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
    } catch (err) {
      if (this.pc !== pc || this.closed) return;
      if (!pc || (err && RELAY_FATAL_CODES.has(err.code))) {
        // Refused for good, or no WebRTC in this browser: nothing to retry.
        this.fatal(err);
        return;
      }
      // not_admitted (the admission is on its way), busy, network: try again.
      this.retryPublish();
      return;
    }
    this.pubWatch = setTimeout(() => {
      this.pubWatch = 0;
      if (this.pc === pc && pc.connectionState !== 'connected') this.retryPublish();
    }, SERVER_CONNECT_MS);
    // Subscribe to the others now that this page's own id is known.
    this.sync();
    this.refresh();
  }

  publishState(pc) {
    if (this.pc !== pc || this.closed) return;
    const s = pc.connectionState;
    if (s === 'connected') {
      clearTimeout(this.pubWatch);
      this.pubWatch = 0;
      this.pubAttempt = 0;
      this.everConnected = true;
      this.setState('connected');
    } else if (s === 'failed') {
      this.retryPublish();
    } else if (s === 'disconnected') {
      this.setState('reconnecting');
      clearTimeout(this.pubWatch);
      this.pubWatch = setTimeout(() => {
        this.pubWatch = 0;
        if (this.pc === pc && pc.connectionState !== 'connected') this.retryPublish();
      }, DISCONNECTED_GRACE_MS);
    }
  }

  retryPublish() {
    if (this.closed || this.pubTimer) return;
    this.pubAttempt += 1;
    this.setState(this.everConnected ? 'reconnecting' : 'connecting');
    this.pubTimer = setTimeout(() => {
      this.pubTimer = 0;
      this.publish();
    }, retryDelay(this.pubAttempt));
  }

  /** Something changed that may unblock a waiting publication (admitted, back online). */
  poke() {
    if (this.closed) return;
    if (this.pubTimer) {
      clearTimeout(this.pubTimer);
      this.pubTimer = 0;
      this.publish();
    }
  }

  /** Send `track` instead of the current video (screen sharing and back). */
  async replaceVideo(track) {
    const sender = this.videoSender;
    if (!sender || !this.pc || this.pc.signalingState === 'closed') return;
    try {
      await sender.replaceTrack(track || null);
    } catch {
      // The next publication picks up the current track anyway.
    }
  }

  // ---------------------------------------------------------- subscribe ---

  /** A `consult.media` push (or the list over HTTP): subscribe to new publishers, drop gone ones. */
  setPublishers(list) {
    this.listVersion += 1;
    this.publishers = (Array.isArray(list) ? list : []).filter((p) => p && p.publisher_id);
    this.sync();
  }

  /** The publisher list over HTTP (after publishing, after a socket reconnect). */
  async refresh() {
    if (this.closed) return;
    const version = this.listVersion;
    try {
      const res = await this.request('GET', '');
      // A push that arrived meanwhile is newer than this answer.
      if (this.closed || version !== this.listVersion) return;
      this.setPublishers(res && res.publishers);
    } catch {
      // The next push brings the list.
    }
  }

  sync() {
    if (this.closed || !this.publisherId) return;
    const wanted = new Map();
    for (const p of this.publishers) {
      if (!this.ownIds.has(p.publisher_id)) wanted.set(p.publisher_id, p);
    }
    let changed = false;
    for (const [id, sub] of this.subs) {
      if (wanted.has(id)) continue;
      this.dropSub(sub);
      changed = true;
    }
    for (const [id, p] of wanted) {
      const sub = this.subs.get(id);
      if (sub) {
        if (sub.name !== p.name || sub.role !== p.role) changed = true;
        sub.role = p.role;
        sub.name = p.name;
        continue;
      }
      const fresh = { id, role: p.role, name: p.name, pc: null, stream: null, state: 'connecting', attempt: 0, timer: 0, watch: 0, gen: 0 };
      this.subs.set(id, fresh);
      changed = true;
      this.subscribe(fresh);
    }
    if (changed) this.changed();
  }

  dropSub(sub) {
    sub.gen += 1;
    clearTimeout(sub.timer);
    clearTimeout(sub.watch);
    closePc(sub.pc);
    sub.pc = null;
    if (this.subs.get(sub.id) === sub) this.subs.delete(sub.id);
  }

  setSubState(sub, state) {
    if (sub.state === state) return;
    sub.state = state;
    this.changed();
  }

  async subscribe(sub) {
    clearTimeout(sub.timer);
    sub.timer = 0;
    clearTimeout(sub.watch);
    sub.watch = 0;
    if (this.closed || this.subs.get(sub.id) !== sub) return;
    const gen = ++sub.gen;
    closePc(sub.pc);
    sub.pc = null;
    const servers = await this.iceList();
    if (this.closed || gen !== sub.gen) return;
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: servers });
    } catch (err) {
      this.fatal(err); // no WebRTC here: nothing to retry
      return;
    }
    const stream = new MediaStream();
    sub.pc = pc;
    sub.stream = stream;
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (event) => {
      if (sub.pc !== pc) return;
      if (!stream.getTracks().includes(event.track)) stream.addTrack(event.track);
      event.track.addEventListener('unmute', () => {
        if (sub.pc === pc) this.changed();
      });
      this.changed();
    };
    pc.onconnectionstatechange = () => {
      if (sub.pc !== pc || this.closed) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        clearTimeout(sub.watch);
        sub.watch = 0;
        sub.attempt = 0;
        this.setSubState(sub, 'connected');
      } else if (s === 'failed') {
        this.retrySub(sub);
      } else if (s === 'disconnected') {
        this.setSubState(sub, 'reconnecting');
        clearTimeout(sub.watch);
        sub.watch = setTimeout(() => {
          sub.watch = 0;
          if (sub.pc === pc && pc.connectionState !== 'connected') this.retrySub(sub);
        }, DISCONNECTED_GRACE_MS);
      }
    };
    this.changed();
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc);
      if (sub.pc !== pc) return;
      const res = await this.request('POST', 'subscribe', { sdp: pc.localDescription.sdp, publisher_id: sub.id });
      if (sub.pc !== pc) return;
      if (!res || typeof res.sdp !== 'string') throw new Error('no answer');
      await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
    } catch (err) {
      if (sub.pc !== pc || this.closed) return;
      if (err && err.code === 'not_found') {
        // That publisher left: forget it until a list names it again.
        this.publishers = this.publishers.filter((p) => p.publisher_id !== sub.id);
        this.dropSub(sub);
        this.changed();
        return;
      }
      if (err && RELAY_FATAL_CODES.has(err.code)) {
        this.fatal(err);
        return;
      }
      this.retrySub(sub);
      return;
    }
    sub.watch = setTimeout(() => {
      sub.watch = 0;
      if (sub.pc === pc && pc.connectionState !== 'connected') this.retrySub(sub);
    }, SERVER_CONNECT_MS);
  }

  retrySub(sub) {
    if (this.closed || sub.timer || this.subs.get(sub.id) !== sub) return;
    sub.attempt += 1;
    this.setSubState(sub, 'reconnecting');
    sub.timer = setTimeout(() => {
      sub.timer = 0;
      this.subscribe(sub);
    }, retryDelay(sub.attempt));
  }

  // -------------------------------------------------------------- close ---

  /** Stop for good. `leave`: also withdraw the publication (`DELETE …/media/publish`). */
  close({ leave = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.pubGen += 1;
    clearTimeout(this.pubTimer);
    clearTimeout(this.pubWatch);
    closePc(this.pc);
    this.pc = null;
    for (const sub of [...this.subs.values()]) this.dropSub(sub);
    if (leave && this.publisherId) this.request('DELETE', 'publish').catch(() => {});
    this.setState('closed');
  }
}

/**
 * For the browser tests: `window.__atendeCall` exposes {side, pc, localStream, state, media,
 * checkPc, inbound()} of the call page on screen. `current()` returns {link, media, state,
 * check}: `link` is the PeerLink or RelayLink in use (`pc`: its connection, the publish one
 * for the relay), `check` the pre-call ConnectionCheck. `inbound()` resolves with the
 * inbound video of every remote participant: [{id, role, name, bytes, frames, state}].
 * Returns the clean-up that removes it (only if it is still this page's).
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
    /** 'relay' or 'p2p': how this page's call runs now (null: no call yet). */
    get media() {
      const { link } = current();
      if (!link) return null;
      return link instanceof RelayLink ? 'relay' : 'p2p';
    },
    get checkPc() {
      const { check } = current();
      return check ? check.pc : null;
    },
    async inbound() {
      const { link } = current();
      const out = [];
      for (const r of link ? link.receivers() : []) {
        if (!r.pc || r.pc.connectionState === 'closed') continue;
        const stats = await r.pc.getStats();
        let bytes = 0;
        let frames = 0;
        let found = false;
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            found = true;
            bytes += s.bytesReceived || 0;
            frames += s.framesDecoded || 0;
          }
        });
        if (found) out.push({ id: r.id, role: r.role, name: r.name, bytes, frames, state: r.pc.connectionState });
      }
      return out;
    },
  };
  return () => {
    if (window.__atendeCall && window.__atendeCall.side === side) delete window.__atendeCall;
  };
}
