// Headless-browser test of the public waiting room: the TV call panel, the patient's phone
// page and self check-in, with the staff board's estimated waits and "Painel e check-in".
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/waiting-room.mjs
//
// On the demo data (Clínica Aurora):
// - setup over HTTP: today's demo appointments are cancelled (their times would order the
//   patients differently depending on the hour), the call order is set to strict, today's leftover entries (earlier
//   runs) are closed, the admin creates a TV panel secret and reads the check-in code;
// - A (TV, 1280×720, no login) opens #/painel/<token>: full screen, no app header, live,
//   "Ativar som" goes away after a click;
// - B (recepcao@aurora.demo) checks in a walk-in with a legal priority (Pessoa com
//   deficiência), then João (registered; 60+, so a priority ticket, behind the walk-in) and
//   gets the "Link para acompanhar no celular"; the board shows the estimated waits;
// - D (phone 390×844, no login) opens that link: his ticket, "João S.", "Aguardando — 1
//   pessoa na sua frente, espera estimada ~N min"; B checks in a walk-in without priority:
//   the board lists the three in call order, D still has one person ahead;
// - C (dra.helena@atende.demo) calls next to "Consultório 2": the first walk-in; the panel
//   shows her (a chime is counted) and D shows no one ahead, live; Helena starts and
//   finishes, calls next: João. The panel shows his ticket, "João S." and the room, with
//   the walk-in among the last calls, and never his surname or CPF; D switches to "É a sua
//   vez!" without a reload; a recall counts another chime on the panel;
// - E (phone, no login) does the self check-in of Maria with CPF and birth date (a wrong
//   birth date first: a clear error), and lands on her phone page with a ticket;
// - F (joao@paciente.demo logged in, phone) uses the one-tap check-in: he is already in
//   line, so he lands on his own page ("É a sua vez!") with the same ticket;
// - D goes offline while Helena starts João's service: back online it reconnects, fetches
//   its status again ("Atendimento em andamento"), then follows the end live;
// - G (admin@aurora.demo) sees the check-in QR code (a loaded image) and link, saves the
//   call rules (the receptionist sees the QR code without the admin buttons); then makes a new TV panel link: the old link stops working on reload and
//   the new one opens the panel;
// - no horizontal overflow on the phones; no console errors, page errors or CSP
//   violations anywhere (except the HTTP errors the test provokes on purpose).
// Screenshots go to tests/browser/screenshots/waiting-room-*.png.
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
  main,
  loginApi,
  loginUi,
  noHorizontalOverflow,
  openPage,
  screenshots,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 860 };
const TV = { width: 1280, height: 720 };

const ADMIN = 'admin@aurora.demo';
const RECEPTIONIST = 'recepcao@aurora.demo';
const PROFESSIONAL = 'dra.helena@atende.demo';
const JOAO = { email: 'joao@paciente.demo', name: 'João Pereira da Silva', short: 'João S.', cpf: '529.982.247-25' };
// Demo data (src/demo.rs): Maria's record at Clínica Aurora.
const MARIA = { cpf: '111.444.777-35', birth: '1991-08-02' };
// A walk-in with a legal priority, checked in before João (same rank, so ahead of him), and
// one without priority after him.
const WALK_IN = { name: 'Walter Bragança', short: 'Walter B.', priority: 'Pessoa com deficiência' };
const WALK_IN_2 = { name: 'Paula Nunes' };
const ROOM = 'Consultório 2';

/** No "null"/"undefined"/"NaN" leaked into the page's text. */
async function noStrayText(page) {
  const body = await page.locator('body').innerText();
  const stray = body.match(/\b(null|undefined|NaN)\b/);
  assert(!stray, `the page shows "${stray && stray[0]}"`);
}

function board(page) {
  return page.locator('[data-queue="board"]');
}

/** Wait until the panel's current call shows `ticket`. */
async function panelShows(page, ticket) {
  await page.locator(`.tv-current[data-ticket="${ticket}"]`).waitFor();
}

async function chimes(page) {
  return Number(await page.locator('[data-view="panel"]').getAttribute('data-chimes'));
}

async function waitChimes(page, atLeast) {
  await page.waitForFunction((n) => Number(document.querySelector('[data-view="panel"]')?.dataset.chimes) >= n, atLeast);
}

const { shot, shotOf } = screenshots('waiting-room');

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  const adminToken = await loginApi(ADMIN);
  const adminMe = await apiCall('GET', '/api/me', adminToken);
  const membership = adminMe.memberships.find((m) => m.role === 'clinic_admin' && /Aurora/.test(m.clinic_name));
  assert(membership, 'admin@aurora.demo has no clinic_admin membership at Aurora');
  const clinicId = membership.clinic_id;
  const queuePath = `/api/clinics/${clinicId}/queue`;
  let panelToken = null;
  let checkinCode = null;

  const setup = await check('setup: strict call order, leftovers closed, panel secret and check-in code', async () => {
    await apiCall('PUT', `${queuePath}/settings`, adminToken,
      { priority_mode: 'strict', priority_run: 2, default_service_minutes: 15 });
    const entries = await apiCall('GET', queuePath, adminToken);
    let closed = 0;
    for (const e of entries) {
      const action = e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (!action) continue;
      await apiCall('POST', `${queuePath}/${e.id}/${action}`, adminToken, {});
      closed += 1;
    }
    // Today's demo appointments would order João and Maria by their appointment time
    // (before or after the walk-ins depending on the hour the test runs): cancel them, so
    // this test's order is the same at any time of day.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(new Date());
    const appts = await apiCall('GET', `/api/clinics/${clinicId}/appointments?from=${today}&to=${today}`, adminToken);
    for (const a of appts) {
      if (['scheduled', 'confirmed'].includes(a.status)) {
        await apiCall('POST', `/api/clinics/${clinicId}/appointments/${a.id}/cancel`, adminToken, { reason: 'teste do painel' });
      }
    }
    const panel = await apiCall('POST', `${queuePath}/panel-token`, adminToken, {});
    assert(typeof panel.token === 'string' && panel.path === `/#/painel/${panel.token}`, `bad panel answer ${JSON.stringify(panel)}`);
    panelToken = panel.token;
    const recToken = await loginApi(RECEPTIONIST);
    const link = await apiCall('GET', `${queuePath}/checkin-link`, recToken);
    assert(link.path === `/#/checkin/${link.code}`, `bad check-in link ${JSON.stringify(link)}`);
    checkinCode = link.code;
    return `${closed} closed`;
  });
  if (!setup) throw new Error('setup failed');

  const tv = await openPage(browser, TV);
  const rec = await openPage(browser, DESKTOP);
  const helena = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  const selfPhone = await openPage(browser, PHONE);
  const joaoPhone = await openPage(browser, PHONE);
  const admin = await openPage(browser, DESKTOP);
  const pages = [['TV panel', tv], ['receptionist', rec], ['Dra. Helena', helena], ['João phone', phone],
    ['self check-in', selfPhone], ['João logged in', joaoPhone], ['admin', admin]];
  let joaoTicket = null;
  let walkInTicket = null;
  let trackerUrl = null;

  try {
    const panelOpen = await check('A: the TV panel opens without login, full screen and live', async () => {
      await tv.page.goto(`${BASE_URL}/#/painel/${panelToken}`);
      const root = tv.page.locator('[data-view="panel"][data-live="true"]');
      await root.waitFor();
      await tv.page.locator('.tv-clinic', { hasText: 'Clínica Aurora' }).waitFor();
      assert(!(await tv.page.locator('.site-header').isVisible()), 'the app header is visible');
      assert(!(await tv.page.locator('.site-footer').isVisible()), 'the app footer is visible');
      await tv.page.locator('.tv-status', { hasText: 'Ao vivo' }).waitFor();
      assert(/^\d{2}:\d{2}$/.test(await text(tv.page.locator('.tv-time'))), 'no clock');
      const box = await root.boundingBox();
      assert(box && box.width === TV.width && box.height === TV.height, `panel is ${box && box.width}×${box && box.height}`);
      await tv.page.getByRole('button', { name: 'Ativar som' }).click();
      await tv.page.getByRole('button', { name: 'Ativar som' }).waitFor({ state: 'hidden' });
      assert((await root.getAttribute('data-sound')) === 'on', 'sound not on');
      await shot(tv.page, 'panel-empty');
    });
    if (!panelOpen) throw new Error('panel did not open');

    await check('B: the receptionist board is live', async () => {
      await loginUi(rec.page, RECEPTIONIST);
      await rec.page.locator('[data-view="home-receptionist"]').waitFor();
      await rec.page.locator('[data-queue="board"][data-live="true"]').waitFor();
    });

    await check('B checks in a walk-in with a legal priority', async () => {
      const form = rec.page.locator('form.queue-checkin');
      await form.getByLabel('Paciente', { exact: true }).fill(WALK_IN.name);
      await form.getByLabel('Prioridade').selectOption({ label: WALK_IN.priority });
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      await form.locator('.queue-tracker', { hasText: WALK_IN.name }).waitFor();
      const row = board(rec.page).locator('.queue-entry[data-status="waiting"]', { hasText: WALK_IN.name });
      await row.waitFor();
      walkInTicket = await row.getAttribute('data-ticket');
      assert(/^P\d{3}$/.test(walkInTicket || ''), `walk-in ticket "${walkInTicket}"`);
      await row.locator('.queue-eta', { hasText: 'Próximo(a)' }).waitFor();
      return walkInTicket;
    });

    await check('B checks in João (registered) and gets the phone link', async () => {
      const form = rec.page.locator('form.queue-checkin');
      await form.getByLabel('Paciente', { exact: true }).fill('João');
      await form.getByRole('button', { name: `Usar cadastro de ${JOAO.name}` }).click();
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      await form.locator('.form-status', { hasText: `Chegada registrada: senha P` }).filter({ hasText: JOAO.name }).waitFor();
      const row = board(rec.page).locator('.queue-entry[data-status="waiting"]', { hasText: JOAO.name });
      await row.waitFor();
      joaoTicket = await row.getAttribute('data-ticket');
      assert(/^P\d{3}$/.test(joaoTicket || ''), `João's ticket "${joaoTicket}" is not a priority ticket (60+)`);
      const link = form.getByLabel('Link para acompanhar no celular');
      trackerUrl = await link.inputValue();
      assert(trackerUrl.startsWith(`${BASE_URL}/#/fila/`), `tracker link "${trackerUrl}"`);
      await form.locator('.queue-tracker', { hasText: joaoTicket }).waitFor();
      await form.getByRole('button', { name: 'Copiar link' }).click();
      await form.locator('.copy-status').filter({ hasText: /Copiado|copie/ }).waitFor();
      await row.locator('.queue-eta', { hasText: 'Espera estimada' }).waitFor();
      return `${joaoTicket}; ${await text(row.locator('.queue-eta'))}`;
    });

    await check('D: João\'s phone shows his ticket and place in line', async () => {
      assert(trackerUrl, 'no tracker link');
      await phone.page.goto(trackerUrl);
      const root = phone.page.locator('[data-view="tracker"][data-live="true"]');
      await root.waitFor();
      await phone.page.evaluate(() => {
        window.__sameDocument = true;
      });
      assert((await text(phone.page.locator('.phone-ticket'))) === joaoTicket, 'wrong ticket');
      assert((await text(phone.page.locator('.phone-name'))) === JOAO.short, 'name is not "João S."');
      await phone.page.locator('.phone-status[data-status="waiting"]', { hasText: 'Aguardando' }).waitFor();
      await phone.page.locator('.phone-status', { hasText: /1 pessoa na sua frente, espera estimada ~\d+ min/ }).waitFor();
      await phone.page.locator('.phone-live', { hasText: 'Atualizado ao vivo' }).waitFor();
      const body = await phone.page.locator('body').innerText();
      assert(!body.includes('Pereira') && !body.includes('Silva') && !body.includes('529.982'), 'full name or CPF on the phone page');
      await noHorizontalOverflow(phone.page);
      await noStrayText(phone.page);
      await shot(phone.page, 'phone-waiting');
      return await text(phone.page.locator('.phone-status'));
    });

    await check('B checks in another walk-in (no priority): after João on the board and for D', async () => {
      const form = rec.page.locator('form.queue-checkin');
      await form.getByLabel('Paciente', { exact: true }).fill(WALK_IN_2.name);
      await form.getByLabel('Prioridade').selectOption({ label: 'Sem prioridade' });
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      await form.locator('.queue-tracker', { hasText: WALK_IN_2.name }).waitFor();
      const row = board(rec.page).locator('.queue-entry[data-status="waiting"]', { hasText: WALK_IN_2.name });
      await row.waitFor();
      const ticket = await row.getAttribute('data-ticket');
      assert(/^N\d{3}$/.test(ticket || ''), `walk-in ticket "${ticket}"`);
      // The board lists the waiting in call order.
      const order = await board(rec.page).locator('.queue-waiting .queue-entry').evaluateAll((els) => els.map((e) => e.dataset.ticket));
      assert(order.join(' ') === [walkInTicket, joaoTicket, ticket].join(' '), `board order ${order.join(' ')}`);
      await row.locator('.queue-eta', { hasText: 'Espera estimada' }).waitFor();
      await phone.page.locator('.phone-status', { hasText: '1 pessoa na sua frente' }).waitFor();
      await noStrayText(rec.page);
      await shotOf(board(rec.page), 'board');
      return ticket;
    });

    await check('C: Dra. Helena calls next to "Consultório 2": the walk-in is on the panel', async () => {
      await loginUi(helena.page, PROFESSIONAL);
      await helena.page.locator('[data-view="home-professional"]').waitFor();
      await helena.page.goto(`${BASE_URL}/#/clinica/${clinicId}`);
      const mine = helena.page.locator('[data-queue="mine"][data-live="true"]');
      await mine.waitFor();
      await mine.getByLabel('Sala ou consultório').fill(ROOM);
      const before = await chimes(tv.page);
      await mine.getByRole('button', { name: 'Chamar próximo' }).click();
      await mine.locator(`.queue-current .queue-entry[data-ticket="${walkInTicket}"]`).waitFor();
      await panelShows(tv.page, walkInTicket);
      assert((await text(tv.page.locator('.tv-name'))) === WALK_IN.short, `panel name "${await text(tv.page.locator('.tv-name'))}"`);
      assert((await text(tv.page.locator('.tv-room'))) === ROOM, 'panel room');
      await waitChimes(tv.page, before + 1);
      // João is next now: his phone says so, live.
      await phone.page.locator('.phone-status', { hasText: 'Ninguém na sua frente' }).waitFor();
      assert(await phone.page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    });

    await check('C finishes the walk-in and calls João: the panel shows "João S." and the room', async () => {
      const mine = helena.page.locator('[data-queue="mine"]');
      await mine.getByRole('button', { name: `Iniciar atendimento: ${walkInTicket} — ${WALK_IN.name}` }).click();
      await mine.getByRole('button', { name: `Finalizar: ${walkInTicket} — ${WALK_IN.name}` }).click();
      await mine.getByText('Nenhum paciente chamado').waitFor();
      const before = await chimes(tv.page);
      await mine.getByRole('button', { name: 'Chamar próximo' }).click();
      await mine.locator(`.queue-current .queue-entry[data-ticket="${joaoTicket}"]`).waitFor();
      await panelShows(tv.page, joaoTicket);
      assert((await text(tv.page.locator('.tv-ticket'))) === joaoTicket, 'panel ticket');
      assert((await text(tv.page.locator('.tv-name'))) === JOAO.short, `panel name "${await text(tv.page.locator('.tv-name'))}"`);
      assert((await text(tv.page.locator('.tv-room'))) === ROOM, 'panel room');
      await waitChimes(tv.page, before + 1);
      const last = tv.page.locator(`.tv-history .tv-call[data-ticket="${walkInTicket}"]`);
      await last.waitFor();
      assert((await text(last)).includes(WALK_IN.short), 'the walk-in is not among the last calls');
      const all = await tv.page.locator('body').innerText();
      for (const secret of ['Pereira', 'Silva', 'Bragança', JOAO.cpf, JOAO.cpf.replace(/\D/g, '')]) {
        assert(!all.includes(secret), `the panel shows "${secret}"`);
      }
      await noStrayText(tv.page);
      await shot(tv.page, 'panel');
    });

    await check('D switches to "É a sua vez!" without a reload', async () => {
      await phone.page.locator('.phone-status[data-status="called"]', { hasText: 'É a sua vez!' }).waitFor();
      await phone.page.locator('.phone-status', { hasText: `Dirija-se ao ${ROOM}` }).waitFor();
      assert(await phone.page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
      // Quiet queue, quiet phone: no polling loop.
      let requests = 0;
      const count = (req) => {
        if (req.url().includes('/api/public/')) requests += 1;
      };
      phone.page.on('request', count);
      await phone.page.waitForTimeout(3000);
      phone.page.off('request', count);
      assert(requests === 0, `${requests} requests in 3 s on a quiet queue`);
      await shot(phone.page, 'phone-called');
    });

    await check('C recalls João: the panel chimes again and says so', async () => {
      const before = await chimes(tv.page);
      await helena.page.locator('[data-queue="mine"]').getByRole('button', { name: `Rechamar: ${joaoTicket} — ${JOAO.name}` }).click();
      await waitChimes(tv.page, before + 1);
      await tv.page.locator('.tv-recall', { hasText: 'Chamada repetida' }).waitFor();
      await phone.page.locator('.phone-status', { hasText: 'chamada repetida' }).waitFor();
    });

    await check('E: Maria\'s self check-in (CPF + birth date) lands on her phone page', async () => {
      const p = selfPhone.page;
      await p.goto(`${BASE_URL}/#/checkin/${checkinCode}`);
      await p.locator('[data-view="checkin"] h1', { hasText: 'Check-in' }).waitFor();
      await p.locator('.phone-clinic', { hasText: 'Clínica Aurora' }).waitFor();
      assert(!(await p.locator('.header-user').isVisible()), 'header user area visible');
      await p.getByLabel('CPF', { exact: true }).fill(MARIA.cpf);
      await p.getByLabel('Data de nascimento', { exact: true }).fill('1991-08-03');
      selfPhone.allowed.push(/status of 422/);
      await p.getByRole('button', { name: 'Fazer check-in' }).click();
      await p.getByRole('alert').filter({ hasText: 'Não encontramos seu cadastro' }).waitFor();
      await noHorizontalOverflow(p);
      await shot(p, 'checkin-error');
      await p.getByLabel('Data de nascimento', { exact: true }).fill(MARIA.birth);
      await p.getByRole('button', { name: 'Fazer check-in' }).click();
      await p.waitForURL(/#\/fila\//);
      await p.locator('[data-view="tracker"][data-live="true"]').waitFor();
      const ticket = await text(p.locator('.phone-ticket'));
      assert(/^[NP]\d{3}$/.test(ticket), `ticket "${ticket}"`);
      await p.locator('.phone-notice', { hasText: ticket }).waitFor();
      await p.locator('.phone-status[data-status="waiting"]', { hasText: 'Aguardando' }).waitFor();
      await noHorizontalOverflow(p);
      await noStrayText(p);
      await shot(p, 'phone-maria');
      // The receptionist's board shows her, live.
      await board(rec.page).locator(`.queue-entry[data-ticket="${ticket}"][data-status="waiting"]`).waitFor();
      return `${ticket}; ${await text(p.locator('.phone-status'))}`;
    });

    await check('F: João logged in uses the one-tap check-in and lands on his own page', async () => {
      const p = joaoPhone.page;
      await loginUi(p, JOAO.email);
      await p.locator('[data-view="home-patient"]').waitFor();
      await p.goto(`${BASE_URL}/#/checkin/${checkinCode}`);
      await p.locator('.checkin-one-tap', { hasText: 'João' }).waitFor();
      await shot(p, 'checkin-one-tap');
      await p.locator('.checkin-one-tap').getByRole('button', { name: 'Fazer check-in' }).click();
      await p.waitForURL(/#\/fila\//);
      await p.locator('.phone-notice', { hasText: `já estava na fila de hoje com a senha ${joaoTicket}` }).waitFor();
      assert((await text(p.locator('.phone-ticket'))) === joaoTicket, 'another ticket');
      await p.locator('.phone-status[data-status="called"]', { hasText: 'É a sua vez!' }).waitFor();
    });

    await check('D goes offline while João\'s service starts; back online it catches up, then sees the end', async () => {
      const mine = helena.page.locator('[data-queue="mine"]');
      // A request caught by the cut is expected (and retried after it).
      phone.allowed.push(/ERR_INTERNET_DISCONNECTED/);
      await phone.context.setOffline(true);
      await phone.page.locator('[data-view="tracker"][data-live="false"]').waitFor();
      await phone.page.locator('.phone-live', { hasText: /Reconectando|Conectando/ }).waitFor();
      await mine.getByRole('button', { name: `Iniciar atendimento: ${joaoTicket} — ${JOAO.name}` }).click();
      await mine.locator(`.queue-current .queue-entry[data-ticket="${joaoTicket}"][data-status="in_service"]`).waitFor();
      await phone.context.setOffline(false);
      await phone.page.locator('[data-view="tracker"][data-live="true"]').waitFor();
      await phone.page.locator('.phone-status[data-status="in_service"]', { hasText: 'Atendimento em andamento' }).waitFor();
      await mine.getByRole('button', { name: `Finalizar: ${joaoTicket} — ${JOAO.name}` }).click();
      await phone.page.locator('.phone-status[data-status="done"]', { hasText: 'Atendimento concluído' }).waitFor();
      assert(await phone.page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
      await shot(phone.page, 'phone-done');
    });

    await check('G: the admin sees the check-in QR code and link, and saves the call rules', async () => {
      const p = admin.page;
      await loginUi(p, ADMIN);
      await p.locator('[data-view="home-admin"]').waitFor();
      const setupBox = p.locator('[data-queue="setup"]');
      await setupBox.getByRole('heading', { name: 'Painel e check-in' }).waitFor();
      const img = setupBox.locator('img.qr-img');
      await img.waitFor();
      const size = await img.evaluate((el) => (el.complete ? el.naturalWidth : 0));
      assert(size > 0, 'the QR code image did not load');
      const link = await setupBox.getByLabel('Link do check-in').inputValue();
      assert(link.endsWith(`/#/checkin/${checkinCode}`), `check-in link "${link}"`);
      await setupBox.getByText('Já existe um painel configurado').waitFor();
      const form = setupBox.locator('form.wr-settings-form');
      assert((await form.getByLabel('Ordem de chamada').inputValue()) === 'strict', 'mode is not strict');
      await form.getByLabel('Tempo padrão de atendimento (minutos)').fill('20');
      await form.getByRole('button', { name: 'Salvar regras' }).click();
      await form.locator('.form-status', { hasText: 'Regras salvas' }).waitFor();
      const saved = await apiCall('GET', `${queuePath}/settings`, adminToken);
      assert(saved.default_service_minutes === 20 && saved.priority_mode === 'strict', `saved ${JSON.stringify(saved)}`);
      await noStrayText(p);
      await shotOf(setupBox, 'setup-admin');
      // The receptionist sees the QR code but no admin buttons.
      const recSetup = rec.page.locator('[data-queue="setup"]');
      await recSetup.locator('img.qr-img').waitFor();
      assert(!(await recSetup.getByRole('button', { name: 'Gerar novo código' }).count()), 'receptionist can rotate the code');
      assert(!(await recSetup.getByRole('button', { name: /Gerar .*link do painel/ }).count()), 'receptionist can make a panel link');
      await noStrayText(rec.page);
      await shotOf(recSetup, 'setup-receptionist');
    });

    await check('G makes a new TV panel link: the old one stops working, the new one opens', async () => {
      const p = admin.page;
      const setupBox = p.locator('[data-queue="setup"]');
      await setupBox.getByRole('button', { name: 'Gerar novo link do painel' }).click();
      await setupBox.getByRole('button', { name: 'Sim, gerar novo link' }).click();
      const url = await setupBox.getByLabel('Link do painel').inputValue();
      assert(url.startsWith(`${BASE_URL}/#/painel/`) && !url.endsWith(panelToken), `new panel link "${url}"`);
      const open = setupBox.getByRole('link', { name: 'Abrir painel' });
      assert((await open.getAttribute('href')) === url, 'the "Abrir painel" link');
      tv.allowed.push(/status of 401/);
      await tv.page.reload();
      await tv.page.locator('[data-view="panel"][data-state="invalid"]').waitFor();
      await tv.page.getByRole('heading', { name: 'Link do painel inválido' }).waitFor();
      await tv.page.goto(url);
      await tv.page.locator('[data-view="panel"][data-live="true"]').waitFor();
      await panelShows(tv.page, joaoTicket);
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    // Leave the demo as it was: the default service time back to 15 minutes.
    await apiCall('PUT', `${queuePath}/settings`, adminToken,
      { priority_mode: 'strict', priority_run: 2, default_service_minutes: 15 }).catch(() => {});
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('waiting-room', run);
