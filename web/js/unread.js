// @ts-check
// Unread chat messages, per room, shared by the header badge, the homes and the
// room list.
//
//   import { unread } from './unread.js';
//   unread.start(me);                 // app.js, once logged in (idempotent)
//   const rooms = await unread.fetchRooms();   // GET /api/chat/rooms, counts updated
//   unread.total(); unread.of(roomId);
//   const off = unread.onChange(() => …);      // → unsubscribe function
//
// Counts come from `GET /api/chat/rooms` (`unread` per room) and are kept live by the
// ephemeral `chat.unread {room_id, unread, last_seq}` pushes of the user's own
// `user:<user_id>` topic. Pushes are not replayed, so the rooms are fetched again
// after every (re)join of that topic.

import { api, authEvents } from './api.js';
import { realtime } from './realtime.js';

class UnreadStore {
  constructor() {
    /** room id → unread count */
    this.counts = new Map();
    /** room id → stamp of its last push (an older HTTP answer must not undo it) */
    this.pushedAt = new Map();
    /** room id → highest seq this user is known to have read */
    this.readUpTo = new Map();
    /** room id → `last_seq` of the newest push applied (pushes may arrive out of order) */
    this.pushSeq = new Map();
    this.stamp = 0;
    this.userId = null;
    this.handle = null;
    this.events = new EventTarget();
    authEvents.addEventListener('logout', () => this.stop());
  }

  /** Join the user's topic (once per login). */
  start(me) {
    if (!me || !me.id) return;
    if (this.handle && this.userId === String(me.id)) return;
    this.stop();
    this.userId = String(me.id);
    this.handle = realtime.join(`user:${me.id}`, {
      events: {
        'chat.unread': (p) => {
          if (!p || !p.room_id || typeof p.unread !== 'number') return;
          const id = String(p.room_id);
          // The count pushed for a new message is computed apart from `read`: it may
          // arrive after our own read of that very message. Then it is stale.
          if (typeof p.last_seq === 'number') {
            if (p.unread > 0 && p.last_seq <= (this.readUpTo.get(id) || 0)) return;
            // Counted for an older message than the last push applied.
            if (p.last_seq < (this.pushSeq.get(id) || 0)) return;
            this.pushSeq.set(id, p.last_seq);
          }
          this.stamp += 1;
          this.pushedAt.set(id, this.stamp);
          this.set(id, p.unread);
        },
      },
      // First join and every rejoin: pushes sent meanwhile are lost, fetch the counts.
      onJoin: () => {
        this.fetchRooms().catch(() => {});
      },
      onError: () => {
        // Without the topic the counts still come from each fetch of the rooms.
      },
    });
  }

  stop() {
    if (this.handle) this.handle.leave();
    this.handle = null;
    this.userId = null;
    this.counts.clear();
    this.pushedAt.clear();
    this.readUpTo.clear();
    this.pushSeq.clear();
    this.emit();
  }

  /** This user read `roomId` up to `seq` (a `read` reply or a `chat.read` of theirs). */
  noteRead(roomId, seq, count) {
    const id = String(roomId);
    if (typeof seq === 'number' && seq > (this.readUpTo.get(id) || 0)) this.readUpTo.set(id, seq);
    if (typeof count === 'number') {
      this.stamp += 1;
      this.pushedAt.set(id, this.stamp);
      this.set(id, count);
    }
  }

  /** `GET /api/chat/rooms`, updating the counts; resolves with the rooms. */
  async fetchRooms() {
    const startedAt = this.stamp;
    const user = this.userId;
    const data = await api.get('/api/chat/rooms');
    const rooms = Array.isArray(data) ? data : [];
    if (user === this.userId) {
      const seen = new Set();
      for (const room of rooms) {
        const id = String(room.id);
        seen.add(id);
        if ((this.pushedAt.get(id) || 0) > startedAt) continue; // a push is newer
        this.counts.set(id, typeof room.unread === 'number' ? room.unread : 0);
      }
      for (const id of [...this.counts.keys()]) if (!seen.has(id)) this.counts.delete(id);
      this.emit();
    }
    return rooms;
  }

  set(roomId, n) {
    const value = Math.max(0, n | 0);
    if (this.counts.get(roomId) === value) return;
    this.counts.set(roomId, value);
    this.emit();
  }

  of(roomId) {
    return this.counts.get(String(roomId)) || 0;
  }

  total() {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** fn() after every change; returns an unsubscribe function. */
  onChange(fn) {
    const listener = () => {
      try {
        fn();
      } catch (err) {
        console.error(err);
      }
    };
    this.events.addEventListener('change', listener);
    return () => this.events.removeEventListener('change', listener);
  }

  emit() {
    this.events.dispatchEvent(new Event('change'));
  }
}

export const unread = new UnreadStore();

/** "1 mensagem não lida" / "3 mensagens não lidas" */
export function unreadText(n) {
  return n === 1 ? '1 mensagem não lida' : `${n} mensagens não lidas`;
}

/** Badge text: counts above 99 show as "99+". */
export function badgeText(n) {
  return n > 99 ? '99+' : String(n);
}
