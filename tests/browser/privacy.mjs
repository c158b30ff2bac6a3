// The patient portal's privacy section and the booking page's footer (LGPD):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/privacy.mjs
//
// The demo patient downloads "Baixar meus dados" and gets their whole export (the
// `atende.lgpd.export.v1` JSON of their account and linked records) and the PDF summary;
// the data protection officer's contact configured on the server (`[lgpd] dpo_*`, which
// GET /api/terms returns) is shown in the portal and on the public booking page. The
// clinic admin, on a patient's page, exports the record's data (JSON, with the reason) and
// anonymises it after typing the full name (a wrong name is refused). The
// server must have a DPO configured (.ci/run sets ATENDE_LGPD__DPO_NAME/EMAIL).

import { readFile } from 'node:fs/promises';
import {
  BASE_URL, PHONE, apiCall, assert, check, loginApi, loginUi, main, noHorizontalOverflow,
  openPage, randomCpf, screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const { shot } = screenshots('privacy');

main('privacy', async (browser) => {
  const terms = await apiCall('GET', '/api/terms');
  assert(terms.dpo && terms.dpo.name, 'the server has no data protection officer configured (lgpd.dpo_name)');
  const dpo = terms.dpo;

  await check('the patient downloads all their data from Privacidade', async () => {
    const { page, errors } = await openPage(browser, DESKTOP);
    await loginUi(page, 'joao@paciente.demo');
    await page.locator('[data-view="home-patient"]').waitFor();
    const section = page.locator('section[aria-labelledby="privacy-heading"]');
    const button = section.getByRole('button', { name: 'Baixar meus dados' });
    await button.scrollIntoViewIfNeeded();
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert(/^meus-dados-\d{4}-\d{2}-\d{2}\.json$/.test(download.suggestedFilename()), download.suggestedFilename());
    const data = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert(data.format === 'atende.lgpd.export.v1', `format ${data.format}`);
    assert(data.account && data.account.email === 'joao@paciente.demo', JSON.stringify(data.account));
    assert(Array.isArray(data.records) && data.records.length >= 1, 'no records');
    assert(data.records.some((r) => r.clinic && r.clinic.name), 'the linked clinic record is missing');
    await section.getByRole('status').filter({ hasText: 'Download iniciado.' }).first().waitFor();

    const [pdf] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Baixar resumo em PDF' }).click(),
    ]);
    const bytes = await readFile(await pdf.path());
    assert(bytes.subarray(0, 5).toString() === '%PDF-', 'the summary is not a PDF');

    const contact = section.locator('.dpo-contact');
    await contact.waitFor();
    const shown = await contact.textContent();
    assert(shown.includes(dpo.name) && (!dpo.email || shown.includes(dpo.email)), `DPO shown as "${shown}"`);
    await section.scrollIntoViewIfNeeded();
    await shot(page, 'portal');
    assert(!errors.length, errors.join(' | '));
    await page.context().close();
  });

  await check('the public booking page names the data protection officer in its footer', async () => {
    const token = await loginApi('recepcao@aurora.demo');
    const me = await apiCall('GET', '/api/me', token);
    const clinic = me.memberships.find((m) => m.role === 'receptionist').clinic_id;
    const { page, errors } = await openPage(browser, PHONE);
    await page.goto(`${BASE_URL}/#/agendar/${clinic}`);
    await page.locator('[data-view="booking"]').waitFor();
    const footer = page.locator('footer.bk-footer .dpo-contact');
    await footer.waitFor();
    const shown = await footer.textContent();
    assert(shown.includes(dpo.name), `footer says "${shown}"`);
    await noHorizontalOverflow(page);
    await shot(page, 'booking-footer');
    assert(!errors.length, errors.join(' | '));
    await page.context().close();
  });

  await check('the clinic admin exports a patient\'s data and anonymises the record on request', async () => {
    const token = await loginApi('admin@aurora.demo');
    const me = await apiCall('GET', '/api/me', token);
    const clinic = me.memberships.find((m) => m.role === 'clinic_admin').clinic_id;
    const fullName = 'Otávio Ramos Peixoto';
    const patient = await apiCall('POST', `/api/clinics/${clinic}/patients`, token, {
      full_name: fullName, cpf: randomCpf(), birth_date: '1961-05-30', phone: '(11) 97777-1234',
    });
    const { page, errors } = await openPage(browser, DESKTOP);
    await loginUi(page, 'admin@aurora.demo');
    await page.locator('[data-view^="home"]').first().waitFor();
    await page.goto(`${BASE_URL}/#/clinica/${clinic}/paciente/${patient.id}`);
    const panel = page.locator('[data-panel="lgpd"]');
    await panel.waitFor();
    await panel.getByLabel('Motivo da exportação').selectOption({ index: 1 });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      panel.getByRole('button', { name: 'Baixar dados (JSON)' }).click(),
    ]);
    const data = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert(data.format === 'atende.lgpd.export.v1', `format ${data.format}`);
    assert(JSON.stringify(data).includes(fullName), 'the export does not carry the patient');
    await panel.getByText('A exportação ficou registrada').waitFor();

    // A wrong name is refused; the right one anonymises and says what the law keeps.
    await panel.getByLabel('Nome completo do paciente').fill('Outra Pessoa');
    await panel.getByRole('button', { name: 'Anonimizar paciente' }).click();
    await panel.getByRole('alert').filter({ hasText: 'nome completo' }).waitFor();
    await panel.getByLabel('Nome completo do paciente').fill(fullName);
    await panel.getByRole('button', { name: 'Anonimizar paciente' }).click();
    await panel.getByText('Paciente anonimizado.').waitFor();
    await panel.getByText('Guardado por obrigação legal').waitFor();
    await page.locator('h1', { hasText: fullName }).waitFor({ state: 'detached' });
    // The contact form no longer offers the erased phone.
    await page.locator('input[name="phone"]').and(page.locator('[value="(11) 97777-1234"]')).waitFor({ state: 'detached' });
    assert(await page.locator('input[name="phone"]').inputValue() === '', 'the erased phone is still in the form');
    await panel.scrollIntoViewIfNeeded();
    await shot(page, 'admin-anonymised');
    const after = await apiCall('GET', `/api/clinics/${clinic}/patients/${patient.id}`, token);
    assert(!JSON.stringify(after).includes(fullName), 'the record still names the patient');
    // The page is allowed one 422 (the wrong name on purpose).
    const unexpected = errors.filter((e) => !/status of 422/.test(e));
    assert(!unexpected.length, unexpected.join(' | '));
    await page.context().close();
  });
});
