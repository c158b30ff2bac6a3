// @ts-check
// Teleconsultation, the patient's (or guest's) side: the screen before entering, stage
// `check` of views/consult.js — the camera preview and the microphone meter after "Testar
// câmera e microfone", then the network check against the server (a verdict, latency, loss
// and rate, and the camera as it arrives through the internet; it never blocks entering),
// the room's opening time, and "Entrar na sala de espera" once the camera was tested and
// the room is open.

import { whenPhrase } from '../messages.js';
import { ApiError, publicGet, publicPost, qs, seg } from '../api.js';
import { h, alertNode, clear } from '../ui.js';
import { localDate, timeIn, todayIn } from '../agenda-util.js';
import {
  ConnectionCheck, mediaSupported, micMeter, openLocalMedia, playInto, stopStream,
} from '../call.js';
import { videoElement } from './call-parts.js';

/**
 * This side's camera and microphone and the checks made with them; the page keeps them
 * across its stages (the room and the call use the same stream).
 * @typedef {object} LocalDevices
 * @property {import('../call-media.js').LocalMedia|null} media what openLocalMedia() gave
 * @property {{node: HTMLElement, stop: () => void}|null} meter the microphone meter on screen
 * @property {boolean} checked the camera and microphone were tested
 * @property {import('../call.js').ConnectionCheck|null} check the network check while it runs
 */

/**
 * What the screen needs from the page.
 * @typedef {object} CheckPage
 * @property {HTMLElement} body where the screen goes
 * @property {() => any} info the link's preview (`GET /api/public/consults/{token}`)
 * @property {(fresh: any) => void} setInfo a newer preview, fetched while waiting for the room to open
 * @property {string} url the preview's address
 * @property {string} token the link's token
 * @property {string} tz the clinic's time zone
 * @property {boolean} isGuest an invited participant, not the patient
 * @property {LocalDevices} local
 * @property {() => boolean} isOpen the room is open (its `opens_at` is past)
 * @property {() => boolean} isCurrent the page is still on screen
 * @property {() => boolean} here the page is still on screen, at this stage
 * @property {(fn: () => void, ms: number) => void} later a timer the page clears when it goes
 * @property {(err: unknown) => void} closeLink the link was refused for good
 * @property {() => void} enterRoom "Entrar na sala de espera"
 */

/** A refused `enter` (`too_early`) looks again this often. */
const TOO_EARLY_RETRY_MS = 15_000;

/** Fallback texts of the network check's verdicts (the server sends its own `message`). */
const VERDICT_TEXT = {
  good: 'Sua conexão está boa.',
  weak: 'Sua conexão está fraca: a imagem pode travar um pouco.',
  bad: 'Sua conexão está ruim: a chamada pode falhar.',
  measuring: 'Medindo sua conexão…',
};
const CHECK_FAILED_TEXT = 'Não foi possível testar sua conexão agora. Você pode entrar mesmo assim.';

const number = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 });

/**
 * "Latência: 23 ms · Perda de pacotes: 0,5% · Taxa: 1.234 kbps"
 * @param {{rtt_ms?: number, loss_pct?: number, kbps?: number}} r a report of the check
 */
function reportNumbers(r) {
  const rtt = typeof r.rtt_ms === 'number' ? `${number.format(r.rtt_ms)} ms` : '—';
  const loss = typeof r.loss_pct === 'number' ? `${number.format(r.loss_pct)}%` : '—';
  const rate = typeof r.kbps === 'number' ? `${number.format(r.kbps)} kbps` : '—';
  return `Latência: ${rtt} · Perda de pacotes: ${loss} · Taxa: ${rate}`;
}

/**
 * "às 09:30" today, else "amanhã às 09:30" or "terça-feira, 25 de novembro, às 09:30".
 * @param {string} iso
 * @param {string} tz
 */
function atText(iso, tz) {
  return localDate(iso, tz) === todayIn(tz) ? `às ${timeIn(iso, tz)}` : whenPhrase(iso, tz);
}

/**
 * Show the check screen in `page.body`; returns the clean-up for when the page leaves it
 * (it stops the network check; the camera stays on, for the room).
 * @param {CheckPage} page
 * @param {{tooEarly?: boolean}} [opts] `tooEarly`: the server said the room is not open yet
 * @returns {() => void}
 */
export function checkScreen(page, { tooEarly = false } = {}) {
  const { body, token, tz, isGuest, local } = page;
  const pro = page.info().professional_name || 'o profissional';
  const preview = videoElement({ self: true, label: 'Prévia da sua câmera', className: 'tc-preview' });
  const previewEmpty = h('p', { class: 'tc-preview-empty', text: 'A imagem da sua câmera aparece aqui.' });
  const previewBox = h('div', { class: 'tc-preview-box' }, preview, previewEmpty);
  const meterSlot = h('div', { class: 'tc-meter-slot' });
  const results = h('ul', { class: 'tc-check-list', hidden: true });
  const problem = h('div', { class: 'tc-check-problem' });
  const checkButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Testar câmera e microfone', dataset: { action: 'check' } });
  const opens = h('p', { class: 'tc-opens', role: 'status' });
  const enterButton = h('button', { type: 'button', class: 'btn btn-primary btn-large', text: 'Entrar na sala de espera', disabled: true, dataset: { action: 'enter' } });
  const enterHint = h('p', { class: 'muted small tc-enter-hint' });

  // The network check (after the camera and microphone): verdict, numbers, and the
  // camera as the server got it.
  const netMessage = h('p', { class: 'tc-net-message', role: 'status', 'aria-live': 'polite' });
  const netNumbers = h('p', { class: 'muted small tc-net-numbers', hidden: true });
  const reflected = videoElement({
    label: isGuest ? 'Como você aparece na chamada (pela internet)' : 'Como você aparece para o médico (pela internet)',
    className: 'tc-net-video',
  });
  reflected.muted = true; // the microphone comes back too: never play it (echo)
  reflected.defaultMuted = true;
  const reflectedBox = h('figure', { class: 'tc-net-reflect', hidden: true },
    h('div', { class: 'tc-net-video-box' }, reflected),
    h('figcaption', { class: 'small', text: isGuest ? 'Como você aparece na chamada (pela internet)' : 'Como você aparece para o médico (pela internet)' }));
  const netBox = h('section', { class: 'tc-net', 'aria-labelledby': 'tc-net-title', hidden: true, dataset: { verdict: 'idle' } },
    h('h3', { id: 'tc-net-title', class: 'h3', text: 'Sua conexão com a internet' }),
    netMessage, netNumbers, reflectedBox);

  clear(body).append(
    h('section', { class: 'panel tc-check', 'aria-labelledby': 'tc-check-title' },
      h('h2', { id: 'tc-check-title', class: 'h3', text: 'Antes de entrar: teste sua câmera e seu microfone' }),
      h('p', { class: 'muted small', text: isGuest
        ? 'Assim os participantes conseguem ver e ouvir você. O navegador vai pedir permissão: toque em "Permitir".'
        : `Assim ${pro} consegue ver e ouvir você. O navegador vai pedir permissão: toque em "Permitir".` }),
      previewBox,
      h('div', { class: 'tc-mic-row' },
        h('span', { class: 'tc-mic-label', text: 'Microfone' }), meterSlot),
      results, problem, netBox, checkButton),
    h('section', { class: 'tc-enter', 'aria-label': 'Entrar' }, opens, enterButton, enterHint));

  function stopNetCheck() {
    if (local.check) local.check.stop();
    local.check = null;
  }

  function setVerdict(verdict, text) {
    netBox.dataset.verdict = verdict;
    netMessage.textContent = text;
  }

  /** Test the connection through the server (never blocks entering). */
  function startNetCheck() {
    stopNetCheck();
    netBox.hidden = false;
    netNumbers.hidden = true;
    reflectedBox.hidden = true;
    reflected.srcObject = null;
    delete netBox.dataset.done;
    setVerdict('starting', 'Testando sua conexão com a internet…');
    const c = new ConnectionCheck({
      exchange: (sdp) => publicPost(`/api/consults/${seg(page.info().appointment_id)}/media/check${qs({ token })}`, { sdp }),
      stream: local.media ? local.media.stream : null,
      onRemoteStream: (stream) => {
        if (local.check !== c) return;
        if (stream.getVideoTracks().length) {
          playInto(reflected, stream);
          reflectedBox.hidden = false;
        }
      },
      onReport: (r) => {
        if (local.check !== c) return;
        const verdict = Object.hasOwn(VERDICT_TEXT, r.verdict) ? r.verdict : 'measuring';
        setVerdict(verdict, (typeof r.message === 'string' && r.message) || VERDICT_TEXT[verdict]);
        netNumbers.textContent = reportNumbers(r);
        netNumbers.hidden = false;
      },
      onFail: () => {
        if (local.check !== c) return;
        local.check = null;
        reflected.srcObject = null;
        reflectedBox.hidden = true;
        netNumbers.hidden = true;
        setVerdict('failed', CHECK_FAILED_TEXT);
      },
      onEnd: () => {
        if (local.check !== c) return;
        local.check = null;
        netBox.dataset.done = 'true';
        reflected.srcObject = null;
        reflectedBox.hidden = true;
      },
    });
    local.check = c;
    c.start();
  }

  function syncEnter() {
    const open = page.isOpen() && !tooEarly;
    enterButton.disabled = !open || !local.checked;
    if (!open) {
      opens.textContent = `A sala de espera abre ${atText(page.info().opens_at, tz)}. Esta página libera a entrada sozinha.`;
      opens.hidden = false;
    } else opens.hidden = true;
    enterHint.textContent = local.checked
      ? (local.media && local.media.stream ? '' : isGuest
        ? 'Você pode entrar mesmo assim, mas os participantes não vão ver nem ouvir você.'
        : 'Você pode entrar mesmo assim, mas o profissional não vai ver nem ouvir você.')
      : 'Faça o teste da câmera e do microfone para liberar a entrada.';
    enterHint.hidden = !enterHint.textContent;
  }

  async function runCheck() {
    checkButton.disabled = true;
    checkButton.textContent = 'Testando…';
    clear(problem);
    if (local.meter) local.meter.stop();
    local.meter = null;
    if (local.media) stopStream(local.media.stream);
    local.media = null;
    const res = await openLocalMedia();
    if (!page.here()) {
      stopStream(res.stream);
      return;
    }
    local.media = res;
    local.checked = true;
    showMedia(res);
  }

  /** The check's outcome: preview, meter, results, problem. */
  function showMedia(res) {
    const stream = res.stream;
    const cam = stream ? stream.getVideoTracks()[0] : null;
    const mic = stream ? stream.getAudioTracks()[0] : null;
    playInto(preview, cam ? stream : null);
    previewEmpty.hidden = Boolean(cam);
    preview.hidden = !cam;
    local.meter = micMeter(stream);
    clear(meterSlot).append(local.meter.node);
    clear(results).append(
      h('li', { dataset: { check: 'camera', ok: String(Boolean(cam)) }, text: cam ? 'Câmera funcionando' : 'Câmera indisponível' }),
      h('li', { dataset: { check: 'microphone', ok: String(Boolean(mic)) }, text: mic ? 'Microfone funcionando: fale algo e veja a barra se mexer' : 'Microfone indisponível' }));
    results.hidden = false;
    if (res.error) problem.append(alertNode(res.error));
    checkButton.disabled = false;
    checkButton.textContent = res.error ? 'Tentar de novo' : 'Testar de novo';
    syncEnter();
    if (mediaSupported()) startNetCheck();
  }

  checkButton.addEventListener('click', () => {
    // Created within the click: browsers only start audio after a user gesture.
    runCheck();
  });
  enterButton.addEventListener('click', () => {
    if (local.meter) local.meter.stop();
    local.meter = null;
    stopNetCheck();
    page.enterRoom();
  });
  if (!mediaSupported()) {
    problem.append(alertNode('Este navegador não permite chamadas de vídeo nesta página. Use uma versão recente do Chrome, Edge, Firefox ou Safari.'));
  }

  // Not open yet: look again when it opens (and at least every minute, in case the
  // appointment moved).
  function waitOpen() {
    if (page.isOpen() && !tooEarly) return;
    const wait = tooEarly ? TOO_EARLY_RETRY_MS : Math.min(60_000, Math.max(1000, Date.parse(page.info().opens_at) - Date.now() + 500));
    page.later(async () => {
      if (!page.here()) return;
      try {
        const fresh = await publicGet(page.url);
        if (!page.here()) return;
        page.setInfo(fresh);
        tooEarly = false;
      } catch (err) {
        if (!page.isCurrent()) return;
        if (err instanceof ApiError && err.status === 401) {
          page.closeLink(err);
          return;
        }
      }
      syncEnter();
      waitOpen();
    }, wait);
  }
  if (local.checked && local.media) showMedia(local.media);
  syncEnter();
  waitOpen();
  return stopNetCheck;
}
