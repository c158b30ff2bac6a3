// Headless-browser test of the signed documents: issue, live signing, send, patient
// download, public verification (code and file) and revocation.
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/documents.mjs
//
// On the demo data (Clínica Aurora):
// - setup over HTTP: the clinic, Dra. Helena's user id and João's patient id; the
//   documents API answers;
// - Helena (desktop) opens João's record: the "Documentos" section is live and offers a
//   doctor's five kinds (not the psychological report) and warns that the verification URL
//   is a loopback address; João (phone, second context) opens "Meus documentos" (live);
// - Helena's "Atestado" form: a start date two months ahead is refused by the server and its
//   message is shown on the field; a CID without the patient's consent is stopped before
//   sending;
// - Helena fills a "Receita simples" with two medications in accented Portuguese ("Dipirona
//   sódica", "1 comprimido de 6/6 h se dor ou febre — não exceder 4 g/dia"); an empty third
//   line is flagged and removed; "Pré-visualizar" gives an unsigned PDF (a blob: link);
//   "Emitir e assinar" adds the document to the list ("Assinando…" when caught) and it turns
//   "Assinada" (a receita: the badge agrees with the kind) WITHOUT a reload (document.updated; no polling); Helena downloads it;
// - "Enviar ao paciente": João's page shows it live ("Novo"), and his "Baixar PDF" saves a
//   file starting with %PDF;
// - a third, anonymous context opens /v/<id> (the QR code's URL): it lands on
//   #/verificar/<id>; the code says it is signed but "não ICP-Brasil" (the demo's own CA) with the professional,
//   clinic and patient initials; the downloaded file is "idêntico"; a modified copy is not
//   recognised; a copy a pharmacy counter-signed (pyHanko) is the signed document with one
//   further signature, which verifies;
// - Helena revokes (reason asked): her list and João's (live) say "Revogado"; the public
//   page, reloaded, says "REVOGADO" with the reason;
// - "Assinatura digital": the certificate in use is shown; a wrong file is refused with the
//   server's message; with openssl on the machine, a self-signed A1 (.p12) is imported and
//   then Helena goes back to the installation's certificate;
// - the clinic admin sees João's documents read-only (download only);
// - without the WebSocket (refused), a new exam request shows "Assinando…" and the list
//   falls back to polling until it is "Assinada";
// - no horizontal overflow on the phone pages; no console errors, page errors or CSP
//   violations anywhere.
// Screenshots go to tests/browser/screenshots/documents-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BASE_URL,
  PHONE,
  addDays,
  apiCall,
  assert,
  check,
  localDate,
  loginApi,
  loginUi,
  main,
  noHorizontalOverflow,
  openPage,
  screenshots,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const HELENA = 'dra.helena@atende.demo';
const JOAO = 'joao@paciente.demo';
const RECEPTIONIST = 'recepcao@aurora.demo';
const ADMIN = 'admin@aurora.demo';

const MEDS = [
  {
    name: 'Dipirona sódica',
    concentration: '500 mg',
    form: 'comprimido',
    quantity: '1 caixa (10 comprimidos)',
    instructions: '1 comprimido de 6/6 h se dor ou febre — não exceder 4 g/dia',
  },
  {
    name: 'Amoxicilina',
    concentration: '500 mg',
    form: 'cápsula',
    quantity: '21 cápsulas',
    instructions: '1 cápsula de 8/8 h por 7 dias, após as refeições',
  },
];
const REASON = 'Dose prescrita incorreta — substituída por nova receita';

const { shot } = screenshots('documents');

/** The fields of medication line `n` (1-based) of the open form. */
function medLine(page, n) {
  return page.getByRole('group', { name: `Medicamento ${n}`, exact: true });
}

async function fillMed(page, n, med) {
  const line = medLine(page, n);
  await line.getByLabel('Medicamento', { exact: true }).fill(med.name);
  await line.getByLabel(/^Concentração/).fill(med.concentration);
  await line.getByLabel(/^Forma farmacêutica/).fill(med.form);
  await line.getByLabel('Quantidade', { exact: true }).fill(med.quantity);
  await line.getByLabel('Posologia', { exact: true }).fill(med.instructions);
}

/** No "null"/"undefined"/"NaN" leaked into the text of `locator`. */
async function noPlaceholders(locator) {
  const said = await text(locator);
  const bad = /\b(null|undefined|NaN|Invalid Date)\b/.exec(said);
  assert(!bad, `"${bad && bad[0]}" shown: …${said.slice(Math.max(0, (bad ? bad.index : 0) - 60), (bad ? bad.index : 0) + 20)}`);
}

/** Marks the page; `stillSame` tells whether it was reloaded since. */
async function markPage(page) {
  await page.evaluate(() => {
    window.__docsMarker = 'same-page';
  });
  return async () => page.evaluate(() => window.__docsMarker === 'same-page');
}

/** A self-signed RSA-2048 key and certificate for digital signature (openssl): their paths. */
function selfSigned(dir, name, subject) {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '30', '-subj', subject,
    '-addext', 'keyUsage=critical,digitalSignature,nonRepudiation'], { stdio: 'ignore' });
  return { key, cert };
}

/**
 * `pdf` counter-signed by pyHanko as a pharmacist (a self-signed openssl certificate), in a
 * new signature field: the path of the new file. Throws without openssl or pyhanko (CI
 * installs both).
 */
function countersign(dir, pdf) {
  const { key, cert } = selfSigned(dir, 'farmacia', '/C=BR/O=Farmacia Teste/CN=Farmaceutica Teste');
  const out = join(dir, 'receita-dispensada.pdf');
  execFileSync('pyhanko', ['sign', 'addsig', '--field', '1/40,40,240,90/Farmacia', '--reason', 'Dispensado',
    'pemder', '--key', key, '--cert', cert, '--no-pass', pdf, out], { stdio: 'ignore' });
  return out;
}

/** A self-signed RSA certificate for digital signature, as a .p12 (null without openssl). */
function makePkcs12(dir, password) {
  try {
    const { key, cert } = selfSigned(dir, 'helena', '/C=BR/O=Teste/CN=HELENA DUARTE:00000000000');
    const p12 = join(dir, 'helena.p12');
    execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', p12,
      '-passout', `pass:${password}`], { stdio: 'ignore' });
    return p12;
  } catch {
    return null;
  }
}

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  const work = await mkdtemp(join(tmpdir(), 'atende-docs-'));
  const helenaToken = await loginApi(HELENA);
  const helenaMe = await apiCall('GET', '/api/me', helenaToken);
  const membership = helenaMe.memberships.find((m) => m.role === 'professional' && m.clinic_name === 'Clínica Aurora');
  assert(membership, 'Helena is not a professional of Clínica Aurora');
  const clinicId = membership.clinic_id;
  let joaoId = null;

  const ready = await check('setup: Aurora, Helena, João; the documents API answers', async () => {
    const reception = await loginApi(RECEPTIONIST);
    const found = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=${encodeURIComponent('João Pereira')}`, reception);
    joaoId = found[0] && found[0].id;
    assert(joaoId, 'João is not a patient of the clinic');
    const list = await apiCall('GET', `/api/clinics/${clinicId}/patients/${joaoId}/documents`, helenaToken);
    assert(Array.isArray(list.documents), `list answer ${JSON.stringify(list)}`);
    const key = await apiCall('GET', '/api/me/signing-key', helenaToken);
    if (key.source === 'imported') await apiCall('DELETE', '/api/me/signing-key', helenaToken);
    return `${list.documents.length} earlier documents, key ${key.source}`;
  });
  if (!ready) throw new Error('setup failed');

  const helena = await openPage(browser, DESKTOP);
  const joao = await openPage(browser, PHONE);
  const anon = await openPage(browser, PHONE);
  // Refusals the test provokes on purpose (the browser logs the 4xx answer).
  helena.allowed.push(/status of 4(00|22) /);
  anon.allowed.push(/status of 4(00|22) /);
  const pages = [['Helena', helena], ['João', joao], ['anonymous', anon]];
  const hp = helena.page;
  const jp = joao.page;
  const ap = anon.page;
  const section = hp.locator('[data-documents="staff"]');

  let doc = null; // {id, code}
  let pdfPath = null;

  try {
    await check('Helena opens João\'s record: "Documentos" is live, offers a doctor\'s five kinds (no psychological report) and warns of the loopback URL', async () => {
      await loginUi(hp, HELENA);
      await hp.locator('[data-view="home-professional"]').waitFor();
      await hp.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${joaoId}`);
      await hp.locator('[data-view="patient-detail"]').waitFor();
      await section.getByRole('heading', { name: 'Documentos', exact: true }).waitFor();
      await hp.locator('[data-documents="staff"][data-live="true"]').waitFor();
      for (const name of ['Receita simples', 'Receita de controle especial', 'Atestado', 'Solicitação de exames', 'Declaração de comparecimento']) {
        await section.getByRole('button', { name, exact: true }).waitFor();
      }
      assert(await section.getByRole('button', { name: 'Relatório psicológico', exact: true }).isHidden(),
        'a doctor is offered a psychological report');
      // The demo server's public URL is 127.0.0.1: QR codes would lead nowhere.
      const warning = section.locator('.doc-url-warning');
      await warning.waitFor();
      assert((await text(warning)).includes('server.public_url'), 'no loopback warning');
    });

    await check('João opens "Meus documentos" from the header (live)', async () => {
      await loginUi(jp, JOAO);
      await jp.locator('[data-view="home-patient"]').waitFor();
      await jp.getByRole('navigation', { name: 'Áreas' }).getByRole('link', { name: 'Documentos' }).click();
      await jp.locator('[data-view="my-documents"][data-live="true"]').waitFor();
      await jp.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !document.querySelector('.doc-list .loading'));
      await noHorizontalOverflow(jp);
      return `${await jp.locator('.doc-item').count()} documents before`;
    });

    await check('Atestado: the server\'s refusal (start two months ahead) is shown on the field; a CID needs consent', async () => {
      await section.getByRole('button', { name: 'Atestado', exact: true }).click();
      const form = section.locator('form.doc-form[data-kind="certificate"]');
      await form.waitFor();
      await form.getByLabel('Dias de afastamento').fill('3');
      await form.getByLabel('Início do afastamento').fill(addDays(localDate(new Date()), 60));
      await form.getByRole('button', { name: 'Pré-visualizar' }).click();
      const fieldError = form.locator('.field-error:not([hidden])').first();
      await fieldError.waitFor();
      const message = await text(fieldError);
      assert(/30 dias/.test(message), `field error "${message}"`);
      await form.getByLabel('Início do afastamento').fill(localDate(new Date()));
      await form.getByLabel(/^CID-10/).fill('J11');
      await form.getByRole('button', { name: 'Emitir e assinar' }).click();
      const consentError = form.locator('.field-checkbox .field-error:not([hidden])');
      await consentError.waitFor();
      assert(/consentimento/.test(await text(consentError)), 'no consent error');
      await form.getByRole('button', { name: 'Cancelar' }).click();
      await form.waitFor({ state: 'detached' });
      return message;
    });

    await check('Receita simples: two accented medications; an empty third line is flagged, then removed', async () => {
      await section.getByRole('button', { name: 'Receita simples', exact: true }).click();
      const form = section.locator('form.doc-form[data-kind="prescription"]');
      await form.waitFor();
      await fillMed(hp, 1, MEDS[0]);
      await form.getByRole('button', { name: 'Adicionar medicamento' }).click();
      await fillMed(hp, 2, MEDS[1]);
      await form.getByRole('button', { name: 'Adicionar medicamento' }).click();
      await medLine(hp, 3).waitFor();
      await form.getByRole('button', { name: 'Emitir e assinar' }).click();
      const summary = form.locator('[role="alert"]:not([hidden])').first();
      await summary.waitFor();
      const said = await text(summary);
      assert(/Corrija os 3 campos/.test(said), `summary "${said}"`);
      assert(await medLine(hp, 3).locator('[aria-invalid="true"]').count() === 3, 'line 3 not flagged');
      await form.getByRole('button', { name: 'Remover medicamento 3' }).click();
      await medLine(hp, 3).waitFor({ state: 'detached' });
      await summary.waitFor({ state: 'hidden' });
      assert(await form.getByRole('button', { name: 'Remover medicamento 1' }).isEnabled(), 'line 1 cannot be removed with two lines');
      await form.getByLabel(/^Observações/).fill('Retorno em 7 dias se não houver melhora.');
      await shot(hp, 'form');
    });

    await check('"Pré-visualizar" gives an unsigned PDF (blob: link to open or download)', async () => {
      const form = section.locator('form.doc-form[data-kind="prescription"]');
      const answer = hp.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${BASE_URL}/api/documents/preview`);
      await form.getByRole('button', { name: 'Pré-visualizar' }).click();
      const res = await answer;
      assert(res.status() === 200, `preview → ${res.status()}`);
      assert(/application\/pdf/.test(res.headers()['content-type'] || ''), `content-type ${res.headers()['content-type']}`);
      // The page's CSP (connect-src) keeps even the page from fetching the blob: it is
      // opened in a new tab or downloaded.
      const open = form.getByRole('link', { name: 'Abrir em nova aba' });
      await open.waitFor();
      const href = await open.getAttribute('href');
      assert(href && href.startsWith('blob:'), `href ${href}`);
      assert((await open.getAttribute('target')) === '_blank', 'not a new tab');
      const save = form.getByRole('link', { name: 'Baixar PDF da pré-visualização' });
      assert((await save.getAttribute('href')) === href, 'download link differs');
      const download = hp.waitForEvent('download');
      await save.click();
      const file = await download;
      const bytes = await readFile(await file.path());
      assert(bytes.subarray(0, 5).toString('latin1') === '%PDF-', 'the preview is not a PDF');
      return `${file.suggestedFilename()}, ${bytes.length} bytes`;
    });

    await check('"Emitir e assinar": listed at once, then "Assinada" live (no reload, no polling)', async () => {
      const stillSame = await markPage(hp);
      const form = section.locator('form.doc-form[data-kind="prescription"]');
      const polls = [];
      hp.on('request', (req) => {
        if (req.method() === 'GET' && /\/api\/documents\/[0-9a-f-]+$/.test(req.url())) polls.push(req.url());
      });
      const answer = hp.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${BASE_URL}/api/documents`);
      await form.getByRole('button', { name: 'Emitir e assinar' }).click();
      const res = await answer;
      assert(res.status() === 202, `POST /api/documents → ${res.status()} ${await res.text()}`);
      const body = await res.json();
      doc = { id: body.id, code: body.code };
      const item = section.locator(`.doc-item[data-id="${doc.id}"]`);
      await item.waitFor();
      const [first, firstBadge] = await item.evaluate((el) => [el.dataset.status, el.querySelector('.doc-badge').textContent]);
      await section.locator('.doc-issued', { hasText: doc.code }).waitFor();
      await section.locator(`.doc-item[data-id="${doc.id}"][data-status="signed"]`).waitFor({ timeout: 20_000 });
      const badge = await text(item.locator('.doc-badge'));
      assert(badge === 'Assinada', `a receita's badge is "${badge}", not "Assinada"`);
      assert(await stillSame(), 'the page was reloaded');
      // One GET right after issuing (the full summary); more would be polling.
      assert(polls.length <= 1, `polled ${polls.length} times`);
      await item.getByText(doc.code).waitFor();
      await section.locator('.doc-issued[data-state="signed"]').waitFor();
      await noPlaceholders(section);
      await shot(hp, 'list-signed');
      return `first seen as ${first} ("${firstBadge}"), code ${doc.code}`;
    });
    if (!doc) throw new Error('no document issued');
    const item = section.locator(`.doc-item[data-id="${doc.id}"]`);

    await check('Helena downloads the signed PDF', async () => {
      const download = hp.waitForEvent('download');
      await item.getByRole('button', { name: /^Baixar PDF/ }).click();
      const file = await download;
      const bytes = await readFile(await file.path());
      assert(bytes.subarray(0, 5).toString('latin1') === '%PDF-', 'not a PDF');
      return file.suggestedFilename();
    });

    await check('"Enviar ao paciente": sent; João\'s "Meus documentos" shows it live', async () => {
      const stillSame = await markPage(jp);
      await item.getByRole('button', { name: 'Enviar ao paciente' }).click();
      await item.locator('.doc-sent').waitFor();
      const mine = jp.locator(`.doc-item[data-id="${doc.id}"]`);
      await mine.waitFor();
      await jp.locator('.doc-received').waitFor();
      await mine.locator('.doc-new-badge', { hasText: 'Novo' }).waitFor();
      const card = await text(mine);
      assert(card.includes('Receita simples'), `card "${card}"`);
      assert(card.includes('Helena Duarte'), 'no professional');
      assert(card.includes('Clínica Aurora'), 'no clinic');
      assert(card.includes(doc.code), 'no code');
      assert(await stillSame(), 'João\'s page was reloaded');
      await noPlaceholders(jp.locator('[data-view="my-documents"]'));
      await noHorizontalOverflow(jp);
      await shot(jp, 'patient');
    });

    await check('João downloads the PDF: it starts with %PDF', async () => {
      const download = jp.waitForEvent('download');
      await jp.locator(`.doc-item[data-id="${doc.id}"]`).getByRole('button', { name: /^Baixar PDF/ }).click();
      const file = await download;
      pdfPath = join(work, 'receita.pdf');
      await file.saveAs(pdfPath);
      const bytes = await readFile(pdfPath);
      assert(bytes.subarray(0, 4).toString('latin1') === '%PDF', 'not a PDF');
      return `${file.suggestedFilename()}, ${bytes.length} bytes`;
    });

    await check('anonymous: /v/<id> lands on #/verificar/<id>; the code says it is signed, but not ICP-Brasil', async () => {
      await ap.goto(`${BASE_URL}/v/${doc.id}`);
      await ap.locator('[data-view="verify"]').waitFor();
      assert(ap.url().endsWith(`/#/verificar/${doc.id}`), `url ${ap.url()}`);
      assert(await ap.locator('#header-user').isHidden(), 'the login header is shown');
      // Lower case and without the dash: the server normalises.
      await ap.getByLabel('Código de verificação').fill(doc.code.toLowerCase().replace('-', ''));
      await ap.getByRole('button', { name: 'Verificar', exact: true }).click();
      const status = ap.locator('.vf-result .vf-status');
      await status.waitFor();
      const said = await text(status);
      // The demo signs with the installation's own CA: authentic, but not for a pharmacy.
      assert(/não ICP-Brasil — não válida para dispensação em farmácia/.test(said)
        && (await status.getAttribute('data-tone')) === 'bad', `status "${said}"`);
      const details = await text(ap.locator('.vf-details'));
      for (const part of ['Receita simples', 'Helena Duarte', 'CRM', 'Clínica Aurora', 'J.']) {
        assert(details.includes(part), `details lack "${part}": ${details}`);
      }
      assert(!(await ap.locator('.vf-mismatch').count()), 'mismatch warning shown');
      const href = await ap.getByRole('link', { name: 'Baixar PDF' }).getAttribute('href');
      assert(href && href.includes('/api/public/documents/'), `pdf link ${href}`);
      await ap.getByRole('link', { name: 'validar.iti.gov.br' }).waitFor();
      await ap.getByRole('link', { name: 'Certificado da AC da instalação' }).waitFor();
      await noPlaceholders(ap.locator('[data-view="verify"]'));
      await noHorizontalOverflow(ap);
      await shot(ap, 'verify-ok');
      return said;
    });

    await check('anonymous: the downloaded PDF is "idêntico"; a modified copy is not recognised', async () => {
      assert(pdfPath, 'no downloaded PDF');
      const input = ap.getByLabel('Arquivo PDF recebido');
      await input.setInputFiles(pdfPath);
      await ap.getByRole('button', { name: 'Verificar arquivo' }).click();
      await ap.locator('.vf-file-result[data-intact="true"]').getByText('O arquivo é idêntico ao documento assinado').waitFor();
      const bytes = await readFile(pdfPath);
      const changed = Buffer.from(bytes);
      const at = changed.indexOf('Dipirona') >= 0 ? changed.indexOf('Dipirona') : Math.floor(changed.length / 2);
      changed[at] ^= 0x01;
      const changedPath = join(work, 'alterado.pdf');
      await writeFile(changedPath, changed);
      await input.setInputFiles(changedPath);
      await ap.getByRole('button', { name: 'Verificar arquivo' }).click();
      await ap.locator('.vf-file-result[data-intact="false"]').getByText(/não corresponde a nenhum documento/).waitFor();
      await shot(ap, 'verify-file');
    });

    await check('anonymous: a copy the pharmacy counter-signed is the signed document, with its further signature', async () => {
      assert(pdfPath, 'no downloaded PDF');
      const signedTwice = countersign(work, pdfPath);
      await ap.getByLabel('Arquivo PDF recebido').setInputFiles(signedTwice);
      await ap.getByRole('button', { name: 'Verificar arquivo' }).click();
      const result = ap.locator('.vf-file-result[data-intact="true"]');
      await result.getByText('O documento assinado está íntegro dentro do arquivo').waitFor();
      const further = await text(result.locator('.vf-further'));
      assert(/Assinaturas acrescentadas depois \(1\)/.test(further) && /Farmaceutica Teste — assinatura confere/.test(further),
        `further signatures: ${further}`);
      await noHorizontalOverflow(ap);
      await shot(ap, 'verify-countersigned');
    });

    await check('Helena revokes (reason asked): "Revogado" for her and, live, for João', async () => {
      await item.getByRole('button', { name: 'Revogar' }).click();
      const form = item.locator('form.doc-revoke-form');
      await form.getByRole('button', { name: 'Revogar documento' }).click();
      await form.locator('[role="alert"]:not([hidden])').waitFor();
      await form.getByLabel('Motivo da revogação').fill(REASON);
      await form.getByRole('button', { name: 'Revogar documento' }).click();
      await section.locator(`.doc-item[data-id="${doc.id}"][data-status="revoked"]`).waitFor();
      assert((await text(item.locator('.doc-revoked'))).includes(REASON), 'no reason in the list');
      assert(!(await item.getByRole('button', { name: 'Enviar ao paciente' }).count()), 'send still offered');
      await jp.locator(`.doc-item[data-id="${doc.id}"][data-status="revoked"]`).waitFor();
      await shot(hp, 'revoked');
    });

    await check('the public page, reloaded, says "REVOGADO" with the reason', async () => {
      await ap.reload();
      await ap.locator('[data-view="verify"]').waitFor();
      await ap.getByLabel('Código de verificação').fill(doc.code);
      await ap.getByRole('button', { name: 'Verificar', exact: true }).click();
      const status = ap.locator('.vf-result .vf-status[data-tone="bad"]');
      await status.waitFor();
      const said = await text(status);
      assert(said.includes('REVOGADO') && said.includes(REASON), `status "${said}"`);
      await noHorizontalOverflow(ap);
      await shot(ap, 'verify-revoked');
      return said;
    });

    await check('"Assinatura digital": the certificate in use; a wrong file is refused with the server\'s message', async () => {
      await hp.getByRole('navigation', { name: 'Áreas' }).getByRole('link', { name: 'Assinatura digital' }).click();
      await hp.locator('[data-view="signing-key"]').waitFor();
      const source = hp.locator('.sk-source');
      await source.waitFor();
      const bogus = join(work, 'falso.p12');
      await writeFile(bogus, 'isto não é um certificado');
      await hp.getByLabel('Arquivo do certificado (.pfx ou .p12)').setInputFiles(bogus);
      await hp.getByLabel('Senha do certificado').fill('senha-errada');
      await hp.getByRole('button', { name: 'Importar certificado' }).click();
      const alert = hp.locator('.sk-form [role="alert"]:not([hidden])');
      await alert.waitFor();
      const said = await text(alert);
      assert(/PKCS#12|senha/i.test(said), `alert "${said}"`);
      await noPlaceholders(hp.locator('[data-view="signing-key"]'));
      await shot(hp, 'signing-key');
      return `${await text(source)}; "${said}"`;
    });

    await check('"Assinatura digital": a self-signed A1 (.p12) is imported, then back to the installation\'s', async () => {
      const p12 = makePkcs12(work, 'senha-do-teste');
      if (!p12) return 'skip';
      await hp.getByLabel('Arquivo do certificado (.pfx ou .p12)').setInputFiles(p12);
      await hp.getByLabel('Senha do certificado').fill('senha-do-teste');
      await hp.getByRole('button', { name: 'Importar certificado' }).click();
      await hp.locator('.sk-source[data-source="imported"]').waitFor();
      const subject = await text(hp.locator('.sk-current .details'));
      assert(subject.includes('HELENA DUARTE'), `details "${subject}"`);
      await hp.getByRole('button', { name: 'Voltar ao certificado da instalação' }).click();
      await hp.getByRole('button', { name: 'Sim, deixar de usar meu certificado' }).click();
      await hp.locator('.sk-source[data-source="installation_ca"]').waitFor();
      return undefined;
    });

    await check('the clinic admin sees João\'s documents read-only (download only)', async () => {
      const admin = await openPage(browser, DESKTOP);
      pages.push(['admin', admin]);
      await loginUi(admin.page, ADMIN);
      await admin.page.locator('[data-view="home-admin"]').waitFor();
      await admin.page.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${joaoId}`);
      const staff = admin.page.locator('[data-documents="staff"]');
      const row = staff.locator(`.doc-item[data-id="${doc.id}"][data-status="revoked"]`);
      await row.waitFor();
      const buttons = (await staff.getByRole('button').allTextContents()).map((t) => t.trim());
      const other = buttons.filter((t) => t !== 'Baixar PDF');
      assert(!other.length, `admin sees buttons: ${other.join(', ')}`);
      assert(!(await staff.locator('.doc-new').count()), 'admin is offered the forms');
      await admin.context.close();
    });

    await check('without the WebSocket: an exam request shows "Assinando…", then polling (GET every 2 s) turns it "Assinada"', async () => {
      const offline = await openPage(browser, DESKTOP);
      pages.push(['Helena (no WebSocket)', offline]);
      const op = offline.page;
      // The socket is refused; single-document GETs (the polling) answer late, so the
      // pending state stays on screen for a while.
      await op.routeWebSocket(/\/ws(\?|$)/, (ws) => ws.close());
      let gets = 0;
      await op.route(/\/api\/documents\/[0-9a-f-]+$/, async (route) => {
        if (route.request().method() !== 'GET') return route.continue();
        gets += 1;
        await new Promise((resolve) => { setTimeout(resolve, 2500); });
        return route.continue();
      });
      await loginUi(op, HELENA);
      await op.locator('[data-view="home-professional"]').waitFor();
      await op.goto(`${BASE_URL}/#/clinica/${clinicId}/paciente/${joaoId}`);
      const staff = op.locator('[data-documents="staff"]');
      await staff.locator('.doc-items, .empty').first().waitFor();
      assert((await staff.getAttribute('data-live')) === 'false', 'live without a WebSocket?');
      await staff.getByRole('button', { name: 'Solicitação de exames', exact: true }).click();
      const form = staff.locator('form.doc-form[data-kind="exam_request"]');
      const exam = (n) => form.getByRole('group', { name: `Exame ${n}`, exact: true });
      await exam(1).getByLabel('Exame', { exact: true }).fill('Hemograma completo');
      await exam(1).getByLabel(/^Código TUSS/).fill('40304361');
      await form.getByRole('button', { name: 'Adicionar exame' }).click();
      await exam(2).getByLabel('Exame', { exact: true }).fill('Proteína C reativa (PCR)');
      await form.getByLabel(/^Indicação clínica/).fill('Febre há 3 dias; investigar infecção bacteriana.');
      const answer = op.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${BASE_URL}/api/documents`);
      await form.getByRole('button', { name: 'Emitir e assinar' }).click();
      const { id } = await (await answer).json();
      const row = staff.locator(`.doc-item[data-id="${id}"]`);
      await row.locator('.doc-badge', { hasText: 'Assinando…' }).waitFor();
      await staff.locator('.doc-issued[data-state="pending"]').waitFor();
      await shot(op, 'pending');
      await staff.locator(`.doc-item[data-id="${id}"][data-status="signed"]`).waitFor({ timeout: 20_000 });
      assert(gets >= 2, `${gets} GET of the document: no polling`);
      return `${gets} GETs of the document`;
    });

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([name, p]) => p.errors.map((e) => `${name}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const [, p] of pages) await p.context.close().catch(() => {});
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

main('documents', run);
