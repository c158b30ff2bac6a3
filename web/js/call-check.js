// @ts-check
// Teleconsultation: the patient's pre-call network check (`ConnectionCheck`).

import { SERVER_CONNECT_MS, closePc, gatheringComplete, withTimeout } from './call-server-peer.js';

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
