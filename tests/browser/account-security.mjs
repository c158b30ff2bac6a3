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
// Screenshots go to tests/browser/screenshots/account-security-*.png.
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

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
  await apiCall('POST', '/api/auth/signup', null, {
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

main('account-security', run);
