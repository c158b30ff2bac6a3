// A clinic admin onboards new people through the guided sequence (issue #22):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/journey-clinic-admin.mjs
//
// admin@aurora.demo, desktop, with new people each run (e-mails made unique here):
// - from the clinic's home, "Implantação da clínica, passo a passo" opens the five steps
//   (clinic data, hours and services, professionals and their agendas, reception team,
//   prices), each "Concluída" or "Pendente", the first open one marked as current;
// - step 3: she adds a psychologist (feminine): the list calls her "Psicóloga" with
//   "Sem horários", and its link opens her working hours;
// - step 4: she adds a receptionist, makes him administrator ("Alterar função"), and back;
// - the new receptionist logs in and lands on the reception; the new psychologist logs in
//   and has "Meu dia";
// - someone new invited by e-mail (no password typed): "Enviamos um convite", and the
//   invitation page refuses a token that is not one;
// - the admin removes the receptionist's role (two clicks): he leaves the list;
// - "Relatórios": revenue and, per professional, attendance and occupancy ("Dra. Helena");
// - nowhere "null"/"undefined"; axe on every screenshot; no console errors.
// Screenshots go to tests/browser/screenshots/journey-clinic-admin-*.png.

import {
  BASE_URL,
  apiCall,
  assert,
  check,
  loginApi,
  loginUi,
  main,
  noMissingText,
  openPage,
  screenshots,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const ADMIN = 'admin@aurora.demo';
const NEW_PASSWORD = 'senha-inicial-123';
const { shot } = screenshots('journey-clinic-admin');

async function run(browser) {
  const stamp = Date.now();
  const pro = { name: 'Camila Rocha Viana', email: `camila-${stamp}@exemplo.com.br` };
  const desk = { name: 'Bruno Lima Teixeira', email: `bruno-${stamp}@exemplo.com.br` };

  const admin = await openPage(browser, DESKTOP);
  const { page } = admin;
  const step = (key) => page.locator(`section[data-step="${key}"]`);
  // By e-mail: names repeat across runs, e-mails do not.
  const member = (email) => step('staff').locator('.member-list .card').filter({ hasText: email });
  /** The member's card with this role badge (exact: buttons also say "administrador(a)"). */
  const withRole = (email, role) => member(email).filter({ has: page.locator('.badge', { hasText: new RegExp(`^${role.replace(/[()]/g, '\\$&')}$`) }) });
  try {
    const opened = await check('the admin opens the onboarding sequence from the clinic\'s home', async () => {
      await loginUi(page, ADMIN);
      await page.locator('[data-view="home-admin"]').waitFor();
      await page.getByRole('link', { name: 'Implantação da clínica, passo a passo' }).click();
      await page.locator('[data-view="onboarding"]').waitFor();
      await page.getByRole('heading', { level: 1, name: 'Implantação — Clínica Aurora' }).waitFor();
      const steps = page.locator('.onboarding-steps li');
      await steps.nth(4).waitFor();
      const names = (await steps.allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
      assert(names.length === 5, `steps: ${names.join(' | ')}`);
      for (const [i, word] of ['Dados da clínica', 'Horários e serviços', 'Profissionais e suas agendas', 'Equipe da recepção', 'Preços'].entries()) {
        assert(names[i].includes(`${i + 1}. ${word}`), `step ${i + 1}: "${names[i]}"`);
      }
      await step('clinic').locator('.badge', { hasText: 'Concluída' }).waitFor();
      await page.locator('[data-onboarding="progress"]', { hasText: /de 5 etapas concluídas/ }).waitFor();
      await step('prices').locator('table').waitFor();
      await noMissingText(page, 'onboarding');
      await shot(page, '01-steps');
    });
    if (!opened) throw new Error('the onboarding page did not open');

    await check('step 3: a new psychologist, "Psicóloga", without hours yet, and the link to her hours', async () => {
      const form = step('professionals').locator('form');
      await form.getByLabel('E-mail').fill(pro.email);
      await form.getByLabel('Nome completo').fill(pro.name);
      await form.getByLabel('Senha inicial').fill(NEW_PASSWORD);
      await form.getByLabel('Profissão').selectOption('psychologist');
      await form.getByLabel('Tratamento').selectOption('female');
      await form.getByLabel('Conselho', { exact: true }).selectOption('CRP');
      await form.getByLabel('Número do registro').fill(`06/${String(stamp).slice(-6)}`);
      await form.getByLabel('UF do conselho').selectOption('SP');
      await form.getByRole('button', { name: 'Adicionar profissional' }).click();
      await form.locator('.form-status', { hasText: `${pro.name} foi adicionado(a) à equipe` }).waitFor();
      const card = step('professionals').locator('.card').filter({ hasText: pro.name }).filter({ hasText: 'Sem horários' }).first();
      await card.waitFor();
      const said = await text(card);
      assert(said.includes('Psicóloga') && said.includes('Sem horários'), `card: "${said}"`);
      await step('professionals').locator('.badge', { hasText: 'Pendente' }).waitFor();
      await noMissingText(page, 'after adding the professional');
      await shot(page, '02-professional');
      const link = card.getByRole('link', { name: `Definir horários de ${pro.name}` });
      const href = await link.getAttribute('href');
      assert(/#\/clinica\/[^/]+\/horarios\?prof=/.test(href || ''), `link ${href}`);
    });

    await check('step 4: a receptionist added, made administrator and back ("Alterar função")', async () => {
      const form = step('staff').locator('form');
      await form.getByLabel('E-mail').fill(desk.email);
      await form.getByLabel('Nome completo').fill(desk.name);
      await form.getByLabel('Senha inicial').fill(NEW_PASSWORD);
      await form.getByLabel('Função').selectOption('receptionist');
      await form.getByRole('button', { name: 'Adicionar à equipe' }).click();
      await form.locator('.form-status', { hasText: `${desk.name} foi adicionado(a) à equipe como recepcionista` }).waitFor();
      await withRole(desk.email, 'Recepcionista').waitFor();
      await shot(page, '03-receptionist');
      await member(desk.email).getByRole('button', { name: `Tornar administrador(a) — ${desk.name}` }).click();
      await withRole(desk.email, 'Administrador(a)').waitFor();
      await withRole(desk.email, 'Recepcionista').waitFor({ state: 'detached' });
      await member(desk.email).getByRole('button', { name: `Tornar recepcionista — ${desk.name}` }).click();
      await withRole(desk.email, 'Recepcionista').waitFor();
      await withRole(desk.email, 'Administrador(a)').waitFor({ state: 'detached' });
      await noMissingText(page, 'team');
    });

    await check('someone new is invited by e-mail: no password typed, the invitation page creates it', async () => {
      const guest = { name: 'Paula Nunes Freire', email: `paula-${stamp}@exemplo.com.br` };
      const form = step('staff').locator('form');
      await form.getByLabel('E-mail').fill(guest.email);
      await form.getByLabel('Nome completo').fill(guest.name);
      await form.getByLabel('Função').selectOption('receptionist');
      await form.getByRole('button', { name: 'Adicionar à equipe' }).click();
      await form.locator('.form-status', { hasText: `Enviamos um convite para ${guest.email}` }).waitFor();
      await withRole(guest.email, 'Recepcionista').waitFor();
      // The invitation's page (the real token only travels by e-mail: a wrong one is refused).
      const visitor = await openPage(browser, DESKTOP);
      visitor.allowed.push(/status of 400/);
      await visitor.page.goto(`${BASE_URL}/#/convite/nao-e-um-convite`);
      await visitor.page.getByRole('heading', { name: 'Boas-vindas ao atende' }).waitFor();
      await visitor.page.getByLabel('Nova senha', { exact: true }).fill('a senha da Paula');
      await visitor.page.getByLabel('Repita a nova senha').fill('a senha da Paula');
      await visitor.page.getByRole('button', { name: 'Criar senha' }).click();
      await visitor.page.getByText('Este convite é inválido, expirou ou já foi usado').waitFor();
      await shot(visitor.page, '04-invitation-page');
      assert(!visitor.errors.length, visitor.errors.join(' | '));
      await visitor.context.close();
    });

    await check('the new receptionist lands on the reception; the new psychologist has "Meu dia"', async () => {
      const other = await openPage(browser, DESKTOP);
      try {
        await loginUi(other.page, desk.email, NEW_PASSWORD);
        await other.page.locator('[data-view="home-receptionist"]').waitFor();
        await shot(other.page, '04-new-receptionist');
      } finally {
        await other.context.close();
      }
      const third = await openPage(browser, DESKTOP);
      try {
        await loginUi(third.page, pro.email, NEW_PASSWORD);
        await third.page.locator('#header-nav').getByRole('link', { name: 'Meu dia' }).click();
        await third.page.locator('[data-view="my-day"]').waitFor();
        await third.page.locator('[data-day="summary"]', { hasText: 'Nenhuma consulta neste dia.' }).waitFor();
        await noMissingText(third.page, 'new professional');
        await shot(third.page, '05-new-professional');
        assert(!third.errors.length, third.errors.join(' | '));
      } finally {
        await third.context.close();
      }
    });

    await check('the admin removes the receptionist\'s role: two clicks, and he leaves the list', async () => {
      const card = member(desk.email);
      await card.getByRole('button', { name: `Remover função Recepcionista de ${desk.name}` }).click();
      await card.getByRole('button', { name: /Confirmar remoção/ }).click();
      await member(desk.email).waitFor({ state: 'detached' });
      await shot(page, '06-removed');
    });

    await check('"Relatórios": the month\'s revenue and each professional\'s attendance and occupancy', async () => {
      const adminMe = await apiCall('GET', '/api/me', await loginApi(ADMIN));
      const clinicId = adminMe.memberships.find((m) => m.role === 'clinic_admin' && m.clinic_name === 'Clínica Aurora').clinic_id;
      await page.goto(`${BASE_URL}/#/clinica/${clinicId}/relatorios`);
      await page.locator('[data-view="reports"]').waitFor();
      const attendance = page.locator('[data-report="attendance"]');
      await attendance.locator('table, .empty').first().waitFor();
      if (await attendance.locator('table').count()) {
        const helena = attendance.locator('tbody tr', { hasText: 'Dra. Helena Duarte' });
        await helena.waitFor();
        const cells = (await helena.locator('td').allInnerTexts()).map((x) => x.trim());
        assert(cells.length === 6, `cells: ${cells.join(' | ')}`);
        assert(/^(\d+(,\d)? %|—)$/.test(cells[5]), `occupancy shown as "${cells[5]}"`);
      }
      await noMissingText(page, 'reports');
      await shot(page, '06-reports');
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!admin.errors.length, admin.errors.join(' | '));
    });
  } finally {
    await admin.context.close().catch(() => {});
  }
}

main('journey-clinic-admin', run);
