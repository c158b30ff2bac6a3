// A receptionist's morning at the desk, through the real UI (issue #22), first slice:
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/journey-receptionist.mjs
//
// On the demo's Clínica Aurora (recepcao@aurora.demo), desktop:
// - setup over HTTP: today's leftover queue entries (earlier runs) are closed;
// - a walk-in declared "Idoso(a) 60+" asks for the birth date; a child's birth date is
//   refused with the server's reason ("… a pessoa tem 11 anos"), a 66-year-old's gets a
//   priority ticket (P…);
// - two more walk-ins; "Chamar próximo" for Dra. Helena (the professional list titles her
//   "Dra.") three times: each call finishes the previous one, so the board shows exactly
//   one patient called;
// - a page only admins and professionals have ("Horários") says "Sem permissão" (403);
// - no "null"/"undefined" on the screen, no console errors.
// Nothing depends on the hour or day it runs: birth dates are counted back from today.
// Screenshots go to tests/browser/screenshots/journey-receptionist-*.png.

import {
  BASE_URL,
  PASSWORD,
  apiCall,
  assert,
  check,
  loginApi,
  loginUi,
  main,
  openPage,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const RECEPTIONIST = 'recepcao@aurora.demo';
const { shot } = screenshots('journey-receptionist');

/** YYYY-MM-DD `years` before today (the browser's today; a day of margin either way). */
function yearsAgo(years, extraDays = 0) {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() - extraDays);
  return d.toISOString().slice(0, 10);
}

async function noMissingText(page, where) {
  const body = await page.locator('body').innerText();
  const bad = body.match(/.{0,40}\b(null|undefined|NaN)\b.{0,40}/);
  assert(!bad, `${where}: "${bad && bad[0]}"`);
}

async function run(browser) {
  const token = await loginApi(RECEPTIONIST, PASSWORD);
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

  const desk = await openPage(browser, DESKTOP);
  // The refused 60+ check-in is provoked on purpose.
  desk.allowed.push(/status of 422/);
  const { page } = desk;
  const board = page.locator('[data-queue="board"]');
  try {
    const opened = await check('the receptionist opens the desk: the live waiting room', async () => {
      await loginUi(page, RECEPTIONIST);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      await page.locator('[data-queue="board"][data-live="true"]').waitFor();
      await noMissingText(page, 'desk');
      await shot(page, '01-desk');
    });
    if (!opened) throw new Error('the desk did not open');

    await check('60+ goes by the birth date: a child is refused with the reason, a 66-year-old gets P', async () => {
      const form = page.locator('form.queue-checkin');
      await form.getByLabel('Paciente', { exact: true }).fill('Nair Couto');
      await form.getByLabel('Prioridade').selectOption('elderly');
      const birth = form.getByLabel('Data de nascimento');
      await birth.waitFor();
      await birth.fill(yearsAgo(11, 30));
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      const error = form.locator('.alert-error');
      await error.waitFor();
      const said = (await error.innerText()).trim();
      assert(/60 anos ou mais/.test(said) && /tem 11 anos/.test(said), `refusal: "${said}"`);
      await shot(page, '02-age-refused');
      await birth.fill(yearsAgo(66, 30));
      await form.getByRole('button', { name: 'Registrar chegada' }).click();
      await form.locator('.form-status', { hasText: 'Chegada registrada' }).waitFor();
      const row = board.locator('.queue-entry[data-status="waiting"]', { hasText: 'Nair Couto' });
      await row.waitFor();
      const ticket = await row.getAttribute('data-ticket');
      assert(/^P\d{3}$/.test(ticket || ''), `ticket "${ticket}"`);
      return ticket;
    });

    await check('"Chamar próximo" three times for Dra. Helena: one patient is called at a time', async () => {
      for (const full_name of ['Otto Farias', 'Pietra Gomes']) {
        await apiCall('POST', `/api/clinics/${clinicId}/queue`, token, { full_name });
      }
      const form = page.locator('form.queue-callnext');
      await form.locator('option', { hasText: 'Helena Duarte' }).waitFor({ state: 'attached' });
      const options = await form.getByLabel('Profissional').locator('option').allTextContents();
      assert(options.includes('Dra. Helena Duarte'), `professionals offered: ${options.join(', ')}`);
      await form.getByLabel('Profissional').selectOption({ label: 'Dra. Helena Duarte' });
      await form.getByLabel('Sala ou consultório').fill('Consultório 2');
      for (let i = 0; i < 3; i += 1) {
        await form.getByRole('button', { name: 'Chamar próximo' }).click();
        await form.locator('.form-status', { hasText: 'chamado(a) para Consultório 2' }).waitFor();
        await form.getByRole('button', { name: 'Chamar próximo' }).waitFor();
        await page.waitForFunction(() => !document.querySelector('form.queue-callnext button[type="submit"]').disabled);
      }
      await board.locator('.queue-entry[data-status="done"]', { hasText: 'Otto Farias' }).waitFor({ state: 'attached' });
      const called = await board.locator('.queue-entry[data-status="called"]').count();
      assert(called === 1, `${called} patients shown as called`);
      await noMissingText(page, 'board after calls');
      await shot(page, '03-one-called');
    });

    await check('a page for admins and professionals says "Sem permissão"', async () => {
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/horarios`);
      await page.locator('[data-view="forbidden"]').waitFor();
      await page.getByRole('heading', { name: 'Sem permissão' }).waitFor();
      await shot(page, '04-forbidden');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!desk.errors.length, desk.errors.join(' | '));
    });
  } finally {
    await desk.context.close().catch(() => {});
    // Leave the queue as found for the next test.
    const entries = await apiCall('GET', `/api/clinics/${clinicId}/queue`, token).catch(() => []);
    for (const e of entries) {
      const action = e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (action) await apiCall('POST', `/api/clinics/${clinicId}/queue/${e.id}/${action}`, token, {}).catch(() => {});
    }
  }
}

main('journey-receptionist', run);
