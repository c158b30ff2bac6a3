// @ts-check
// Teleconsultation: a call browser to browser (`p2p`), `PeerLink`; its signaling convention
// is described at the top of call.js.

const RESTART_REQUEST_EVERY_MS = 5_000;
const STUCK_AFTER_MS = 12_000;
/** A failed peer-to-peer connection still down this long after its ICE restart: relay. */
const GIVE_UP_AFTER_MS = 15_000;

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
