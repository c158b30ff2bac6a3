// Headless-browser test of "Segurança da conta" (#/seguranca, #16 sessions):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/account-security.mjs
//
// With a fresh account each run (signed up over HTTP, so the demo logins are untouched):
// - the same account is open on a phone and on a desktop;
// - on the phone, "Segurança" → a wrong current password is refused in words; the right
//   one changes it and says how many other sessions ended;
// - the desktop page, signed in with the old session, ends on the login page with "Sua
//   sessão foi encerrada" (its socket was closed by the server, its refresh refused);
// - the new password logs in over HTTP, the old one no longer does;
// - "Sair de todos os dispositivos" on the phone ends there too, and its access token is
//   refused by the API;
// - no horizontal overflow on the phone; no console errors, page errors or CSP violations.
// Then, with another fresh account, two-factor login ("Verificação em duas etapas"):
// - the page enrols an authenticator: a QR code and its key, a first code (a wrong one is
//   refused in words), then the 10 recovery codes shown once;
// - after logging out, the password alone leads to the code step; a wrong code is refused,
//   the authenticator's code logs in; another time a recovery code logs in.
// Codes are computed here (RFC 6238, HMAC-SHA-1) from the key the page shows, at the time
// of the request.
// Screenshots go to tests/browser/screenshots/account-security-*.png.
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { createHmac } from 'node:crypto';

import {
  BASE_URL,
  HttpError,
  PHONE,
  apiCall,
  assert,
  check,
  loginApi,
  loginUi,
  main,
  noHorizontalOverflow,
  openPage,
  randomCpf,
  screenshots,
  signUpApi,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const OLD_PASSWORD = 'senha antiga boa';
const NEW_PASSWORD = 'senha nova melhor';

async function refusedLogin(email, password) {
  try {
    await loginApi(email, password);
  } catch (err) {
    return err instanceof HttpError && err.status === 401;
  }
  return false;
}

async function run(browser) {
  const { shot } = screenshots('account-security');
  const email = `seguranca-${Date.now()}@exemplo.com.br`;
  await signUpApi({
    email, password: OLD_PASSWORD, full_name: 'Otávio Seguro Lima', cpf: randomCpf(),
    birth_date: '1979-09-19', accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
  });
  const phone = await openPage(browser, PHONE);
  const desk = await openPage(browser, DESKTOP);
  const pages = [['phone', phone], ['desktop', desk]];
  try {
    await check('the account is open on two devices', async () => {
      for (const [, { page }] of pages) {
        await loginUi(page, email, OLD_PASSWORD);
        await page.locator('[data-view="home-patient"]').waitFor();
      }
    });

    await check('a wrong current password is refused; the right one changes it and ends the other session', async () => {
      const { page } = phone;
      await page.getByRole('link', { name: 'Segurança' }).click();
      await page.locator('[data-view="account-security"]').waitFor();
      await page.getByLabel('Senha atual').fill('não é esta');
      await page.getByLabel('Nova senha', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Repita a nova senha').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Alterar senha' }).click();
      await page.getByText('A senha atual não confere.').waitFor();
      await page.getByLabel('Senha atual').fill(OLD_PASSWORD);
      await page.getByRole('button', { name: 'Alterar senha' }).click();
      // The other sessions: the desktop's and the one the sign-up opened.
      await page.getByText('Senha alterada. 2 outras sessões foram encerradas.').waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'changed');
    });

    await check('the other device ends on the login page', async () => {
      const { page } = desk;
      await page.locator('[data-view="login"]').waitFor({ timeout: 20_000 });
      await page.getByText('Sua sessão foi encerrada. Entre novamente.').waitFor();
      await shot(page, 'other-device');
    });

    await check('the new password logs in; the old one does not', async () => {
      assert(await refusedLogin(email, OLD_PASSWORD), 'the old password still logs in');
      await loginApi(email, NEW_PASSWORD);
    });

    await check('"Sair de todos os dispositivos" ends this session too', async () => {
      const { page } = phone;
      const token = await page.evaluate(() => sessionStorage.getItem('atende.access'));
      assert(token, 'no access token in the tab');
      await page.getByRole('button', { name: 'Sair de todos os dispositivos' }).click();
      await page.locator('[data-view="login"]').waitFor();
      let refused = null;
      try {
        await apiCall('GET', '/api/me', token);
      } catch (err) {
        refused = err;
      }
      assert(refused instanceof HttpError && refused.status === 401, `old token: ${refused}`);
    });

    await check('no console errors, page errors or CSP violations', async () => {
      // Expected: the wrong current password (403), and the ended session's last ticket
      // request (401) before its page went to the login.
      const expected = (e) => (/status of 403/.test(e) && /\/api\/auth\/password/.test(e))
        || (/status of 401/.test(e) && /\/api\/(ws\/ticket|auth\/refresh|me)\b/.test(e));
      const all = pages.flatMap(([who, p]) => p.errors.filter((e) => !expected(e)).map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

/** Bytes of a base32 (RFC 4648) string. @param {string} text */
function base32Bytes(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The TOTP code (SHA-1, 6 digits, 30 s) `stepsAhead` steps from now. */
function totp(secret, stepsAhead = 0) {
  const counter = Math.floor(Date.now() / 1000 / 30) + stepsAhead;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', base32Bytes(secret)).update(msg).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** A six-digit code that is none of the codes around now. */
function wrongCode(secret) {
  const near = new Set([-1, 0, 1, 2].map((k) => totp(secret, k)));
  let n = Number(totp(secret));
  do n = (n + 1) % 1_000_000; while (near.has(String(n).padStart(6, '0')));
  return String(n).padStart(6, '0');
}

async function logoutUi(page) {
  await page.locator('#logout-button').click();
  await page.locator('[data-view="login"]').waitFor();
}

async function runMfa(browser) {
  const { shot } = screenshots('account-security');
  const email = `duas-etapas-${Date.now()}@exemplo.com.br`;
  await signUpApi({
    email, password: OLD_PASSWORD, full_name: 'Lívia Duas Etapas', cpf: randomCpf(),
    birth_date: '1985-03-14', accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
  });
  const desk = await openPage(browser, DESKTOP);
  const { page } = desk;
  let secret = '';
  let recovery = [];
  try {
    await check('two-factor: the page enrols an authenticator with a QR code and a first code', async () => {
      await loginUi(page, email, OLD_PASSWORD);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.getByRole('link', { name: 'Segurança' }).click();
      await page.locator('[data-view="account-security"]').waitFor();
      await page.getByRole('heading', { name: 'Verificação em duas etapas' }).waitFor();
      await page.getByRole('button', { name: 'Ativar verificação em duas etapas' }).click();
      const qr = page.locator('img.mfa-qr');
      await qr.waitFor();
      assert(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image did not load');
      secret = (await page.locator('.mfa-secret').innerText()).trim();
      assert(/^[A-Z2-7]{32}$/.test(secret), `key shown: ${secret}`);
      await shot(page, 'mfa-enrol');
      await page.getByLabel('Código do aplicativo autenticador').fill(wrongCode(secret));
      await page.getByRole('button', { name: 'Confirmar e ativar' }).click();
      await page.getByText('Código incorreto. Confira o código no aplicativo e tente de novo.').first().waitFor();
      await page.getByLabel('Código do aplicativo autenticador').fill(totp(secret));
      await page.getByRole('button', { name: 'Confirmar e ativar' }).click();
      const list = page.locator('ol.recovery-codes li');
      await list.first().waitFor();
      recovery = (await list.allInnerTexts()).map((t) => t.trim());
      assert(recovery.length === 10 && recovery.every((c) => /^[0-9A-Z]{5}-[0-9A-Z]{5}$/.test(c)), `codes: ${recovery}`);
      await shot(page, 'mfa-recovery-codes');
      await page.getByRole('button', { name: 'Já guardei os códigos' }).click();
      await page.getByText('Ativada.').waitFor();
      await shot(page, 'mfa-enabled');
    });

    await check('two-factor: after logging out, the password leads to the code step and the code logs in', async () => {
      await logoutUi(page);
      await loginUi(page, email, OLD_PASSWORD);
      const code = page.getByLabel('Código do aplicativo autenticador');
      await code.waitFor();
      await code.fill(wrongCode(secret));
      await page.getByRole('button', { name: 'Verificar' }).click();
      await page.getByText('Código incorreto. Confira o código no aplicativo e tente de novo.').first().waitFor();
      await shot(page, 'mfa-login-step');
      // The next code: the one used to enrol was for this time step and is spent.
      await code.fill(totp(secret, 1));
      await page.getByRole('button', { name: 'Verificar' }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
    });

    await check('two-factor: a recovery code logs in instead of the app', async () => {
      await logoutUi(page);
      await loginUi(page, email, OLD_PASSWORD);
      await page.getByRole('button', { name: 'Usar um código de recuperação' }).click();
      await page.getByLabel('Código de recuperação').fill(recovery[0]);
      await shot(page, 'mfa-recovery-step');
      await page.getByRole('button', { name: 'Verificar' }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
      const status = await apiCall('GET', '/api/me/mfa',
        await page.evaluate(() => sessionStorage.getItem('atende.access')));
      assert(status.totp_enabled && status.recovery_codes_left === 9, JSON.stringify(status));
    });

    await check('two-factor: no console errors, page errors or CSP violations', async () => {
      // Expected: the wrong codes (422 at enrolment, 401 at the login step).
      const expected = (e) => (/status of 422/.test(e) && /\/api\/me\/mfa\/totp\/confirm/.test(e))
        || (/status of 401/.test(e) && /\/api\/auth\/mfa\b/.test(e));
      const all = desk.errors.filter((e) => !expected(e));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    await desk.context.close().catch(() => {});
  }
}

main('account-security', async (browser) => {
  await run(browser);
  await runMfa(browser);
});
