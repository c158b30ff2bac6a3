// Headless-browser test of the one-click links, the waitlist and the iCal feed.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/links-waitlist.mjs
//
// On the demo data (Clínica Aurora, time zone America/Sao_Paulo):
// - setup over HTTP: Dra. Helena works every day 08:00–18:00 (no minimum notice, a slot
//   every 30 min) and offers "Consulta clínica (teste)"; leftovers of earlier runs are
//   cleared (waiting entries removed, open offers of João and Maria declined, Helena's,
//   João's and Maria's appointments of tomorrow cancelled);
// - the receptionist (desktop) opens the agenda's day view for tomorrow; João is booked at
//   10:00 over HTTP by the receptionist, whose answer carries the one-click links;
// - a fresh phone context (no login) opens the confirm link: the preview shows the clinic,
//   the professional, the service, 10:00 in the clinic's zone and "Agendada"; one click →
//   "Presença confirmada!", and the receptionist's grid shows "Confirmada" live; opening the
//   link again says it was already used; a tampered link says it is invalid; the cancel link
//   previews "Cancelar consulta";
// - Maria (context M) has "Minhas consultas" open; in a second tab she joins Helena's
//   waitlist for tomorrow morning on the public booking page; the receptionist cancels
//   João's appointment over HTTP; M shows the offer live (10:00, a running countdown,
//   Aceitar/Recusar), the receptionist's grid shows the held slot ("Reservada (lista de
//   espera)") and the "Lista de espera" drawer shows Maria's offer; Maria accepts → her
//   appointment is in "Próximas" as "Agendada" (and on the grid);
// - in the drawer the receptionist puts João on the waitlist (patient search) and removes him;
// - Helena's "Minha agenda": "Assinar no celular (iCal)" gives an absolute URL (and a
//   webcal:// link) that serves text/calendar; "Gerar novo endereço" replaces it (the old one
//   stops) and "Revogar" ends it;
// - no horizontal overflow on the phone pages; no console errors, page errors or CSP
//   violations anywhere.
// Screenshots go to tests/browser/screenshots/links-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
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

/** The instant of local `ymd` `hm` in the clinic's zone (São Paulo has no DST: −03:00). */
function clinicInstant(ymd, hm) {
  return new Date(`${ymd}T${hm}:00-03:00`).toISOString();
}

/** "12:34" → seconds. */
function seconds(text) {
  const m = /(\d+):(\d{2})(?::(\d{2}))?/.exec(text || '');
  if (!m) return Number.NaN;
  return m[3] !== undefined ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : Number(m[1]) * 60 + Number(m[2]);
}

const { shot } = screenshots('links');

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
  const reception = await loginApi(RECEPTIONIST);
  let serviceId = null;
  let joaoId = null;

  const ready = await check('setup: Helena\'s hours and service; no waitlist, offers or appointments left for tomorrow', async () => {
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
    // Earlier runs: nobody waiting (a freed slot would be offered to them), no open offers.
    let cleared = 0;
    for (const e of await apiCall('GET', `/api/clinics/${clinicId}/waitlist`, reception)) {
      if (e.status !== 'waiting') continue;
      await apiCall('POST', `/api/clinics/${clinicId}/waitlist/${e.id}/cancel`, reception);
      cleared += 1;
    }
    const patients = {};
    for (const email of [JOAO, MARIA]) {
      const token = await loginApi(email);
      patients[email] = token;
      for (const e of await apiCall('GET', '/api/me/waitlist', token)) {
        if (e.status !== 'offered' || !e.offer) continue;
        await apiCall('POST', `/api/me/waitlist/offers/${e.offer.id}/decline`, token);
        cleared += 1;
      }
    }
    // Then free Helena's, João's and Maria's tomorrow (holds end only by an answer or a lapse).
    const helenaToken = await loginApi(HELENA);
    for (const a of await apiCall('GET', `/api/me/agenda?from=${tomorrow}&to=${tomorrow}`, helenaToken)) {
      if (!['scheduled', 'confirmed', 'checked_in'].includes(a.status)) continue;
      await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, helenaToken, { reason: 'limpeza do teste' });
      cleared += 1;
    }
    for (const email of [JOAO, MARIA]) {
      for (const a of await apiCall('GET', '/api/me/appointments', patients[email])) {
        if (!['scheduled', 'confirmed'].includes(a.status) || localDate(new Date(a.starts_at)) !== tomorrow) continue;
        await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, patients[email], { reason: 'limpeza do teste' });
        cleared += 1;
      }
    }
    const left = (await apiCall('GET', `/api/clinics/${clinicId}/waitlist`, reception)).length;
    assert(left === 0, `${left} waitlist entries still in play (offers of other patients?)`);
    const res = await apiCall('GET', `/api/public/clinics/${clinicId}/slots?professional_user_id=${helenaId}&service_id=${serviceId}&from=${tomorrow}&to=${tomorrow}`);
    assert(res.time_zone === TZ, `clinic zone ${res.time_zone}`);
    assert(res.slots.some((s) => localTime(s.starts_at) === TIME), `no ${TIME} slot tomorrow (${res.slots.length} slots)`);
    const found = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=${encodeURIComponent('João Pereira')}`, reception);
    joaoId = found[0] && found[0].id;
    assert(joaoId, 'João is not a patient of the clinic');
    return `${tomorrow}, ${cleared} cleared, ${res.slots.length} slots`;
  });
  if (!ready) throw new Error('setup failed');

  const desk = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  const maria = await openPage(browser, PHONE);
  const helenaPage = await openPage(browser, DESKTOP);
  const pages = [['receptionist', desk], ['phone (link)', phone], ['Maria', maria], ['Dra. Helena', helenaPage]];
  const grid = () => desk.page;
  const block = (id) => desk.page.locator(`.ag-appt[data-id="${id}"]`);

  try {
    await check('receptionist opens the agenda day view for tomorrow (live)', async () => {
      const { page } = desk;
      await loginUi(page, RECEPTIONIST);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/agenda?data=${tomorrow}`);
      await page.locator('[data-view="agenda"][data-live="true"]').waitFor();
      await page.locator(`.ag-free[data-pro="${helenaId}"][data-time="${TIME}"]`).waitFor();
    });

    let appt = null;
    await check('João is booked at 10:00 by the receptionist (HTTP); the answer has the links', async () => {
      appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, reception, {
        professional_user_id: helenaId, patient_id: joaoId, service_id: serviceId, starts_at: clinicInstant(tomorrow, TIME),
      });
      assert(appt.status === 'scheduled', `status ${appt.status}`);
      assert(appt.links && /^\/#\/link\/confirm\/\S+$/.test(appt.links.confirm_path), `confirm_path ${JSON.stringify(appt.links)}`);
      assert(/^\/#\/link\/cancel\/\S+$/.test(appt.links.cancel_path), 'no cancel_path');
      await block(appt.id).locator('.ag-appt-status', { hasText: 'Agendada' }).waitFor();
      return appt.id;
    });
    if (!appt) throw new Error('no appointment');

    await check('the confirm link (phone, no login) previews the appointment in the clinic\'s time', async () => {
      const { page } = phone;
      await page.goto(`${BASE_URL}${appt.links.confirm_path}`);
      const view = page.locator('[data-view="link"][data-state="preview"]');
      await view.waitFor();
      await view.getByRole('heading', { level: 1, name: 'Confirmar presença' }).waitFor();
      await view.locator('.phone-clinic', { hasText: 'Clínica Aurora' }).waitFor();
      await view.locator('.ln-time', { hasText: TIME }).waitFor();
      await view.getByText('Helena Duarte').waitFor();
      await view.getByText(SERVICE).waitFor();
      await view.getByText('João S.').waitFor();
      await view.locator('.ln-appt-status', { hasText: 'Agendada' }).waitFor();
      assert(await page.locator('#header-user').isHidden(), 'the login header is shown');
      await noHorizontalOverflow(page);
      await shot(page, 'confirm-preview');
    });

    await check('one click confirms: "Presença confirmada!", and the desk shows "Confirmada" live', async () => {
      const { page } = phone;
      await page.getByRole('button', { name: 'Confirmar presença' }).click();
      const view = page.locator('[data-view="link"][data-state="done"]');
      await view.getByRole('heading', { name: 'Presença confirmada!' }).waitFor();
      await view.locator('.ln-appt-status', { hasText: 'Confirmada' }).waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'confirm-done');
      await grid().locator(`.ag-appt[data-id="${appt.id}"][data-status="confirmed"]`)
        .locator('.ag-appt-status', { hasText: 'Confirmada' }).waitFor();
      await shot(grid(), 'desk-confirmed');
    });

    await check('the same link again says it was already used', async () => {
      const { page } = phone;
      await page.goto('about:blank');
      await page.goto(`${BASE_URL}${appt.links.confirm_path}`);
      const view = page.locator('[data-view="link"][data-state="used"]');
      await view.getByRole('heading', { name: /já foi usado/ }).waitFor();
      assert(!(await view.getByRole('button', { name: 'Confirmar presença' }).count()), 'the button is still offered');
      await shot(page, 'confirm-used');
    });

    await check('a tampered link is invalid; the cancel link previews "Cancelar consulta"', async () => {
      const { page } = phone;
      // Another first character of the signature (after the dot).
      const tampered = appt.links.confirm_path.replace(/\.(.)/, (_, c) => `.${c === 'A' ? 'B' : 'A'}`);
      await page.goto(`${BASE_URL}${tampered}`);
      await page.locator('[data-view="link"][data-state="error"]').getByRole('heading', { name: 'Link inválido' }).waitFor();
      await shot(page, 'invalid');
      // The browser logs the expected 401 of that preview: keep it out of the error check.
      phone.errors.splice(0, phone.errors.length,
        ...phone.errors.filter((e) => !(/status of 401/.test(e) && /\/api\/public\/links\/preview/.test(e))));
      await page.goto(`${BASE_URL}${appt.links.cancel_path}`);
      const view = page.locator('[data-view="link"][data-state="preview"]');
      await view.getByRole('button', { name: 'Cancelar consulta' }).waitFor();
      await view.locator('.ln-appt-status', { hasText: 'Confirmada' }).waitFor();
      await shot(page, 'cancel-preview');
    });

    const mariaList = maria.page;
    await check('Maria\'s "Minhas consultas" (live) has a "Lista de espera" section', async () => {
      await loginUi(mariaList, MARIA);
      await mariaList.locator('[data-view="home-patient"]').waitFor();
      await mariaList.goto(`${BASE_URL}/#/minhas-consultas`);
      await mariaList.locator('[data-view="my-appointments"][data-live="true"]').waitFor();
      await mariaList.getByRole('heading', { name: 'Lista de espera' }).waitFor();
      await mariaList.locator('[data-waitlist="mine"] .empty, [data-waitlist="mine"] .wl-items').first().waitFor();
      assert(await mariaList.locator('[data-waitlist="offers"]').isHidden(), 'an offer is shown already');
    });

    await check('in another tab Maria joins Helena\'s waitlist for tomorrow morning on the booking page', async () => {
      const page = await maria.newPage();
      await page.goto(`${BASE_URL}/#/agendar/${clinicId}?profissional=${helenaId}&servico=${serviceId}&data=${tomorrow}`);
      await page.locator('[data-view="booking"][data-live="true"]').waitFor();
      await page.locator('.bk-slot').first().waitFor();
      const panel = page.locator('[data-waitlist="panel"]');
      await panel.getByRole('button', { name: 'Entrar na lista de espera' }).click();
      const form = panel.getByRole('form', { name: 'Entrar na lista de espera' });
      await form.getByLabel('A partir de').fill(tomorrow);
      await form.getByLabel('Até').fill(tomorrow);
      await form.getByText('Manhã', { exact: true }).click();
      assert(await form.getByRole('radio', { name: /Manhã/ }).isChecked(), 'Manhã is not chosen');
      await noHorizontalOverflow(page);
      await shot(page, 'waitlist-join-form');
      await form.getByRole('button', { name: 'Entrar na lista de espera' }).click();
      await panel.locator('.wl-joined', { hasText: 'Você está na lista de espera' }).waitFor();
      await panel.locator('.wl-joined', { hasText: 'Manhã' }).waitFor();
      await shot(page, 'waitlist-joined');
      await page.close();
      const mine = await apiCall('GET', '/api/me/waitlist', await loginApi(MARIA));
      const entry = mine.find((e) => e.status === 'waiting' && e.professional_user_id === helenaId);
      assert(entry, 'no waiting entry for Maria');
      assert(entry.date_from === tomorrow && entry.date_to === tomorrow, `window ${entry.date_from}..${entry.date_to}`);
      assert(entry.time_from === '07:00' && entry.time_to === '12:00', `period ${entry.time_from}–${entry.time_to}`);
      assert(entry.service_id === serviceId, 'service not sent');
    });

    let offerAppt = null;
    await check('the receptionist cancels João\'s 10:00: Maria\'s page shows the offer live, with a countdown', async () => {
      await apiCall('POST', `/api/clinics/${clinicId}/appointments/${appt.id}/cancel`, reception, { reason: 'paciente desistiu' });
      const offers = mariaList.locator('[data-waitlist="offers"]');
      await offers.getByRole('heading', { name: 'Um horário vagou para você!' }).waitFor();
      const offer = offers.locator('.wl-offer').first();
      await offer.locator('.wl-offer-when', { hasText: `às ${TIME}` }).waitFor();
      await offer.getByText('Helena Duarte').waitFor();
      offerAppt = await offer.getAttribute('data-appointment-id');
      const countdown = offer.locator('.wl-countdown');
      const first = seconds(await countdown.textContent());
      assert(first > 60, `countdown ${await countdown.textContent()}`);
      await mariaList.waitForTimeout(2100);
      const second = seconds(await countdown.textContent());
      assert(second < first, `the countdown does not run (${first} → ${second})`);
      await offer.getByRole('button', { name: /^Aceitar/ }).waitFor();
      await offer.getByRole('button', { name: 'Recusar' }).waitFor();
      await noHorizontalOverflow(mariaList);
      await shot(mariaList, 'offer-phone');
      return `${second}s left`;
    });

    await check('the desk shows the held slot and Maria\'s offer in the "Lista de espera" drawer', async () => {
      const page = grid();
      const held = page.locator(`.ag-appt[data-id="${offerAppt}"][data-status="held"]`);
      await held.locator('.ag-appt-status', { hasText: 'Reservada (lista de espera)' }).waitFor();
      await shot(page, 'desk-held');
      await held.click();
      const dialog = page.getByRole('dialog', { name: /Consulta — Maria/ });
      await dialog.locator('.ag-held-note').waitFor();
      assert(!(await dialog.getByRole('button', { name: 'Cancelar', exact: true }).count()), 'a held slot offers "Cancelar"');
      await dialog.getByRole('button', { name: 'Fechar' }).click();
      await page.getByRole('button', { name: /^Lista de espera/ }).click();
      const drawer = page.getByRole('dialog', { name: 'Lista de espera' });
      const item = drawer.locator('.wl-item', { hasText: 'Maria' });
      await item.locator('.wl-status', { hasText: 'Horário oferecido' }).waitFor();
      await item.locator('.wl-offer-line', { hasText: `às ${TIME}` }).waitFor();
      await item.locator('.wl-countdown', { hasText: /faltam \d+:\d{2}/ }).waitFor();
      await shot(page, 'desk-drawer', { fullPage: false });
    });

    await check('Maria accepts: her appointment is in "Próximas" as "Agendada" (and on the desk)', async () => {
      const offer = mariaList.locator('[data-waitlist="offers"] .wl-offer').first();
      await offer.getByRole('button', { name: /^Aceitar/ }).click();
      await mariaList.locator('.wl-accepted', { hasText: 'Horário reservado para você!' }).waitFor();
      const item = mariaList.locator(`.ma-item[data-id="${offerAppt}"]`);
      await item.locator('.ag-status', { hasText: 'Agendada' }).waitFor();
      await item.locator('.ma-when', { hasText: `às ${TIME}` }).waitFor();
      await mariaList.locator('[data-waitlist="offers"]').waitFor({ state: 'hidden' });
      await mariaList.locator('[data-waitlist="mine"] .wl-history summary').waitFor();
      await noHorizontalOverflow(mariaList);
      await shot(mariaList, 'accepted-phone');
      await grid().locator(`.ag-appt[data-id="${offerAppt}"][data-status="scheduled"]`).waitFor();
    });

    await check('the drawer puts João on the waitlist (patient search) and removes him', async () => {
      const page = grid();
      const drawer = page.getByRole('dialog', { name: 'Lista de espera' });
      await drawer.locator('.wl-item', { hasText: 'Maria' }).waitFor({ state: 'detached' });
      await drawer.getByText('Ninguém na lista de espera.').waitFor();
      await drawer.getByText('Adicionar paciente à lista').click();
      const form = drawer.getByRole('form', { name: 'Adicionar paciente à lista de espera' });
      await form.getByLabel('Paciente', { exact: true }).fill('João');
      await form.getByRole('button', { name: /João Pereira da Silva/ }).click();
      await form.locator('.ag-chosen-name', { hasText: 'João Pereira da Silva' }).waitFor();
      await form.getByLabel('Profissional').selectOption(helenaId);
      await form.getByLabel('A partir de').fill(addDays(tomorrow, 1));
      await form.getByLabel('Até').fill(addDays(tomorrow, 3));
      await form.getByLabel('Período preferido').selectOption('afternoon');
      await form.getByRole('button', { name: 'Adicionar à lista' }).click();
      const item = drawer.locator('.wl-item', { hasText: 'João Pereira da Silva' });
      await item.locator('.wl-status', { hasText: 'Aguardando vaga' }).waitFor();
      await item.locator('.wl-window', { hasText: 'Tarde' }).waitFor();
      await page.getByRole('button', { name: /Lista de espera\s*:\s*1 paciente/ }).waitFor({ state: 'attached' });
      await shot(page, 'desk-drawer-added', { fullPage: false });
      await item.getByRole('button', { name: /^Remover/ }).click();
      await item.getByRole('button', { name: 'Sim, remover' }).click();
      await item.waitFor({ state: 'detached' });
      await drawer.getByText('Ninguém na lista de espera.').waitFor();
      await drawer.getByRole('button', { name: 'Fechar' }).click();
    });

    await check('Helena\'s "Minha agenda": the iCal address serves text/calendar; renew and revoke work', async () => {
      const { page } = helenaPage;
      await loginUi(page, HELENA);
      await page.locator('[data-view="home-professional"]').waitFor();
      await page.goto(`${BASE_URL}/#/minha-agenda`);
      await page.locator('[data-view="my-agenda"][data-live="true"]').waitFor();
      const panel = page.locator('[data-ical="panel"]');
      await panel.getByRole('button', { name: 'Assinar no celular (iCal)' }).click();
      const field = panel.getByLabel('Endereço do calendário (secreto)');
      await field.waitFor();
      const url = await field.inputValue();
      assert(url.startsWith(`${BASE_URL}/ical/`) && url.endsWith('.ics'), `address ${url}`);
      const webcal = await panel.getByRole('link', { name: 'Abrir no calendário do celular' }).getAttribute('href');
      assert(webcal === url.replace(/^https?:/, 'webcal:'), `webcal link ${webcal}`);
      const res = await fetch(url);
      const body = await res.text();
      assert(res.ok, `GET ${url} → ${res.status}`);
      assert((res.headers.get('content-type') || '').startsWith('text/calendar'), `content-type ${res.headers.get('content-type')}`);
      assert(body.startsWith('BEGIN:VCALENDAR'), 'not an iCalendar body');
      await shot(page, 'ical');
      await panel.getByRole('button', { name: 'Gerar novo endereço' }).click();
      await panel.getByText('O endereço anterior parou de funcionar').waitFor();
      const renewed = await field.inputValue();
      assert(renewed !== url, 'the address did not change');
      assert((await fetch(url)).status === 404, 'the old address still works');
      assert((await fetch(renewed)).ok, 'the new address does not work');
      await panel.getByRole('button', { name: 'Revogar' }).click();
      await panel.getByRole('button', { name: 'Sim, revogar' }).click();
      await panel.getByText('Endereço revogado').waitFor();
      await panel.getByRole('button', { name: 'Assinar no celular (iCal)' }).waitFor();
      assert((await fetch(renewed)).status === 404, 'the revoked address still works');
      await shot(page, 'ical-revoked');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('links/waitlist/iCal', run);
