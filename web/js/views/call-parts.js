// @ts-check
// Pieces shared by the two sides of a teleconsultation (views/teleconsult.js for the
// professional, views/consult.js for the patient): status labels, the consult topic's error
// messages, the video stage, the microphone/camera buttons and icons.

import { h, errorMessage, sentence } from '../ui.js';
import { strokeIcon } from '../icons.js';
import { playInto, unmute } from '../call.js';

export const CONSULT_STATUS = {
  scheduled: 'Aguardando o paciente',
  waiting: 'Paciente na sala de espera',
  in_call: 'Em chamada',
  ended: 'Encerrada',
};

export function consultStatusLabel(status) {
  return CONSULT_STATUS[status] || status || '';
}

/** pt-BR messages of the consult topic's error codes. */
const CONSULT_ERRORS = {
  nobody_waiting: 'O paciente ainda não entrou na sala de espera.',
  consult_ended: 'Esta teleconsulta já foi encerrada.',
  not_admitted: 'A chamada começa quando você admitir o paciente.',
  not_found: 'Teleconsulta não encontrada.',
  relay_disabled: 'Esta instalação não permite chamadas pelo servidor (nem participantes extras).',
  forbidden: 'Você não tem permissão para isso nesta teleconsulta.',
};

/**
 * The pt-BR text of a failure on the consult topic or its HTTP routes.
 * @param {any} err
 */
export function consultError(err) {
  if (err && Object.hasOwn(CONSULT_ERRORS, err.code)) return CONSULT_ERRORS[err.code];
  if (err && err.name === 'RealtimeError') return sentence(err.message);
  return errorMessage(err);
}

// ---------------------------------------------------------------- icons ---

const ICONS = {
  mic: ['M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3z', 'M19 10v2a7 7 0 0 1-14 0v-2', 'M12 19v3', 'M8 22h8'],
  'mic-off': ['M2 2l20 20', 'M9 9v3a3 3 0 0 0 5.12 2.12', 'M15 9.34V5a3 3 0 0 0-5.94-.6',
    'M17 16.95A7 7 0 0 1 5 12v-2', 'M19 10v2a7 7 0 0 1-.11 1.23', 'M12 19v3', 'M8 22h8'],
  camera: ['M23 7l-7 5 7 5V7z', 'M3 5h11a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z'],
  'camera-off': ['M16 16v1a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h2', 'M10.66 5H14a2 2 0 0 1 2 2v3.34l1 1L23 7v10', 'M2 2l20 20'],
  screen: ['M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', 'M8 21h8', 'M12 17v4', 'M9 10l3-3 3 3', 'M12 7v6'],
  hangup: ['M10.68 13.31a16 16 0 0 0 3.41 2.6l1.27-1.27a2 2 0 0 1 2.11-.45c.91.34 1.85.57 2.81.7a2 2 0 0 1 1.72 2v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.42 19.42 0 0 1-3.33-2.67',
    'M5.1 13.4A19.79 19.79 0 0 1 2.1 4.18 2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91', 'M22 2L2 22'],
  sound: ['M11 5L6 9H2v6h4l5 4V5z', 'M19.07 4.93a10 10 0 0 1 0 14.14', 'M15.54 8.46a5 5 0 0 1 0 7.07'],
};

/**
 * A decorative stroke icon of the call pages.
 * @param {string} name a key of ICONS
 */
export function icon(name) {
  return strokeIcon(name, ICONS[name] || []);
}

// ---------------------------------------------------------------- video ---

/** A <video> for a MediaStream; `self` ones are muted (no echo) and mirrored. */
export function videoElement({ self = false, label, className = '' }) {
  const video = h('video', {
    class: `${self ? 'tc-self-video is-mirrored' : 'tc-remote-video'} ${className}`.trim(),
    autoplay: true,
    playsinline: true,
    'aria-label': label,
  });
  if (self) {
    video.muted = true;
    video.defaultMuted = true;
  }
  return video;
}

const TILE_NOTES = {
  connecting: 'Conectando…',
  reconnecting: 'Reconectando…',
};

/**
 * The call's stage: the other side's video big, this side's small in a corner, a note
 * over the remote video while it is not there. In a relayed call (`setTiles`) each remote
 * participant gets a tile with their name instead (side by side for two, a grid for more).
 * Returns {node, remote, self, setNote(text), showRemote(stream), setTiles(list|null),
 * unmuteAll(), showSelf(stream, {mirrored, off})}.
 */
export function videoStage({ remoteLabel, selfLabel, onSoundBlocked = null }) {
  const remote = videoElement({ label: remoteLabel });
  const self = videoElement({ self: true, label: selfLabel });
  const note = h('p', { class: 'tc-stage-note' });
  const selfOff = h('span', { class: 'tc-self-off', text: 'Câmera desligada', hidden: true });
  const selfBox = h('div', { class: 'tc-self' }, self, selfOff);
  const tilesBox = h('div', { class: 'tc-tiles', hidden: true });
  const node = h('div', { class: 'tc-stage' }, remote, tilesBox, note, selfBox);
  /** id → {node, video, name, note} */
  const tiles = new Map();

  function tileFor(item) {
    let tile = tiles.get(item.id);
    if (tile) return tile;
    const video = videoElement({ label: `Vídeo de ${item.name || 'participante'}`, className: 'tc-tile-video' });
    const name = h('span', { class: 'tc-tile-name' });
    const tileNote = h('span', { class: 'tc-tile-note', hidden: true });
    tile = { node: h('div', { class: 'tc-tile', dataset: { id: item.id } }, video, tileNote, name), video, name, note: tileNote };
    tiles.set(item.id, tile);
    // Appended once and never moved: moving a <video> in the document pauses it.
    tilesBox.append(tile.node);
    return tile;
  }

  return {
    node,
    remote,
    self,
    setNote(text) {
      note.textContent = text || '';
      note.hidden = !text;
      node.classList.toggle('has-note', Boolean(text));
    },
    showRemote(stream) {
      playInto(remote, stream, { onBlocked: onSoundBlocked });
    },
    /**
     * Relayed call: one tile per remote participant ({id, role, name, stream, state});
     * `null` goes back to the single remote video (peer to peer).
     */
    setTiles(list) {
      const relay = Array.isArray(list);
      remote.hidden = relay;
      tilesBox.hidden = !relay;
      if (relay && remote.srcObject) remote.srcObject = null;
      const items = relay ? list : [];
      const ids = new Set(items.map((x) => x.id));
      for (const [id, tile] of tiles) {
        if (ids.has(id)) continue;
        tile.video.srcObject = null;
        tile.node.remove();
        tiles.delete(id);
      }
      for (const item of items) {
        const tile = tileFor(item);
        tile.name.textContent = item.name || 'Participante';
        tile.video.setAttribute('aria-label', `Vídeo de ${item.name || 'participante'}`);
        tile.node.dataset.role = item.role || '';
        tile.node.dataset.state = item.state || '';
        if (item.stream && tile.video.srcObject !== item.stream) {
          playInto(tile.video, item.stream, { onBlocked: onSoundBlocked });
        }
        const live = item.stream && item.stream.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted);
        const text = item.state === 'connected' && live ? '' : TILE_NOTES[item.state] || TILE_NOTES.connecting;
        tile.note.textContent = text;
        tile.note.hidden = !text;
      }
      tilesBox.dataset.count = String(items.length);
      node.dataset.tiles = relay ? String(items.length) : '';
    },
    /** Sound on for every remote video (after the browser blocked autoplay with sound). */
    unmuteAll() {
      unmute(remote);
      for (const tile of tiles.values()) unmute(tile.video);
    },
    showSelf(stream, { mirrored = true, off = false } = {}) {
      self.classList.toggle('is-mirrored', mirrored);
      selfOff.hidden = !off;
      selfBox.hidden = !stream;
      playInto(self, stream);
    },
  };
}

// -------------------------------------------------------------- controls ---

/**
 * A toggle button (microphone, camera, screen): its label says what a click does;
 * `data-on` tells the current state. Returns {node, set(on), get on}.
 */
export function toggleButton({ control, onIcon, offIcon, onLabel, offLabel, onClick, danger = false }) {
  const label = h('span', { class: 'tc-ctl-label' });
  const button = h('button', {
    type: 'button',
    class: `btn tc-ctl${danger ? ' tc-ctl-danger' : ''}`,
    dataset: { control },
  }, label);
  let on = true;
  function set(value) {
    on = Boolean(value);
    button.dataset.on = String(on);
    button.replaceChildren(icon(on ? onIcon : offIcon), label);
    label.textContent = on ? onLabel : offLabel;
  }
  button.addEventListener('click', () => onClick(!on));
  set(true);
  return {
    node: button,
    set,
    get on() {
      return on;
    },
  };
}

/** A plain call button with an icon (end the call, leave it, turn the sound on). */
export function callButton({ control, iconName, label, className = '', onClick }) {
  return h('button', {
    type: 'button', class: `btn tc-ctl ${className}`.trim(), dataset: { control }, onclick: onClick,
  }, icon(iconName), h('span', { class: 'tc-ctl-label', text: label }));
}

/**
 * Microphone and camera buttons for a local stream (`getStream()` is read at each click:
 * the stream may be replaced). Turning one off disables the track (the connection keeps
 * sending silence / black frames, so turning it on again needs no renegotiation).
 * `onChange()` after each click. Returns {mic, camera, sync()}.
 */
export function mediaToggles(getStream, onChange) {
  const track = (kind) => {
    const stream = getStream();
    return stream ? stream.getTracks().find((t) => t.kind === kind && t.readyState !== 'ended') || null : null;
  };
  const mic = toggleButton({
    control: 'mic', onIcon: 'mic', offIcon: 'mic-off', onLabel: 'Desligar microfone', offLabel: 'Ligar microfone',
    onClick: (value) => {
      const t = track('audio');
      if (t) t.enabled = value;
      sync();
      if (onChange) onChange();
    },
  });
  const camera = toggleButton({
    control: 'camera', onIcon: 'camera', offIcon: 'camera-off', onLabel: 'Desligar câmera', offLabel: 'Ligar câmera',
    onClick: (value) => {
      const t = track('video');
      if (t) t.enabled = value;
      sync();
      if (onChange) onChange();
    },
  });
  /** Buttons in line with the tracks (also when the browser stops one: device unplugged,
   * permission withdrawn). */
  function sync() {
    const a = track('audio');
    const v = track('video');
    mic.set(Boolean(a && a.enabled));
    camera.set(Boolean(v && v.enabled));
    mic.node.disabled = !a;
    camera.node.disabled = !v;
    mic.node.title = a ? '' : 'Nenhum microfone disponível';
    camera.node.title = v ? '' : 'Nenhuma câmera disponível';
  }
  sync();
  return { mic, camera, sync };
}
