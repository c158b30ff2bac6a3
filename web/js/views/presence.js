// @ts-check
// "Online agora": who of the clinic's staff is connected, live from the
// `clinic:<id>:queue` topic's presence.

import { realtime } from '../realtime.js';
import { h, plural } from '../ui.js';

/**
 * Panel for a staff home. Leaves the topic when the view is replaced.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string} clinicId
 */
export function presencePanel(ctx, me, clinicId) {
  const headingId = 'presence-heading';
  const status = h('p', { class: 'muted small presence-status', 'aria-live': 'polite', text: 'Conectando…' });
  const list = h('ul', { class: 'presence-list' });
  const section = h('section', { class: 'panel presence-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: 'Online agora' }),
    status, list);

  let people = [];
  let failed = false;
  let handle = null;

  function render() {
    if (failed) return;
    if (!handle || !handle.joined) {
      status.textContent = realtime.state === 'reconnecting' ? 'Reconectando…' : 'Conectando…';
      list.classList.add('is-stale');
      return;
    }
    // Our own presence arrives as a push just after the join reply: show it at once.
    const all = people.some((p) => String(p.user_id) === String(me.id))
      ? people
      : [...people, { user_id: me.id, name: me.full_name }];
    all.sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
    list.classList.remove('is-stale');
    list.replaceChildren(...all.map((p) => {
      const self = String(p.user_id) === String(me.id);
      return h('li', { class: 'presence-item', dataset: { userId: p.user_id } },
        h('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'presence-name', text: p.name }),
        self ? h('span', { class: 'muted small', text: ' (você)' }) : null);
    }));
    status.textContent = all.length === 1
      ? 'Só você está online nesta clínica.'
      : `${plural(all.length, 'pessoa', 'pessoas')} da equipe online.`;
  }

  handle = realtime.join(`clinic:${clinicId}:queue`, {
    onJoin: render,
    onPresence: (list_) => {
      people = list_;
      render();
    },
    onStatus: render,
    onError: () => {
      failed = true;
      status.textContent = 'Não foi possível ver quem está online.';
      list.replaceChildren();
    },
  });
  ctx.onCleanup(() => handle.leave());
  render();
  return section;
}
