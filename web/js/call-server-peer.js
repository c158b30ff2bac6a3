// @ts-check
// Teleconsultation: what connections to atende's server peers share (the pre-call check of
// call-check.js and the relay of call-relay.js): non-trickle offers, deadlines, closing,
// and the backoff between attempts.

/** Longest wait for ICE gathering before a non-trickle offer goes out anyway. */
const GATHER_CAP_MS = 3_000;
/** A server connection not connected this long after its answer is tried again. */
export const SERVER_CONNECT_MS = 10_000;
/** A `disconnected` server connection not back after this long is tried again. */
export const DISCONNECTED_GRACE_MS = 5_000;
/** Backoff between attempts of a relay connection: base, cap (full jitter). */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 15_000;

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
export function withTimeout(promise, ms) {
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

export function closePc(pc) {
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
export function retryDelay(attempt) {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.max(RETRY_BASE_MS / 2, Math.random() * ceiling);
}
