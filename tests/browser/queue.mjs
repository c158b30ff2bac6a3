// Headless-browser test of the waiting room ("Fila de espera") in the atende web app.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/queue.mjs
//
// On the demo data (Clínica Aurora):
// - setup over HTTP: today's leftover waiting entries (earlier runs) are marked
//   "Saiu" and called/in-service ones finished, so the next call is ours;
// - two receptionist sessions (recepcao@aurora.demo, desktop and phone contexts)
//   open the board, both "Atualizada ao vivo";
// - the first checks in a walk-in "Paula Nunes" with priority Gestante; the
//   second's board shows her (ticket, Gestante badge) without reload;
// - Dra. Helena (dra.helena@atende.demo) presses "Chamar próximo" with room
//   "Consultório 3" on "Minha fila": she sees Paula as her current patient and
//   both receptionist boards show her called to "Consultório 3", live;
// - the room is remembered after a reload of Helena's page;
// - Helena starts and finishes the service: the boards follow live;
// - three more walk-ins, "Chamar próximo" three times: each call finishes the previous
//   one, so "Minha fila" and both boards show exactly one patient called;
// - the phone board has no horizontal overflow; no console errors, page errors
//   or CSP violations anywhere.
// Screenshots go to tests/browser/screenshots/queue-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
  PASSWORD,
  PHONE,
  apiCall,
  assert,
  check,
  main,
  loginUi,
  noHorizontalOverflow,
  openPage,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 860 };

const RECEPTIONIST = 'recepcao@aurora.demo';
const PROFESSIONAL = 'dra.helena@atende.demo';
const WALK_IN = 'Paula Nunes';
const ROOM = 'Consultório 3';

function board(page) {
  return page.locator('[data-queue="board"]');
}

function entryByTicket(scope, ticket) {
  return scope.locator(`.queue-entry[data-ticket="${ticket}"]`);
}

const { shot } = screenshots('queue');

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  const session = await apiCall('POST', '/api/auth/login', null, { email: RECEPTIONIST, password: PASSWORD });
  const token = session.access_token;
  const me = await apiCall('GET', '/api/me', token);
  const clinicId = me.memberships.find((m) => m.role === 'receptionist').clinic_id;
  await check('setup: leftover entries of earlier runs are closed', async () => {
    const entries = await apiCall('GET', `/api/clinics/${clinicId}/queue`, token);
    let closed = 0;
    for (const e of entries) {
      const action = e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (!action) continue;
      await apiCall('POST', `/api/clinics/${clinicId}/queue/${e.id}/${action}`, token, {});
      closed += 1;
    }
    return `${closed} closed`;
  });

  const recA = await openPage(browser, DESKTOP);
  const recB = await openPage(browser, PHONE);
  const helena = await openPage(browser, DESKTOP);
  const pages = [['receptionist A', recA], ['receptionist B', recB], ['Dra. Helena', helena]];
  let ticket = null;

  try {
    const boards = await check('both receptionist sessions open the live "Fila de espera" board', async () => {
      for (const r of [recA, recB]) {
        await loginUi(r.page, RECEPTIONIST);
        await r.page.locator('[data-view="home-receptionist"]').waitFor();
        await board(r.page).locator('h2', { hasText: 'Fila de espera' }).waitFor();
        await r.page.locator('[data-queue="board"][data-live="true"]').waitFor();
        await board(r.page).getByText('Atualizada ao vivo.').waitFor();
      }
    });
    if (!boards) throw new Error('boards did not open');

    await check('receptionist A checks in walk-in "Paula Nunes" as Gestante', async () => {
      const form = recA.page.locator('form.queue-checkin');
      await form.getByLabel('Paciente', { exact: true }).fill(WALK_IN);
      await form.getByLabel('Prioridade').selectOption({ label: 'Gestante' });
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      await form.locator('.form-status', { hasText: 'Chegada registrada' }).waitFor();
      const row = board(recA.page).locator('.queue-entry[data-status="waiting"]', { hasText: WALK_IN });
      await row.waitFor();
      ticket = await row.getAttribute('data-ticket');
      assert(/^P\d{3}$/.test(ticket || ''), `ticket "${ticket}" is not a priority ticket`);
      assert((await row.locator('.queue-priority').textContent()).trim() === 'Gestante', 'no Gestante badge');
      await shot(recA.page, 'checkin');
      return ticket;
    });

    await check('receptionist B sees Paula on her board live (no reload)', async () => {
      assert(ticket, 'no ticket');
      const row = entryByTicket(board(recB.page), ticket);
      await row.waitFor();
      assert((await row.getAttribute('data-status')) === 'waiting', 'not waiting');
      assert((await row.locator('.queue-name').textContent()).trim() === WALK_IN, 'wrong name');
      assert((await row.locator('.queue-priority').textContent()).trim() === 'Gestante', 'no Gestante badge');
      await row.getByText(/Aguardando há/).waitFor();
      await noHorizontalOverflow(recB.page);
      await shot(recB.page, 'board-phone');
    });

    await check('Dra. Helena calls the next patient to "Consultório 3" from "Minha fila"', async () => {
      await loginUi(helena.page, PROFESSIONAL);
      await helena.page.locator('[data-view="home-professional"]').waitFor();
      await helena.page.goto(`${BASE_URL}/#/clinica/${clinicId}`);
      await helena.page.locator('[data-view="home-professional"] h1', { hasText: 'Clínica Aurora' }).waitFor();
      const mine = helena.page.locator('[data-queue="mine"][data-live="true"]');
      await mine.waitFor();
      await mine.getByText(/aguardando para você/).waitFor();
      await mine.getByLabel('Sala ou consultório').fill(ROOM);
      await mine.getByRole('button', { name: 'Chamar próximo' }).click();
      const current = entryByTicket(mine.locator('.queue-current'), ticket);
      await current.waitFor();
      assert((await current.locator('.queue-name').textContent()).trim() === WALK_IN, 'wrong patient called');
      await current.getByText(`Sala: ${ROOM}`).waitFor();
      await current.getByRole('button', { name: /^Iniciar atendimento/ }).waitFor();
      await shot(helena.page, 'professional');
    });

    await check('both receptionist boards show Paula called to "Consultório 3", live', async () => {
      for (const r of [recA, recB]) {
        const row = board(r.page).locator(`.queue-entry[data-ticket="${ticket}"][data-status="called"]`);
        await row.waitFor();
        await row.locator('.queue-room', { hasText: ROOM }).waitFor();
        await row.locator('.queue-status', { hasText: 'Chamado(a)' }).waitFor();
        await row.getByRole('button', { name: `Rechamar: ${ticket} — ${WALK_IN}` }).waitFor();
      }
      await shot(recA.page, 'called');
      await shot(recB.page, 'called-phone');
    });

    await check('the room is remembered after a reload of Helena\'s page', async () => {
      await helena.page.reload();
      const mine = helena.page.locator('[data-queue="mine"]');
      await mine.waitFor();
      const value = await mine.getByLabel('Sala ou consultório').inputValue();
      assert(value === ROOM, `room is "${value}"`);
      await entryByTicket(mine.locator('.queue-current'), ticket).waitFor();
    });

    await check('Helena starts and finishes the service; the boards follow live', async () => {
      const mine = helena.page.locator('[data-queue="mine"]');
      await mine.getByRole('button', { name: `Iniciar atendimento: ${ticket} — ${WALK_IN}` }).click();
      for (const r of [recA, recB]) {
        await board(r.page).locator(`.queue-entry[data-ticket="${ticket}"][data-status="in_service"]`).waitFor();
      }
      await mine.getByRole('button', { name: `Finalizar: ${ticket} — ${WALK_IN}` }).click();
      await mine.getByText('Nenhum paciente chamado').waitFor();
      for (const r of [recA, recB]) {
        await board(r.page).locator(`.queue-entry[data-ticket="${ticket}"][data-status="done"]`).waitFor({ state: 'attached' });
        await board(r.page).getByText('Ninguém chamado no momento.').waitFor();
      }
      await shot(recA.page, 'done');
    });

    await check('"Chamar próximo" three times: the previous calls end, one patient is current', async () => {
      const names = ['Caio Prates', 'Dora Lemos', 'Enzo Vidal'];
      const tickets = [];
      for (const full_name of names) {
        const e = await apiCall('POST', `/api/clinics/${clinicId}/queue`, token, { full_name });
        tickets.push(e.ticket);
      }
      const mine = helena.page.locator('[data-queue="mine"]');
      for (const t of tickets) {
        await mine.getByRole('button', { name: 'Chamar próximo' }).click();
        await entryByTicket(mine.locator('.queue-current'), t).waitFor();
      }
      const current = mine.locator('.queue-current .queue-entry');
      const count = await current.count();
      assert(count === 1, `${count} current patients in "Minha fila"`);
      assert((await current.getAttribute('data-ticket')) === tickets[2], 'the last call is not the current one');
      for (const r of [recA, recB]) {
        await board(r.page).locator(`.queue-entry[data-ticket="${tickets[1]}"][data-status="done"]`).waitFor({ state: 'attached' });
        const called = await board(r.page).locator('.queue-entry[data-status="called"], .queue-entry[data-status="in_service"]').count();
        assert(called === 1, `${called} patients shown as called on the board`);
      }
      await shot(recA.page, 'one-current-call');
      await mine.getByRole('button', { name: `Iniciar atendimento: ${tickets[2]} — ${names[2]}` }).click();
      await mine.getByRole('button', { name: `Finalizar: ${tickets[2]} — ${names[2]}` }).click();
      await mine.getByText('Nenhum paciente chamado').waitFor();
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('queue', run);
