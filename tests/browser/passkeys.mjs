// Headless-browser test of passkeys (#16 part 8), with Chromium's virtual authenticator
// (CDP WebAuthn domain: a platform authenticator with resident keys and user
// verification, as a phone's screen lock):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/passkeys.mjs
//
// WebAuthn needs a domain and a secure context: the pages are opened on
// http://localhost:<port> (a loopback BASE_URL is rewritten), where the server's relying
// party is `localhost`.
// With a fresh account each run (signed up over HTTP):
// - "Segurança" → "Chaves de acesso (passkeys)": a passkey is added with a name and listed;
// - after logging out, "Entrar com chave de acesso" logs in without e-mail or password;
// - e-mail and password now lead to the second step, where "Usar chave de acesso" logs in;
// - the passkey is removed from the list, and the password alone logs in again;
// - no console errors, page errors or CSP violations.
// Screenshots go to tests/browser/screenshots/passkeys-*.png.

import {
  BASE_URL,
  accessible,
  apiCall,
  assert,
  check,
  main,
  openPage,
  randomCpf,
  screenshots,
  signUpApi,
} from './lib.mjs';

const ORIGIN = BASE_URL.replace('://127.0.0.1', '://localhost');
const DESKTOP = { width: 1280, height: 900 };
const PASS = 'senha de chave boa';

async function loginPage(page) {
  await page.goto(`${ORIGIN}/`);
  await page.locator('[data-view="login"]').waitFor();
}

async function logoutUi(page) {
  await page.locator('#logout-button').click();
  await page.locator('[data-view="login"]').waitFor();
}

async function run(browser) {
  const { shot } = screenshots('passkeys');
  const email = `chave-${Date.now()}@exemplo.com.br`;
  await signUpApi({
    email, password: PASS, full_name: 'Beatriz Chave Prado', cpf: randomCpf(),
    birth_date: '1985-03-02', accepted_terms_version: (await apiCall('GET', '/api/terms')).version,
  });
  const desk = await openPage(browser, DESKTOP);
  const { page } = desk;
  const cdp = await desk.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  try {
    await check('a passkey is added on the account page and listed by its name', async () => {
      await loginPage(page);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Senha').fill(PASS);
      await page.getByRole('button', { name: 'Entrar', exact: true }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.getByRole('link', { name: 'Segurança' }).click();
      await page.locator('[data-view="account-security"]').waitFor();
      const panel = page.locator('[data-part="passkeys"]');
      await panel.getByRole('heading', { name: 'Chaves de acesso (passkeys)' }).waitFor();
      await panel.getByText('Nenhuma chave de acesso cadastrada.').waitFor();
      await panel.getByLabel('Nome da chave').fill('Notebook do consultório');
      await panel.getByRole('button', { name: 'Adicionar chave de acesso' }).click();
      await panel.locator('.passkey-item').filter({ hasText: 'Notebook do consultório' }).waitFor();
      await panel.getByText('ainda não usada').waitFor();
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert(credentials.length === 1 && credentials[0].isResidentCredential,
        `one discoverable credential on the authenticator: ${JSON.stringify(credentials.map((c) => c.isResidentCredential))}`);
      await shot(page, 'account');
      await accessible(page, 'passkeys account panel');
    });

    await check('"Entrar com chave de acesso" logs in without e-mail or password', async () => {
      await logoutUi(page);
      await shot(page, 'login');
      await page.getByRole('button', { name: 'Entrar com chave de acesso' }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
      const me = await apiCall('GET', '/api/me',
        await page.evaluate(() => sessionStorage.getItem('atende.access')));
      assert(me.email === email, JSON.stringify(me));
    });

    await check('with the password, the passkey answers the second step', async () => {
      await logoutUi(page);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Senha').fill(PASS);
      await page.getByRole('button', { name: 'Entrar', exact: true }).click();
      const step = page.locator('[data-step="mfa"]');
      await step.getByText('use sua chave de acesso').waitFor();
      await shot(page, 'second-step');
      await accessible(page, 'passkey second step');
      await step.getByRole('button', { name: 'Usar chave de acesso' }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
    });

    await check('the passkey is removed, and the password alone logs in again', async () => {
      await page.getByRole('link', { name: 'Segurança' }).click();
      const panel = page.locator('[data-part="passkeys"]');
      const item = panel.locator('.passkey-item').filter({ hasText: 'Notebook do consultório' });
      await item.getByText('último uso em').waitFor();
      await item.getByRole('button', { name: 'Remover Notebook do consultório' }).click();
      await panel.getByText('Nenhuma chave de acesso cadastrada.').waitFor();
      await logoutUi(page);
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Senha').fill(PASS);
      await page.getByRole('button', { name: 'Entrar', exact: true }).click();
      await page.locator('[data-view="home-patient"]').waitFor();
    });

    await check('passkeys: no console errors, page errors or CSP violations', async () => {
      assert(!desk.errors.length, desk.errors.join(' | '));
    });
  } finally {
    await desk.context.close().catch(() => {});
  }
}

main('passkeys', run);
