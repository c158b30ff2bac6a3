// @ts-check
// Shared pieces of the live views: a realtime join that keeps a status line ("Atualizado ao
// vivo.", "Reconectando…", …) and the view's `data-live` up to date, and a list loaded from
// the API that keeps the pushes which arrive while it is being fetched.
//
//   const handle = joinWithStatus(`user:${me.id}`, {
//     root, status: liveNode, liveText: 'Atualizado ao vivo.', errorText: 'Sem atualização ao vivo.',
//     events: {…}, onJoin: () => list.reload(),
//   });
//
//   const list = liveList(ctx, {
//     box: listBox, load: () => api.get(path), itemsOf: (res) => res.documents,
//     merge: (before, item) => …, render,
//   });

import { realtime } from './realtime.js';
import { h, alertNode, clear, errorMessage } from './ui.js';

/**
 * `realtime.join(name, opts)` that also shows the connection in `status` (its text) and
 * `root.dataset.live` ('true' only while joined): `liveText` once joined, "Reconectando…" /
 * "Conectando…" while not, `errorText` when the join is refused for good. `opts.onJoin`
 * runs after the status is set; other options go to the join as they are.
 */
export function joinWithStatus(name, { root, status, liveText, errorText, onJoin, ...opts }) {
  const handle = realtime.join(name, {
    ...opts,
    onJoin: (info) => {
      status.textContent = liveText;
      root.dataset.live = 'true';
      if (onJoin) onJoin(info);
    },
    onStatus: (state) => {
      if (state !== 'connected' || !handle.joined) {
        status.textContent = state === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
        root.dataset.live = 'false';
      }
    },
    onError: () => {
      status.textContent = errorText;
      root.dataset.live = 'false';
    },
  });
  return handle;
}

/**
 * A list of items (by `id`) fetched with `load()` and kept current by pushes.
 *
 * - `reload()` fetches again; an answer overtaken by a newer reload (or arriving after the
 *   view went away) is dropped. `itemsOf(result)` (called only for a current answer) gives
 *   its items; each is `merge(before, item)`d with what the list held, then the items
 *   `remember`ed since the previous fetch are merged on top (they may be newer than the
 *   answer, or missing from it), and `render()` runs.
 * - A failure before the first load shows the error and "Tentar novamente" in `box`.
 *
 * Returns {items (the Map id → item), loaded, markLoaded(), remember(item), reload()}.
 */
export function liveList(ctx, { box, load, itemsOf, merge, render }) {
  const items = new Map();
  let loaded = false;
  let loadSeq = 0;
  /** Items pushed or changed here since the last fetch, applied on top of the next one. */
  let recent = [];

  async function reload() {
    loadSeq += 1;
    const mine = loadSeq;
    try {
      const result = await load();
      if (mine !== loadSeq || !ctx.isCurrent()) return;
      const list = itemsOf(result) || [];
      const before = new Map(items);
      items.clear();
      for (const d of list) items.set(d.id, merge(before.get(d.id), d));
      for (const d of recent) items.set(d.id, merge(items.get(d.id), d));
      recent = [];
      loaded = true;
      render();
    } catch (err) {
      if (mine !== loadSeq || !ctx.isCurrent()) return;
      if (!loaded) {
        clear(box).append(alertNode(errorMessage(err)),
          h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: reload }));
      }
    }
  }

  return {
    items,
    get loaded() {
      return loaded;
    },
    /** The list is shown from here on even without a fetch (e.g. an item issued on the page). */
    markLoaded() {
      loaded = true;
    },
    remember(item) {
      recent.push(item);
    },
    reload,
  };
}
