// @ts-check
// Chat rooms: who a room is with (its title for this user), and the list of the user's
// conversations in the sidebar, with their unread counts kept live by unread.js.

import { seg } from '../api.js';
import { professionalName } from '../messages.js';
import { h, clear } from '../ui.js';
import { badgeText, unread, unreadText } from '../unread.js';

/** @typedef {import('../types.js').Me} Me */

/**
 * A conversation (`GET /api/chat/rooms`; ChatRoomView in src/http/chat.rs).
 * @typedef {object} ChatRoom
 * @property {string} id
 * @property {string} topic the WebSocket topic to join: `chat:<id>`
 * @property {string} clinic_id
 * @property {string} clinic_name
 * @property {'patient'|'staff'} kind a patient and a professional, or the clinic's team
 * @property {string|null} patient_id
 * @property {string|null} patient_name
 * @property {string|null} professional_user_id
 * @property {string|null} professional_name
 * @property {string|null} [professional_profession] for the title: `doctor`, `dentist`…
 * @property {string|null} [professional_gender] `female` or `male`
 * @property {string} created_at
 * @property {number} unread messages from others not read yet
 * @property {number} last_seq the topic's latest seq
 * @property {boolean|null} professional_available within office hours now (null: none set)
 * @property {string|null} office_hours_note
 */

/** @param {string|null} [roomId] */
export function chatHref(roomId) {
  return roomId ? `#/mensagens/${seg(roomId)}` : '#/mensagens';
}

/**
 * Clinics where `me` may open patient–professional conversations.
 * @param {Me} me
 * @returns {Array<{id: string, name: string}>}
 */
export function openerClinics(me) {
  const seen = new Map();
  for (const m of me.memberships || []) {
    if ((m.role === 'receptionist' || m.role === 'clinic_admin') && !seen.has(m.clinic_id)) {
      seen.set(m.clinic_id, m.clinic_name);
    }
  }
  return [...seen.entries()]
    .map(([id, name]) => ({ id, name }))
    .sort((a, b) => a.name.localeCompare(b.name, 'pt-BR'));
}

/** @param {Me} me @param {ChatRoom} room */
export function isPatientOf(me, room) {
  if (!room.patient_id) return false;
  const mine = [me.patient && me.patient.id, ...(me.linked_records || []).map((r) => r.patient_id)];
  return mine.some((id) => id && String(id) === String(room.patient_id));
}

/** @param {Me} me @param {ChatRoom} room */
export function isProfessionalOf(me, room) {
  return Boolean(room.professional_user_id && String(room.professional_user_id) === String(me.id));
}

/** @param {ChatRoom} room @param {Me} me */
export function roomTitle(room, me) {
  if (room.kind === 'staff') return `Equipe — ${room.clinic_name}`;
  if (isPatientOf(me, room)) return proTitle(room) || 'Profissional';
  if (isProfessionalOf(me, room)) return room.patient_name || 'Paciente';
  return `${room.patient_name || 'Paciente'} e ${proTitle(room) || 'profissional'}`;
}

/** "Dra. Helena Duarte": the professional titled by profession and gender. @param {ChatRoom} room */
function proTitle(room) {
  return professionalName({
    name: room.professional_name,
    profession: room.professional_profession,
    gender: room.professional_gender,
  });
}

/** @param {ChatRoom} room @param {Me} me */
export function roomSubtitle(room, me) {
  if (room.kind === 'staff') return 'Conversa da equipe da clínica';
  if (isPatientOf(me, room)) return `${room.clinic_name} · conversa com profissional`;
  if (isProfessionalOf(me, room)) return `${room.clinic_name} · paciente`;
  return room.clinic_name;
}

/**
 * The sidebar's list of conversations in `listBox`: `render(rooms)` draws it, marking
 * `roomId` as the current page; the unread markers follow unread.js until `stop()`.
 * @param {HTMLElement} listBox
 * @param {Me} me
 * @param {string|null} roomId
 */
export function roomList(listBox, me, roomId) {
  /** room id → {badge, text} of the list's unread markers */
  const badges = new Map();

  function updateBadges() {
    for (const [id, { badge, text }] of badges) {
      const n = unread.of(id);
      badge.hidden = !n;
      badge.textContent = n ? badgeText(n) : '';
      text.textContent = n ? `, ${unreadText(n)}` : '';
    }
  }

  /** @param {ChatRoom[]} rooms */
  function render(rooms) {
    clear(listBox);
    badges.clear();
    if (!rooms.length) {
      listBox.append(h('p', { class: 'empty', text: 'Nenhuma conversa ainda.' }));
      if (me.patient) {
        listBox.append(h('p', {
          class: 'muted small',
          text: 'Suas conversas com os profissionais aparecem aqui: as que a clínica abrir e as que você começar em “Nova conversa”, depois de uma consulta.',
        }));
      }
      return;
    }
    const ul = h('ul', { class: 'card-list chat-room-list' });
    for (const room of rooms) {
      const current = roomId && String(room.id) === String(roomId);
      const badge = h('span', { class: 'chat-unread', 'aria-hidden': 'true', hidden: true });
      const text = h('span', { class: 'visually-hidden' });
      badges.set(String(room.id), { badge, text });
      ul.append(h('li', null,
        h('a', {
          class: `card-link chat-room-link${room.kind === 'staff' ? ' chat-room-staff' : ''}`,
          href: chatHref(room.id),
          'aria-current': current ? 'page' : null,
          dataset: { roomId: room.id },
        },
        h('span', { class: 'chat-room-head' }, h('span', { class: 'card-title', text: roomTitle(room, me) }), badge),
        h('span', { class: 'card-meta' }, h('span', { text: roomSubtitle(room, me) })),
        text)));
    }
    listBox.append(ul);
    updateBadges();
  }

  return { render, stop: unread.onChange(updateBadges) };
}
