// Headless-browser test of a clinic that requires two-factor (#16 finding 8):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/mfa-policy.mjs
//
// With a clinic of its own (created over HTTP by the demo's platform operator, so the demo
// clinics are untouched):
// - its admin, in "Segurança da clínica" on her home, cannot require two-factor before she
//   has it herself (told so, with a link to her security page); once enrolled she can;
// - a professional of the clinic without two-factor logs in and lands on "Segurança da
//   conta" with only the two-factor part and the clinic's demand; any other page leads back
//   there;
// - she enrols in the page and the app opens (her professional home);
// - her next login asks for the code.
// Codes are computed here (RFC 6238, HMAC-SHA-1) from the key the page or the API shows.
// Screenshots go to tests/browser/screenshots/mfa-policy-*.png.
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { createHmac } from 'node:crypto';

import {
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
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + stepsAhead));
  const mac = createHmac('sha1', base32Bytes(secret)).update(msg).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

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

async function run(browser) {
  const { shot } = screenshots('mfa-policy');
  const stamp = Date.now();
  const adminEmail = `gestora-${stamp}@duasetapas.com.br`;
  const proEmail = `fisio-${stamp}@duasetapas.com.br`;
  const { page, errors, context } = await openPage(browser, DESKTOP);
  try {
    await check('a clinic admin requires two-factor in her home page, once she has it herself', async () => {
      const root = await loginApi('plataforma@atende.demo');
      const clinic = await apiCall('POST', '/api/clinics', root, {
        name: `Clínica Duas Etapas ${stamp}`,
        cnpj: randomCnpj(),
        address: {
          street: 'Rua das Flores', number: '10', district: 'Centro', city: 'Curitiba', uf: 'PR',
          postal_code: '80020-310',
        },
        time_zone: 'America/Sao_Paulo',
      });
      await apiCall('POST', `/api/clinics/${clinic.id}/staff`, root, {
        email: adminEmail, full_name: 'Gestora Duas Etapas', password: STAFF_PASSWORD, role: 'clinic_admin',
      });
      await apiCall('POST', `/api/clinics/${clinic.id}/professionals`, root, {
        email: proEmail, full_name: 'Fisioterapeuta Duas Etapas', password: STAFF_PASSWORD,
        profession: 'physiotherapist', council: 'CREFITO', council_number: `${stamp % 100000}-F`, council_uf: 'PR',
      });
      await loginUi(page, adminEmail, STAFF_PASSWORD);
      await page.locator('[data-view="home-admin"]').waitFor();
      const require = page.getByLabel('Exigir verificação em duas etapas de profissionais e administradores');
      await require.check();
      await page.getByRole('button', { name: 'Salvar', exact: true }).click();
      await page.getByText('Ative antes a verificação em duas etapas na sua conta').waitFor();
      assert(!(await require.isChecked()), 'the box stays as saved');
      // She enrols (over HTTP here; the page's enrolment is tested in account-security.mjs).
      const admin = await loginApi(adminEmail, STAFF_PASSWORD);
      const enrolment = await apiCall('POST', '/api/me/mfa/totp', admin, {});
      await apiCall('POST', '/api/me/mfa/totp/confirm', admin, { code: totp(enrolment.secret) });
      await require.check();
      await page.getByRole('button', { name: 'Salvar', exact: true }).click();
      await page.getByText('Salvo: a verificação em duas etapas é obrigatória para profissionais e administradores.').waitFor();
      await shot(page, 'admin-policy');
      const policy = await apiCall('GET', `/api/clinics/${clinic.id}/security`, admin);
      assert(policy.require_mfa === true, JSON.stringify(policy));
      await page.locator('#logout-button').click();
      await page.locator('[data-view="login"]').waitFor();
    });

    let secret = '';
    await check('an unenrolled professional can only enrol, and enrolling opens the app', async () => {
      await loginUi(page, proEmail, STAFF_PASSWORD);
      await page.locator('[data-view="account-security"]').waitFor();
      await page.getByText('Sua clínica exige a verificação em duas etapas.').waitFor();
      assert(await page.getByRole('heading', { name: 'Alterar senha' }).count() === 0, 'the password form shows');
      await shot(page, 'limited');
      // Another page leads back to the enrolment.
      await page.goto(page.url().replace(/#.*$/, '#/minha-agenda'));
      await page.locator('[data-view="account-security"]').waitFor();
      await page.getByRole('button', { name: 'Ativar verificação em duas etapas' }).click();
      secret = (await page.locator('.mfa-secret').innerText()).trim();
      await page.getByLabel('Código do aplicativo autenticador').fill(totp(secret));
      await page.getByRole('button', { name: 'Confirmar e ativar' }).click();
      await page.locator('ol.recovery-codes li').first().waitFor();
      await page.getByRole('button', { name: 'Já guardei os códigos' }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
      await shot(page, 'enrolled');
    });

    await check('her next login asks for the code', async () => {
      await page.locator('#logout-button').click();
      await page.locator('[data-view="login"]').waitFor();
      await loginUi(page, proEmail, STAFF_PASSWORD);
      await page.getByLabel('Código do aplicativo autenticador').fill(totp(secret, 1));
      await page.getByRole('button', { name: 'Verificar' }).click();
      await page.locator('[data-view="home-professional"]').waitFor();
    });

    await check('no console errors, page errors or CSP violations', async () => {
      // Expected: the admin's first try before she had two-factor (409).
      const expected = (e) => /status of 409/.test(e) && /\/security\b/.test(e);
      const all = errors.filter((e) => !expected(e));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    await context.close().catch(() => {});
  }
}

main('mfa-policy', run);
