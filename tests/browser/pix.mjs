// Headless-browser test of paying an appointment by Pix (the patient's side).
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/pix.mjs
//
// On the demo data (Clínica Aurora receives Pix with a demo key; no PSP is configured, so
// the code is a static BR Code with the amount and a txid):
// - setup over HTTP: Dra. Helena works every day 08:00–18:00 and offers "Consulta Pix
//   (teste)" at R$ 123,45; João's and Helena's appointments of tomorrow are cancelled; the
//   receptionist books João tomorrow at 16:00 for that service;
// - João (phone) opens "Minhas consultas": the appointment shows "Valor: R$ 123,45" and
//   "A pagar"; "Pagar com Pix" shows a QR code and the "Pix copia e cola" code, which is a
//   BR Code (GUI br.gov.bcb.pix, amount 123.45, the clinic's name and city, a txid, a valid
//   CRC16-CCITT); the appointment now reads "Aguardando o Pix"; after a reload the same
//   code is shown (one open charge);
// - no horizontal overflow; no console errors, page errors or CSP violations.
// Screenshots go to tests/browser/screenshots/pix-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).

import {
  BASE_URL, PHONE, addDays, apiCall, assert, check, main, localDate, localTime, loginApi, loginUi,
  noHorizontalOverflow, openPage, screenshots,
} from './lib.mjs';

const ADMIN = 'admin@aurora.demo';
const RECEPTIONIST = 'recepcao@aurora.demo';
const HELENA = 'dra.helena@atende.demo';
const JOAO = 'joao@paciente.demo';
const SERVICE = 'Consulta Pix (teste)';
const TIME = '16:00';

const { shot } = screenshots('pix');

/** Top-level TLV fields of a BR Code, after checking its CRC16-CCITT-FALSE. */
function readBrCode(code) {
  const body = code.slice(0, -4);
  let crc = 0xffff;
  for (const ch of body) {
    crc ^= ch.charCodeAt(0) << 8;
    for (let i = 0; i < 8; i += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  assert(crc.toString(16).toUpperCase().padStart(4, '0') === code.slice(-4), `bad CRC in ${code}`);
  const fields = new Map();
  for (let rest = code; rest.length;) {
    const len = Number(rest.slice(2, 4));
    fields.set(rest.slice(0, 2), rest.slice(4, 4 + len));
    rest = rest.slice(4 + len);
  }
  return fields;
}

async function run(browser) {
  const admin = await loginApi(ADMIN);
  const adminMe = await apiCall('GET', '/api/me', admin);
  const clinicId = adminMe.memberships.find((m) => m.role === 'clinic_admin' && m.clinic_name === 'Clínica Aurora').clinic_id;
  const info = await apiCall('GET', `/api/public/clinics/${clinicId}/booking`);
  const helenaId = info.professionals.find((p) => p.name === 'Helena Duarte').user_id;
  const tomorrow = addDays(localDate(new Date()), 1);
  const reception = await loginApi(RECEPTIONIST);
  let appt = null;

  const ready = await check('setup: Helena\'s hours, a priced service, João booked tomorrow at 16:00', async () => {
    const hours = [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({ weekday, start: '08:00', end: '18:00' }));
    await apiCall('PUT', `/api/clinics/${clinicId}/professionals/${helenaId}/schedule`, admin, {
      hours, rules: { min_notice_minutes: 0, booking_window_days: 60, daily_limit: null, slot_step_minutes: 30 },
    });
    const services = await apiCall('GET', `/api/clinics/${clinicId}/services`, admin);
    const existing = services.find((s) => s.name === SERVICE && s.active);
    const serviceId = existing ? existing.id : (await apiCall('POST', `/api/clinics/${clinicId}/services`, admin, {
      name: SERVICE, duration_minutes: 30, price_cents: 12345, professional_user_id: helenaId,
    })).id;
    const joao = await loginApi(JOAO);
    const helena = await loginApi(HELENA);
    for (const a of await apiCall('GET', `/api/me/agenda?from=${tomorrow}&to=${tomorrow}`, helena)) {
      if (['scheduled', 'confirmed', 'checked_in'].includes(a.status) && localTime(a.starts_at) === TIME) {
        await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, helena, { reason: 'limpeza do teste' });
      }
    }
    for (const a of await apiCall('GET', '/api/me/appointments', joao)) {
      if (['scheduled', 'confirmed'].includes(a.status) && localDate(new Date(a.starts_at)) === tomorrow) {
        await apiCall('POST', `/api/clinics/${a.clinic_id}/appointments/${a.id}/cancel`, joao, { reason: 'limpeza do teste' });
      }
    }
    const found = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=${encodeURIComponent('João Pereira')}`, reception);
    appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, reception, {
      professional_user_id: helenaId, patient_id: found[0].id, service_id: serviceId,
      starts_at: new Date(`${tomorrow}T${TIME}:00-03:00`).toISOString(),
    });
    return appt.id;
  });
  if (!ready) throw new Error('setup failed');

  const phone = await openPage(browser, PHONE);
  try {
    const card = () => phone.page.locator(`.ma-item[data-id="${appt.id}"]`);
    let code = '';
    await check('João sees the price and "Pagar com Pix" in "Minhas consultas"', async () => {
      const { page } = phone;
      await loginUi(page, JOAO);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.goto(`${BASE_URL}/#/minhas-consultas`);
      await card().locator('.pay-line', { hasText: 'R$ 123,45' }).waitFor();
      await card().locator('.pay-badge', { hasText: 'A pagar' }).waitFor();
      await card().locator('[data-action="pay-pix"]').waitFor();
    });
    await check('"Pagar com Pix" shows the QR code and a valid BR Code for R$ 123,45', async () => {
      const { page } = phone;
      await card().locator('[data-action="pay-pix"]').click();
      await card().locator('.pay-badge', { hasText: 'Aguardando o Pix' }).waitFor();
      await card().locator('img.pay-qr').waitFor();
      code = await card().locator('input[name="pix"]').inputValue();
      const f = readBrCode(code);
      assert(f.get('00') === '01', 'payload format');
      const account = f.get('26');
      assert(account.startsWith('0014br.gov.bcb.pix'), `field 26 ${account}`);
      assert(f.get('54') === '123.45', `amount ${f.get('54')}`);
      assert(f.get('59') === 'Clinica Aurora', `name ${f.get('59')}`);
      assert(f.get('60') === 'Sao Paulo', `city ${f.get('60')}`);
      assert(/^05\d\d[A-Za-z0-9]+$/.test(f.get('62')), `txid ${f.get('62')}`);
      await noHorizontalOverflow(page);
      await shot(page, 'patient-code');
      return code.slice(0, 40) + '…';
    });
    await check('after a reload the same open charge is shown', async () => {
      const { page } = phone;
      await page.reload();
      await card().locator('.pay-badge', { hasText: 'Aguardando o Pix' }).waitFor();
      const again = await card().locator('input[name="pix"]').inputValue();
      assert(again === code, 'a second charge was opened');
    });
    await check('no console errors, page errors or CSP violations', async () => {
      assert(!phone.errors.length, phone.errors.join(' | '));
    });
  } finally {
    await phone.context.close().catch(() => {});
  }
}

main('pix', run);
