// Headless-browser test of the agenda ("Agenda") in the atende web app.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/agenda.mjs
//
// On the demo data (Clínica Aurora, time zone America/Sao_Paulo):
// - setup over HTTP as the clinic admin: Dra. Helena works every day of the week
//   08:00–18:00 (no minimum notice, a slot every 30 min) and offers the service
//   "Consulta clínica (teste)" (30 min); whatever Helena or João had tomorrow (earlier
//   runs) is cancelled, so tomorrow 10:00 is free;
// - context A (phone, 390 px, no login) opens the public booking page of the clinic
//   for Helena on tomorrow's date and sees the 10:00 slot, live;
// - context B (desktop): the receptionist opens the agenda's day view for tomorrow,
//   clicks Helena's free 10:00, searches "João" in the booking dialog and books; the dialog
//   then shows João's one-click confirm and cancel links (absolute URLs) to send;
// - A's 10:00 slot disappears WITHOUT a reload (slots.changed over the anonymous
//   WebSocket); a slot chosen there asks a visitor to log in or sign up;
// - B's grid shows João's appointment ("Agendada"); its action menu "Confirmar" turns
//   the status into "Confirmada" (dialog and grid);
// - the week view, Helena's "Minha agenda" (with the clinic's name), João's "Minhas
//   consultas" (confirmed, live) and the admin's "Horários e serviços" render;
// - the receptionist's browser runs in Asia/Tokyo: every time shown is still the clinic's;
// - no horizontal overflow on the phone pages; no console errors, page errors or CSP
//   violations anywhere.
// Screenshots go to tests/browser/screenshots/agenda-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
  PASSWORD,
  PHONE,
  addDays,
  apiCall,
  assert,
  check,
  main,
  localDate,
  localTime,
  loginApi,
  loginUi,
  noHorizontalOverflow,
  openPage,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const TZ = 'America/Sao_Paulo';

const ADMIN = 'admin@aurora.demo';
const RECEPTIONIST = 'recepcao@aurora.demo';
const HELENA = 'dra.helena@atende.demo';
const JOAO = 'joao@paciente.demo';
const MARIA = 'maria@paciente.demo';
const SERVICE = 'Consulta clínica (teste)';
const TIME = '10:00';

const { shot } = screenshots('agenda');

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  const admin = await loginApi(ADMIN);
  const adminMe = await apiCall('GET', '/api/me', admin);
  const clinicId = adminMe.memberships.find((m) => m.role === 'clinic_admin' && m.clinic_name === 'Clínica Aurora').clinic_id;
  const info = await apiCall('GET', `/api/public/clinics/${clinicId}/booking`);
  const helena = info.professionals.find((p) => p.name === 'Helena Duarte');
  assert(helena, 'Helena is not on the booking page of Clínica Aurora');
  const helenaId = helena.user_id;
  const tomorrow = addDays(localDate(new Date()), 1);
  let serviceId = null;

  const ready = await check('setup: Helena\'s hours, a service, and a free 10:00 tomorrow', async () => {
    const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: '08:00', end: '18:00' }));
    await apiCall('PUT', `/api/clinics/${clinicId}/professionals/${helenaId}/schedule`, admin, {
      hours,
      rules: { min_notice_minutes: 0, booking_window_days: 60, daily_limit: null, slot_step_minutes: 30 },
    });
    const services = await apiCall('GET', `/api/clinics/${clinicId}/services`, admin);
    const existing = services.find((s) => s.name === SERVICE && s.active);
    serviceId = existing ? existing.id : (await apiCall('POST', `/api/clinics/${clinicId}/services`, admin, {
      name: SERVICE, duration_minutes: 30, price_cents: 25000, professional_user_id: helenaId,
    })).id;
    // Earlier runs: free Helena's and João's tomorrow. First nobody waiting and no open
    // offer of João or Maria (a held slot is released only by its patient or a lapse).
    let cancelled = 0;
    const receptionToken = await loginApi(RECEPTIONIST);
    for (const e of await apiCall('GET', `/api/clinics/${clinicId}/waitlist`, receptionToken)) {
      if (e.status === 'waiting') await apiCall('POST', `/api/clinics/${clinicId}/waitlist/${e.id}/cancel`, receptionToken);
    }
    for (const email of [JOAO, MARIA]) {
      const patient = await loginApi(email);
      for (const e of await apiCall('GET', '/api/me/waitlist', patient)) {
        if (e.status === 'offered' && e.offer) await apiCall('POST', `/api/me/waitlist/offers/${e.offer.id}/decline`, patient);
      }
    }
    const helenaToken = await loginApi(HELENA);
    for (const a of await apiCall('GET', `/api/me/agenda?from=${tomorrow}&to=${tomorrow}`, helenaToken)) {
      if (!['scheduled', 'confirmed', 'checked_in'].includes(a.status)) continue;
      await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, helenaToken, { reason: 'limpeza do teste' });
      cancelled += 1;
    }
    for (const email of [JOAO, MARIA]) {
      const patient = await loginApi(email);
      for (const a of await apiCall('GET', '/api/me/appointments', patient)) {
        if (!['scheduled', 'confirmed'].includes(a.status) || localDate(new Date(a.starts_at)) !== tomorrow) continue;
        await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, patient, { reason: 'limpeza do teste' });
        cancelled += 1;
      }
    }
    const res = await apiCall('GET', `/api/public/clinics/${clinicId}/slots?professional_user_id=${helenaId}&service_id=${serviceId}&from=${tomorrow}&to=${tomorrow}`);
    assert(res.time_zone === TZ, `clinic zone ${res.time_zone}`);
    assert(res.slots.some((s) => localTime(s.starts_at) === TIME), `no ${TIME} slot tomorrow (${res.slots.length} slots)`);
    return `${tomorrow}, ${cancelled} cancelled, ${res.slots.length} slots`;
  });
  if (!ready) throw new Error('setup failed');

  const visitor = await openPage(browser, PHONE);
  // The receptionist's computer is in another zone: the agenda still shows clinic time.
  const reception = await openPage(browser, DESKTOP, { timezoneId: 'Asia/Tokyo' });
  const helenaPage = await openPage(browser, DESKTOP);
  const joaoPage = await openPage(browser, PHONE);
  const adminPage = await openPage(browser, DESKTOP);
  const pages = [['visitor', visitor], ['receptionist', reception], ['Dra. Helena', helenaPage], ['João', joaoPage], ['admin', adminPage]];
  const slotA = () => visitor.page.locator(`.bk-slot[data-time="${TIME}"]`);

  try {
    await check('visitor (no login, phone) sees Helena\'s free 10:00 tomorrow on the booking page, live', async () => {
      const { page } = visitor;
      await page.goto(`${BASE_URL}/#/agendar/${clinicId}?profissional=${helenaId}&servico=${serviceId}&data=${tomorrow}`);
      await page.locator('[data-view="booking"]').waitFor();
      await page.locator('.bk-clinic', { hasText: 'Clínica Aurora' }).waitFor();
      await page.locator('[data-view="booking"][data-live="true"]').waitFor();
      assert(await page.getByRole('radio', { name: /Helena Duarte/ }).isChecked(), 'Helena is not selected');
      assert(await page.getByRole('radio', { name: new RegExp(SERVICE.replace(/[()]/g, '\\$&')) }).isChecked(), 'service is not selected');
      await slotA().waitFor();
      await page.evaluate(() => {
        window.agendaTestNoReload = true;
      });
      await noHorizontalOverflow(page);
      await shot(page, 'booking-phone');
    });

    await check('receptionist opens the agenda day view for tomorrow (live)', async () => {
      const { page } = reception;
      await loginUi(page, RECEPTIONIST);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      await page.locator('[data-agenda="links"]').getByRole('link', { name: 'Abrir agenda da clínica' }).waitFor();
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/agenda?data=${tomorrow}`);
      await page.locator('[data-view="agenda"][data-live="true"]').waitFor();
      await page.locator('.ag-col-title', { hasText: 'Helena Duarte' }).waitFor();
      await page.locator(`.ag-free[data-pro="${helenaId}"][data-time="${TIME}"]`).waitFor();
      await shot(page, 'day');
    });

    let apptId = null;
    await check('receptionist books João at 10:00 through the booking dialog', async () => {
      const { page } = reception;
      await page.locator(`.ag-free[data-pro="${helenaId}"][data-time="${TIME}"]`).click();
      const dialog = page.getByRole('dialog', { name: 'Novo agendamento' });
      await dialog.waitFor();
      await dialog.getByLabel('Paciente', { exact: true }).fill('João');
      await dialog.getByRole('button', { name: /João Pereira da Silva/ }).click();
      await dialog.locator('.ag-chosen-name', { hasText: 'João Pereira da Silva' }).waitFor();
      assert(await dialog.getByLabel('Profissional').inputValue() === helenaId, 'professional not preset');
      await dialog.getByLabel('Serviço').selectOption(serviceId);
      const radio = dialog.getByRole('radio', { name: TIME });
      await radio.waitFor();
      if (!(await radio.isChecked())) await dialog.locator('label', { hasText: TIME }).click();
      assert(await radio.isChecked(), `${TIME} is not chosen`);
      await shot(page, 'booking-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Agendar' }).click();
      // Booked: the dialog shows the patient's one-click links for the reception to send.
      const booked = page.getByRole('dialog', { name: 'Consulta agendada' });
      const confirmLink = booked.getByLabel('Link para confirmar presença');
      await confirmLink.waitFor();
      assert((await confirmLink.inputValue()).startsWith(`${BASE_URL}/#/link/confirm/`), 'no absolute confirm link');
      assert((await booked.getByLabel('Link para cancelar').inputValue()).startsWith(`${BASE_URL}/#/link/cancel/`), 'no absolute cancel link');
      await shot(page, 'booking-dialog-links', { fullPage: false });
      await booked.getByRole('button', { name: 'Concluir' }).click();
      await booked.waitFor({ state: 'detached' });
      const block = page.locator('.ag-appt', { hasText: 'João Pereira da Silva' }).filter({ hasText: TIME });
      await block.waitFor();
      apptId = await block.getAttribute('data-id');
      assert((await block.getAttribute('data-status')) === 'scheduled', 'not scheduled');
      await block.locator('.ag-appt-status', { hasText: 'Agendada' }).waitFor();
      // The free 10:00 is gone from the grid.
      await page.locator(`.ag-free[data-pro="${helenaId}"][data-time="${TIME}"]`).waitFor({ state: 'detached' });
      return apptId;
    });

    await check('the visitor\'s 10:00 slot disappears without a reload', async () => {
      const { page } = visitor;
      await slotA().waitFor({ state: 'detached' });
      assert(await page.evaluate(() => window.agendaTestNoReload === true), 'the page was reloaded');
      await page.locator('.bk-slot').first().waitFor();
      await shot(page, 'booking-phone-taken');
    });

    let visitorTime = null;
    await check('a visitor choosing a slot is asked to log in or sign up', async () => {
      const { page } = visitor;
      const other = page.locator('.bk-slot').first();
      visitorTime = await other.getAttribute('data-time');
      await other.click();
      const panel = page.locator('.bk-confirm-panel');
      await panel.getByText(`às ${visitorTime}`).waitFor();
      await panel.getByRole('link', { name: 'Entrar para confirmar' }).waitFor();
      await panel.getByRole('link', { name: 'Criar conta de paciente' }).waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'booking-phone-confirm');
    });

    await check('the visitor logs in as Maria, comes back to the chosen slot and books it', async () => {
      const { page } = visitor;
      await page.locator('.bk-confirm-panel').getByRole('link', { name: 'Entrar para confirmar' }).click();
      await page.locator('[data-view="login"]').waitFor();
      await page.getByText('para confirmar o agendamento').waitFor();
      await page.getByLabel('E-mail').fill(MARIA);
      await page.getByLabel('Senha').fill(PASSWORD);
      await page.getByRole('button', { name: 'Entrar', exact: true }).click();
      await page.locator('[data-view="booking"]').waitFor();
      const panel = page.locator('.bk-confirm-panel');
      await panel.getByText(`às ${visitorTime}`).waitFor();
      await panel.getByText('Maria').waitFor();
      await panel.getByRole('button', { name: 'Confirmar agendamento' }).click();
      const done = page.locator('.bk-done');
      await done.getByRole('heading', { name: 'Consulta agendada' }).waitFor();
      await done.getByRole('link', { name: 'Ver minhas consultas' }).waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'booking-phone-done');
      // The reception's grid shows it live.
      await reception.page.locator('.ag-appt', { hasText: 'Maria' }).filter({ hasText: visitorTime }).waitFor();
    });

    await check('receptionist confirms from the action menu; the status label changes', async () => {
      const { page } = reception;
      const block = page.locator(`.ag-appt[data-id="${apptId}"]`);
      await block.click();
      const dialog = page.getByRole('dialog', { name: /Consulta — João Pereira da Silva/ });
      await dialog.waitFor();
      await dialog.locator('.ag-status', { hasText: 'Agendada' }).waitFor();
      for (const label of ['Confirmar', 'Check-in', 'Faltou', 'Remarcar', 'Cancelar']) {
        await dialog.getByRole('button', { name: label, exact: true }).waitFor();
      }
      await shot(page, 'actions', { fullPage: false });
      await dialog.getByRole('button', { name: 'Confirmar', exact: true }).click();
      await dialog.locator('.ag-status', { hasText: 'Confirmada' }).waitFor();
      await dialog.getByText('Consulta confirmada.').waitFor();
      await shot(page, 'actions-confirmed', { fullPage: false });
      await dialog.getByRole('button', { name: 'Fechar' }).click();
      await page.locator(`.ag-appt[data-id="${apptId}"][data-status="confirmed"]`).locator('.ag-appt-status', { hasText: 'Confirmada' }).waitFor();
      await shot(page, 'day-confirmed');
    });

    await check('week view of Helena shows the appointment', async () => {
      const { page } = reception;
      await page.getByRole('button', { name: 'Semana', exact: true }).click();
      await page.getByLabel('Profissional').selectOption(helenaId);
      await page.locator(`.ag-grid-week .ag-col[data-date="${tomorrow}"] .ag-appt[data-id="${apptId}"]`).waitFor();
      assert(await page.locator('.ag-grid-week .ag-col').count() === 7, 'the week does not have 7 columns');
      await page.locator('.ag-grid-wrap:not([aria-busy])').waitFor();
      await shot(page, 'week');
    });

    await check('Helena\'s "Minha agenda" lists it with the clinic\'s name', async () => {
      const { page } = helenaPage;
      await loginUi(page, HELENA);
      await page.locator('[data-view="home-professional"]').waitFor();
      await page.getByRole('link', { name: 'Minha agenda' }).first().click();
      await page.locator('[data-view="my-agenda"][data-live="true"]').waitFor();
      const item = page.locator(`.ag-my-item[data-id="${apptId}"]`);
      await item.waitFor();
      await item.locator('.ag-clinic-badge', { hasText: 'Clínica Aurora' }).waitFor();
      await item.locator('.ag-status', { hasText: 'Confirmada' }).waitFor();
      await shot(page, 'my-agenda');
    });

    await check('João\'s "Minhas consultas" shows it confirmed, and follows a status change live', async () => {
      const { page } = joaoPage;
      await loginUi(page, JOAO);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.goto(`${BASE_URL}/#/minhas-consultas`);
      await page.locator('[data-view="my-appointments"][data-live="true"]').waitFor();
      const item = page.locator(`.ma-item[data-id="${apptId}"]`);
      await item.locator('.ag-status', { hasText: 'Confirmada' }).waitFor();
      await item.getByRole('button', { name: /^Remarcar/ }).waitFor();
      await item.getByRole('button', { name: /^Cancelar/ }).waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'my-appointments-phone');
      // The reception marks João absent (check-in is only for today's appointments, through
      // the waiting room): his page follows (appointment.updated on user:<id>).
      const reception2 = await loginApi(RECEPTIONIST);
      await apiCall('POST', `/api/clinics/${clinicId}/appointments/${apptId}/status`, reception2, { status: 'no_show' });
      await item.locator('.ag-status', { hasText: 'Faltou' }).waitFor();
      await page.locator(`.ma-item[data-id="${apptId}"]`).getByRole('button', { name: /^Remarcar/ }).waitFor({ state: 'detached' });
      // …and so does the receptionist's grid (the absent appointment is marked or removed).
      await reception.page.waitForFunction((id) => {
        const el = document.querySelector(`.ag-appt[data-id="${id}"]`);
        return !el || el.dataset.status === 'no_show';
      }, apptId);
    });

    await check('admin\'s "Horários e serviços" shows Helena\'s hours and the service', async () => {
      const { page } = adminPage;
      await loginUi(page, ADMIN);
      await page.locator('[data-view="home-admin"]').waitFor();
      await page.getByRole('link', { name: 'Horários e serviços' }).click();
      await page.locator('[data-view="agenda-settings"]').waitFor();
      await page.locator('.ag-settings-select').getByLabel('Profissional').selectOption(helenaId);
      const monday = page.locator('.ag-weekday[data-weekday="0"]');
      await monday.locator('.ag-h-start').first().waitFor();
      assert(await monday.locator('.ag-h-start').first().inputValue() === '08:00', 'Monday does not start at 08:00');
      assert(await page.getByLabel('Intervalo entre horários').inputValue() === '30', 'step is not 30');
      await page.locator('[data-settings="services"] td', { hasText: SERVICE }).first().waitFor();
      await shot(page, 'settings');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('agenda', run);
