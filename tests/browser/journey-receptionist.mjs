// A receptionist's morning at the desk, through the real UI (issue #22):
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
// - the patient called last did not come: "Não compareceu";
// - an appointment of today (made over HTTP) arrives: "Check-in" from "Consultas de hoje";
// - a patient phones to book: the agenda's dialog finds them by name and books (with
//   Rafael, three weeks ahead, on hours the setup gives him; cancelled at the end);
// - a page only admins and professionals have ("Horários") says "Sem permissão" (403);
// - no "null"/"undefined" on the screen, no console errors.
// Nothing depends on the hour or day it runs: birth dates are counted back from today.
// Screenshots go to tests/browser/screenshots/journey-receptionist-*.png.

import {
  BASE_URL,
  PASSWORD,
  addDays,
  apiCall,
  assert,
  check,
  loginApi,
  localDate,
  loginUi,
  main,
  openPage,
  randomCpf,
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

  const stamp = Date.now() % 1_000_000;
  const admin = await loginApi('admin@aurora.demo', PASSWORD);
  const members = await apiCall('GET', `/api/clinics/${clinicId}/members`, token);
  const idOf = (name) => (members.find((m) => m.role === 'professional' && m.full_name.includes(name)) || {}).user_id;
  const helenaId = idOf('Helena');
  const rafaelId = idOf('Rafael');
  // Phone bookings go to Rafael, three weeks ahead, on hours set here (other tests use Helena).
  const bookingDay = addDays(localDate(new Date()), 21);
  let phoneBooking = null;
  await check('setup: Rafael works every day, 08:00–18:00', async () => {
    await apiCall('PUT', `/api/clinics/${clinicId}/professionals/${rafaelId}/schedule`, admin, {
      hours: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: '08:00', end: '18:00' })),
      rules: { min_notice_minutes: 0, booking_window_days: 60, daily_limit: null, slot_step_minutes: 30 },
    });
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
      for (const full_name of [`Otto Farias ${stamp}`, `Pietra Gomes ${stamp}`]) {
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
      await board.locator('.queue-entry[data-status="done"]', { hasText: `Otto Farias ${stamp}` }).waitFor({ state: 'attached' });
      const called = await board.locator('.queue-entry[data-status="called"]').count();
      assert(called === 1, `${called} patients shown as called`);
      await noMissingText(page, 'board after calls');
      await shot(page, '03-one-called');
    });

    await check('the patient called last did not come: "Não compareceu" takes them off the call', async () => {
      const called = board.locator('.queue-entry[data-status="called"]');
      const name = (await called.locator('.queue-name').first().innerText()).trim();
      await called.getByRole('button', { name: /^Não compareceu/ }).click();
      await board.locator('.queue-entry[data-status="called"]').waitFor({ state: 'detached' });
      await shot(page, '04-no-show');
      return name;
    });

    await check('today\'s appointment arrives: "Check-in" from "Consultas de hoje" puts her in line', async () => {
      // An appointment for today made over HTTP (a time that has just passed, so it is
      // today whatever the hour; Helena's other appointments are stepped around).
      const patient = await apiCall('POST', `/api/clinics/${clinicId}/patients`, token, {
        full_name: `Sílvia Moraes ${stamp}`, cpf: randomCpf(), birth_date: '1975-09-12',
      });
      const today = localDate(new Date());
      let appt = null;
      for (let back = 5; back < 600 && !appt; back += 5) {
        const at = new Date(Math.floor((Date.now() - back * 60_000) / 300_000) * 300_000);
        if (localDate(at) !== today) break;
        try {
          appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, token, {
            professional_user_id: helenaId, patient_id: patient.id, starts_at: at.toISOString(), fit_in: true,
          });
        } catch (err) {
          if (err.status !== 409) throw err;
        }
      }
      if (!appt) return 'skip';
      const today_ = page.locator('[data-queue="appointments"]');
      const button = today_.getByRole('button', { name: new RegExp(`^Check-in: .* — Sílvia Moraes ${stamp}$`) });
      await button.waitFor();
      await button.click();
      await board.locator('.queue-entry[data-status="waiting"]', { hasText: `Sílvia Moraes ${stamp}` }).waitFor();
      await button.waitFor({ state: 'detached' });
      await noMissingText(page, 'after check-in');
      await shot(page, '05-checked-in');
    });

    await check('a patient calls to book: the agenda\'s dialog finds them by name and books', async () => {
      const patient = await apiCall('POST', `/api/clinics/${clinicId}/patients`, token, {
        full_name: `Heitor Campos ${stamp}`, cpf: randomCpf(), birth_date: '1990-02-03',
      });
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/agenda?data=${bookingDay}`);
      await page.locator('[data-view="agenda"][data-live="true"]').waitFor();
      const free = page.locator(`.ag-free[data-pro="${rafaelId}"]`).first();
      await free.waitFor();
      const time = await free.getAttribute('data-time');
      await free.click();
      const dialog = page.getByRole('dialog', { name: 'Novo agendamento' });
      await dialog.getByLabel('Paciente', { exact: true }).fill('Heitor Campos');
      await dialog.getByRole('button', { name: new RegExp(`Heitor Campos ${stamp}`) }).click();
      await dialog.locator('.ag-chosen-name', { hasText: `Heitor Campos ${stamp}` }).waitFor();
      const radio = dialog.getByRole('radio', { name: time });
      await radio.waitFor();
      if (!(await radio.isChecked())) await dialog.locator('label', { hasText: time }).click();
      await dialog.getByRole('button', { name: 'Agendar' }).click();
      const booked = page.getByRole('dialog', { name: 'Consulta agendada' });
      await booked.waitFor();
      await shot(page, '06-phone-booking', { fullPage: false });
      await booked.getByRole('button', { name: 'Concluir' }).click();
      const block = page.locator('.ag-appt', { hasText: `Heitor Campos ${stamp}` });
      await block.waitFor();
      phoneBooking = await block.getAttribute('data-id');
      assert(patient.id, 'no patient');
      return `${bookingDay} ${time}`;
    });

    await check('a page for admins and professionals says "Sem permissão"', async () => {
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/horarios`);
      await page.locator('[data-view="forbidden"]').waitFor();
      await page.getByRole('heading', { name: 'Sem permissão' }).waitFor();
      await shot(page, '07-forbidden');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!desk.errors.length, desk.errors.join(' | '));
    });
  } finally {
    await desk.context.close().catch(() => {});
    if (phoneBooking) {
      await apiCall('POST', `/api/clinics/${clinicId}/appointments/${phoneBooking}/cancel`, token,
        { reason: 'Teste da jornada da recepção' }).catch(() => {});
    }
    // Leave the queue as found for the next test.
    const entries = await apiCall('GET', `/api/clinics/${clinicId}/queue`, token).catch(() => []);
    for (const e of entries) {
      const action = e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (action) await apiCall('POST', `/api/clinics/${clinicId}/queue/${e.id}/${action}`, token, {}).catch(() => {});
    }
  }
}

main('journey-receptionist', run);
