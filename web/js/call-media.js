// @ts-check
// Teleconsultation: this side's camera and microphone (opening them, their pt-BR error
// messages, a video element that plays them, a microphone level meter) and the call's
// duration as text. See call.js for the call itself.

/** Whether this browser can make calls here (getUserMedia needs https or localhost). */
export function mediaSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.RTCPeerConnection);
}

/**
 * pt-BR message for a getUserMedia failure. `missing`: which devices were not found
 * ({audio, video}), when known.
 */
export function mediaErrorMessage(err, missing = null) {
  const name = err && err.name;
  if (!mediaSupported()) {
    return 'Este navegador não permite chamadas de vídeo nesta página. Use uma versão recente do Chrome, Edge, Firefox ou Safari.';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'Você não permitiu o uso da câmera e do microfone. Toque no cadeado ao lado do endereço do site, permita câmera e microfone e toque em "Tentar de novo".';
  }
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
    if (missing && missing.video && !missing.audio) return 'Não encontramos sua câmera. Confira se ela está conectada e não está tampada, ou entre só com áudio.';
    if (missing && missing.audio && !missing.video) return 'Não encontramos seu microfone. Confira se ele está conectado, ou use um fone de ouvido com microfone.';
    return 'Não encontramos sua câmera nem seu microfone. Confira se estão conectados e tente de novo.';
  }
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
    return 'Sua câmera ou seu microfone está sendo usado por outro aplicativo (outra chamada, por exemplo). Feche-o e tente de novo.';
  }
  return 'Não foi possível ligar a câmera e o microfone. Tente de novo.';
}

/**
 * What openLocalMedia() opened.
 * @typedef {object} LocalMedia
 * @property {MediaStream|null} stream
 * @property {{audio: boolean, video: boolean}} missing
 * @property {string|null} error
 * @property {boolean} denied the person refused the permission
 */

/**
 * Camera and microphone. Resolves {stream, missing: {audio, video}, error}: `stream` has
 * whatever could be opened (maybe only one kind, or null), `error` a pt-BR message when
 * something is missing or refused.
 * @returns {Promise<LocalMedia>}
 */
export async function openLocalMedia() {
  const missing = { audio: false, video: false };
  if (!mediaSupported()) {
    return { stream: null, missing: { audio: true, video: true }, error: mediaErrorMessage(null), denied: false };
  }
  const video = { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' };
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    return { stream, missing, error: null, denied: false };
  } catch (err) {
    const name = err && err.name;
    if (name !== 'NotFoundError' && name !== 'OverconstrainedError' && name !== 'NotReadableError') {
      return { stream: null, missing: { audio: true, video: true }, error: mediaErrorMessage(err), denied: name === 'NotAllowedError' };
    }
    // One of the two may still work: try each alone, so a missing camera still allows audio.
    let stream = null;
    for (const kind of ['audio', 'video']) {
      try {
        const one = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio: true } : { video });
        if (!stream) stream = one;
        else for (const t of one.getTracks()) stream.addTrack(t);
      } catch {
        missing[kind] = true;
      }
    }
    return { stream, missing, error: mediaErrorMessage(err, missing), denied: false };
  }
}

export function stopStream(stream) {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

/**
 * Show `stream` in `video` and play it. Browsers may refuse to play sound without a click
 * on the page: then the video plays muted and `onBlocked()` runs (show an "Ativar som"
 * button that calls `unmute(video)`).
 */
export function playInto(video, stream, { onBlocked = null } = {}) {
  if (video.srcObject !== stream) video.srcObject = stream;
  if (!stream) return;
  const attempt = video.play();
  if (!attempt || typeof attempt.catch !== 'function') return;
  attempt.catch((err) => {
    if (!err || err.name !== 'NotAllowedError' || video.muted) return; // AbortError: replaced meanwhile
    video.muted = true;
    video.play().catch(() => {});
    if (onBlocked) onBlocked();
  });
}

export function unmute(video) {
  video.muted = false;
  const attempt = video.play();
  if (attempt && typeof attempt.catch === 'function') attempt.catch(() => {});
}

/**
 * A live microphone level meter: {node, stop()}. The level (0–100) is also in
 * `node.dataset.level`, and the highest seen in `node.dataset.peak`.
 */
export function micMeter(stream, { label = 'Nível do microfone' } = {}) {
  const fill = h('span', 'mic-meter-fill');
  const bar = document.createElement('span');
  bar.className = 'mic-meter';
  bar.setAttribute('role', 'meter');
  bar.setAttribute('aria-label', label);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', '0');
  bar.dataset.level = '0';
  bar.dataset.peak = '0';
  bar.append(fill);
  const track = stream && stream.getAudioTracks()[0];
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!track || !Ctx) return { node: bar, stop() {} };
  let audio = null;
  let timer = 0;
  try {
    audio = new Ctx();
    const source = audio.createMediaStreamSource(new MediaStream([track]));
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    timer = setInterval(() => {
      analyser.getByteTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += ((v - 128) / 128) ** 2;
      const rms = Math.sqrt(sum / data.length);
      // Speech sits around 0.02–0.2 RMS: a square-root curve makes it move visibly.
      const level = track.enabled ? Math.min(100, Math.round(Math.sqrt(rms) * 180)) : 0;
      fill.style.transform = `scaleX(${level / 100})`;
      bar.dataset.level = String(level);
      bar.setAttribute('aria-valuenow', String(level));
      if (level > Number(bar.dataset.peak)) bar.dataset.peak = String(level);
    }, 100);
  } catch {
    // No Web Audio: the meter stays still.
  }
  return {
    node: bar,
    stop() {
      clearInterval(timer);
      if (audio) audio.close().catch(() => {});
      audio = null;
    },
  };
}

function h(tag, className) {
  const el = document.createElement(tag);
  el.className = className;
  return el;
}

/** "04:05" or "1:04:05" */
export function formatDuration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(2, '0');
  const ss = String(seconds).padStart(2, '0');
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "12 minutos e 5 segundos" for screen readers and summaries. */
export function durationWords(ms) {
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts = [];
  if (minutes) parts.push(`${minutes} ${minutes === 1 ? 'minuto' : 'minutos'}`);
  if (seconds || !minutes) parts.push(`${seconds} ${seconds === 1 ? 'segundo' : 'segundos'}`);
  return parts.join(' e ');
}
