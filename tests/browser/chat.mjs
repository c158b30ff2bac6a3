// Headless-browser test of the real-time chat (WebSocket) in the atende web app.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/chat.mjs
//
// Three browser contexts on the demo data:
// - the receptionist (recepcao@aurora.demo, desktop) sees who is online on her
//   home ("Online agora", live), then opens a conversation between João and
//   Dra. Helena ("Nova conversa");
// - João (joao@paciente.demo, phone 390×844) and Dra. Helena
//   (dra.helena@atende.demo, desktop) open that conversation;
// - João sends a message containing HTML, which Helena sees live as literal
//   text (no <b>/<script> element created); Helena replies and João sees it;
//   the typing indicator shows;
// - João's network drops (context.setOffline) for ~3 s while Helena sends two
//   messages and João queues one: after reconnecting João has each of Helena's
//   messages exactly once, his queued message is delivered exactly once, and
//   the header pill went "Reconectando…" → "Ao vivo";
// - reopening the conversation loads the latest page over HTTP (cut to 3
//   messages here) and "Mensagens anteriores" brings the older ones, in order;
// - Helena sets her chat office hours on her home (a day that is not today);
// - unread: João writes while Helena is on her home page: the header's
//   "Mensagens" link and the home panel show the count live, the room list shows
//   it on the conversation, and opening it clears the badge; João then sees "Lida";
// - João edits a message (Helena sees the new text and "(editada)") and deletes
//   another (after a confirmation dialog; Helena sees "Mensagem apagada");
// - João attaches a 1×1 PNG made here: Helena sees the thumbnail and downloads the
//   file (same size); Helena sends a small PDF, João sees a download link; an
//   HTML file renamed .png is refused with the pt-BR message;
// - a second phone session of João sees the office-hours notice in the
//   conversation; its WebSocket is routed so that one send answers
//   `rate_limited`: the message stays "Não enviada" with the pt-BR message and
//   goes out once on "Tentar de novo"; Helena then removes her office hours.
// Every page must be free of console errors, page errors and CSP violations.
// Screenshots go to tests/browser/screenshots/chat-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import {
  BASE_URL,
  PHONE,
  SHOTS,
  TIMEOUT,
  assert,
  check,
  main,
  loginUi,
  noHorizontalOverflow,
  openPage,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 860 };
const OFFLINE_MS = 3_000;

const RECEPTIONIST = { email: 'recepcao@aurora.demo', name: 'Juliana Costa' };
const PATIENT = { email: 'joao@paciente.demo', name: 'João Pereira da Silva' };
const PROFESSIONAL = { email: 'dra.helena@atende.demo', name: 'Helena Duarte' };

// Unique per run: the demo server keeps the conversation between runs.
const RUN = Date.now().toString(36);
const HTML_TEXT = `<b>negrito</b> & <script>x</script> ${RUN}`;
const REPLY_TEXT = `Olá, João! Recebi sua mensagem. ${RUN}`;
const DROP_1 = `Mensagem 1 durante a queda ${RUN}`;
const DROP_2 = `Mensagem 2 durante a queda ${RUN}`;
const QUEUED = `Enviada sem conexão ${RUN}`;
const UNREAD_TEXT = `Mensagem para ler depois ${RUN}`;
const EDITED_TEXT = `Texto corrigido pelo João ${RUN}`;
const DELETE_TEXT = `Esta mensagem será apagada ${RUN}`;
const CAPTION = `Foto do exame ${RUN}`;
const PNG_NAME = `pixel-${RUN}.png`;
const PDF_NAME = `receita-${RUN}.pdf`;
const FAKE_PNG_NAME = `pagina-${RUN}.png`;
const RATE_TEXT = `Mensagem limitada ${RUN}`;
const HOURS_NOTE = `Respondo em até 1 dia útil. ${RUN}`;

// ------------------------------------------------------------- fixtures ---

function crc32(buf) {
  let crc = 0xffffffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k += 1) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A valid 1×1 RGBA PNG (one teal pixel). */
function onePixelPng() {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.from([0, 0x0b, 0x5d, 0x59, 0xff]); // filter byte + one pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG = onePixelPng();
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const FAKE_PNG = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>');

/** ISO weekday (1 = Monday) in São Paulo right now. */
function weekdayInSaoPaulo() {
  const name = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: 'America/Sao_Paulo' }).format(new Date());
  return ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(name) + 1;
}
const WEEKDAY_LABELS = ['Segunda-feira', 'Terça-feira', 'Quarta-feira', 'Quinta-feira', 'Sexta-feira', 'Sábado', 'Domingo'];

async function pillState(page) {
  return page.locator('#rt-status').getAttribute('data-state');
}

async function waitPill(page, state, timeout = TIMEOUT) {
  await page.waitForFunction(
    (s) => document.getElementById('rt-status')?.dataset.state === s,
    state,
    { timeout },
  );
}

/** Record every state the header pill goes through (in window.__pill). */
async function recordPill(page) {
  await page.evaluate(() => {
    const pill = document.getElementById('rt-status');
    window.__pill = [pill.dataset.state];
    new MutationObserver(() => window.__pill.push(pill.dataset.state))
      .observe(pill, { attributes: true, attributeFilter: ['data-state'] });
  });
}

function messages(page) {
  return page.locator('.chat-messages > li.msg');
}

/** The message items whose body is exactly `text`. */
function messageWithBody(page, text) {
  return messages(page).filter({ has: page.locator('.msg-body').getByText(text, { exact: true }) });
}

async function bodyTexts(page) {
  return page.locator('.chat-messages .msg-body').allTextContents();
}

/** The message item with this id. */
function messageById(page, id) {
  return page.locator(`.chat-messages > li.msg[data-id="${id}"]`);
}

/** Number shown on the header's "Mensagens" badge (0 when hidden). */
async function navBadge(page) {
  return page.evaluate(() => {
    const badge = document.getElementById('nav-unread-badge');
    return badge && !badge.hidden ? Number(badge.textContent) : 0;
  });
}

/** João types and sends `text`; resolves with the message id once it is "sent". */
async function sendAs(page, text) {
  const box = page.getByLabel(/^Mensagem para/);
  await box.fill(text);
  await box.press('Enter');
  const item = page.locator('.chat-messages li.msg-own[data-state="sent"]').filter({ hasText: text });
  await item.waitFor();
  return item.getAttribute('data-id');
}

/** Choose a file through the "Anexar" button (file chooser). */
async function attach(page, file) {
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.getByRole('button', { name: 'Anexar' }).click(),
  ]);
  await chooser.setFiles(file);
}

function noErrors(errors, who) {
  assert(!errors.length, `${who}: ${errors.join(' | ')}`);
}

/** Open the conversation whose room link contains `title` (from the Mensagens view). */
async function openRoom(page, title) {
  await page.locator('[data-view="chat"]').waitFor();
  const link = page.locator('.chat-room-link').filter({ hasText: title }).first();
  await link.waitFor();
  await link.click();
  await page.locator('[data-view="chat"].has-room .chat-conversation').waitFor();
  await page.waitForFunction(() => {
    const log = document.querySelector('.chat-messages');
    return log && !log.hasAttribute('aria-busy');
  });
}

// ----------------------------------------------------------------- main ---

const { shot } = screenshots('chat', { fullPage: false });

async function run(browser) {
  const reception = await openPage(browser, DESKTOP, { failOnDialog: true });
  const helena = await openPage(browser, DESKTOP, { failOnDialog: true });
  const joao = await openPage(browser, PHONE, { failOnDialog: true });
  const joao2 = await openPage(browser, PHONE, { failOnDialog: true });
  const all = [['receptionist', reception], ['Helena', helena], ['João', joao], ['João (second session)', joao2]];
  let rateLimitOn = true;
  let rateLimited = 0;

  try {
    // ------------------------------------------------------- presence ---
    const receptionHome = await check('receptionist: home shows "Online agora" with herself, pill "Ao vivo"', async () => {
      await loginUi(reception.page, RECEPTIONIST.email);
      await reception.page.locator('[data-view="home-receptionist"]').waitFor();
      await waitPill(reception.page, 'connected');
      const pillText = (await reception.page.locator('#rt-status-text').textContent()).trim();
      assert(pillText === 'Ao vivo', `pill says "${pillText}"`);
      await reception.page.locator('.presence-list .presence-name', { hasText: RECEPTIONIST.name }).waitFor();
    });
    if (!receptionHome) throw new Error('receptionist login failed');

    await check('Dra. Helena logs in; the receptionist sees her appear live in "Online agora"', async () => {
      await loginUi(helena.page, PROFESSIONAL.email);
      await helena.page.locator('[data-view="home-professional"]').waitFor();
      const heading = (await helena.page.locator('[data-view="home-professional"] h1').textContent()).trim();
      if (!heading.endsWith('Clínica Aurora')) {
        await helena.page.getByLabel('Clínica', { exact: true }).selectOption({ label: 'Clínica Aurora' });
        await helena.page.locator('[data-view="home-professional"] h1', { hasText: 'Clínica Aurora' }).waitFor();
      }
      await reception.page.locator('.presence-list .presence-name', { hasText: PROFESSIONAL.name }).waitFor();
      await helena.page.locator('.presence-list .presence-name', { hasText: RECEPTIONIST.name }).waitFor();
      await shot(reception.page, 'presence');
    });

    await check('Dra. Helena leaves her home; she disappears from the receptionist\'s list', async () => {
      await helena.page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await helena.page.locator('[data-view="chat"]').waitFor();
      await reception.page.locator('.presence-list .presence-name', { hasText: PROFESSIONAL.name })
        .waitFor({ state: 'detached' });
    });

    // ------------------------------------------------ new conversation ---
    await check('receptionist opens a conversation between João and Dra. Helena ("Nova conversa")', async () => {
      const { page } = reception;
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await page.locator('[data-view="chat"]').waitFor();
      await page.getByRole('heading', { name: 'Nova conversa' }).waitFor();
      await page.getByLabel('Buscar paciente').fill('João');
      const radio = page.getByRole('radio', { name: new RegExp(`^${PATIENT.name}`) });
      await radio.waitFor();
      await radio.check();
      const select = page.getByLabel('Profissional', { exact: true });
      await page.waitForFunction(() => document.querySelectorAll('select[name="professional"] option').length > 1);
      const options = await select.locator('option').evaluateAll((els) => els.map((o) => [o.value, o.textContent]));
      const helenaOption = options.find(([, text]) => text.startsWith(PROFESSIONAL.name));
      assert(helenaOption, `no "${PROFESSIONAL.name}" among ${options.map(([, t]) => t).join(', ')}`);
      await select.selectOption(helenaOption[0]);
      await page.getByRole('button', { name: 'Abrir conversa' }).click();
      const status = page.locator('.nc-form .form-status');
      await status.filter({ hasText: `Conversa aberta entre ${PATIENT.name} e ${PROFESSIONAL.name}` }).waitFor();
      await shot(page, 'reception', { fullPage: true });
      noErrors(reception.errors, 'receptionist');
    });

    // ------------------------------------------------ open the room ---
    await check('João (phone) opens "Mensagens" from his home and enters the conversation', async () => {
      const { page } = joao;
      await loginUi(page, PATIENT.email);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.getByRole('link', { name: 'Abrir mensagens' }).click();
      await page.locator('[data-view="chat"] .chat-room-link').first().waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'rooms-phone', { fullPage: true });
      await openRoom(page, PROFESSIONAL.name);
      const title = (await page.locator('[data-view="chat"] h1').textContent()).trim();
      // Titled as patients see her everywhere: "Dra." from her profession and gender.
      assert(title === `Dra. ${PROFESSIONAL.name}`, `conversation title is "${title}"`);
      await waitPill(page, 'connected');
    });

    await check('Dra. Helena (desktop) enters the same conversation and sees João online', async () => {
      const { page } = helena;
      // Back to the list so it includes the room just opened.
      await page.getByRole('link', { name: 'Clínicas', exact: true }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await openRoom(page, PATIENT.name);
      await page.locator('.chat-presence', { hasText: PATIENT.name }).waitFor();
      await joao.page.locator('.chat-presence', { hasText: PROFESSIONAL.name }).waitFor();
    });

    await check('typing indicator: João sees "Helena Duarte está digitando…"', async () => {
      const box = helena.page.getByLabel(/^Mensagem para/);
      await box.fill('Só um momento');
      await joao.page.locator('.chat-typing', { hasText: `${PROFESSIONAL.name} está digitando…` }).waitFor();
      await box.fill('');
    });

    // --------------------------------------------------- live messages ---
    await check('João sends a message with HTML (Enter); it turns "Enviada"', async () => {
      const { page } = joao;
      const box = page.getByLabel(/^Mensagem para/);
      await box.fill(HTML_TEXT);
      await box.press('Enter');
      const mine = messageWithBody(page, HTML_TEXT);
      await mine.waitFor();
      assert(await mine.evaluate((el) => el.classList.contains('msg-own')), 'own message is not marked msg-own');
      await page.locator('.chat-messages li.msg-own[data-state="sent"]').filter({ hasText: HTML_TEXT }).waitFor();
      assert((await box.inputValue()) === '', 'textarea not cleared after sending');
    });

    await check('Dra. Helena sees it live, as literal text (no <b> or <script> element)', async () => {
      const { page } = helena;
      const item = messageWithBody(page, HTML_TEXT);
      await item.waitFor();
      assert(await item.evaluate((el) => el.classList.contains('msg-other')), 'not shown as a message from someone else');
      const body = await item.locator('.msg-body').evaluate((el) => ({
        text: el.textContent,
        elements: el.querySelectorAll('*').length,
      }));
      assert(body.text === HTML_TEXT, `body text is "${body.text}"`);
      assert(body.elements === 0, `body has ${body.elements} child element(s)`);
      const tags = await page.locator('.chat-messages b, .chat-messages script').count();
      assert(tags === 0, `${tags} <b>/<script> element(s) inside the conversation`);
      const sender = (await item.locator('.msg-sender').textContent()).trim();
      assert(sender === PATIENT.name, `sender shown as "${sender}"`);
      await shot(page, 'helena');
    });

    await check('Dra. Helena replies ("Enviar" button); João sees it live', async () => {
      await helena.page.getByLabel(/^Mensagem para/).fill(REPLY_TEXT);
      await helena.page.getByRole('button', { name: 'Enviar' }).click();
      const item = messageWithBody(joao.page, REPLY_TEXT);
      await item.waitFor();
      assert(await item.evaluate((el) => el.classList.contains('msg-other')), 'reply not shown as someone else\'s');
      assert(await joao.page.locator('.chat-messages b, .chat-messages script').count() === 0,
        'HTML elements inside João\'s conversation');
      await noHorizontalOverflow(joao.page);
      await shot(joao.page, 'joao-phone');
    });

    // ---------------------------------------------------- network drop ---
    await check(`network drop (${OFFLINE_MS / 1000} s): João's pill shows "Reconectando…"; his message waits`, async () => {
      const { page, context } = joao;
      await recordPill(page);
      await context.setOffline(true);
      const started = Date.now();
      await waitPill(page, 'reconnecting', 5_000);
      const pillText = (await page.locator('#rt-status-text').textContent()).trim();
      assert(pillText === 'Reconectando…', `pill says "${pillText}"`);

      const box = page.getByLabel(/^Mensagem para/);
      await box.fill(QUEUED);
      await box.press('Enter');
      const queued = page.locator('.chat-messages li.msg-own[data-state="pending"]').filter({ hasText: QUEUED });
      await queued.waitFor();
      const status = (await queued.locator('.msg-status').textContent()).trim();
      assert(status === 'Aguardando conexão…', `queued message status is "${status}"`);

      for (const text of [DROP_1, DROP_2]) {
        await helena.page.getByLabel(/^Mensagem para/).fill(text);
        await helena.page.getByLabel(/^Mensagem para/).press('Enter');
        await helena.page.locator('.chat-messages li.msg-own[data-state="sent"]').filter({ hasText: text }).waitFor();
      }
      await shot(page, 'joao-offline');
      const left = OFFLINE_MS - (Date.now() - started);
      if (left > 0) await page.waitForTimeout(left);
      assert(await messageWithBody(page, DROP_1).count() === 0, 'a message arrived while offline');
      await context.setOffline(false);
    });

    await check('after reconnecting João has both of Helena\'s messages exactly once, in order', async () => {
      const { page } = joao;
      await messageWithBody(page, DROP_1).waitFor();
      await messageWithBody(page, DROP_2).waitFor();
      await waitPill(page, 'connected');
      await page.waitForTimeout(1_500); // any duplicate would have arrived by now
      const texts = await bodyTexts(page);
      for (const text of [DROP_1, DROP_2, HTML_TEXT, REPLY_TEXT]) {
        const n = texts.filter((t) => t === text).length;
        assert(n === 1, `"${text}" shown ${n} times`);
      }
      assert(texts.indexOf(DROP_1) < texts.indexOf(DROP_2), 'the two messages are out of order');
      const pillText = (await page.locator('#rt-status-text').textContent()).trim();
      assert(pillText === 'Ao vivo', `pill says "${pillText}"`);
    });

    await check('the pill went "Reconectando…" and then back to "Ao vivo"', async () => {
      const history = await joao.page.evaluate(() => window.__pill);
      const r = history.indexOf('reconnecting');
      assert(r >= 0, `never reconnecting: ${history.join(' → ')}`);
      assert(history.slice(r + 1).includes('connected'), `not live again: ${history.join(' → ')}`);
      return history.join(' → ');
    });

    await check('João\'s queued message is delivered exactly once (both sides)', async () => {
      await joao.page.locator('.chat-messages li.msg-own[data-state="sent"]').filter({ hasText: QUEUED }).waitFor();
      await messageWithBody(helena.page, QUEUED).waitFor();
      await helena.page.waitForTimeout(1_000);
      const mine = (await bodyTexts(joao.page)).filter((t) => t === QUEUED).length;
      const theirs = (await bodyTexts(helena.page)).filter((t) => t === QUEUED).length;
      assert(mine === 1 && theirs === 1, `João shows it ${mine}×, Helena ${theirs}×`);
      await noHorizontalOverflow(joao.page);
      await shot(joao.page, 'joao-reconnected');
      await shot(helena.page, 'helena-after');
    });

    await check('reopening loads the latest page over HTTP; "Mensagens anteriores" brings the older ones', async () => {
      const { page } = helena;
      await page.getByRole('link', { name: 'Clínicas', exact: true }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
      // The first page is cut to 3 messages, so that there is an older page to load.
      await page.route(/\/api\/chat\/rooms\/[^/]+\/messages\?limit=50$/,
        (route) => route.continue({ url: route.request().url().replace('limit=50', 'limit=3') }),
        { times: 1 });
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await openRoom(page, PATIENT.name);
      await messageWithBody(page, QUEUED).waitFor();
      const first = await bodyTexts(page);
      assert(first.length === 3, `first page shows ${first.length} messages`);
      const older = page.getByRole('button', { name: 'Mensagens anteriores' });
      await older.click();
      await messageWithBody(page, HTML_TEXT).waitFor();
      const texts = await bodyTexts(page);
      for (const text of [HTML_TEXT, REPLY_TEXT, DROP_1, DROP_2, QUEUED]) {
        const n = texts.filter((t) => t === text).length;
        assert(n === 1, `"${text}" shown ${n} times after reopening`);
      }
      const order = [HTML_TEXT, REPLY_TEXT, DROP_1, DROP_2, QUEUED].map((t) => texts.indexOf(t));
      assert(order.every((v, i) => i === 0 || v > order[i - 1]), `history out of order: ${order.join(', ')}`);
      await page.locator('.chat-older-status', { hasText: 'mensagens anteriores carregadas' }).waitFor();
      return `${first.length} + ${texts.length - first.length} messages`;
    });

    // ---------------------------------------------------- office hours ---
    const otherDay = (weekdayInSaoPaulo() % 7) + 1; // tomorrow: today is always outside
    await check('Dra. Helena sets her chat office hours on her home ("Horário de atendimento no chat")', async () => {
      const { page } = helena;
      await page.getByRole('link', { name: 'Clínicas', exact: true }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
      const panel = page.locator('section.office-hours');
      await panel.getByRole('heading', { name: 'Horário de atendimento no chat' }).waitFor();
      await panel.locator('form.oh-form').waitFor();
      for (const label of WEEKDAY_LABELS) await panel.getByLabel(label, { exact: true }).uncheck();
      const label = WEEKDAY_LABELS[otherDay - 1];
      await panel.getByLabel(label, { exact: true }).check();
      await panel.getByLabel(`Início — ${label}`).fill('09:00');
      await panel.getByLabel(`Fim — ${label}`).fill('12:00');
      await panel.getByLabel(/^Aviso aos pacientes/).fill(HOURS_NOTE);
      await panel.getByRole('button', { name: 'Salvar horário' }).click();
      await panel.locator('.form-status', { hasText: 'Horário salvo.' }).waitFor();
      const saved = await page.evaluate(async () => {
        const res = await fetch('/api/me/office-hours', {
          headers: { Authorization: `Bearer ${sessionStorage.getItem('atende.access')}` },
        });
        return res.json();
      });
      assert(saved && saved.weekly.length === 1 && saved.weekly[0].weekday === otherDay
        && saved.weekly[0].start === '09:00' && saved.note === HOURS_NOTE,
      `stored ${JSON.stringify(saved)}`);
      await panel.screenshot({ path: join(SHOTS, 'chat-office-hours.png') });
      return `${label} 09:00–12:00`;
    });

    // ---------------------------------------------------------- unread ---
    let unreadId = null;
    await check('unread: João writes while Helena is on her home; her "Mensagens" link shows the count live', async () => {
      const { page } = helena;
      const before = await navBadge(page);
      unreadId = await sendAs(joao.page, UNREAD_TEXT);
      await page.waitForFunction((n) => {
        const badge = document.getElementById('nav-unread-badge');
        return badge && !badge.hidden && Number(badge.textContent) === n;
      }, before + 1);
      const described = (await page.locator('#nav-unread-text').textContent()).trim();
      const expected = before + 1 === 1 ? '1 mensagem não lida' : `${before + 1} mensagens não lidas`;
      assert(described === expected, `badge description is "${described}"`);
      await page.locator('.messages-unread', { hasText: `Você tem ${expected}.` }).waitFor();
      // The link keeps its name (the count is its description).
      await page.getByRole('link', { name: 'Mensagens', exact: true }).waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, 'helena-unread');
      return `badge ${before} → ${before + 1}`;
    });

    await check('unread: the room list shows the count; opening the conversation clears the badge', async () => {
      const { page } = helena;
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      const link = page.locator('.chat-room-link').filter({ hasText: PATIENT.name }).first();
      const badge = link.locator('.chat-unread');
      await badge.waitFor();
      const n = Number((await badge.textContent()).trim());
      assert(n >= 1, `room badge says "${n}"`);
      const linkText = await link.textContent();
      assert(/mensage(m|ns) não lidas?/.test(linkText), 'no unread text for screen readers in the room link');
      await shot(page, 'helena-rooms-unread');
      await openRoom(page, PATIENT.name);
      await messageWithBody(page, UNREAD_TEXT).waitFor();
      await page.waitForFunction(() => document.getElementById('nav-unread-badge')?.hidden === true);
      await link.locator('.chat-unread[hidden]').waitFor({ state: 'attached' });
    });

    await check('read receipt: João sees "Lida" under his message once Helena opened it', async () => {
      const item = messageById(joao.page, unreadId);
      await item.locator('.msg-status', { hasText: /^Lida$/ }).waitFor();
      await shot(joao.page, 'joao-read');
    });

    // ---------------------------------------------------- edit, delete ---
    await check('edit: João edits his message; Helena sees the new text with "(editada)"', async () => {
      const item = messageById(joao.page, unreadId);
      await item.getByRole('button', { name: 'Editar' }).click();
      const box = item.locator('textarea');
      await box.waitFor();
      assert(await box.evaluate((el) => el === document.activeElement), 'the edit box is not focused');
      await box.fill(EDITED_TEXT);
      await shot(joao.page, 'joao-editing');
      await item.getByRole('button', { name: 'Salvar' }).click();
      await item.locator('.msg-body', { hasText: EDITED_TEXT }).waitFor();
      await item.locator('.msg-edited:not([hidden])').waitFor();
      const theirs = messageById(helena.page, unreadId);
      await theirs.locator('.msg-body', { hasText: EDITED_TEXT }).waitFor();
      const marker = (await theirs.locator('.msg-edited').textContent()).replace(/[\s·]+/g, ' ').trim();
      assert(marker === '(editada)', `edited marker is "${marker}"`);
      assert(await theirs.locator('.msg-edited').isVisible(), '"(editada)" not visible for Helena');
      assert(await helena.page.getByText(UNREAD_TEXT, { exact: true }).count() === 0, 'old text still shown to Helena');
    });

    let deletedId = null;
    await check('delete: João deletes a message (confirmation dialog); Helena sees "Mensagem apagada"', async () => {
      deletedId = await sendAs(joao.page, DELETE_TEXT);
      await messageById(helena.page, deletedId).locator('.msg-body', { hasText: DELETE_TEXT }).waitFor();
      const item = messageById(joao.page, deletedId);
      await item.getByRole('button', { name: 'Apagar' }).click();
      const dialog = joao.page.getByRole('dialog', { name: 'Apagar esta mensagem?' });
      await dialog.waitFor();
      await shot(joao.page, 'joao-delete-dialog');
      await dialog.getByRole('button', { name: 'Apagar mensagem' }).click();
      await item.locator('.msg-body.msg-deleted', { hasText: 'Mensagem apagada' }).waitFor();
      assert(await item.getByRole('button', { name: 'Editar' }).count() === 0, 'still editable after deletion');
      const theirs = messageById(helena.page, deletedId).locator('.msg-body');
      await theirs.filter({ hasText: 'Mensagem apagada' }).waitFor();
      assert(await theirs.evaluate((el) => getComputedStyle(el).fontStyle === 'italic'), '"Mensagem apagada" is not italic');
      assert(await helena.page.getByText(DELETE_TEXT).count() === 0, 'the deleted text is still on Helena\'s page');
      assert(await messageById(helena.page, unreadId).getByRole('button', { name: 'Editar' }).count() === 0,
        'Helena is offered "Editar" on João\'s message');
      await shot(helena.page, 'helena-edited-deleted');
    });

    // ----------------------------------------------------- attachments ---
    await check(`attachment: João attaches a 1×1 PNG (${PNG.length} bytes) and sends it with a caption`, async () => {
      const { page } = joao;
      await attach(page, { name: PNG_NAME, mimeType: 'image/png', buffer: PNG });
      await page.locator('.chat-attachment', { hasText: PNG_NAME }).waitFor();
      await shot(page, 'joao-attachment-ready');
      const id = await sendAs(page, CAPTION);
      await messageById(page, id).locator('img.msg-thumb').waitFor();
      assert(await page.locator('.chat-attachment').isHidden(), 'the attachment chip stayed after sending');
    });

    await check('attachment: Helena sees the thumbnail (data: URL) and downloads the file (same size)', async () => {
      const { page } = helena;
      const item = messages(page).filter({ hasText: CAPTION });
      const img = item.locator('img.msg-thumb');
      await img.waitFor();
      await page.waitForFunction((el) => el.complete && el.naturalWidth === 1, await img.elementHandle());
      const src = await img.getAttribute('src');
      assert(src.startsWith('data:image/png;base64,'), `thumbnail src starts "${src.slice(0, 30)}"`);
      const alt = await img.getAttribute('alt');
      assert(alt.includes(PNG_NAME), `alt is "${alt}"`);
      const file = item.getByRole('button', { name: new RegExp(`Baixar ${PNG_NAME.replace(/[.]/g, '\\.')}`) });
      const fileText = await file.textContent();
      assert(fileText.includes(`${PNG.length} bytes`), `file button says "${fileText}"`);
      const [download] = await Promise.all([page.waitForEvent('download'), file.click()]);
      const bytes = await readFile(await download.path());
      assert(download.suggestedFilename() === PNG_NAME, `suggested name "${download.suggestedFilename()}"`);
      assert(bytes.length === PNG.length && bytes.equals(PNG), `downloaded ${bytes.length} bytes, expected ${PNG.length}`);
      // She reads as messages arrive: her own badge must settle at nothing unread.
      await page.waitForFunction(() => document.getElementById('nav-unread-badge')?.hidden === true, null, { timeout: 5_000 });
      await shot(page, 'helena-attachment');
      return `${bytes.length} bytes`;
    });

    await check('attachment: Helena sends a PDF; João sees a download link with name and size', async () => {
      await attach(helena.page, { name: PDF_NAME, mimeType: 'application/pdf', buffer: PDF });
      await helena.page.locator('.chat-attachment', { hasText: PDF_NAME }).waitFor();
      await helena.page.getByRole('button', { name: 'Enviar' }).click();
      const item = messages(joao.page).filter({ hasText: PDF_NAME });
      const file = item.getByRole('button', { name: new RegExp(`Baixar ${PDF_NAME.replace(/[.]/g, '\\.')}`) });
      await file.waitFor();
      assert((await file.textContent()).includes(`${PDF.length} bytes`), 'size missing on the PDF link');
      assert(await item.locator('img').count() === 0, 'a PDF shown as an image');
      const [download] = await Promise.all([joao.page.waitForEvent('download'), file.click()]);
      const bytes = await readFile(await download.path());
      assert(bytes.equals(PDF), `downloaded ${bytes.length} bytes, expected ${PDF.length}`);
      await noHorizontalOverflow(joao.page);
      await shot(joao.page, 'joao-attachments');
    });

    await check('attachment: an HTML file renamed .png is refused with the pt-BR message', async () => {
      const { page } = joao;
      await attach(page, { name: FAKE_PNG_NAME, mimeType: 'image/png', buffer: FAKE_PNG });
      const alert = page.locator('.chat-composer [role="alert"]');
      const expected = `Não foi possível anexar “${FAKE_PNG_NAME}”: o arquivo não é uma imagem (PNG, JPEG ou WebP) nem um PDF.`;
      await alert.filter({ hasText: expected }).waitFor();
      assert(await page.locator('.chat-attachment').isHidden(), 'a refused file is shown as ready to send');
      await noHorizontalOverflow(page);
      await shot(page, 'joao-attachment-refused');
      // The browser logs the expected 422 of the upload: keep it out of the error check.
      joao.errors.splice(0, joao.errors.length,
        ...joao.errors.filter((e) => !(/status of 422/.test(e) && /\/attachments\?filename=/.test(e))));
    });

    await check('no console errors, page errors or CSP violations', async () => {
      for (const [who, p] of all) noErrors(p.errors, who);
    });

    // ------------------------------------- office-hours notice, rate limit ---
    await check('a second session of João sees the office-hours notice with Helena\'s note', async () => {
      const { page, context } = joao2;
      // A WebSocket route that forwards everything, except one send answered `rate_limited`.
      await context.routeWebSocket(/\/ws\?/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((message) => {
          if (typeof message === 'string' && rateLimitOn) {
            const frame = JSON.parse(message);
            if (frame.event === 'message.send' && String(frame.payload && frame.payload.body).includes(RATE_TEXT)) {
              rateLimited += 1;
              ws.send(JSON.stringify({
                ref: frame.ref,
                topic: frame.topic,
                event: 'reply',
                payload: { status: 'error', code: 'rate_limited', message: 'muitas mensagens nesta conversa; aguarde um minuto' },
              }));
              return;
            }
          }
          server.send(message);
        });
      });
      await loginUi(page, PATIENT.email);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await openRoom(page, PROFESSIONAL.name);
      const note = page.locator('.chat-hours');
      await note.waitFor();
      const text = (await note.textContent()).trim();
      assert(text.startsWith('Fora do horário de atendimento — as respostas podem demorar.'), `notice says "${text}"`);
      assert(text.includes(HOURS_NOTE), 'Helena\'s note is missing');
      await waitPill(page, 'connected');
      await noHorizontalOverflow(page);
      await shot(page, 'joao-office-hours');
    });

    await check('rate limit: the refused message stays "Não enviada" with the pt-BR message; "Tentar de novo" sends it once', async () => {
      const { page } = joao2;
      const box = page.getByLabel(/^Mensagem para/);
      await box.fill(RATE_TEXT);
      await box.press('Enter');
      const item = page.locator('.chat-messages li.msg-own[data-state="failed"]').filter({ hasText: RATE_TEXT });
      await item.waitFor();
      const status = (await item.locator('.msg-status').textContent()).trim();
      assert(status.includes('Não enviada') && status.includes('Muitas mensagens em pouco tempo; aguarde um minuto.'),
        `status says "${status}"`);
      await page.locator('.chat-composer [role="alert"]', { hasText: 'Muitas mensagens em pouco tempo; aguarde um minuto.' }).waitFor();
      await shot(page, 'joao-rate-limited');
      rateLimitOn = false;
      await item.getByRole('button', { name: 'Tentar de novo' }).click();
      await page.locator('.chat-messages li.msg-own[data-state="sent"]').filter({ hasText: RATE_TEXT }).waitFor();
      await messageWithBody(helena.page, RATE_TEXT).waitFor();
      await helena.page.waitForTimeout(800);
      const n = (await bodyTexts(helena.page)).filter((t) => t === RATE_TEXT).length;
      assert(n === 1 && rateLimited === 1, `Helena shows it ${n}×; ${rateLimited} send(s) refused`);
    });

    await check('Dra. Helena removes her office hours ("Remover horário")', async () => {
      const { page } = helena;
      await page.getByRole('link', { name: 'Clínicas', exact: true }).click();
      const panel = page.locator('section.office-hours');
      await panel.getByRole('button', { name: 'Remover horário' }).click();
      await panel.locator('.form-status', { hasText: 'Horário removido' }).waitFor();
      assert(await panel.getByRole('button', { name: 'Remover horário' }).isHidden(), '"Remover horário" still shown');
      noErrors(helena.errors, 'Helena');
      noErrors(joao2.errors, 'João (second session)');
    });

    await check('"Sair" disconnects the real-time client', async () => {
      const { page } = joao;
      await page.getByRole('button', { name: 'Sair' }).click();
      await page.locator('[data-view="login"]').waitFor();
      await waitPill(page, 'disconnected');
      assert(await page.locator('#header-user').isHidden(), 'header user area (with the pill) still visible');
      noErrors(joao.errors, 'João');
    });
  } finally {
    for (const [, p] of all) await p.context.close().catch(() => {});
  }
}

main('chat', run);
