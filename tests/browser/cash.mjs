// The front desk's cash register, through the real UI (issue #21):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/cash.mjs
//
// On the demo's Clínica Aurora as its receptionist (recepcao@aurora.demo), desktop:
// - setup over HTTP: a new patient of the test's own, booked with Dr. Rafael on a free time a
//   few days ahead; a cash session left open by an earlier run is closed;
// - the agenda's appointment dialog offers "Receber no caixa", which opens the register with
//   that appointment to charge; the register is closed, so it is opened with R$ 100,00;
// - a card payment without its NSU is refused with the reason beside the field; with the NSU
//   it is recorded, the card row of the totals shows R$ 150,00;
// - back on the agenda the appointment's block says "Pago" (pushed live as it was recorded);
// - a cash payment of R$ 50,00 without an appointment, then closing with R$ 140,00 counted:
//   the report shows R$ 150,00 expected and "Falta de R$ 10,00";
// - no "null"/"undefined" on the screens; axe-core on every screenshot.
// Nothing depends on the hour or the day: the day is found among the next free ones.

import {
  BASE_URL,
  PASSWORD,
  addDays,
  apiCall,
  assert,
  check,
  localDate,
  loginApi,
  loginUi,
  main,
  openPage,
  randomCpf,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const RECEPTIONIST = 'recepcao@aurora.demo';
const { shot } = screenshots('cash');

async function noMissingText(page, where) {
  const body = await page.locator('body').innerText();
  const bad = body.match(/.{0,40}\b(null|undefined|NaN)\b.{0,40}/);
  assert(!bad, `${where}: "${bad && bad[0]}"`);
}

async function run(browser) {
  const token = await loginApi(RECEPTIONIST, PASSWORD);
  const me = await apiCall('GET', '/api/me', token);
  const clinicId = me.memberships.find((m) => m.role === 'receptionist' && m.clinic_name === 'Clínica Aurora').clinic_id;
  let appt = null;
  let day = null;

  const ready = await check('setup: a patient of the test booked on a free time; no register left open', async () => {
    const open = await apiCall('GET', `/api/clinics/${clinicId}/cash`, token);
    if (open) await apiCall('POST', `/api/clinics/${clinicId}/cash/close`, token, { counted_cents: open.expected_cash_cents, note: 'fechado pelo teste' });
    const info = await apiCall('GET', `/api/public/clinics/${clinicId}/booking`);
    const pro = info.professionals.find((p) => p.name.startsWith('Rafael')) || info.professionals[0];
    const pick = (list) => list[Math.floor(Math.random() * list.length)];
    const patient = await apiCall('POST', `/api/clinics/${clinicId}/patients`, token, {
      full_name: `${pick(['Ana', 'Bruno', 'Carla', 'Diego', 'Elisa'])} ${pick(['Lima', 'Souza', 'Reis', 'Prado'])} Caixa`,
      cpf: randomCpf(), birth_date: '1980-05-17',
    });
    const today = localDate(new Date());
    for (let n = 3; n < 20 && !appt; n += 1) {
      const date = addDays(today, n);
      const res = await apiCall('GET', `/api/public/clinics/${clinicId}/slots?professional_user_id=${pro.user_id}&from=${date}&to=${date}`);
      if (!res.slots.length) continue;
      appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, token, {
        professional_user_id: pro.user_id, patient_id: patient.id, starts_at: res.slots[0].starts_at,
      });
      day = date;
    }
    assert(appt, `no free time for ${pro.name} in the next weeks`);
    return `${appt.patient_name} on ${day}`;
  });
  if (!ready) throw new Error('setup failed');

  const { page } = await openPage(browser, DESKTOP);
  await loginUi(page, RECEPTIONIST);
  await page.locator('[data-view="home-receptionist"]').waitFor();
  // The desk's home links to the register.
  await page.locator('[data-agenda="links"]').getByRole('link', { name: 'Caixa' }).waitFor();

  await check('the appointment dialog opens the register with the appointment to charge', async () => {
    await page.goto(`${BASE_URL}/#/clinica/${clinicId}/agenda?data=${day}`);
    const block = page.locator(`.ag-appt[data-id="${appt.id}"]`);
    await block.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('link', { name: 'Receber no caixa' }).click();
    await page.locator('[data-view="cash"]').waitFor();
    await page.getByRole('heading', { name: 'Caixa fechado' }).waitFor();
    await page.getByLabel('Troco na gaveta (R$)').fill('100,00');
    await shot(page, '01-closed');
    await page.getByRole('button', { name: 'Abrir caixa' }).click();
    await page.getByRole('heading', { name: 'Caixa aberto' }).waitFor();
    const note = page.locator('[data-cash="for-appointment"]');
    await note.waitFor();
    assert((await note.innerText()).includes(appt.patient_name), `the note does not name the patient: ${await note.innerText()}`);
    return await note.innerText();
  });

  await check('a card payment needs its NSU, then is recorded in the card total', async () => {
    await page.getByLabel('Forma').selectOption('card');
    await page.getByLabel('Valor (R$)').fill('150,00');
    await page.getByRole('button', { name: 'Registrar', exact: true }).click();
    await page.locator('.field-error', { hasText: 'NSU' }).waitFor();
    await shot(page, '02-nsu-required');
    await page.getByLabel('NSU do comprovante').fill('004512');
    await page.getByRole('button', { name: 'Registrar', exact: true }).click();
    const card = page.locator('[data-cash="totals"] tr[data-method="card"] td[data-label="Líquido"]');
    await card.filter({ hasText: '150,00' }).waitFor();
    await page.locator('[data-cash="movements"] tr', { hasText: '004512' }).waitFor();
    assert(await page.locator('[data-cash="for-appointment"]').count() === 0, 'the appointment note stays after paying');
    await noMissingText(page, 'caixa');
    await shot(page, '03-card-recorded');
  });

  await check('the agenda shows the appointment "Pago"', async () => {
    await page.goto(`${BASE_URL}/#/clinica/${clinicId}/agenda?data=${day}`);
    await page.locator(`.ag-appt[data-id="${appt.id}"] .ag-paid-badge`, { hasText: 'Pago' }).waitFor();
    await page.locator(`.ag-appt[data-id="${appt.id}"]`).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('.ag-status').waitFor();
    assert(await dialog.getByRole('link', { name: 'Receber no caixa' }).count() === 0, 'a paid appointment still offers "Receber no caixa"');
    await page.keyboard.press('Escape');
  });

  await check('closing with R$ 10,00 missing shows it in the report', async () => {
    await page.goto(`${BASE_URL}/#/clinica/${clinicId}/caixa`);
    await page.getByRole('heading', { name: 'Caixa aberto' }).waitFor();
    await page.getByLabel('Forma').selectOption('cash');
    await page.getByLabel('Valor (R$)').fill('50');
    await page.getByLabel('Descrição').fill('Cópia de exame');
    await page.getByRole('button', { name: 'Registrar', exact: true }).click();
    await page.locator('[data-cash="expected"]', { hasText: '150,00' }).waitFor();
    await page.getByLabel('Dinheiro contado na gaveta (R$)').fill('140,00');
    await page.getByRole('button', { name: 'Fechar caixa' }).click();
    const report = page.locator('[data-cash="report"]');
    await report.waitFor();
    const words = await report.innerText();
    assert(words.includes('Falta de R$') && words.includes('10,00'), `the report does not show the shortage: ${words}`);
    assert(/Dinheiro esperado\s*R\$\s*150,00/.test(words), `expected cash: ${words}`);
    await noMissingText(page, 'fechamento');
    await shot(page, '04-closed-report');
    return words.split('\n').find((l) => l.includes('Falta')) || '';
  });

  await check('the admin reads the revenue report and downloads its CSV for Excel', async () => {
    const admin = (await openPage(browser, DESKTOP)).page;
    await loginUi(admin, 'admin@aurora.demo');
    await admin.locator('[data-view="home-admin"]').waitFor();
    await admin.locator('[data-agenda="links"]').getByRole('link', { name: 'Relatórios' }).click();
    await admin.locator('[data-view="reports"]').waitFor();
    // Today's desk payments are in this month's report (the payments were just made).
    const card = admin.locator('[data-report="method"] tr[data-key="card"]');
    await card.waitFor();
    await noMissingText(admin, 'relatórios');
    await shot(admin, '05-report');
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('button', { name: 'Baixar CSV' }).click(),
    ]);
    const path = await download.path();
    const bytes = await import('node:fs/promises').then((fs) => fs.readFile(path));
    assert(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, 'the CSV has no BOM');
    const text = bytes.subarray(3).toString('utf8');
    assert(text.startsWith('Data;Hora;Lançamento;Forma;Valor (R$);'), `header: ${text.slice(0, 80)}`);
    assert(text.includes(';Cartão;150,00;'), 'the card payment is not in the CSV');
    return `${download.suggestedFilename()}, ${text.split('\r\n').length - 2} rows`;
  });
}

main('cash register', run);
