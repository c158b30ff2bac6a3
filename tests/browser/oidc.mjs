// Headless-browser test of staff single sign-on (OpenID Connect, #16 part 8), against the
// local provider tests/oidc/provider.mjs:
//
//   OIDC_ISSUER=http://127.0.0.1:4455 OIDC_SECRET=… BASE_URL=http://127.0.0.1:8080 \
//     node tests/browser/oidc.mjs
//
// The demo server must accept an http:// issuer (ATENDE_SECURITY__OIDC__ALLOW_HTTP=true).
// With a clinic of its own (created over HTTP by the demo's platform operator):
// - its admin connects the clinic's provider in "Login único (SSO)" on her home, and sees
//   the redirect URI and the staff's access link;
// - the receptionist opens the access link, presses the clinic's button, signs in at the
//   provider and lands on her home, logged in;
// - after logging out, the login page offers the clinic's button again;
// - an address that is not on the clinic's team comes back refused, told why in Portuguese.
// Screenshots go to tests/browser/screenshots/oidc-*.png.

import {
  BASE_URL,
  apiCall,
  assert,
  check,
  loginApi,
  loginUi,
  main,
  openPage,
  screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const STAFF_PASSWORD = 'senha da equipe 1';
const ISSUER = (process.env.OIDC_ISSUER || '').replace(/\/+$/, '');
const SECRET = process.env.OIDC_SECRET || 'atende-test-secret';

/** A random valid (numeric) CNPJ. */
function randomCnpj() {
  const d = Array.from({ length: 8 }, () => Math.floor(Math.random() * 10)).concat([0, 0, 0, 1]);
  const digit = (weights) => {
    const r = weights.reduce((sum, w, i) => sum + w * d[i], 0) % 11;
    return r < 2 ? 0 : 11 - r;
  };
  d.push(digit([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
  d.push(digit([6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
  const s = d.join('');
  return `${s.slice(0, 2)}.${s.slice(2, 5)}.${s.slice(5, 8)}/${s.slice(8, 12)}-${s.slice(12)}`;
}

/** At the provider's form: sign in as `email`. @param {import('playwright-core').Page} page */
async function signInAtProvider(page, email) {
  await page.waitForURL((url) => url.href.startsWith(ISSUER));
  await page.getByLabel('E-mail').fill(email);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function run(browser) {
  if (!ISSUER) throw new Error('OIDC_ISSUER is not set (start tests/oidc/provider.mjs)');
  const { shot } = screenshots('oidc');
  const stamp = Date.now();
  const adminEmail = `gestora-${stamp}@sso.com.br`;
  const recepEmail = `recepcao-${stamp}@sso.com.br`;
  const { page, errors, context } = await openPage(browser, DESKTOP);
  let clinicId = '';
  try {
    await check('a clinic admin connects the clinic\'s provider in her home page', async () => {
      const root = await loginApi('plataforma@atende.demo');
      const clinic = await apiCall('POST', '/api/clinics', root, {
        name: `Clínica SSO ${stamp}`,
        cnpj: randomCnpj(),
        address: {
          street: 'Rua das Flores', number: '10', district: 'Centro', city: 'Curitiba', uf: 'PR',
          postal_code: '80020-310',
        },
        time_zone: 'America/Sao_Paulo',
      });
      clinicId = clinic.id;
      for (const [email, role] of [[adminEmail, 'clinic_admin'], [recepEmail, 'receptionist']]) {
        await apiCall('POST', `/api/clinics/${clinic.id}/staff`, root, {
          email, full_name: 'Pessoa da Equipe SSO', password: STAFF_PASSWORD, role,
        });
      }
      await loginUi(page, adminEmail, STAFF_PASSWORD);
      await page.locator('[data-view="home-admin"]').waitFor();
      const panel = page.getByRole('region', { name: 'Login único (SSO)' });
      await panel.getByLabel('Emissor (issuer)').fill(ISSUER);
      await panel.getByLabel('Client ID').fill('atende');
      await panel.getByLabel('Client secret').fill(SECRET);
      await panel.getByLabel('Texto do botão').fill('Entrar com a conta da clínica');
      await panel.getByRole('button', { name: 'Salvar login único' }).click();
      await panel.getByText('Link de acesso para a equipe').waitFor();
      await panel.getByText('/api/auth/oidc/callback').waitFor();
      assert(!(await panel.innerText()).includes(SECRET), 'the secret is shown');
      await shot(page, 'admin-connection');
      await page.locator('#logout-button').click();
      await page.locator('[data-view="login"]').waitFor();
    });

    await check('a receptionist logs in through the clinic\'s provider and lands on her home', async () => {
      await page.goto(`${BASE_URL}/#/entrar/${clinicId}`);
      const button = page.getByRole('link', { name: 'Entrar com a conta da clínica' });
      await button.waitFor();
      await shot(page, 'clinic-button');
      await button.click();
      await signInAtProvider(page, recepEmail);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      await shot(page, 'logged-in');
      assert(!page.url().includes('mfa='), page.url());
    });

    await check('after logging out, the login page offers the clinic\'s button', async () => {
      await page.locator('#logout-button').click();
      await page.locator('[data-view="login"]').waitFor();
      await page.getByRole('link', { name: 'Entrar com a conta da clínica' }).waitFor();
      await shot(page, 'login-remembers');
    });

    await check('an address outside the clinic\'s team is refused and told why', async () => {
      await page.getByRole('link', { name: 'Entrar com a conta da clínica' }).click();
      await signInAtProvider(page, `estranho-${stamp}@sso.com.br`);
      await page.locator('[data-view="sso"]').waitFor();
      await page.getByText('Este e-mail não pertence a ninguém da equipe desta clínica').waitFor();
      assert(page.url().endsWith('#/sso'), `the code stays in the address: ${page.url()}`);
      await shot(page, 'refused');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      // The provider's own pages are not atende's (its favicon, for one).
      const all = errors.filter((e) => !e.includes(ISSUER));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    await context.close().catch(() => {});
  }
}

main('oidc', run);
