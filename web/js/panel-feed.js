// @ts-check
// The waiting room's redacted snapshot ("panel"), live.
//
// The snapshot is what the TV panel, the patients' phones and the staff's wait estimates
// show: `{version, calls: [{ticket, name, room, called_at, recalls}], waiting: [{ticket,
// eta_minutes}]}`. The topic `clinic:<id>:panel` pushes `panel.updated` with a whole new
// snapshot after every change (no seq: each one replaces the last). Snapshots are kept by
// `version` (the highest wins), so the HTTP answer and the pushes may arrive in any order.
// Every (re)join fetches the snapshot over HTTP again: pushes sent while the connection was
// down are not replayed. `pollMs` also refetches now and then while joined: a push lost on
// the way (it has no seq to notice the gap) or a new day must not leave a TV stale.
//
//   const feed = panelFeed({
//     client,                                 // realtime (logged in) or a guest client
//     topic: 'clinic:<id>:panel',
//     refresh: () => fetch…,                  // resolves with a snapshot (or null)
//     onSnapshot: (snapshot, fetched) => …,   // a newer snapshot (fetched: from HTTP)
//     onState: (state, err) => …,             // 'live' | 'offline' | 'error'
//     onError: (err) => …,                    // the join was refused for good
//     pollMs: 60_000,                         // optional: refetch this often while joined
//   });
//   feed.refresh(); feed.leave();

/**
 * A called ticket on the panel.
 * @typedef {object} PanelCall
 * @property {string} ticket e.g. "A012"
 * @property {string} name as the panel shows it (shortened)
 * @property {string|null} room
 * @property {string} called_at
 * @property {number} recalls
 */

/**
 * The waiting room's redacted snapshot (`GET …/queue/panel`, `panel.updated`).
 * @typedef {object} PanelSnapshot
 * @property {number} version the highest wins
 * @property {PanelCall[]} calls
 * @property {Array<{ticket: string, eta_minutes: number|null}>} waiting
 */

/**
 * Options of `panelFeed` (see the top of this file).
 * @typedef {object} PanelFeedOptions
 * @property {import('./realtime.js').RealtimeClient} client the logged-in one or a guest client
 * @property {string} topic `clinic:<id>:panel`
 * @property {() => Promise<PanelSnapshot|null>} refresh
 * @property {(snapshot: PanelSnapshot, fetched: boolean) => void} onSnapshot
 * @property {(state: 'live'|'offline'|'error', err?: import('./api.js').ApiError) => void} [onState]
 *   `err`: why the HTTP refresh failed
 * @property {(err: import('./realtime.js').RealtimeError) => void} [onError]
 * @property {number} [pollMs]
 */

/**
 * Is `s` a snapshot we can show?
 * @param {any} s
 * @returns {s is PanelSnapshot}
 */
export function isSnapshot(s) {
  return Boolean(s && typeof s === 'object' && typeof s.version === 'number'
    && Array.isArray(s.calls) && Array.isArray(s.waiting));
}

/**
 * @param {PanelFeedOptions} opts
 */
export function panelFeed({
  client, topic, refresh, onSnapshot, onState = () => {}, onError = () => {}, pollMs = 0,
}) {
  /** @type {PanelSnapshot|null} */
  let current = null;
  let dead = false;
  let pollTimer = 0;
  let refreshing = null;
  let again = false;

  /**
   * Apply `snapshot` when it is newer than the one shown; returns whether it was. An HTTP
   * answer (`fetched`) of the same version replaces it too: it was built after that change
   * (and a new day empties the calls without a change).
   */
  /** @param {unknown} snapshot */
  function accept(snapshot, fetched = false) {
    if (dead || !isSnapshot(snapshot)) return false;
    if (current && (fetched ? snapshot.version < current.version : snapshot.version <= current.version)) return false;
    current = snapshot;
    onSnapshot(snapshot, fetched);
    return true;
  }

  /** Fetch over HTTP; a call while one is in flight runs once more after it. */
  function doRefresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        try {
          const snapshot = await refresh();
          if (!dead) accept(snapshot, true);
        } catch (err) {
          if (!dead) onState('error', err);
        }
      } while (again && !dead);
      refreshing = null;
    })();
    return refreshing;
  }

  const handle = client.join(topic, {
    events: { 'panel.updated': (payload) => accept(payload) },
    onJoin: () => {
      onState('live');
      doRefresh();
    },
    onStatus: () => {
      if (!dead) onState(handle && handle.joined ? 'live' : 'offline');
    },
    onError: (err) => {
      if (!dead) onError(err);
    },
  });

  if (pollMs > 0) {
    pollTimer = setInterval(() => {
      if (!dead && handle.joined && document.visibilityState !== 'hidden') doRefresh();
    }, pollMs);
  }

  return {
    accept,
    refresh: doRefresh,
    get snapshot() {
      return current;
    },
    get joined() {
      return handle.joined;
    },
    leave() {
      dead = true;
      clearInterval(pollTimer);
      handle.leave();
    },
  };
}
