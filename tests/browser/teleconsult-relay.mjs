// Headless-browser test of a teleconsultation through atende's media relay (SFU), with a
// third participant and the in-call chat. Run it against a server started with
// ATENDE_MEDIA__RELAY=always (every call through the server):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/teleconsult-relay.mjs
//
// On the demo data (Clínica Aurora):
// - setup over HTTP: the clinic admin adds a professional of the test's own ("Lívia
//   Teste …"), the receptionist books João a teleconsultation with her about ten minutes
//   from now; it is cancelled at the end;
// - P (phone 390×844, the patient's link) checks camera and microphone, then the network
//   check through the server reaches a verdict ("Sua conexão está boa." on loopback) with
//   latency, loss and rate, and the camera as the server sent it back has a picture;
// - P enters the waiting room; H (that professional, desktop) admits him: the state
//   says media "relay" (relay_mode "always") on both pages and over HTTP; each side's
//   inbound video (getStats() of its subscription) grows: the media goes through the server;
// - H invites "Ana Intérprete" (Intérprete): the link shows and copies; G (a third browser
//   context, desktop) opens it: "Você foi convidado(a) por Lívia … para a teleconsulta de
//   João", checks the camera, enters and is in the call at once; G receives two remote
//   videos that grow, and H and P each show two named remote tiles whose videos grow;
// - chat: P sends "Olá, doutora! Ação ótima"; H (chat open) sees it; G (chat collapsed)
//   sees the unread badge, opens the chat and sees it, with P's name and an HH:MM time;
// - P reloads: back in the call, the chat history is still there, and the media resumes
//   (P receives two growing videos; H and G receive P's new publication);
// - H removes G ("Remover Ana Intérprete", confirmed in the page): the invitation shows
//   "Convite cancelado" (no link, no button) and the API lists it revoked; G's page stops
//   the call and says "O profissional encerrou sua participação nesta consulta." (its socket
//   is closed, the reconnect is refused, and it does not try again); H and P are back to
//   one remote video each (the other's), still growing; G reloads: the same message, and
//   the link answers 401 `link_revoked`; H invites a second person, then reloads: the list
//   comes back from the server with Ana's invitation cancelled and the new one's link to
//   copy again, and the call with P resumes;
// - H ends the consultation: H and P see the end message (G's page stays as it was);
// - no horizontal overflow on the phone; no console errors, page errors or CSP violations
//   (but the 401 answers to the revoked guest's link).
// Screenshots: /tmp/relay-patient-check.png, /tmp/relay-professional.png,
// /tmp/relay-patient.png, /tmp/relay-guest.png (the three call views),
// /tmp/relay-professional-remove-confirm.png, /tmp/relay-professional-guest-removed.png,
// /tmp/relay-guest-revoked.png, /tmp/relay-ended-*.png.
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
  text,
} from './lib.mjs';
import {
  bookTeleconsult, networkVerdict, openChat, remoteVideosFlow, seesChat, sendChat, videoSize,
} from './teleconsult-lib.mjs';

const DESKTOP = { width: 1366, height: 900 };
const GUEST_NAME = 'Ana Intérprete';
const SECOND_GUEST = 'Carlos Souza';
const CHAT_TEXT = 'Olá, doutora! Ação ótima';

/** Screenshot of the whole page into /tmp/relay-<name>.png. */
function tmpShot(page, name) {
  return page.screenshot({ path: `/tmp/relay-${name}.png`, fullPage: true });
}

/** The names on the page's remote tiles. */
function tileNames(page) {
  return page.locator('.tc-tile .tc-tile-name').allTextContents();
}

/** Camera check on a link page, then into the room. */
async function checkAndEnter(page) {
  const view = page.locator('[data-view="consult"]');
  await view.getByRole('button', { name: 'Testar câmera e microfone' }).click();
  await videoSize(view.locator('video.tc-preview'));
  const enter = view.getByRole('button', { name: 'Entrar na sala de espera' });
  await page.waitForFunction(() => !document.querySelector('[data-action="enter"]').disabled);
  await enter.click();
}

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  let booking = null;
  let helenaToken;
  let appt = null;
  let consult = null;
  const setup = await check('setup: a teleconsultation for João with a professional of its own ("H") in ~10 min (relay "always")', async () => {
    booking = await bookTeleconsult();
    ({ helenaToken, appt, consult } = booking);
    assert(consult.relay_mode === 'always', `relay_mode ${consult.relay_mode}: start the server with ATENDE_MEDIA__RELAY=always`);
    return `${appt.starts_at}–${appt.ends_at.slice(11, 16)}, ${consult.professional_name}`;
  });
  if (!setup) throw new Error('setup failed');

  const linkUrl = `${BASE_URL}${consult.patient_link}`;
  const helena = await openPage(browser, DESKTOP);
  const patient = await openPage(browser, PHONE);
  const guest = await openPage(browser, DESKTOP);
  const pages = [['professional', helena], ['patient link', patient], ['guest link', guest]];
  const H = helena.page;
  const P = patient.page;
  const G = guest.page;
  // Before any page asks for the camera (granting permissions denies every other one).
  await helena.context.grantPermissions(['clipboard-read', 'clipboard-write', 'camera', 'microphone'], { origin: BASE_URL });
  let guestUrl = null;

  try {
    await check('H opens the call page: waiting room, "Convidar participante" offered', async () => {
      await loginUi(H, booking.professional.email, booking.professional.password);
      await H.locator('#header-user').waitFor();
      await H.goto(`${BASE_URL}/#/teleconsulta/${appt.id}`);
      await H.locator('[data-view="teleconsult"][data-live="true"][data-status="scheduled"]').waitFor();
      await H.locator('.tc-invite').getByRole('heading', { name: 'Convidar participante' }).waitFor();
      await H.locator('.tc-chat').getByRole('button', { name: /Chat da consulta/ }).waitFor();
    });

    await check('P: the network check through the server reaches a verdict; the camera comes back', async () => {
      await P.goto(linkUrl);
      await P.locator('[data-view="consult"][data-as="patient"][data-stage="check"]').waitFor();
      await P.locator('[data-view="consult"]').getByRole('button', { name: 'Testar câmera e microfone' }).click();
      await videoSize(P.locator('video.tc-preview'));
      const { verdict, message, numbers } = await networkVerdict(P);
      const size = await videoSize(P.locator('video.tc-net-video'));
      const caption = await text(P.locator('.tc-net-reflect figcaption'));
      assert(caption === 'Como você aparece para o médico (pela internet)', `caption "${caption}"`);
      await noHorizontalOverflow(P);
      await tmpShot(P, 'patient-check');
      const loopback = verdict === 'good' && /boa/.test(message) ? '' : ' (loopback should be "boa")';
      return `${verdict}: "${message}" (${numbers}); reflected ${size.w}×${size.h}${loopback}`;
    });

    await check('P enters the waiting room (the check closes); H admits him', async () => {
      await P.locator('[data-view="consult"]').getByRole('button', { name: 'Entrar na sala de espera' }).click();
      await P.locator('[data-view="consult"][data-stage="waiting"]').waitFor();
      assert(await P.evaluate(() => window.__atendeCall.checkPc === null), 'the check connection is still open');
      const view = H.locator('[data-view="teleconsult"][data-status="waiting"]');
      await view.waitFor();
      await view.locator('.tc-waiting').getByRole('button', { name: 'Admitir paciente' }).click();
      await H.locator('[data-view="teleconsult"][data-status="in_call"]').waitFor();
      await P.locator('[data-view="consult"][data-stage="call"]').waitFor();
    });

    await check('the call runs through the relay: state media "relay" on both pages and over HTTP', async () => {
      for (const [who, page] of [['professional', H], ['patient', P]]) {
        await page.waitForFunction(() => window.__atendeCall && window.__atendeCall.media === 'relay', null, { timeout: 10_000 })
          .catch(() => { throw new Error(`${who}: the page is not on the relay`); });
        const mode = await page.evaluate(() => [window.__atendeCall.state.media, window.__atendeCall.state.relay_mode]);
        assert(mode[0] === 'relay' && mode[1] === 'always', `${who}: state media/relay_mode ${mode.join('/')}`);
      }
      const state = await apiCall('GET', `/api/consults/${appt.id}`, helenaToken);
      assert(state.media === 'relay', `API media ${state.media}`);
      // Both pages publish once they are on the relay.
      let list = null;
      let roles = [];
      const until = Date.now() + 15_000;
      while (Date.now() < until) {
        list = await apiCall('GET', `/api/consults/${appt.id}/media`, helenaToken);
        roles = (list.publishers || []).map((p) => p.role).sort();
        if (roles.length >= 2) break;
        await H.waitForTimeout(250);
      }
      assert(roles.join(',') === 'patient,professional', `publishers ${JSON.stringify(list)}`);
      return `publishers: ${roles.join(', ')}`;
    });

    await check('both sides receive the other\'s video through the server (inbound bytes and frames grow)', async () => {
      const notes = [await remoteVideosFlow(H, 'professional', 1), await remoteVideosFlow(P, 'patient', 1)];
      await videoSize(H.locator('.tc-tile video'));
      await videoSize(P.locator('.tc-tile video'));
      assert((await text(H.locator('.tc-conn'))) === 'Conectado', `professional: ${await text(H.locator('.tc-conn'))}`);
      return notes.join('; ');
    });

    await check(`H invites "${GUEST_NAME}" (Intérprete): the link shows and copies`, async () => {
      const panel = H.locator('.tc-invite');
      await panel.getByLabel('Nome do participante').fill(GUEST_NAME);
      await panel.getByLabel('Participação').selectOption({ label: 'Intérprete' });
      await panel.getByRole('button', { name: 'Convidar' }).click();
      const item = panel.locator('.tc-invited-item', { hasText: GUEST_NAME });
      await item.waitFor();
      assert(/Intérprete/.test(await text(item)), `invited item: ${await text(item)}`);
      const input = item.getByLabel(`Link de ${GUEST_NAME}`);
      guestUrl = await input.inputValue();
      assert(guestUrl.startsWith(`${BASE_URL}/#/consulta/`) && guestUrl !== linkUrl, `guest link ${guestUrl}`);
      await item.getByRole('button', { name: 'Copiar link', exact: true }).click();
      await item.locator('.copy-status', { hasText: 'Copiado.' }).waitFor();
      const copied = await H.evaluate(() => navigator.clipboard.readText());
      assert(copied === guestUrl, `clipboard has ${copied}`);
      return guestUrl.replace(/[^/]{12}$/, '…');
    });

    await check('G opens the guest link: invited by the professional for João\'s teleconsultation; checks and joins the call', async () => {
      assert(guestUrl, 'no guest link');
      await G.goto(guestUrl);
      const view = G.locator('[data-view="consult"][data-as="guest"][data-stage="check"]');
      await view.waitFor();
      const invited = await text(view.locator('.tc-invited-by'));
      const expected = `Você foi convidado(a) por ${consult.professional_name} para a teleconsulta de ${consult.patient_first_name}.`;
      assert(invited === expected, `"${invited}"`);
      const all = await text(view);
      assert(!/Teleconsulta com /.test(all), 'the guest page speaks as to the patient');
      await checkAndEnter(G);
      await G.locator('[data-view="consult"][data-stage="call"]').waitFor({ timeout: 20_000 });
      await G.waitForFunction(() => window.__atendeCall && window.__atendeCall.media === 'relay');
    });

    await check('three in the call: G receives two videos, H and P each show two named tiles, all growing', async () => {
      const notes = [await remoteVideosFlow(G, 'guest', 2), await remoteVideosFlow(H, 'professional', 2), await remoteVideosFlow(P, 'patient', 2)];
      for (const [who, page] of [['professional', H], ['patient', P], ['guest', G]]) {
        await page.waitForFunction(() => document.querySelectorAll('.tc-tile').length === 2, null, { timeout: 10_000 })
          .catch(async () => { throw new Error(`${who}: ${await page.locator('.tc-tile').count()} tiles`); });
        for (let i = 0; i < 2; i += 1) await videoSize(page.locator('.tc-tile video').nth(i));
      }
      const hNames = await tileNames(H);
      const pNames = await tileNames(P);
      const gNames = await tileNames(G);
      assert(hNames.includes(GUEST_NAME) && hNames.some((n) => /^João/.test(n)), `the professional's tiles: ${hNames.join(', ')}`);
      assert(pNames.includes(GUEST_NAME) && pNames.includes(consult.professional_name), `patient's tiles: ${pNames.join(', ')}`);
      assert(gNames.includes(consult.professional_name) && gNames.some((n) => /^João/.test(n)), `guest's tiles: ${gNames.join(', ')}`);
      const state = await apiCall('GET', `/api/consults/${appt.id}`, helenaToken);
      assert((state.participants || []).some((p) => p.role === 'guest' && p.name === GUEST_NAME), `participants ${JSON.stringify(state.participants)}`);
      await noHorizontalOverflow(P);
      return notes.join('; ');
    });

    await check(`chat: P sends "${CHAT_TEXT}"; H and G (unread badge) see it`, async () => {
      const gChat = G.locator('.tc-chat');
      await gChat.waitFor();
      assert((await gChat.getAttribute('data-open')) === 'false', 'the guest\'s chat starts open');
      await sendChat(P, CHAT_TEXT);
      await seesChat(H, /^João/, CHAT_TEXT);
      await G.locator('.tc-chat-unread:not([hidden])', { hasText: '1' }).waitFor();
      await openChat(G);
      const at = await seesChat(G, /^João/, CHAT_TEXT);
      // Rendered as text: the page holds exactly the characters sent, no markup.
      const html = await H.locator('.tc-chat-msg', { hasText: CHAT_TEXT }).locator('.tc-chat-text').innerHTML();
      assert(html === CHAT_TEXT, `rendered as "${html}"`);
      await tmpShot(H, 'professional');
      await tmpShot(P, 'patient');
      await tmpShot(G, 'guest');
      return `at ${at}`;
    });

    await check('P reloads: back in the call, chat history kept, media resumes for everyone', async () => {
      await P.reload();
      await P.locator('[data-view="consult"][data-stage="call"]').waitFor({ timeout: 20_000 });
      await openChat(P);
      await seesChat(P, 'Você', CHAT_TEXT);
      assert((await P.locator('.tc-chat-msg').count()) === 1, `${await P.locator('.tc-chat-msg').count()} messages after the reload`);
      const notes = [await remoteVideosFlow(P, 'patient', 2), await remoteVideosFlow(H, 'professional', 2), await remoteVideosFlow(G, 'guest', 2)];
      return notes.join('; ');
    });

    const hInvite = H.locator('.tc-invite');
    const guestItem = hInvite.locator('.tc-invited-item', { hasText: GUEST_NAME });
    const guestWs = [];
    let guestClosedAt = 0;
    const revokedView = '[data-view="consult"][data-stage="closed"][data-reason="revoked"]';
    const REVOKED_TEXT = 'O profissional encerrou sua participação nesta consulta.';

    await check(`H removes "${GUEST_NAME}" (confirmed in the page): the invitation shows "Convite cancelado"`, async () => {
      // From now on the guest's link answers 401 (media requests, the reload).
      guest.allowed.push(/status of 401/);
      G.on('websocket', () => guestWs.push(Date.now()));
      await guestItem.getByRole('button', { name: `Remover ${GUEST_NAME}`, exact: true }).click();
      const confirm = guestItem.getByRole('group', { name: `Remover ${GUEST_NAME}?` });
      await confirm.waitFor();
      await tmpShot(H, 'professional-remove-confirm');
      await confirm.getByRole('button', { name: 'Sim, remover' }).click();
      await hInvite.locator('.tc-invited-item[data-revoked="true"]', { hasText: GUEST_NAME }).waitFor();
      const shown = await text(guestItem);
      assert(/Convite cancelado/.test(shown), `invited item: ${shown}`);
      assert(!(await guestItem.getByRole('button', { name: `Remover ${GUEST_NAME}` }).count()), 'the "Remover" button is still there');
      assert(!(await guestItem.getByLabel(`Link de ${GUEST_NAME}`).count()), 'the link to copy is still there');
      const list = await apiCall('GET', `/api/consults/${appt.id}/guests`, helenaToken);
      const entry = (list || []).find((g) => g.name === GUEST_NAME);
      assert(entry && typeof entry.revoked_at === 'string', `guests ${JSON.stringify(list)}`);
      return `revoked at ${entry.revoked_at}`;
    });

    await check('G is out for good: the call stops, "O profissional encerrou sua participação…", no reconnecting', async () => {
      await G.locator(revokedView).waitFor({ timeout: 20_000 });
      guestClosedAt = Date.now();
      const message = await text(G.locator(revokedView).locator('.lead'));
      assert(message === REVOKED_TEXT, `"${message}"`);
      const heading = await text(G.locator(revokedView).locator('h1'));
      const stopped = await G.evaluate(() => !window.__atendeCall || (!window.__atendeCall.localStream && !window.__atendeCall.media));
      assert(stopped, 'the camera or the call is still on');
      assert(!(await G.getByRole('button', { name: /Voltar à chamada|Tentar novamente/ }).count()), 'the page offers to go back in');
      // No endless reconnect: no new socket once the page said so.
      await G.waitForTimeout(4000);
      const later = guestWs.filter((t) => t > guestClosedAt).length;
      assert(!later, `${later} socket(s) opened after the final message`);
      assert(await G.locator(revokedView).count(), 'the final message went away');
      await tmpShot(G, 'guest-revoked');
      return `"${heading}"; ${guestWs.length} reconnect attempt(s) before giving up`;
    });

    await check('H and P are back to one remote video each (the other\'s), still growing', async () => {
      for (const [who, page] of [['professional', H], ['patient', P]]) {
        await page.waitForFunction(() => document.querySelectorAll('.tc-tile').length === 1, null, { timeout: 10_000 })
          .catch(async () => { throw new Error(`${who}: ${await page.locator('.tc-tile').count()} tiles`); });
      }
      const hNames = await tileNames(H);
      const pNames = await tileNames(P);
      assert(hNames.length === 1 && /^João/.test(hNames[0]), `the professional's tiles: ${hNames.join(', ')}`);
      assert(pNames.length === 1 && pNames[0] === consult.professional_name, `patient's tiles: ${pNames.join(', ')}`);
      const list = await apiCall('GET', `/api/consults/${appt.id}/media`, helenaToken);
      const roles = (list.publishers || []).map((p) => p.role).sort();
      assert(roles.join(',') === 'patient,professional', `publishers ${JSON.stringify(list)}`);
      const notes = [await remoteVideosFlow(H, 'professional', 1), await remoteVideosFlow(P, 'patient', 1)];
      await tmpShot(H, 'professional-guest-removed');
      return notes.join('; ');
    });

    await check('G reloads: still the final message; the link answers 401 link_revoked', async () => {
      await G.reload();
      await G.locator(revokedView).waitFor();
      const message = await text(G.locator(revokedView).locator('.lead'));
      assert(message === REVOKED_TEXT, `"${message}"`);
      const token = new URL(guestUrl).hash.replace(/^#\/consulta\//, '');
      let refused = null;
      try {
        await apiCall('GET', `/api/public/consults/${token}`);
      } catch (err) {
        refused = err;
      }
      assert(refused && refused.status === 401 && refused.code === 'link_revoked', `preview: ${refused ? refused.message : 'answered 200'}`);
      return refused.message.replace(/^.*→ /, '');
    });

    await check('H reloads: the invitations come from the server (Ana\'s cancelled, a newer one with its link to copy again); the call with P resumes', async () => {
      // A second invitation, not used yet: after the reload its link can still be copied.
      const panel = H.locator('.tc-invite');
      await panel.getByLabel('Nome do participante').fill(SECOND_GUEST);
      await panel.getByLabel('Participação').selectOption({ label: 'Familiar' });
      await panel.getByRole('button', { name: 'Convidar' }).click();
      const secondLink = await panel.locator('.tc-invited-item', { hasText: SECOND_GUEST })
        .getByLabel(`Link de ${SECOND_GUEST}`).inputValue();
      await H.reload();
      await H.locator('[data-view="teleconsult"][data-status="in_call"]').waitFor({ timeout: 20_000 });
      const item = H.locator('.tc-invite .tc-invited-item[data-revoked="true"]', { hasText: GUEST_NAME });
      await item.waitFor();
      const shown = await text(item);
      assert(/Intérprete/.test(shown) && /Convite cancelado/.test(shown), `invited item: ${shown}`);
      assert(!(await item.getByRole('button').count()), 'a cancelled invitation still has buttons');
      const second = H.locator('.tc-invite .tc-invited-item[data-revoked="false"]', { hasText: SECOND_GUEST });
      await second.waitFor();
      const again = await second.getByLabel(`Link de ${SECOND_GUEST}`).inputValue();
      assert(again === secondLink, `after the reload: ${again}, invited with ${secondLink}`);
      assert(await second.getByRole('button', { name: `Remover ${SECOND_GUEST}` }).count(), 'no "Remover" on the active invitation');
      const note = await remoteVideosFlow(H, 'professional', 1);
      assert((await tileNames(H)).length === 1, `the professional's tiles: ${(await tileNames(H)).join(', ')}`);
      return note;
    });

    await check('H ends the consultation: H and P see the end message; G\'s page stays as it was', async () => {
      const view = H.locator('[data-view="teleconsult"]');
      await view.getByRole('button', { name: 'Encerrar consulta' }).click();
      await view.getByRole('group', { name: 'Encerrar a teleconsulta?' }).getByRole('button', { name: 'Sim, encerrar' }).click();
      await H.locator('[data-view="teleconsult"][data-status="ended"]').waitFor();
      await view.locator('.tc-ended', { hasText: 'Teleconsulta encerrada' }).waitFor();
      const messages = [];
      for (const page of [P]) {
        await page.locator('[data-view="consult"][data-stage="ended"]').waitFor();
        messages.push(await text(page.locator('.tc-ended-message')));
      }
      assert(await G.locator(revokedView).count(), 'the guest\'s page changed');
      assert(messages.every((m) => m === 'A teleconsulta foi encerrada pelo profissional.'), `messages: ${messages.join(' | ')}`);
      const stopped = await Promise.all([H, P, G].map((p) => p.evaluate(() => !window.__atendeCall
        || !window.__atendeCall.localStream
        || window.__atendeCall.localStream.getTracks().every((t) => t.readyState === 'ended'))));
      assert(stopped.every(Boolean), `cameras still running: ${stopped.join(', ')}`);
      await tmpShot(H, 'ended-professional');
      await tmpShot(P, 'ended-patient');
      return messages[0];
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    if (booking) await booking.cancel();
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('teleconsult-relay', run, { webrtc: true });
