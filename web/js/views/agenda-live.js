// @ts-check
// Agenda: the appointments of a clinic kept live — an HTTP snapshot per range plus the
// `clinic:<id>:agenda` pushes (`agenda.updated {appointment}`), which are applied after the
// snapshot when they arrive while it loads; every (re)join reloads. `payment.updated
// {appointment_id, payment}` sets the appointment's `payment_status` ("Pago" on its block).

import { realtime } from '../realtime.js';

/** @typedef {import('../types.js').Appointment} Appointment */

/**
 * Live appointments of one clinic: HTTP snapshot per range + `clinic:<id>:agenda` pushes.
 * `onChange(changed)` after each load (changed = null) and push (changed = appointment).
 * @param {import('../types.js').ViewContext} ctx
 * @param {string} clinicId
 * @param {{load: () => Promise<Appointment[]>, onChange: (changed: Appointment|null) => void,
 *   onState: (state: 'loading'|'ready'|'error'|'live'|'offline', err?: unknown) => void}} opts
 */
export function liveAgenda(ctx, clinicId, { load, onChange, onState }) {
  /** @type {Map<string, Appointment>} */
  const byId = new Map();
  let loading = false;
  let buffered = [];
  let seq = 0;

  async function reload() {
    seq += 1;
    const mine = seq;
    loading = true;
    buffered = [];
    onState('loading');
    try {
      const list = await load();
      if (mine !== seq || !ctx.isCurrent()) return;
      byId.clear();
      for (const a of list) byId.set(a.id, a);
      for (const a of buffered) byId.set(a.id, { ...byId.get(a.id), ...a });
      buffered = [];
      loading = false;
      onState('ready');
      onChange(null);
    } catch (err) {
      if (mine !== seq || !ctx.isCurrent()) return;
      loading = false;
      onState('error', err);
    }
  }

  function apply(a) {
    if (!a || !a.id) return;
    // Pushes and POST answers carry no clinic_name: keep what the list had.
    byId.set(a.id, { ...byId.get(a.id), ...a });
  }

  const handle = realtime.join(`clinic:${clinicId}:agenda`, {
    events: {
      'agenda.updated': (payload) => {
        const a = payload && payload.appointment;
        if (!a) return;
        if (loading) {
          buffered.push(a);
          return;
        }
        apply(a);
        onChange(a);
      },
      'payment.updated': (payload) => {
        const a = payload && byId.get(payload.appointment_id);
        if (!a || !payload.payment) return;
        const changed = { ...a, payment_status: payload.payment.status };
        byId.set(a.id, changed);
        onChange(changed);
      },
    },
    // Every (re)join reloads: pushes sent while the connection was down may be gone.
    onJoin: () => reload(),
    onStatus: () => onState(handle && handle.joined ? 'live' : 'offline'),
    onError: (err) => onState('error', err),
  });
  ctx.onCleanup(() => handle.leave());

  return {
    reload,
    all: () => [...byId.values()],
    apply(a) {
      apply(a);
      onChange(a);
    },
    get joined() {
      return handle.joined;
    },
  };
}

/**
 * The agenda's status line: live, loading or (re)connecting.
 * @param {string} state
 * @param {boolean} joined
 */
export function liveText(state, joined) {
  if (joined) return 'Atualizada ao vivo.';
  if (state === 'loading') return 'Carregando…';
  return realtime.state === 'reconnecting' ? 'Reconectando… a agenda pode estar desatualizada.' : 'Conectando…';
}
