// Headless-browser test of the clinic admin's team list (#16: taking a role away):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/team.mjs
//
// With a fresh receptionist each run (added over HTTP by the demo clinic's admin):
// - the receptionist has the clinic's reception page open;
// - the admin finds them in "Equipe", clicks "Remover função": nothing happens until the
//   second click ("Confirmar remoção"), then they leave the list;
// - the receptionist's open page, without reloading, says they no longer have access to
//   the clinic (the server closed their socket with 4002; the app read who they are again);
// - their token no longer reaches the clinic's API (403);
// - the clinic's only-admin rule is not tested here (the demo clinic has several admins).
// Screenshots go to tests/browser/screenshots/team-*.png.
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  HttpError, apiCall, assert, check, loginApi, loginUi, main, openPage, screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const ADMIN = 'admin@aurora.demo';
const PASSWORD = 'uma senha de recepcao';

async function run(browser) {
  const { shot, shotOf } = screenshots('team');
  const adminToken = await loginApi(ADMIN);
  const me = await apiCall('GET', '/api/me', adminToken);
  const clinic = me.memberships.find((m) => m.role === 'clinic_admin').clinic_id;
  const stamp = Date.now();
  const email = `recepcao-${stamp}@exemplo.com.br`;
  const name = `Renata Temporária ${stamp % 100000}`;
  await apiCall('POST', `/api/clinics/${clinic}/staff`, adminToken, {
    email, full_name: name, password: PASSWORD, role: 'receptionist',
  });

  const desk = await openPage(browser, DESKTOP);
  const admin = await openPage(browser, DESKTOP);
  const pages = [['receptionist', desk], ['admin', admin]];
  try {
    await check('the new receptionist has the reception page open', async () => {
      await loginUi(desk.page, email, PASSWORD);
      await desk.page.locator('[data-view="home-receptionist"]').waitFor();
    });

    await check('the admin removes the role in two clicks and the list updates', async () => {
      const { page } = admin;
      await loginUi(page, ADMIN);
      await page.locator('[data-view="home-admin"]').waitFor();
      const card = page.locator('.member-list .card').filter({ hasText: name });
      await card.waitFor();
      await card.getByRole('button', { name: `Remover função Recepcionista de ${name}` }).click();
      await card.getByText(`${name} deixará de ser Recepcionista nesta clínica.`).waitFor();
      await shotOf(card, 'confirm');
      // The first click removed nothing.
      const members = await apiCall('GET', `/api/clinics/${clinic}/members`, adminToken);
      assert(members.some((m) => m.email === email), 'removed on the first click');
      await card.getByRole('button', { name: `Confirmar remoção: função Recepcionista de ${name}` }).click();
      await card.waitFor({ state: 'detached' });
      await shot(page, 'admin-after');
    });

    await check('the receptionist\'s open page loses the clinic at once', async () => {
      const { page } = desk;
      await page.locator('[data-view="no-clinic-access"]').waitFor({ timeout: 20_000 });
      await page.getByRole('heading', { name: 'Sem acesso a esta clínica' }).waitFor();
      await shot(page, 'receptionist-after');
    });

    await check('their token no longer reaches the clinic', async () => {
      const token = await loginApi(email, PASSWORD);
      let refused = null;
      try {
        await apiCall('GET', `/api/clinics/${clinic}/queue`, token);
      } catch (err) {
        refused = err;
      }
      assert(refused instanceof HttpError && refused.status === 403, `queue: ${refused}`);
    });

    await check('no console errors, page errors or CSP violations', async () => {
      // Expected on the receptionist's page: the clinic's topics refused on rejoin, and
      // requests of the page in flight when the role went.
      const expected = (e) => /status of 403/.test(e);
      const all = pages.flatMap(([who, p]) => p.errors
        .filter((e) => !(who === 'receptionist' && expected(e)))
        .map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('team', run);
