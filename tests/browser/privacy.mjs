// The patient portal's privacy section and the booking page's footer (LGPD):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/privacy.mjs
//
// The demo patient downloads "Baixar meus dados" and gets their whole export (the
// `atende.lgpd.export.v1` JSON of their account and linked records) and the PDF summary;
// the data protection officer's contact configured on the server (`[lgpd] dpo_*`, which
// GET /api/terms returns) is shown in the portal and on the public booking page. The
// server must have a DPO configured (.ci/run sets ATENDE_LGPD__DPO_NAME/EMAIL).

import { readFile } from 'node:fs/promises';
import {
  BASE_URL, PHONE, apiCall, assert, check, loginApi, loginUi, main, noHorizontalOverflow,
  openPage, screenshots,
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
});
