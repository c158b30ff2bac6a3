// @ts-check
// Teleconsultation: a call through atende's media relay (`relay`), `RelayLink`: one
// publication and one subscription per other participant (see the top of call.js).

import {
  DISCONNECTED_GRACE_MS, SERVER_CONNECT_MS, closePc, gatheringComplete, retryDelay,
} from './call-server-peer.js';

/** ICE servers fetched for the relay are reused this long. */
const ICE_SERVERS_TTL_MS = 5 * 60_000;

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
