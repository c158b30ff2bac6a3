// Headless-browser smoke test for the atende web app.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/smoke.mjs
//
// For every demo account: fresh browser context, log in, wait for the role's
// home (`data-view`) and heading, check there were no console errors, page
// errors or CSP violations, take screenshots (desktop and 390×844 phone, with
// a check for horizontal overflow), then log out and expect the login view.
// Also: a wrong password shows an alert, the sign-up view shows the terms
// checkbox, a professional switches clinics and opens a patient record, and the
// patient's consent dialog opens and cancels.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo), SMOKE_WRITE=1 to
// also run checks that create data (patient sign-up).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { join } from 'node:path';
import {
  PASSWORD,
  PHONE,
  SHOTS,
  TIMEOUT,
  accessible,
  BASE_URL,
  assert,
  check,
  fail,
  main,
  loginUi,
  noHorizontalOverflow,
  openPage,
  randomCpf,
  signupLink,
} from './lib.mjs';

const WRITE = process.env.SMOKE_WRITE === '1';
const DESKTOP = { width: 1280, height: 860 };

const ACCOUNTS = [
  { key: 'platform', email: 'plataforma@atende.demo', view: 'home-platform', heading: 'Plataforma' },
  { key: 'admin', email: 'admin@aurora.demo', view: 'home-admin', heading: 'Administração — Clínica Aurora' },
  { key: 'admin-boavista', email: 'admin@boavista.demo', view: 'home-admin', heading: 'Administração — Clínica Boa Vista' },
  {
    key: 'professional',
    email: 'dra.helena@atende.demo',
    view: 'home-professional',
    heading: /^Agenda profissional — Clínica (Aurora|Boa Vista)$/,
    extra: professionalChecks,
  },
  { key: 'professional-rafael', email: 'dr.rafael@atende.demo', view: 'home-professional', heading: 'Agenda profissional — Clínica Aurora' },
  { key: 'receptionist', email: 'recepcao@aurora.demo', view: 'home-receptionist', heading: 'Recepção — Clínica Aurora' },
  { key: 'receptionist-boavista', email: 'recepcao@boavista.demo', view: 'home-receptionist', heading: 'Recepção — Clínica Boa Vista' },
  { key: 'patient', email: 'joao@paciente.demo', view: 'home-patient', heading: /^Olá, \S/, extra: patientChecks },
  { key: 'patient-maria', email: 'maria@paciente.demo', view: 'home-patient', heading: /^Olá, \S/ },
];

function matches(text, expected) {
  return expected instanceof RegExp ? expected.test(text) : text === expected;
}

/** Wait until no element is marked aria-busy (data finished loading). */
async function settle(page) {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), null, { timeout: TIMEOUT });
}

async function viewHeading(page, view) {
  const h1 = page.locator(`[data-view="${view}"] h1`).first();
  await h1.waitFor();
  return (await h1.textContent()).trim();
}

// --------------------------------------------------------------- checks ---

async function accountChecks(browser, account) {
  const label = `${account.key} (${account.email})`;
  const { context, page, errors } = await openPage(browser, DESKTOP);
  try {
    const loggedIn = await check(`${label}: login shows data-view="${account.view}"`, async () => {
      await loginUi(page, account.email, PASSWORD);
      await page.locator(`[data-view="${account.view}"]`).waitFor();
    });
    const rest = [
      'heading', 'no console errors', 'screenshot', 'phone layout', 'logout',
      ...(account.extra ? ['extra'] : []),
    ];
    if (!loggedIn) {
      const alert = await page.locator('[role="alert"]:not([hidden])').first().textContent({ timeout: 1000 }).catch(() => '');
      for (const r of rest) fail(`${label}: ${r}`, `not run (${alert ? `login failed: ${alert.trim()}` : 'login failed'})`);
      return;
    }

    await check(`${label}: heading "${account.heading}"`, async () => {
      const text = await viewHeading(page, account.view);
      assert(matches(text, account.heading), `heading is "${text}"`);
      return text;
    });

    await check(`${label}: data loaded, no console errors`, async () => {
      await settle(page);
      const alerts = await page.locator('[data-view] [role="alert"]:not([hidden])').allTextContents();
      const visible = alerts.map((t) => t.trim()).filter(Boolean);
      assert(!visible.length, `error shown on page: ${visible.join(' | ')}`);
      assert(!errors.length, errors.join(' | '));
    });

    await check(`${label}: refresh token only in an HttpOnly cookie; a new tab refreshes with it`, async () => {
      const cookies = await context.cookies(BASE_URL + '/api/auth/refresh');
      const c = cookies.find((x) => x.name === 'atende_refresh');
      assert(c, `no atende_refresh cookie (cookies: ${cookies.map((x) => x.name).join(', ')})`);
      assert(c.httpOnly && c.secure && c.sameSite === 'Strict' && c.path === '/api/auth',
        `cookie flags: ${JSON.stringify({ httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite, path: c.path })}`);
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert(!stored.includes(c.value), 'the refresh token is readable in web storage');
      const seen = await page.evaluate(() => document.cookie);
      assert(!seen.includes('atende_refresh'), 'the refresh cookie is visible to scripts');
      // A second tab has no access token of its own: it must refresh through the cookie.
      const tab = await context.newPage();
      try {
        await tab.goto(BASE_URL + '/');
        await tab.locator(`[data-view="${account.view}"]`).waitFor({ timeout: TIMEOUT });
      } finally {
        await tab.close();
      }
      const after = (await context.cookies(BASE_URL + '/api/auth/refresh')).find((x) => x.name === 'atende_refresh');
      assert(after && after.value !== c.value, 'the second tab did not rotate the refresh cookie');
    });

    await check(`${label}: screenshot ${account.key}.png`, async () => {
      await page.screenshot({ path: join(SHOTS, `${account.key}.png`), fullPage: true });
    });

    await check(`${label}: accessible (axe-core: no serious or critical violation)`, async () => {
      return `${await accessible(page, label)} rules passed`;
    });

    await check(`${label}: phone 390×844 without horizontal overflow`, async () => {
      await page.setViewportSize(PHONE);
      await page.waitForTimeout(150);
      await noHorizontalOverflow(page);
      await page.screenshot({ path: join(SHOTS, `${account.key}-phone.png`), fullPage: true });
      await page.setViewportSize(DESKTOP);
    });

    if (account.extra) {
      await account.extra(page, label, errors);
    }

    await check(`${label}: "Sair" returns to the login view`, async () => {
      await page.getByRole('button', { name: 'Sair' }).click();
      await page.locator('[data-view="login"]').waitFor();
      const text = await viewHeading(page, 'login');
      assert(text === 'Entrar no atende', `login heading is "${text}"`);
      const marker = await page.evaluate(() => localStorage.getItem('atende.session'));
      assert(marker === null, 'session marker still in localStorage after logout');
      const left = (await context.cookies(BASE_URL + '/api/auth/refresh')).find((x) => x.name === 'atende_refresh');
      assert(!left, 'the refresh cookie survived the logout');
      assert(!errors.length, errors.join(' | '));
    });
  } finally {
    await context.close();
  }
}

async function professionalChecks(page, label, errors) {
  await check(`${label}: clinic selector switches clinic`, async () => {
    const select = page.getByLabel('Clínica', { exact: true });
    const options = await select.locator('option').allTextContents();
    assert(options.length >= 2, `expected 2+ clinics in the selector, got ${options.length}`);
    const before = await viewHeading(page, 'home-professional');
    const target = options.find((o) => !before.endsWith(o));
    assert(target, `no other clinic to switch to (options: ${options.join(', ')})`);
    await select.selectOption({ label: target });
    await page.waitForFunction(
      (name) => document.querySelector('[data-view="home-professional"] h1')?.textContent?.trim() === `Agenda profissional — ${name}`,
      target,
    );
    await settle(page);
    assert(!errors.length, errors.join(' | '));
    return `now ${target}`;
  });

  await check(`${label}: opens a patient record with allergies`, async () => {
    await settle(page);
    const first = page.locator('[data-view="home-professional"] .patient-list a').first();
    if (!(await first.count())) return 'skip';
    await first.click();
    await page.locator('[data-view="patient-detail"]').waitFor();
    await settle(page);
    await page.getByRole('heading', { name: 'Alergias', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Salvar alterações' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'professional-patient.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150);
    await noHorizontalOverflow(page);
    await page.screenshot({ path: join(SHOTS, 'professional-patient-phone.png'), fullPage: true });
    await page.setViewportSize(DESKTOP);
    assert(!errors.length, errors.join(' | '));
    return undefined;
  });
}

async function patientChecks(page, label, errors) {
  await check(`${label}: consent history and withdrawal confirmation dialog`, async () => {
    await page.getByRole('heading', { name: 'Privacidade (LGPD)' }).waitFor();
    const button = page.getByRole('button', { name: 'Retirar consentimento' });
    if (!(await button.isVisible()) || !(await button.isEnabled())) return 'skip';
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'Retirar consentimento?' });
    await dialog.waitFor();
    await page.screenshot({ path: join(SHOTS, 'patient-confirm.png') });
    await dialog.getByRole('button', { name: 'Cancelar' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert(await button.isEnabled(), 'button disabled after cancelling');
    assert(!errors.length, errors.join(' | '));
    return undefined;
  });
}

async function wrongPasswordCheck(browser) {
  const { context, page, errors } = await openPage(browser, DESKTOP);
  try {
    await check('wrong password shows an alert and stays on login', async () => {
      // An unknown account, so the demo accounts are never throttled.
      await loginUi(page, 'ninguem@atende.demo', 'senha-errada-123');
      const alert = page.locator('[data-view="login"] [role="alert"]:not([hidden])');
      await alert.waitFor();
      const text = (await alert.textContent()).trim();
      assert(text.length > 0, 'empty alert');
      // The browser logs the 401 itself; anything else is a real error.
      const real = errors.filter((e) => !/status of 401/.test(e));
      assert(!real.length, real.join(' | '));
      return text;
    });
    await check('empty login form shows field errors', async () => {
      await page.getByLabel('E-mail').fill('');
      await page.getByLabel('Senha').fill('');
      await page.getByRole('button', { name: 'Entrar', exact: true }).click();
      const invalid = await page.locator('[data-view="login"] [aria-invalid="true"]').count();
      assert(invalid === 2, `expected 2 invalid fields, got ${invalid}`);
    });
    await page.screenshot({ path: join(SHOTS, 'login-error.png'), fullPage: true });
  } finally {
    await context.close();
  }
}

async function signupViewCheck(browser) {
  const { context, page, errors } = await openPage(browser, PHONE);
  try {
    await check('sign-up view: terms version and required checkbox', async () => {
      await page.goto(`${BASE_URL}/`);
      await page.locator('[data-view="login"]').waitFor();
      await page.screenshot({ path: join(SHOTS, 'login-phone.png'), fullPage: true });
      await accessible(page, 'login (phone)');
      await page.getByRole('link', { name: 'Criar conta de paciente' }).click();
      await page.locator('[data-view="signup"]').waitFor();
      await settle(page);
      const checkbox = page.getByLabel(/^Li e aceito os termos de uso e a política de privacidade \(versão .+\)$/);
      await checkbox.waitFor();
      assert(!(await checkbox.isChecked()), 'terms checkbox pre-checked');
      await noHorizontalOverflow(page);
      await page.screenshot({ path: join(SHOTS, 'signup-phone.png'), fullPage: true });
      await accessible(page, 'sign-up (phone)');
      assert(!errors.length, errors.join(' | '));
    });

    if (!WRITE) return;
    await check('sign-up creates a patient account (SMOKE_WRITE=1)', async () => {
      const stamp = Date.now().toString(36);
      await page.getByLabel('Nome completo (civil)').fill('Paciente Teste Smoke');
      await page.getByLabel(/^Nome social/).fill('Teste');
      await page.getByLabel('CPF').fill(randomCpf());
      await page.getByLabel('Data de nascimento').fill('1990-05-07');
      const email = `smoke-${stamp}@paciente.demo`;
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Senha').fill('senha-de-teste-123');
      await page.getByLabel(/^Li e aceito/).check();
      await page.getByRole('button', { name: 'Criar conta' }).click();
      await page.getByText(`Enviamos um link para ${email}.`, { exact: false }).waitFor();
      await page.goto(`${BASE_URL}/${await signupLink(email)}`);
      await page.locator('[data-view="home-patient"]').waitFor();
      const text = await viewHeading(page, 'home-patient');
      assert(text === 'Olá, Teste', `heading is "${text}" (social name expected)`);
      await settle(page);
      assert(!errors.length, errors.join(' | '));
    });
  } finally {
    await context.close();
  }
}

// ----------------------------------------------------------------- main ---

async function run(browser) {
  await check('index.html is served with the app shell', async () => {
    const { context, page } = await openPage(browser, DESKTOP);
    try {
      const res = await page.goto(`${BASE_URL}/`);
      assert(res && res.ok(), `GET / answered ${res ? res.status() : 'nothing'}`);
      assert((await page.title()).includes('atende'), `title is "${await page.title()}"`);
      assert((await page.getAttribute('html', 'lang')) === 'pt-BR', 'html lang is not pt-BR');
      const csp = res.headers()['content-security-policy'];
      return csp ? 'CSP header present' : 'no CSP header';
    } finally {
      await context.close();
    }
  });
  await wrongPasswordCheck(browser);
  await signupViewCheck(browser);
  for (const account of ACCOUNTS) {
    await accountChecks(browser, account);
  }
}

main('smoke', run);
