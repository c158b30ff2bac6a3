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
//   the header pill went "Reconectando…" → "Ao vivo".
// Every page must be free of console errors, page errors and CSP violations.
// Screenshots go to tests/browser/screenshots/chat-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PASSWORD = process.env.DEMO_PASSWORD || 'atende-demo';
const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, 'screenshots');
const TIMEOUT = 15_000;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const OFFLINE_MS = 3_000;

const RECEPTIONIST = { email: 'recepcao@aurora.demo', name: 'Juliana Costa' };
const PATIENT = { email: 'joao@paciente.demo', name: 'João Pereira da Silva' };
const PROFESSIONAL = { email: 'dra.helena@atende.demo', name: 'Helena Duarte' };

// Same flags as smoke.mjs.
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

// Unique per run: the demo server keeps the conversation between runs.
const RUN = Date.now().toString(36);
const HTML_TEXT = `<b>negrito</b> & <script>x</script> ${RUN}`;
const REPLY_TEXT = `Olá, João! Recebi sua mensagem. ${RUN}`;
const DROP_1 = `Mensagem 1 durante a queda ${RUN}`;
const DROP_2 = `Mensagem 2 durante a queda ${RUN}`;
const QUEUED = `Enviada sem conexão ${RUN}`;

let passed = 0;
let failed = 0;

function firstLine(err) {
  return String((err && err.message) || err).split('\n')[0];
}

async function check(name, fn) {
  try {
    const note = await fn();
    passed += 1;
    console.log(`ok   ${name}${typeof note === 'string' && note ? ` (${note})` : ''}`);
    return true;
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${firstLine(err)}`);
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** A new context + page that records console errors, page errors and CSP violations. */
async function openPage(browser, viewport) {
  const context = await browser.newContext({ viewport, locale: 'pt-BR', timezoneId: 'America/Sao_Paulo' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${firstLine(e)}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('dialog', (d) => {
    errors.push(`dialog opened: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  return { context, page, errors };
}

async function login(page, email) {
  await page.goto(`${BASE_URL}/`);
  await page.locator('[data-view="login"]').waitFor();
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Senha').fill(PASSWORD);
  await page.getByRole('button', { name: 'Entrar' }).click();
}

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

async function noHorizontalOverflow(page) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert(scroll <= width, `page is ${scroll}px wide in a ${width}px viewport`);
}

async function shot(page, name, fullPage = false) {
  await page.screenshot({ path: join(SHOTS, `chat-${name}.png`), fullPage });
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

async function run(browser) {
  const reception = await openPage(browser, DESKTOP);
  const helena = await openPage(browser, DESKTOP);
  const joao = await openPage(browser, PHONE);
  const all = [['receptionist', reception], ['Helena', helena], ['João', joao]];

  try {
    // ------------------------------------------------------- presence ---
    const receptionHome = await check('receptionist: home shows "Online agora" with herself, pill "Ao vivo"', async () => {
      await login(reception.page, RECEPTIONIST.email);
      await reception.page.locator('[data-view="home-receptionist"]').waitFor();
      await waitPill(reception.page, 'connected');
      const pillText = (await reception.page.locator('#rt-status-text').textContent()).trim();
      assert(pillText === 'Ao vivo', `pill says "${pillText}"`);
      await reception.page.locator('.presence-list .presence-name', { hasText: RECEPTIONIST.name }).waitFor();
    });
    if (!receptionHome) throw new Error('receptionist login failed');

    await check('Dra. Helena logs in; the receptionist sees her appear live in "Online agora"', async () => {
      await login(helena.page, PROFESSIONAL.email);
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
      await shot(page, 'reception', true);
      noErrors(reception.errors, 'receptionist');
    });

    // ------------------------------------------------ open the room ---
    await check('João (phone) opens "Mensagens" from his home and enters the conversation', async () => {
      const { page } = joao;
      await login(page, PATIENT.email);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.getByRole('link', { name: 'Abrir mensagens' }).click();
      await page.locator('[data-view="chat"] .chat-room-link').first().waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'rooms-phone', true);
      await openRoom(page, PROFESSIONAL.name);
      const title = (await page.locator('[data-view="chat"] h1').textContent()).trim();
      assert(title === PROFESSIONAL.name, `conversation title is "${title}"`);
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

    await check('reopening the conversation replays the history once (since: 0)', async () => {
      const { page } = helena;
      await page.getByRole('link', { name: 'Clínicas', exact: true }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
      await page.getByRole('link', { name: 'Mensagens', exact: true }).click();
      await openRoom(page, PATIENT.name);
      await messageWithBody(page, QUEUED).waitFor();
      const texts = await bodyTexts(page);
      for (const text of [HTML_TEXT, REPLY_TEXT, DROP_1, DROP_2, QUEUED]) {
        const n = texts.filter((t) => t === text).length;
        assert(n === 1, `"${text}" shown ${n} times after reopening`);
      }
      const order = [HTML_TEXT, REPLY_TEXT, DROP_1, DROP_2].map((t) => texts.indexOf(t));
      assert(order.every((v, i) => i === 0 || v > order[i - 1]), `history out of order: ${order.join(', ')}`);
    });

    await check('no console errors, page errors or CSP violations', async () => {
      for (const [who, p] of all) noErrors(p.errors, who);
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

async function main() {
  await mkdir(SHOTS, { recursive: true });
  console.log(`atende browser chat test against ${BASE_URL}`);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  } catch (err) {
    console.log(`FAIL launch chromium (${CHROMIUM}): ${firstLine(err)}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  try {
    await run(browser);
  } catch (err) {
    failed += 1;
    console.log(`FAIL stopped early: ${firstLine(err)}`);
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log(`FAIL unexpected: ${firstLine(err)}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
