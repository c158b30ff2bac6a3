// @ts-check
// Teleconsultation media and WebRTC, shared by the professional's call page
// (views/teleconsult.js) and the patient's or guest's link page (views/consult.js). The
// pages import everything from here; it lives in call-media.js (camera, microphone,
// durations), call-peer.js (PeerLink), call-relay.js (RelayLink), call-check.js
// (ConnectionCheck) and call-server-peer.js (what the last two share).
//
// A call's media flows in one of two ways (`media` in the session state):
//
// - `p2p`: browser to browser, `PeerLink` (call-peer.js). Signaling runs over the
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
// - `relay`: through atende's media server, `RelayLink` (call-relay.js). Each participant
//   publishes once (`POST …/media/publish`, sendonly audio + video) and subscribes to every other
//   publisher (`POST …/media/subscribe`, recvonly), one RTCPeerConnection each, with
//   non-trickle offers (gathering waited for, `GATHER_CAP_MS` at most). The publisher list
//   comes from `GET …/media` and the `consult.media` pushes.
//
// `ConnectionCheck` (call-check.js) is the patient's pre-call network check: a connection to a
// server peer that reflects the camera and microphone and measures round trips over a data
// channel.

import { RelayLink } from './call-relay.js';

export {
  durationWords, formatDuration, mediaErrorMessage, mediaSupported, micMeter, openLocalMedia,
  playInto, stopStream, unmute,
} from './call-media.js';
export { PeerLink } from './call-peer.js';
export { ConnectionCheck } from './call-check.js';
export { gatheringComplete } from './call-server-peer.js';
export { RelayLink };

/** pt-BR labels of the connection states a page shows. */
export const CONNECTION_TEXT = {
  idle: '',
  connecting: 'Conectando…',
  connected: 'Conectado',
  reconnecting: 'Reconectando…',
  closed: 'Chamada encerrada',
};

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
