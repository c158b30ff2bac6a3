// Headless-browser test of the teleconsultation: the professional's call page, the
// patient's link page (camera check, waiting room, call) and a real WebRTC call between
// two pages of the same browser (fake camera and microphone, loopback ICE candidates).
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/teleconsult.mjs
//
// On the demo data (Clínica Aurora):
// - setup over HTTP: the clinic admin adds a professional of the test's own ("Lívia
//   Teste …": the demo's professionals are busy at hours the test cannot know), the
//   receptionist books João a teleconsultation with her ten minutes from now, her token
//   gives the patient's link; the appointment is cancelled at the end;
// - J (joao@paciente.demo, phone) sees "Entrar na teleconsulta" in "Minhas consultas": it
//   leads to the same link page;
// - H (that professional, desktop) opens the appointment in "Minha agenda" ("Teleconsulta"
//   badge) → "Abrir teleconsulta": the waiting room says João has not arrived, "Admitir
//   paciente" is disabled, the patient link copies, her camera preview plays;
// - P (phone 390×844, no login) opens the link: professional, clinic and time; "Entrar na
//   sala de espera" waits for the camera/microphone check, whose preview shows video and
//   whose microphone meter moves; the network check through the server then shows a
//   verdict ("Sua conexão está …") with latency, loss and rate; P enters the waiting room
//   and sees the professional is there;
// - H sees João waiting live, admits him: on both sides the connection is "Conectado",
//   the call is peer to peer (media "p2p"), the remote <video> has a picture and
//   getStats() shows inbound video bytes and decoded frames growing over 2 s; the call
//   duration runs;
// - in-call chat both ways: H writes, P (chat collapsed) sees an unread badge, opens the
//   chat, reads it and answers; H sees the answer; names and HH:MM times;
// - P reloads the page: back in the call by itself ("Voltando à chamada…" → a new offer),
//   inbound video grows again on both sides, the chat history is still there; then H
//   reloads hers: same;
// - the microphone and camera buttons disable/enable the tracks being sent (both sides);
// - screen sharing, where headless Chromium can capture: the sent video track changes and
//   comes back to the camera;
// - relay mode "fallback" (the default): H invites a family member ("Convidar
//   participante" → a link), and the running call moves to the server's relay on both
//   pages (media "relay"): inbound video grows again, now through the server;
// - H ends the consultation (with confirmation): P sees the end message and its camera and
//   microphone are stopped; the API says ended_by_professional; the link now says the
//   consultation is over;
// - no horizontal overflow on the phone; no console errors, page errors or CSP violations.
// Screenshots go to tests/browser/screenshots/teleconsult-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
  PHONE,
  apiCall,
  assert,
  check,
  loginUi,
  main,
  noHorizontalOverflow,
  openPage,
  screenshots,
  text,
} from './lib.mjs';
import {
  FLOW_MS, PATIENT, bookTeleconsult, networkVerdict, openChat, remoteVideosFlow, seesChat, sendChat,
  videoSize,
} from './teleconsult-lib.mjs';

const DESKTOP = { width: 1366, height: 900 };

const { shot } = screenshots('teleconsult');

/** Inbound video of the page's call (summed over its inbound-rtp reports), or null. */
function inboundVideo(page) {
  return page.evaluate(async () => {
    const call = window.__atendeCall;
    const pc = call && call.pc;
    if (!pc || pc.connectionState === 'closed') return null;
    const stats = await pc.getStats();
    let found = false;
    let bytes = 0;
    let frames = 0;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        found = true;
        bytes += r.bytesReceived || 0;
        frames += r.framesDecoded || 0;
      }
    });
    return found ? { bytes, frames, state: pc.connectionState } : null;
  });
}

/** Inbound video grows over FLOW_MS (after the call connected). */
async function videoFlows(page, who) {
  await page.locator('[data-connection="connected"]').waitFor({ timeout: 20_000 });
  let before = null;
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    before = await inboundVideo(page);
    if (before && before.frames > 0) break;
    await page.waitForTimeout(250);
  }
  assert(before && before.frames > 0, `${who}: no decoded inbound video (${JSON.stringify(before)})`);
  await page.waitForTimeout(FLOW_MS);
  const after = await inboundVideo(page);
  assert(after && after.bytes > before.bytes && after.frames > before.frames,
    `${who}: inbound video did not grow (${JSON.stringify(before)} → ${JSON.stringify(after)})`);
  return `${who}: +${after.frames - before.frames} frames, +${Math.round((after.bytes - before.bytes) / 1024)} KB`;
}

/** `enabled` of the track this page sends for `kind` (from the connection's senders). */
function sentEnabled(page, kind) {
  return page.evaluate((k) => {
    const pc = window.__atendeCall.pc;
    const sender = pc.getSenders().find((s) => s.track && s.track.kind === k);
    return sender ? sender.track.enabled : null;
  }, kind);
}

async function toggleTrack(page, control, kind, who) {
  const button = page.locator(`.tc-controls [data-control="${control}"]`).first();
  assert((await sentEnabled(page, kind)) === true, `${who}: ${kind} not sent enabled at first`);
  await button.click();
  await page.waitForFunction((k) => {
    const s = window.__atendeCall.pc.getSenders().find((x) => x.track && x.track.kind === k);
    return s && s.track.enabled === false;
  }, kind);
  assert((await button.getAttribute('data-on')) === 'false', `${who}: ${control} button still on`);
  const offLabel = await text(button);
  await button.click();
  await page.waitForFunction((k) => {
    const s = window.__atendeCall.pc.getSenders().find((x) => x.track && x.track.kind === k);
    return s && s.track.enabled === true;
  }, kind);
  return offLabel;
}

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  let booking = null;
  let helenaToken;
  let appt = null;
  let consult = null;
  const setup = await check('setup: a teleconsultation for João with a professional of its own ("H") in ~10 min', async () => {
    booking = await bookTeleconsult();
    ({ helenaToken, appt, consult } = booking);
    return `${appt.starts_at}–${appt.ends_at.slice(11, 16)}, ${consult.professional_name}`;
  });
  if (!setup) throw new Error('setup failed');

  const linkUrl = `${BASE_URL}${consult.patient_link}`;
  const joaoApp = await openPage(browser, PHONE);
  const helena = await openPage(browser, DESKTOP);
  const patient = await openPage(browser, PHONE);
  const pages = [['João logged in', joaoApp], ['professional', helena], ['patient link', patient]];
  const H = helena.page;
  const P = patient.page;
  // Before any page asks for the camera: granting permissions denies every other one, which
  // would stop a capture already running.
  await helena.context.grantPermissions(['clipboard-read', 'clipboard-write', 'camera', 'microphone'], { origin: BASE_URL });

  try {
    await check('J: "Minhas consultas" has "Entrar na teleconsulta", which opens the link page', async () => {
      const p = joaoApp.page;
      await loginUi(p, PATIENT);
      await p.locator('#header-user').waitFor();
      await p.goto(`${BASE_URL}/#/minhas-consultas`);
      const item = p.locator(`.ma-item[data-id="${appt.id}"]`);
      await item.waitFor();
      assert(/Teleconsulta/.test(await text(item)), 'no "Teleconsulta" on the item');
      await item.getByRole('button', { name: /Entrar na teleconsulta/ }).click();
      await p.locator('[data-view="consult"][data-stage="check"]').waitFor();
      const hash = await p.evaluate(() => location.hash);
      assert(`/${hash}` === consult.patient_link, `landed on ${hash}`);
      await joaoApp.context.close();
    });

    await check('H: "Minha agenda" → Teleconsulta badge → "Abrir teleconsulta" opens the call page', async () => {
      await loginUi(H, booking.professional.email, booking.professional.password);
      await H.locator('#header-user').waitFor();
      await H.goto(`${BASE_URL}/#/minha-agenda`);
      const item = H.locator(`.ag-my-item[data-id="${appt.id}"]`);
      await item.waitFor();
      assert(await item.locator('.ag-tele-badge').count(), 'no Teleconsulta badge');
      await item.click();
      const dialog = H.locator('dialog.ag-appt-dialog');
      await dialog.getByRole('link', { name: 'Abrir teleconsulta' }).click();
      await H.locator('[data-view="teleconsult"][data-live="true"][data-status="scheduled"]').waitFor();
      assert((await H.evaluate(() => location.hash)) === `#/teleconsulta/${appt.id}`, 'wrong page');
    });

    await check('H: waiting room empty, admit disabled, patient link copies, own preview plays', async () => {
      const view = H.locator('[data-view="teleconsult"]');
      await view.getByRole('heading', { name: /Consulta com João/ }).waitFor();
      const waiting = view.locator('.tc-waiting');
      assert(/João ainda não entrou na sala de espera/.test(await text(waiting)), `waiting room: ${await text(waiting)}`);
      assert(await waiting.getByRole('button', { name: 'Admitir paciente' }).isDisabled(), 'admit enabled with nobody waiting');
      const input = view.getByLabel('Link de entrada do paciente');
      assert((await input.inputValue()) === linkUrl, `link shown ${await input.inputValue()}`);
      await view.getByRole('button', { name: 'Copiar link do paciente' }).click();
      await view.locator('.copy-status', { hasText: 'Copiado.' }).waitFor();
      const copied = await H.evaluate(() => navigator.clipboard.readText());
      assert(copied === linkUrl, `clipboard has ${copied}`);
      const size = await videoSize(view.locator('.tc-self-video'));
      return `preview ${size.w}×${size.h}`;
    });

    await check('P: link page shows professional, clinic and time; entry waits for the check', async () => {
      await P.goto(linkUrl);
      const view = P.locator('[data-view="consult"][data-stage="check"]');
      await view.waitFor();
      const all = await text(view);
      assert(all.includes(`Teleconsulta com ${consult.professional_name}`), `no professional: ${all.slice(0, 200)}`);
      assert(all.includes(consult.clinic_name), 'no clinic name');
      const hhmm = new Intl.DateTimeFormat('pt-BR', { timeZone: 'America/Sao_Paulo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
        .format(new Date(appt.starts_at));
      assert(all.includes(hhmm), `no time ${hhmm}`);
      assert(!/A sala de espera abre/.test(all), 'says the room is not open');
      assert(await view.getByRole('button', { name: 'Entrar na sala de espera' }).isDisabled(), 'entry enabled before the check');
      await noHorizontalOverflow(P);
    });

    await check('P: camera check shows the camera (videoWidth > 0) and a moving microphone meter', async () => {
      const view = P.locator('[data-view="consult"]');
      await view.getByRole('button', { name: 'Testar câmera e microfone' }).click();
      const size = await videoSize(view.locator('video.tc-preview'));
      await view.locator('[data-check="camera"][data-ok="true"]').waitFor();
      await view.locator('[data-check="microphone"][data-ok="true"]').waitFor();
      await P.waitForFunction(() => Number(document.querySelector('.mic-meter')?.dataset.peak) > 0, null, { timeout: 10_000 });
      const peak = await view.locator('.mic-meter').getAttribute('data-peak');
      assert(await view.getByRole('button', { name: 'Entrar na sala de espera' }).isEnabled(), 'entry still disabled');
      return `preview ${size.w}×${size.h}, meter peak ${peak}`;
    });

    await check('P: the network check through the server shows a verdict, its numbers and the camera as sent', async () => {
      const { verdict, message, numbers } = await networkVerdict(P);
      const size = await videoSize(P.locator('video.tc-net-video'));
      await shot(P, 'patient-check');
      return `${verdict}: "${message}" (${numbers}); reflected ${size.w}×${size.h}`;
    });

    await check('P enters the waiting room: "Aguarde…", the professional is already there', async () => {
      const view = P.locator('[data-view="consult"]');
      await view.getByRole('button', { name: 'Entrar na sala de espera' }).click();
      await P.locator('[data-view="consult"][data-stage="waiting"]').waitFor();
      const room = view.locator('.tc-waiting-room');
      await room.locator('.tc-wait-title', { hasText: `Aguarde, ${consult.professional_name} vai chamar você em instantes.` }).waitFor();
      await room.locator('.tc-wait-detail', { hasText: 'O(a) profissional já está na sala.' }).waitFor();
      await videoSize(room.locator('video'));
      await noHorizontalOverflow(P);
      await shot(P, 'patient-waiting');
    });

    await check('H sees João waiting (live) and admits him', async () => {
      const view = H.locator('[data-view="teleconsult"][data-status="waiting"]');
      await view.waitFor();
      const waiting = view.locator('.tc-waiting');
      const t = await text(waiting);
      assert(/João está na sala de espera desde \d{2}:\d{2}/.test(t), `waiting room: ${t}`);
      await shot(H, 'professional-waiting');
      await waiting.getByRole('button', { name: 'Admitir paciente' }).click();
      await H.locator('[data-view="teleconsult"][data-status="in_call"]').waitFor();
      await P.locator('[data-view="consult"][data-stage="call"]').waitFor();
    });

    await check('call: both sides connected, remote video has a picture, inbound video grows', async () => {
      const notes = [await videoFlows(H, 'professional'), await videoFlows(P, 'patient')];
      const hs = await videoSize(H.locator('.tc-remote-video'));
      const ps = await videoSize(P.locator('.tc-remote-video'));
      assert((await text(H.locator('.tc-conn'))) === 'Conectado', `professional: ${await text(H.locator('.tc-conn'))}`);
      assert((await text(P.locator('.tc-conn'))) === 'Conectado', `patient: ${await text(P.locator('.tc-conn'))}`);
      for (const [who, page] of [['professional', H], ['patient', P]]) {
        const mode = await page.evaluate(() => [window.__atendeCall.media, window.__atendeCall.state.media]);
        assert(mode[0] === 'p2p' && (mode[1] === 'p2p' || mode[1] === undefined), `${who}: media ${mode.join('/')}`);
      }
      return `${notes.join('; ')}; pictures ${hs.w}×${hs.h} / ${ps.w}×${ps.h}`;
    });

    await check('call: the duration runs on both sides (from admitted_at)', async () => {
      const read = async (p) => text(p.locator('.tc-duration-value'));
      const h1 = await read(H);
      assert(/^\d{2}:\d{2}$/.test(h1), `professional duration "${h1}"`);
      await H.waitForTimeout(1500);
      const h2 = await read(H);
      const p2 = await read(P);
      assert(h2 !== h1, `the professional's duration stuck at ${h1}`);
      assert(/^\d{2}:\d{2}$/.test(p2) && p2 !== '00:00', `patient duration "${p2}"`);
      await noHorizontalOverflow(P);
      await shot(H, 'professional-call');
      await shot(P, 'patient-call');
      return `${h2} / ${p2}`;
    });

    await check('in-call chat both ways: H writes, P sees the unread badge, reads and answers', async () => {
      const hello = 'Bom dia, João! Está me ouvindo bem?';
      const answer = 'Bom dia, doutora! Sim, ouço bem.';
      const pChat = P.locator('.tc-chat');
      await pChat.waitFor();
      assert((await pChat.getAttribute('data-open')) === 'false', 'the patient\'s chat starts open');
      await sendChat(H, hello);
      await P.locator('.tc-chat-unread:not([hidden])', { hasText: '1' }).waitFor();
      await openChat(P);
      await seesChat(P, consult.professional_name, hello);
      assert(await P.locator('.tc-chat-unread').isHidden(), 'badge still shown after opening');
      await sendChat(P, answer);
      const at = await seesChat(H, /^João/, answer);
      await noHorizontalOverflow(P);
      return `answer at ${at}`;
    });

    await check('P reloads during the call: back in by itself, video flows again both ways, chat kept', async () => {
      await P.reload();
      await P.locator('[data-view="consult"][data-stage="call"]').waitFor({ timeout: 20_000 });
      const notes = [await videoFlows(P, 'patient'), await videoFlows(H, 'professional')];
      await videoSize(P.locator('.tc-remote-video'));
      await openChat(P);
      await seesChat(P, consult.professional_name, 'Bom dia, João! Está me ouvindo bem?');
      await seesChat(P, 'Você', 'Bom dia, doutora! Sim, ouço bem.');
      assert((await P.locator('.tc-chat-msg').count()) === 2, `${await P.locator('.tc-chat-msg').count()} messages after the reload`);
      return notes.join('; ');
    });

    await check('H reloads during the call ("Voltar à chamada"): re-offers, video flows again', async () => {
      await H.reload();
      await H.locator('[data-view="teleconsult"][data-status="in_call"]').waitFor({ timeout: 20_000 });
      const notes = [await videoFlows(H, 'professional'), await videoFlows(P, 'patient')];
      return notes.join('; ');
    });

    await check('microphone and camera buttons turn the sent tracks off and on (both sides)', async () => {
      const labels = [
        await toggleTrack(P, 'mic', 'audio', 'patient'),
        await toggleTrack(P, 'camera', 'video', 'patient'),
        await toggleTrack(H, 'mic', 'audio', 'professional'),
        await toggleTrack(H, 'camera', 'video', 'professional'),
      ];
      assert(labels[0] === 'Ligar microfone' && labels[1] === 'Ligar câmera', `labels when off: ${labels.join(', ')}`);
      return labels.join(', ');
    });

    await check('H shares the screen: the sent video changes, then back to the camera', async () => {
      const share = H.locator('.tc-controls [data-control="screen"]');
      if (await share.isHidden()) return 'skip';
      const cameraId = await H.evaluate(() => window.__atendeCall.pc.getSenders().find((s) => s.track && s.track.kind === 'video').track.id);
      await share.click();
      const started = await H.waitForFunction(() => document.querySelector('.tc-controls [data-control="screen"]').dataset.on === 'false', null, { timeout: 5000 })
        .then(() => true, () => false);
      if (!started) return 'skip'; // no screen to capture in this headless browser
      await H.waitForFunction((id) => {
        const s = window.__atendeCall.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s && s.track.id !== id;
      }, cameraId);
      await share.click();
      await H.waitForFunction((id) => {
        const s = window.__atendeCall.pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s && s.track.id === id;
      }, cameraId);
      return 'shared and back';
    });

    await check('fallback: inviting a family member moves the running call to the relay on both pages', async () => {
      if (consult.relay_mode !== 'fallback') return 'skip';
      const panel = H.locator('.tc-invite');
      await panel.getByLabel('Nome do participante').fill('Maria Pereira');
      await panel.getByLabel('Participação').selectOption({ label: 'Familiar' });
      await panel.getByRole('button', { name: 'Convidar' }).click();
      const item = panel.locator('.tc-invited-item', { hasText: 'Maria Pereira' });
      await item.waitFor();
      assert(/Familiar/.test(await text(item)), `invited item: ${await text(item)}`);
      for (const [who, page] of [['professional', H], ['patient', P]]) {
        await page.waitForFunction(() => window.__atendeCall && window.__atendeCall.media === 'relay'
          && window.__atendeCall.state.media === 'relay', null, { timeout: 10_000 })
          .catch(() => { throw new Error(`${who}: the call did not move to the relay`); });
      }
      const notes = [await remoteVideosFlow(H, 'professional', 1), await remoteVideosFlow(P, 'patient', 1)];
      await H.locator('.tc-media-mode', { hasText: 'Chamada pelo servidor do atende' }).waitFor();
      await videoSize(P.locator('.tc-tile video'));
      return notes.join('; ');
    });

    await check('H ends the consultation: P sees the end message, its camera and microphone stop', async () => {
      await P.evaluate(() => {
        window.__testTracks = window.__atendeCall.localStream.getTracks();
      });
      const view = H.locator('[data-view="teleconsult"]');
      await view.getByRole('button', { name: 'Encerrar consulta' }).click();
      await view.getByRole('group', { name: 'Encerrar a teleconsulta?' }).getByRole('button', { name: 'Sim, encerrar' }).click();
      await H.locator('[data-view="teleconsult"][data-status="ended"]').waitFor();
      await view.locator('.tc-ended', { hasText: 'Teleconsulta encerrada' }).waitFor();
      await P.locator('[data-view="consult"][data-stage="ended"]').waitFor();
      const message = await text(P.locator('.tc-ended-message'));
      assert(message === 'A teleconsulta foi encerrada pelo profissional.', `patient sees "${message}"`);
      const stopped = await P.evaluate(() => window.__testTracks.every((t) => t.readyState === 'ended'));
      assert(stopped, 'the patient\'s camera/microphone still running');
      const helenaStopped = await H.evaluate(() => !window.__atendeCall.localStream
        || window.__atendeCall.localStream.getTracks().every((t) => t.readyState === 'ended'));
      assert(helenaStopped, 'the professional\'s camera still running');
      await noHorizontalOverflow(P);
      await shot(P, 'patient-ended');
      await shot(H, 'professional-ended');
      const state = await apiCall('GET', `/api/consults/${appt.id}`, helenaToken);
      assert(state.status === 'ended' && state.ended_reason === 'ended_by_professional', `API: ${state.status}/${state.ended_reason}`);
      return message;
    });

    await check('P: the link now says the consultation is over', async () => {
      await P.reload();
      await P.locator('[data-view="consult"][data-stage="ended"]').waitFor();
      assert(/já foi encerrada/.test(await text(P.locator('.tc-ended-message'))), 'no "já foi encerrada"');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    // Leave the demo agenda as it was: the test's appointment is cancelled.
    if (booking) await booking.cancel();
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('teleconsult', run, { webrtc: true });
