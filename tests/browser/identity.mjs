// Headless-browser test of identity by proof (#16): the clinic's code links an account to
// the clinic's record, and nothing else does.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/identity.mjs
//
// On the demo data (Clínica Aurora), with a fresh CPF each run:
// - setup over HTTP: the receptionist registers a patient; the same person signs up (their
//   account is not linked to the clinic's record: the CPF alone proves nothing);
// - the receptionist (desktop) opens the patient's page, "Acesso do paciente" →
//   "Gerar código de acesso" shows a one-time code;
// - the patient (phone) logs in, types the code (lower case, without hyphens) under
//   "Vincular à clínica" → "Pronto…", and the clinic appears in the list;
// - the receptionist's panel now shows the account as "Vinculado"; over HTTP the patient's
//   `/api/me/links` holds the clinic's record; the same code again is refused;
// - a second person with a suggestion (they signed up and joined the waitlist): the
//   receptionist clicks "Confirmar identidade", accepts the dialog, sees "Identidade
//   confirmada…" and "Vinculado"; the account then has one record at the clinic, the
//   clinic's, and its waitlist entry moved with it;
// - a third person whose record has an e-mail on file: the receptionist clicks "Enviar link
//   por e-mail"; a fresh browser opens the e-mailed `#/vincular/<token>`, is asked to log in,
//   logs in and reads "Pronto: seu cadastro na Clínica Aurora está vinculado";
// - no horizontal overflow on the phone page; no console errors, page errors or CSP
//   violations anywhere.
// Screenshots go to tests/browser/screenshots/identity-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
  HttpError,
  PHONE,
  apiCall,
  assert,
  check,
  main,
  loginApi,
  loginUi,
  noHorizontalOverflow,
  openPage,
  randomCpf,
  screenshots,
  mailedLink,
  signUpApi,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const RECEPTIONIST = 'recepcao@aurora.demo';
const PATIENT_PASSWORD = 'uma senha boa';

async function run(browser) {
  const { shot } = screenshots('identity');
  const recToken = await loginApi(RECEPTIONIST);
  const recMe = await apiCall('GET', '/api/me', recToken);
  const membership = recMe.memberships.find((m) => m.role === 'receptionist' && /Aurora/.test(m.clinic_name));
  assert(membership, 'recepcao@aurora.demo has no receptionist membership at Aurora');
  const clinicId = membership.clinic_id;
  const cpf = randomCpf();
  const birth = '1984-04-04';
  const email = `vinculo-${Date.now()}@exemplo.com.br`;

  const record = await apiCall('POST', `/api/clinics/${clinicId}/patients`, recToken, {
    full_name: 'Heloísa Prado Nunes', cpf, birth_date: birth,
  });
  const signup = await signUpApi({
    email, password: PATIENT_PASSWORD, full_name: 'Heloísa Prado Nunes', cpf, birth_date: birth,
    accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
  });
  assert(signup.user.linked_records.length === 0, 'a CPF alone linked the account');

  const desk = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  const pages = [['receptionist', desk], ['patient', phone]];
  let code = '';
  try {
    await check('the receptionist generates an access code on the patient page', async () => {
      const { page } = desk;
      await loginUi(page, RECEPTIONIST);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${record.id}`);
      await page.locator('[data-view="patient-detail"]').waitFor();
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Acesso do paciente' }) });
      await panel.getByText('Nenhuma conta vinculada a este cadastro.').waitFor();
      await panel.getByRole('button', { name: 'Gerar código de acesso' }).click();
      code = (await panel.locator('.access-code').textContent() || '').trim();
      assert(/^[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(code), `code "${code}"`);
      await panel.getByText('Código aguardando uso').waitFor();
      await shot(page, 'code');
    });

    await check('the patient types the code under "Vincular à clínica" and is linked', async () => {
      const { page } = phone;
      await loginUi(page, email, PATIENT_PASSWORD);
      await page.locator('[data-view="home-patient"]').waitFor();
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Vincular à clínica' }) });
      await panel.getByText('Nenhuma clínica vinculada ainda.').waitFor();
      await panel.getByLabel('Código de acesso').fill(code.replaceAll('-', '').toLowerCase());
      await panel.getByRole('button', { name: 'Vincular' }).click();
      await panel.getByText(/Pronto: seu cadastro na Clínica Aurora está vinculado/).waitFor();
      await panel.locator('li', { hasText: 'Clínica Aurora' }).waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'linked');
    });

    await check('the clinic sees the link; the account holds the record; the code is spent', async () => {
      const { page } = desk;
      await page.reload();
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Acesso do paciente' }) });
      await panel.getByText(new RegExp(`Vinculado — .*${email.replace(/[.]/g, '\\.')}`)).waitFor();
      const token = await loginApi(email, PATIENT_PASSWORD);
      const links = await apiCall('GET', '/api/me/links', token);
      assert(links.some((l) => l.patient_id === record.id && l.clinic_id === clinicId), JSON.stringify(links));
      let refused = null;
      try {
        await apiCall('POST', '/api/me/links/redeem', token, { code });
      } catch (err) {
        refused = err;
      }
      assert(refused instanceof HttpError && refused.code === 'invalid_link_code', `spent code: ${refused}`);
    });

    await check('the receptionist confirms a suggested identity and the two records become one', async () => {
      // A second person: the clinic knows them; they sign up and join the waitlist, which
      // makes a record of their own at the clinic and a suggestion on the clinic's record.
      const cpf2 = randomCpf();
      const email2 = `confirma-${Date.now()}@exemplo.com.br`;
      const known = await apiCall('POST', `/api/clinics/${clinicId}/patients`, recToken, {
        full_name: 'Otávio Reis Lacerda', cpf: cpf2, birth_date: birth,
      });
      await signUpApi({
        email: email2, password: PATIENT_PASSWORD, full_name: 'Otávio Reis Lacerda', cpf: cpf2,
        birth_date: birth, accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
      });
      const token = await loginApi(email2, PATIENT_PASSWORD);
      const info = await apiCall('GET', `/api/public/clinics/${clinicId}/booking`);
      const helena = info.professionals.find((p) => p.name === 'Helena Duarte');
      const day = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
      await apiCall('POST', `/api/clinics/${clinicId}/waitlist`, token, {
        professional_user_id: helena.user_id, date_from: day(5), date_to: day(10),
      });
      const own = (await apiCall('GET', '/api/me/links', token)).find((l) => l.clinic_id === clinicId);
      assert(own && own.patient_id !== known.id, `the waitlist made the patient's own record: ${JSON.stringify(own)}`);

      const { page } = desk;
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${known.id}`);
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Acesso do paciente' }) });
      const row = panel.locator('li', { hasText: 'Sugestão (mesmo CPF; não dá acesso)' });
      await row.getByText(email2).waitFor();
      page.once('dialog', (d) => d.accept());
      await row.getByRole('button', { name: 'Confirmar identidade' }).click();
      await panel.getByText(/Identidade confirmada: a conta foi vinculada e o cadastro criado pelo paciente foi unido a este/).waitFor();
      await panel.getByText(new RegExp(`Vinculado — .*${email2.replace(/[.]/g, '\\.')}`)).waitFor();
      await shot(page, 'confirmed');
      const links = await apiCall('GET', '/api/me/links', token);
      const here = links.filter((l) => l.clinic_id === clinicId).map((l) => l.patient_id);
      assert(here.length === 1 && here[0] === known.id, `one record at the clinic, the clinic's: ${JSON.stringify(links)}`);
      const waiting = await apiCall('GET', '/api/me/waitlist', token);
      assert(waiting.some((e) => e.professional_user_id === helena.user_id), `the waitlist entry moved along: ${JSON.stringify(waiting)}`);
    });

    await check('the clinic e-mails a link; the patient opens it, logs in, and is linked', async () => {
      const cpf3 = randomCpf();
      const contact = `contato-${Date.now()}@exemplo.com.br`;
      const email3 = `abre-link-${Date.now()}@exemplo.com.br`;
      const onFile = await apiCall('POST', `/api/clinics/${clinicId}/patients`, recToken, {
        full_name: 'Marília Couto Brandão', cpf: cpf3, birth_date: birth, email: contact,
      });
      await signUpApi({
        email: email3, password: PATIENT_PASSWORD, full_name: 'Marília Couto Brandão', cpf: randomCpf(),
        birth_date: birth, accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
      });
      const { page } = desk;
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${onFile.id}`);
      const panel = page.locator('section', { has: page.getByRole('heading', { name: 'Acesso do paciente' }) });
      await panel.getByRole('button', { name: 'Enviar link por e-mail' }).click();
      await panel.getByText(/Link enviado para co•••@exemplo\.com\.br/).waitFor();
      await panel.getByText('Link enviado por e-mail, aguardando uso').waitFor();
      const path = await mailedLink(contact, 'Acesse seu cadastro na Clínica Aurora pelo atende', 'vincular');

      // A fresh browser (nobody logged in) opens the link: the login asks, then links.
      const fresh = await openPage(browser, PHONE);
      pages.push(['patient (link)', fresh]);
      await fresh.page.goto(`${BASE_URL}${path}`);
      await fresh.page.getByText('Entre (ou crie sua conta de paciente) para vincular seu cadastro na clínica.').waitFor();
      await loginUi(fresh.page, email3, PATIENT_PASSWORD);
      await fresh.page.getByText('Pronto: seu cadastro na Clínica Aurora está vinculado à sua conta.').waitFor();
      await noHorizontalOverflow(fresh.page);
      await shot(fresh.page, 'link-accepted');
      const token = await loginApi(email3, PATIENT_PASSWORD);
      const links = await apiCall('GET', '/api/me/links', token);
      assert(links.some((l) => l.patient_id === onFile.id && l.method === 'contact_link'), JSON.stringify(links));
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('identity', run);
