// A professional's day across two clinics, through the real UI (issue #22):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/journey-professional.mjs
//
// Dra. Helena (dra.helena@atende.demo) works in Clínica Aurora (São Paulo) and Clínica Boa
// Vista (Recife). Setup over HTTP: each clinic's reception registers a new patient and fits
// them in with Helena today, at a time free in both clinics (the demo's own appointments
// are left alone). Then, desktop:
// - "Meu dia" lists both patients, each with its clinic's name and time, status "Agendada";
// - "Iniciar consulta" on the Aurora patient opens their record on the encounter (draft),
//   which saves what she types;
// - back on "Meu dia", the patient is "Em atendimento" (on top) and "Finalizar consulta"
//   makes the consultation "Realizada";
// - the Boa Vista teleconsultation offers "Abrir teleconsulta"; "Mensagem" opens the chat
//   with that patient;
// - nowhere "null"/"undefined", nowhere "Dr. Helena"; axe on every screenshot; no console
//   errors.
// Nothing depends on the hour or day: the patients and their times are made here.
// Screenshots go to tests/browser/screenshots/journey-professional-*.png.

import {
  BASE_URL,
  addDays,
  apiCall,
  assert,
  check,
  localDate,
  loginApi,
  loginUi,
  main,
  noMissingText,
  openPage,
  randomCpf,
  screenshots,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const HELENA = 'dra.helena@atende.demo';
/** Words that must never show here. */
const FORBIDDEN = [/\bDr\. Helena/];
const { shot } = screenshots('journey-professional');

/** The instant of local time `hm` on `ymd` in São Paulo and Recife (both UTC−3, no DST). */
function at(ymd, hm) {
  return new Date(`${ymd}T${hm}:00-03:00`).toISOString();
}

/** A patient registered at `clinicId` by its reception. */
async function newPatient(token, clinicId, fullName) {
  return apiCall('POST', `/api/clinics/${clinicId}/patients`, token, {
    full_name: fullName, cpf: randomCpf(), birth_date: '1980-04-12', phone: '(81) 99876-5432',
  });
}

async function run(browser) {
  const helenaToken = await loginApi(HELENA);
  const helena = await apiCall('GET', '/api/me', helenaToken);
  const aurora = helena.memberships.find((m) => m.role === 'professional' && m.clinic_name === 'Clínica Aurora');
  const boavista = helena.memberships.find((m) => m.role === 'professional' && m.clinic_name === 'Clínica Boa Vista');
  assert(aurora && boavista, 'Helena works in both demo clinics');
  const today = localDate(new Date());
  const setup = {};

  const ready = await check('setup: a new patient in each clinic, booked with Helena today at a free time', async () => {
    const day = await apiCall('GET', `/api/me/day?date=${today}`, helenaToken);
    const busy = day.appointments
      .filter((a) => a.status !== 'cancelled' && a.status !== 'no_show')
      .map((a) => [Date.parse(a.starts_at), Date.parse(a.ends_at)]);
    const free = [];
    for (let m = 6 * 60; m < 22 * 60 && free.length < 2; m += 30) {
      const hm = `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
      const start = Date.parse(at(today, hm));
      if (!busy.some(([s, e]) => start < e && start + 30 * 60_000 > s)) free.push(at(today, hm));
    }
    assert(free.length === 2, `Helena has no free half hour left today (${day.appointments.length} appointments)`);
    const auroraDesk = await loginApi('recepcao@aurora.demo');
    const boavistaDesk = await loginApi('recepcao@boavista.demo');
    const otavio = await newPatient(auroraDesk, aurora.clinic_id, 'Otávio Prado');
    const lara = await newPatient(boavistaDesk, boavista.clinic_id, 'Lara Teles');
    setup.aurora = await apiCall('POST', `/api/clinics/${aurora.clinic_id}/appointments`, auroraDesk, {
      professional_user_id: helena.id, patient_id: otavio.id, starts_at: free[0], fit_in: true,
    });
    setup.boavista = await apiCall('POST', `/api/clinics/${boavista.clinic_id}/appointments`, boavistaDesk, {
      professional_user_id: helena.id, patient_id: lara.id, starts_at: free[1], fit_in: true, kind: 'teleconsultation',
    });
    return `${today}: ${free.map((f) => f.slice(11, 16)).join(', ')} UTC`;
  });
  if (!ready) throw new Error('setup failed');

  const desk = await openPage(browser, DESKTOP);
  const { page } = desk;
  const row = (a) => page.locator(`.day-item[data-id="${a.id}"]`);
  try {
    const opened = await check('"Meu dia" shows both clinics\' patients, with clinic, time and status', async () => {
      await loginUi(page, HELENA);
      await page.locator('#header-nav').getByRole('link', { name: 'Meu dia' }).click();
      await page.locator('[data-view="my-day"][data-live="true"]').waitFor();
      for (const [a, clinic, name] of [[setup.aurora, 'Clínica Aurora', 'Otávio Prado'], [setup.boavista, 'Clínica Boa Vista', 'Lara Teles']]) {
        const r = row(a);
        await r.waitFor();
        const said = await text(r);
        assert(said.includes(name) && said.includes(clinic), `row: "${said}"`);
        assert(said.includes('Agendada'), `status of ${name}: "${said}"`);
      }
      const summary = await text(page.locator('[data-day="summary"]'));
      assert(/consultas?:/.test(summary) && summary.includes('Clínica Aurora') && summary.includes('Clínica Boa Vista'), `summary: "${summary}"`);
      await noMissingText(page, 'Meu dia', FORBIDDEN);
      await shot(page, '01-my-day');
    });
    if (!opened) throw new Error('"Meu dia" did not open');

    await check('"Iniciar consulta" opens the record on the encounter, which saves itself', async () => {
      await row(setup.aurora).getByRole('button', { name: /^Iniciar consulta — Otávio Prado/ }).click();
      await page.locator('[data-view="patient-detail"]').waitFor();
      await page.getByText('Rascunho carregado.').waitFor();
      await page.getByLabel('Queixa principal').fill('Cefaleia há dois dias, sem febre.');
      await page.getByText(/Rascunho salvo às/).waitFor({ timeout: 10_000 });
      await noMissingText(page, 'record', FORBIDDEN);
      await shot(page, '02-encounter');
    });

    await check('back on "Meu dia" the patient is being seen; "Finalizar consulta" makes it "Realizada"', async () => {
      await page.locator('#header-nav').getByRole('link', { name: 'Meu dia' }).click();
      const current = page.locator('[data-day="current"]', { hasText: 'Otávio Prado' });
      await current.waitFor();
      await row(setup.aurora).locator('.ag-status', { hasText: 'Em atendimento' }).waitFor();
      await shot(page, '03-in-progress');
      await current.getByRole('button', { name: /^Finalizar consulta/ }).click();
      await page.locator('[data-day="status"]', { hasText: 'Consulta de Otávio Prado finalizada.' }).waitFor();
      await row(setup.aurora).locator('.ag-status', { hasText: 'Realizada' }).waitFor();
      await current.waitFor({ state: 'detached' });
      const a = (await apiCall('GET', `/api/me/day?date=${today}`, helenaToken)).appointments.find((x) => x.id === setup.aurora.id);
      assert(a.status === 'done', `stored status ${a.status}`);
      await noMissingText(page, 'after finishing', FORBIDDEN);
      await shot(page, '04-done');
    });

    await check('the Boa Vista teleconsultation offers the video call, and "Mensagem" opens the chat', async () => {
      const r = row(setup.boavista);
      const video = r.getByRole('link', { name: /^Abrir teleconsulta — Lara Teles/ });
      assert((await video.getAttribute('href')) === `#/teleconsulta/${setup.boavista.id}`, 'video link');
      await r.getByRole('button', { name: /^Mensagem — Lara Teles/ }).click();
      await page.waitForURL(/#\/mensagens\/.+/);
      await page.locator('[data-view="chat"]').waitFor();
      await page.getByRole('heading', { name: /Lara Teles/ }).first().waitFor();
      await noMissingText(page, 'chat', FORBIDDEN);
      await shot(page, '05-chat');
    });

    await check('the day before and after are reachable and read right', async () => {
      await page.goto(`${BASE_URL}/#/meu-dia?data=${addDays(today, 1)}`);
      await page.locator('[data-view="my-day"]').waitFor();
      await page.locator('[data-day="summary"]').filter({ hasText: /consulta/ }).waitFor();
      await noMissingText(page, 'tomorrow', FORBIDDEN);
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!desk.errors.length, desk.errors.join(' | '));
    });
  } finally {
    await desk.context.close().catch(() => {});
  }
}

main('journey-professional', run);
