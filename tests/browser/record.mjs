// Headless-browser test of the clinical record ("Prontuário") on the staff patient page.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/record.mjs
//
// On the demo data (Clínica Aurora), with a patient registered by the test:
// - Dra. Helena, with no appointment with the patient, is asked for a reason ("quebra de
//   sigilo"); a short one is refused by the browser, a real one opens the record;
// - she records an allergy (shown with its severity);
// - she adds a problem found in the CID-10 by words typed without accents ("hipertensao
//   essencial" → I10), and it is listed as active;
// - she records vital signs: an implausible SpO2 is refused on its field, plausible ones are
//   saved with the BMI and show on the timeline;
// - she types an encounter: the draft saves itself ("Rascunho salvo"); she finds the
//   diagnosis in the CID-10 search, presses "Assinar e bloquear" and the timeline shows it
//   locked, with the diagnosis and her CRM;
// - a "Receita simples" of "DIPIRONA SODICA" for the patient allergic to "Dipirona sódica"
//   shows the allergy before signing ("Emitir mesmo assim"), and is then issued (a warning,
//   not a block); after a reload it is "Em uso" under "Medicamentos em uso", and she stops it
//   with a reason ("Suspenso");
// - vital signs over time: with an earlier set (over HTTP), weight and blood pressure are
//   charted, each chart saying first and last values in words;
// - the receptionist's page of the same patient has no "Prontuário" section;
// - an encounter Helena signs on João's record shows on his home ("Meus atendimentos"), and
//   his "Exportar (FHIR)" there downloads a FHIR Bundle that holds it;
// - no console errors, page errors or CSP violations.
// Screenshots go to tests/browser/screenshots/record-*.png.

import { readFile } from 'node:fs/promises';
import {
  apiCall, assert, check, loginApi, loginUi, main, openPage, randomCpf, screenshots,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };

/** Wait until the login view has given way to a home. */
async function loggedIn(page) {
  await page.waitForFunction(() => document.querySelector('[data-view]:not([data-view="login"])'));
}

async function run(browser) {
  const { shot } = screenshots('record');
  const recepToken = await loginApi('recepcao@aurora.demo');
  const me = await apiCall('GET', '/api/me', recepToken);
  const clinic = me.memberships.find((m) => m.role === 'receptionist').clinic_id;
  const patient = await apiCall('POST', `/api/clinics/${clinic}/patients`, recepToken, {
    full_name: 'Olívia Prontuário Teste', cpf: randomCpf(), birth_date: '1981-08-08',
  });
  const patientUrl = (base) => `${base}/#/clinica/${clinic}/paciente/${patient.id}`;

  const doc = await openPage(browser, DESKTOP);
  // The record answers 403 no_care_relationship before the glass is broken.
  doc.allowed.push(/403/);
  // The implausible vital sign is refused (422) on purpose.
  doc.allowed.push(/422/);
  const { page } = doc;
  await loginUi(page, 'dra.helena@atende.demo');
  await loggedIn(page);
  const base = new URL(page.url()).origin;

  await check('without a care relationship the record asks for a reason', async () => {
    await page.goto(patientUrl(base));
    await page.getByRole('heading', { name: 'Prontuário', exact: true }).waitFor();
    await page.getByLabel('Motivo (fica registrado na auditoria)').waitFor();
    await page.getByLabel('Motivo (fica registrado na auditoria)').fill('curto');
    await page.getByRole('button', { name: 'Abrir prontuário' }).click();
    assert(await page.getByRole('heading', { name: 'Alergias e intolerâncias' }).count() === 0, 'opened with a short reason');
    await page.getByLabel('Motivo (fica registrado na auditoria)').fill('Paciente encaminhada com urgência pela recepção');
    await page.getByRole('button', { name: 'Abrir prontuário' }).click();
    await page.getByRole('heading', { name: 'Alergias e intolerâncias' }).waitFor();
  });

  await check('an allergy is recorded and shown with its severity', async () => {
    await page.getByText('Registrar alergia', { exact: true }).first().click();
    await page.getByLabel('Substância').fill('Dipirona sódica');
    await page.getByLabel('Reação').fill('Urticária e falta de ar');
    await page.getByLabel('Gravidade').selectOption('severe');
    await page.getByRole('button', { name: 'Registrar alergia' }).click();
    await page.locator('ul.allergies li', { hasText: 'Dipirona sódica' }).getByText('Grave').waitFor();
  });

  await check('a problem is found in the CID-10 by words without accents and listed as active', async () => {
    await page.getByText('Registrar problema', { exact: true }).first().click();
    await page.getByLabel('Problema (CID-10)', { exact: true }).fill('hipertensao essencial');
    await page.getByRole('button', { name: /^I10 Hipertensão essencial/ }).click();
    await page.getByText('Escolhido: I10 Hipertensão essencial (primária)').waitFor();
    await page.getByRole('button', { name: 'Registrar problema' }).click();
    const item = page.locator('ul.problems li', { hasText: 'I10' });
    await item.getByText('Ativo').waitFor();
    assert((await item.innerText()).includes('Hipertensão essencial (primária)'), 'description missing');
  });

  await check('vital signs: an implausible value is refused on its field, the rest saved with the BMI and on the timeline', async () => {
    await page.getByText('Registrar sinais vitais', { exact: true }).first().click();
    await page.getByLabel('SpO₂ (%)').fill('140');
    await page.getByRole('button', { name: 'Registrar sinais vitais' }).click();
    const spo2 = page.getByLabel('SpO₂ (%)');
    await page.waitForFunction(() => document.querySelector('input[name="spo2_percent"]')?.getAttribute('aria-invalid') === 'true');
    assert(await spo2.getAttribute('aria-invalid') === 'true', 'SpO2 not flagged');
    await spo2.fill('97');
    await page.getByLabel('PA sistólica (mmHg)').fill('130');
    await page.getByLabel('PA diastólica (mmHg)').fill('85');
    await page.getByLabel('Temperatura (°C)').fill('36,8');
    await page.getByLabel('Peso (kg)').fill('70');
    await page.getByLabel('Altura (cm)').fill('175');
    await page.getByRole('button', { name: 'Registrar sinais vitais' }).click();
    await page.getByText(/Registrado: PA 130\/85 mmHg/).waitFor();
    const item = page.locator('li.timeline-item', { hasText: 'Sinais vitais' });
    await item.getByText(/IMC 22,9/).waitFor();
    const text = await item.innerText();
    assert(text.includes('PA 130/85 mmHg') && text.includes('Temp. 36,8 °C'), `vitals: ${text}`);
    await shot(page, 'lists');
  });

  await check('vital signs over time: weight and blood pressure charted once there are two sets', async () => {
    // An earlier set, taken two months ago (recorded over HTTP with its time).
    const helenaToken = await loginApi('dra.helena@atende.demo');
    const earlier = new Date(Date.now() - 60 * 86_400_000).toISOString();
    await apiCall('POST', `/api/clinics/${clinic}/patients/${patient.id}/record/vitals`, helenaToken, {
      values: { weight_kg: 73, systolic_mmhg: 142, diastolic_mmhg: 91 }, measured_at: earlier,
    });
    await page.reload();
    const weight = page.locator('svg.vitals-chart[data-chart="weight"]');
    await weight.waitFor();
    const said = await weight.getAttribute('aria-label');
    assert(/^Peso: 73 kg em .* a 70 kg em .*, 2 medições$/.test(said || ''), `weight chart says "${said}"`);
    const pressure = await page.locator('svg.vitals-chart[data-chart="pressure"]').getAttribute('aria-label');
    assert(/^Pressão arterial: 142\/91 mmHg em .* a 130\/85 mmHg em /.test(pressure || ''), `pressure chart says "${pressure}"`);
    assert(await page.locator('svg.vitals-chart[data-chart="glucose"]').count() === 0, 'a glucose chart with no glucose');
    await page.locator('.vitals-charts').scrollIntoViewIfNeeded();
    await shot(page, 'vitals-charts');
  });

  await check('the draft saves itself and "Assinar e bloquear" locks it on the timeline', async () => {
    await page.getByLabel('Queixa principal').fill('Febre e dor no corpo há três dias');
    await page.getByText(/Rascunho salvo às/).waitFor();
    await page.getByLabel('Buscar na CID-10', { exact: true }).fill('influenza outras manifestacoes respirat');
    await page.getByRole('button', { name: /^J11\.1 Influenza/ }).click();
    const diagnoses = await page.getByLabel(/Diagnósticos/).inputValue();
    assert(diagnoses.startsWith('J11.1 Influenza [gripe] com outras manifestações respiratórias'), `diagnoses: ${diagnoses}`);
    await page.getByLabel('Conduta').fill('Hidratação, antitérmico, retorno se piora.');
    await page.getByRole('button', { name: 'Assinar e bloquear' }).click();
    await page.getByText('Atendimento assinado e bloqueado.').waitFor();
    const item = page.locator('li.timeline-item', { hasText: 'Febre e dor no corpo' });
    await item.getByText('Assinado e bloqueado').waitFor();
    const text = await item.innerText();
    assert(text.includes('J11.1 Influenza'), `diagnosis missing: ${text}`);
    assert(/CRM/.test(text), `council missing: ${text}`);
    await shot(page, 'timeline');
  });

  await check('a prescription of the allergy\'s substance warns before signing; "Emitir mesmo assim" issues it', async () => {
    const section = page.locator('[data-documents="staff"]');
    await section.getByRole('button', { name: 'Receita simples', exact: true }).click();
    const form = section.locator('form.doc-form[data-kind="prescription"]');
    await form.waitFor();
    const line = form.getByRole('group', { name: 'Medicamento 1', exact: true });
    await line.getByLabel('Medicamento', { exact: true }).fill('DIPIRONA SODICA');
    await line.getByLabel(/^Concentração/).fill('500 mg');
    await line.getByLabel(/^Forma farmacêutica/).fill('comprimido');
    await line.getByLabel('Quantidade', { exact: true }).fill('10 comprimidos');
    await line.getByLabel('Posologia', { exact: true }).fill('1 comprimido de 6/6 h se dor');
    await form.getByRole('button', { name: 'Emitir e assinar' }).click();
    const warning = form.locator('.doc-warnings');
    await warning.getByText(/alergia a Dipirona sódica \(grave\): Urticária e falta de ar/).waitFor();
    const again = form.getByRole('button', { name: 'Emitir mesmo assim' });
    await again.waitFor();
    await shot(page, 'allergy-warning');
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${base}/api/documents`);
    await again.click();
    const res = await answer;
    assert(res.status() === 202, `POST /api/documents → ${res.status()}`);
    const issued = await res.json();
    assert(issued.warnings.length === 1 && issued.warnings[0].code === 'allergy', JSON.stringify(issued.warnings));
  });

  await check('the prescribed medicine is "Em uso" in the record and is stopped with a reason', async () => {
    await page.reload();
    const line = page.locator('ul.medications li', { hasText: 'DIPIRONA SODICA' });
    await line.getByText('Em uso', { exact: true }).waitFor();
    await line.getByText('Suspender', { exact: true }).first().click();
    await line.getByLabel('Motivo da suspensão').fill('Alergia registrada: trocada por paracetamol');
    await line.getByRole('button', { name: 'Suspender' }).click();
    const stopped = page.locator('ul.medications li', { hasText: 'DIPIRONA SODICA' });
    await stopped.getByText('Suspenso', { exact: true }).waitFor();
    assert((await stopped.innerText()).includes('trocada por paracetamol'), 'reason missing');
    await shot(page, 'medications');
  });

  await check('"Exportar (FHIR)" downloads the record as a FHIR Bundle', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Exportar (FHIR)' }).click(),
    ]);
    assert(/^prontuario-\d{4}-\d{2}-\d{2}\.fhir\.json$/.test(download.suggestedFilename()), download.suggestedFilename());
    const bundle = JSON.parse(await readFile(await download.path(), 'utf8'));
    const kinds = new Set(bundle.entry.map((x) => x.resource.resourceType));
    for (const k of ['Patient', 'Encounter', 'Condition', 'AllergyIntolerance', 'Observation', 'MedicationStatement']) {
      assert(kinds.has(k), `no ${k} in the bundle: ${[...kinds].join(', ')}`);
    }
    const stoppedMed = bundle.entry.map((x) => x.resource).find((r) => r.resourceType === 'MedicationStatement');
    assert(stoppedMed.status === 'stopped', `medication: ${JSON.stringify(stoppedMed)}`);
  });

  await check('the receptionist sees no clinical record', async () => {
    const recep = await openPage(browser, DESKTOP);
    await loginUi(recep.page, 'recepcao@aurora.demo');
    await loggedIn(recep.page);
    await recep.page.goto(patientUrl(base));
    await recep.page.getByRole('heading', { name: 'Dados cadastrais' }).waitFor();
    assert(await recep.page.getByRole('heading', { name: 'Prontuário', exact: true }).count() === 0, 'a Prontuário section for the receptionist');
    assert(recep.errors.length === 0, recep.errors.join('\n'));
  });

  await check('the patient home lists signed encounters under "Meus atendimentos"', async () => {
    // Helena signs an encounter on João's record at Aurora (over the API).
    const helena = await loginApi('dra.helena@atende.demo');
    const joaoMe = await apiCall('GET', '/api/me', await loginApi('joao@paciente.demo'));
    const record = joaoMe.linked_records.find((l) => l.clinic_id === clinic).patient_id;
    const rec = `/api/clinics/${clinic}/patients/${record}/record`;
    await apiCall('POST', `${rec}/break-glass`, helena, { reason: 'Revisão do histórico do paciente' });
    const complaint = `Retorno de rotina ${Date.now()}`;
    const e = await apiCall('POST', `${rec}/encounters`, helena, { content: { chief_complaint: complaint, diagnoses: [{ code: 'Z00.0', text: 'Exame geral' }] } });
    await apiCall('POST', `${rec}/encounters/${e.id}/sign`, helena);
    const joao = await openPage(browser, DESKTOP);
    await loginUi(joao.page, 'joao@paciente.demo');
    await loggedIn(joao.page);
    await joao.page.goto(`${base}/#/meus-dados`);
    const panel = joao.page.locator('section', { has: joao.page.getByRole('heading', { name: 'Meus atendimentos' }) });
    await panel.waitFor();
    await panel.getByText(complaint).waitFor();
    assert((await panel.innerText()).includes('Z00.0 Exame geral'), 'diagnosis missing');
    // "Exportar (FHIR)" downloads their record as a FHIR Bundle holding that encounter.
    const [download] = await Promise.all([
      joao.page.waitForEvent('download'),
      panel.getByRole('button', { name: 'Exportar (FHIR)' }).click(),
    ]);
    assert(/^meu-prontuario-\d{4}-\d{2}-\d{2}\.fhir\.json$/.test(download.suggestedFilename()), download.suggestedFilename());
    const bundle = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert(bundle.resourceType === 'Bundle' && bundle.type === 'collection', 'not a FHIR collection Bundle');
    const encounter = bundle.entry.map((x) => x.resource).find((r) => r.id === e.id);
    assert(encounter && encounter.resourceType === 'Encounter' && encounter.reasonCode[0].text === complaint, 'the signed encounter is not in the bundle');
    assert(joao.errors.length === 0, joao.errors.join('\n'));
  });

  await check('no console errors, page errors or CSP violations', async () => {
    assert(doc.errors.length === 0, doc.errors.join('\n'));
  });
}

main('record', run);
