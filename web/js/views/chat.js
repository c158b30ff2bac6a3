// @ts-check
// Chat ("Mensagens"): the page with the list of conversations and the open one, and the
// "Mensagens" panel of the homes. The parts, by what the user sees:
//
// - chat-rooms.js: the room list (with unread counts) and each room's title;
// - chat-conversation.js: the open conversation (history, socket, outbox, read receipts,
//   typing, presence), made of chat-thread.js (the messages, editing and deleting) and
//   chat-composer.js (writing, attaching); chat-attachments.js shows and checks files;
// - chat-new.js: "Nova conversa", for receptionists and clinic admins;
// - chat-contacts.js: "Nova conversa" for patients, with the professionals who saw them.

import { h, clear, alertNode, errorMessage, loadingNode } from '../ui.js';
import { unread, unreadText } from '../unread.js';
import { conversation } from './chat-conversation.js';
import { canStartAsPatient, patientContactsPanel } from './chat-contacts.js';
import { newConversationPanel } from './chat-new.js';
import { openerClinics, roomList, roomSubtitle, roomTitle } from './chat-rooms.js';

/**
 * Whether `me` has anyone to talk to (patients and clinic staff).
 * @param {import('../types.js').Me|null} me
 */
export function canChat(me) {
  return Boolean(me && ((me.memberships && me.memberships.length) || me.patient));
}

/**
 * "Mensagens" panel for the homes, with the unread total (live).
 * @param {string} intro
 */
export function messagesPanel(intro) {
  const count = h('p', { class: 'messages-unread', hidden: true });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'messages-heading' },
    h('h2', { id: 'messages-heading', text: 'Mensagens' }),
    h('p', { class: 'muted', text: intro }),
    count,
    h('a', { class: 'btn btn-secondary', href: '#/mensagens', text: 'Abrir mensagens' }));
  const update = () => {
    const n = unread.total();
    count.hidden = !n;
    count.textContent = n ? `Você tem ${unreadText(n)}.` : '';
  };
  update();
  // The homes have no cleanup hook for this panel: stop listening once it is gone.
  const off = unread.onChange(() => {
    if (!section.isConnected) {
      off();
      return;
    }
    update();
  });
  return section;
}

// ------------------------------------------------------------------- view ---

/**
 * View "chat": #/mensagens and #/mensagens/{room_id}.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {string|null} roomId
 */
export function renderChat(ctx, me, roomId) {
  document.title = 'Mensagens — atende';
  const heading = h('h1', { id: 'chat-heading', tabindex: '-1', text: 'Mensagens' });
  const subtitle = h('p', { class: 'muted chat-subtitle', hidden: true });
  const listBox = h('div', { class: 'chat-rooms' });
  const openers = openerClinics(me);
  const patientStarts = canStartAsPatient(me);

  const sidebar = h('section', { class: 'panel chat-sidebar', 'aria-labelledby': 'rooms-heading' },
    h('h2', { id: 'rooms-heading', text: 'Conversas' }),
    listBox,
    roomId && (openers.length || patientStarts)
      ? h('p', { class: 'chat-new-link' }, h('a', { href: '#/mensagens', text: '+ Nova conversa' }))
      : null);
  const mainBox = h('div', { class: 'chat-main' });

  const root = h('div', { class: `view chat-view${roomId ? ' has-room' : ''}`, dataset: { view: 'chat' } },
    roomId ? h('p', { class: 'breadcrumb chat-back' }, h('a', { href: '#/mensagens', text: '← Conversas' })) : null,
    h('div', { class: 'chat-title' }, heading, subtitle),
    h('div', { class: 'chat-layout' }, sidebar, mainBox));

  if (!roomId) {
    mainBox.append(h('section', { class: 'panel chat-placeholder' },
      h('p', { class: 'muted', text: 'Escolha uma conversa na lista para ler e enviar mensagens.' })));
    if (openers.length) {
      mainBox.append(newConversationPanel(ctx, me, openers, () => loadRooms()));
    }
    if (patientStarts) mainBox.append(patientContactsPanel(ctx));
  }

  const rooms = roomList(listBox, me, roomId);
  ctx.onCleanup(rooms.stop);

  let conversationOpened = false;
  function loadRooms() {
    listBox.setAttribute('aria-busy', 'true');
    if (!listBox.firstChild) listBox.append(loadingNode());
    unread.fetchRooms().then((list) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      rooms.render(list);
      if (!roomId || conversationOpened) return;
      conversationOpened = true;
      const room = list.find((r) => String(r.id) === String(roomId));
      if (!room) {
        mainBox.replaceChildren(h('section', { class: 'panel' },
          alertNode('Conversa não encontrada, ou você não participa dela.'),
          h('a', { href: '#/mensagens', text: 'Ver suas conversas' })));
        return;
      }
      heading.textContent = roomTitle(room, me);
      subtitle.textContent = roomSubtitle(room, me);
      subtitle.hidden = false;
      document.title = `${roomTitle(room, me)} — Mensagens — atende`;
      mainBox.replaceChildren(conversation(ctx, me, room, heading));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      listBox.removeAttribute('aria-busy');
      clear(listBox).append(
        alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: loadRooms }),
      );
    });
  }
  loadRooms();
  return root;
}
