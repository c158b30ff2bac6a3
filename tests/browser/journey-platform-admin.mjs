// The platform admin creates a clinic and gives it its admin, through the real UI (issue #22):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/journey-platform-admin.mjs
//
// plataforma@atende.demo, desktop, a new clinic each run (a random valid CNPJ):
// - "Nova clínica" registers "Clínica Horizonte" (Recife's zone) and goes on to its
//   onboarding page, titled once ("Clínica Horizonte", never "Clínica Clínica …");
// - there she adds the clinic's administrator (step 4) and a dentist (step 3, masculine:
//   "Cirurgião-dentista"); the steps she does not do (hours, prices) say who does them;
// - the clinic is on the platform's list with its "Implantação e equipe" link;
// - the new administrator logs in, lands on the clinic's admin home, and sees the same
//   team on the clinic's own onboarding page;
// - nowhere "null"/"undefined"; axe on every screenshot; no console errors.
// Screenshots go to tests/browser/screenshots/journey-platform-admin-*.png.

import {
  assert,
  check,
  loginUi,
  main,
  noMissingText,
  openPage,
  screenshots,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const PLATFORM = 'plataforma@atende.demo';
const NEW_PASSWORD = 'senha-inicial-123';
/** Words that must never show here. */
const FORBIDDEN = [/Clínica Clínica/];
const { shot } = screenshots('journey-platform-admin');

/** A random valid CNPJ (digits only, formatted). */
function randomCnpj() {
  const d = Array.from({ length: 8 }, () => Math.floor(Math.random() * 10)).concat([0, 0, 0, 1]);
  const digit = (ds) => {
    const weights = ds.length === 12 ? [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2] : [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const r = ds.reduce((sum, x, i) => sum + x * weights[i], 0) % 11;
    return r < 2 ? 0 : 11 - r;
  };
  d.push(digit(d));
  d.push(digit(d));
  const s = d.join('');
  return `${s.slice(0, 2)}.${s.slice(2, 5)}.${s.slice(5, 8)}/${s.slice(8, 12)}-${s.slice(12)}`;
}

async function run(browser) {
  const stamp = Date.now();
  const cnpj = randomCnpj();
  const admin = { name: 'Patrícia Moura Leal', email: `patricia-${stamp}@exemplo.com.br` };
  const dentist = { name: 'Henrique Sales Prado', email: `henrique-${stamp}@exemplo.com.br` };

  const platform = await openPage(browser, DESKTOP);
  const { page } = platform;
  const step = (key) => page.locator(`section[data-step="${key}"]`);
  try {
    const created = await check('"Nova clínica" registers the clinic and opens its onboarding', async () => {
      await loginUi(page, PLATFORM);
      await page.locator('[data-view="home-platform"]').waitFor();
      const form = page.locator('form', { has: page.getByRole('button', { name: 'Cadastrar clínica' }) });
      await form.getByLabel('Nome da clínica').fill('Clínica Horizonte');
      await form.getByLabel('CNPJ').fill(cnpj);
      await form.getByLabel('Logradouro').fill('Avenida Boa Viagem');
      await form.getByLabel('Número').fill('1200');
      await form.getByLabel('Bairro').fill('Boa Viagem');
      await form.getByLabel('CEP').fill('51011-000');
      await form.getByLabel('Cidade').fill('Recife');
      await form.getByLabel('UF').selectOption('PE');
      await form.getByLabel('Fuso horário').selectOption('America/Recife');
      await shot(page, '01-new-clinic');
      await form.getByRole('button', { name: 'Cadastrar clínica' }).click();
      await page.locator('[data-view="onboarding"]').waitFor();
      await page.getByRole('heading', { level: 1, name: 'Implantação — Clínica Horizonte' }).waitFor();
      const data = await text(step('clinic'));
      assert(data.includes('Avenida Boa Viagem') && data.includes('America/Recife'), `clinic data: "${data}"`);
      await step('hours').getByText('definidos pela administração da clínica').waitFor();
      await noMissingText(page, 'onboarding', FORBIDDEN);
      await shot(page, '02-onboarding');
    });
    if (!created) throw new Error('the clinic was not created');

    await check('she adds the clinic\'s administrator and a dentist ("Cirurgião-dentista")', async () => {
      const staff = step('staff').locator('form');
      await staff.getByLabel('E-mail').fill(admin.email);
      await staff.getByLabel('Nome completo').fill(admin.name);
      await staff.getByLabel('Senha inicial').fill(NEW_PASSWORD);
      await staff.getByLabel('Função').selectOption('clinic_admin');
      await staff.getByRole('button', { name: 'Adicionar à equipe' }).click();
      await staff.locator('.form-status', { hasText: `${admin.name} foi adicionado(a) à equipe` }).waitFor();
      await step('staff').locator('.member-list .card').filter({ hasText: admin.name }).filter({ hasText: 'Administrador(a)' }).waitFor();
      const pro = step('professionals').locator('form');
      await pro.getByLabel('E-mail').fill(dentist.email);
      await pro.getByLabel('Nome completo').fill(dentist.name);
      await pro.getByLabel('Senha inicial').fill(NEW_PASSWORD);
      await pro.getByLabel('Profissão').selectOption('dentist');
      await pro.getByLabel('Tratamento').selectOption('male');
      await pro.getByLabel('Conselho', { exact: true }).selectOption('CRO');
      await pro.getByLabel('Número do registro').fill(String(stamp).slice(-6));
      await pro.getByLabel('UF do conselho').selectOption('PE');
      await pro.getByRole('button', { name: 'Adicionar profissional' }).click();
      const card = step('professionals').locator('.card').filter({ hasText: dentist.name });
      await card.waitFor();
      assert((await text(card)).includes('Cirurgião-dentista'), `card: "${await text(card)}"`);
      await noMissingText(page, 'team added', FORBIDDEN);
      await shot(page, '03-team');
    });

    await check('the clinic is on the platform\'s list with its onboarding link', async () => {
      await page.getByRole('link', { name: '← Voltar' }).click();
      await page.locator('[data-view="home-platform"]').waitFor();
      await page.getByRole('link', { name: 'Implantação e equipe — Clínica Horizonte' }).first().waitFor();
      await noMissingText(page, 'platform list', FORBIDDEN);
    });

    await check('the new administrator logs in and sees the clinic\'s team on its onboarding', async () => {
      const other = await openPage(browser, DESKTOP);
      try {
        await loginUi(other.page, admin.email, NEW_PASSWORD);
        await other.page.locator('[data-view="home-admin"]').waitFor();
        await other.page.getByRole('link', { name: 'Implantação da clínica, passo a passo' }).click();
        await other.page.locator('[data-view="onboarding"]').waitFor();
        await other.page.locator('section[data-step="professionals"] .card').filter({ hasText: dentist.name }).filter({ hasText: 'Sem horários' }).waitFor();
        await other.page.locator('section[data-step="hours"]').getByRole('link', { name: 'Abrir horários e serviços' }).waitFor();
        await noMissingText(other.page, 'new admin', FORBIDDEN);
        await shot(other.page, '04-new-admin');
        assert(!other.errors.length, other.errors.join(' | '));
      } finally {
        await other.context.close();
      }
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!platform.errors.length, platform.errors.join(' | '));
    });
  } finally {
    await platform.context.close().catch(() => {});
  }
}

main('journey-platform-admin', run);
