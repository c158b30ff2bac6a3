// A patient's day on the phone, through the real UI (issue #22):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/journey-patient.mjs
//
// A new patient signs up on a phone-sized screen (the form, "Enviamos um link para …", the
// link read from the server's maildir, MAILDIR: the account opens logged in) and, from
// inside the app:
// - opens "Consultas", presses "Agendar consulta", chooses Clínica Aurora, Dra. Helena
//   Duarte (titled "Dra.", "Médica"; the dentist is "Dr." and "Cirurgião-dentista"), the
//   first day with free times and the first free time; a time the reception books
//   meanwhile disappears from the page live;
// - confirms the booking: the confirmation names "Dra. Helena Duarte" and says when in
//   words ("amanhã às 09:30", never "hoje em segunda-feira");
// - sees the appointment in "Minhas consultas", confirms it ("Confirmar presença" →
//   Confirmada), reschedules it to another free time, and cancels it with a reason;
// - after a visit with Dra. Helena (fitted in by the reception over HTTP and seen from her
//   "Meu dia"), opens "Mensagens", finds her under "Nova conversa" and writes first;
// - gives their address on "Meus dados" (CEP typed without the dash); the clinic's record
//   of them has it (a special-control prescription needs it);
// - on every page: no "null" or "undefined" in the text, no horizontal overflow, no
//   console errors; a page of another role says "Sem permissão" (403), a page that does
//   not exist "Página não encontrada" (404).
// Nothing depends on the hour or day it runs: the dates and times come from the page.
// Screenshots go to tests/browser/screenshots/journey-patient-*.png.

import {
  BASE_URL,
  PASSWORD,
  PHONE,
  apiCall,
  assert,
  check,
  loginApi,
  main,
  noHorizontalOverflow,
  openPage,
  randomCpf,
  screenshots,
  signupLink,
  signupMails,
} from './lib.mjs';

const RECEPTIONIST = 'recepcao@aurora.demo';
const HELENA = 'dra.helena@atende.demo';
const PATIENT_PASSWORD = 'senha do paciente 2026';
const { shot } = screenshots('journey-patient');

/** The page's text must not show a missing value. */
async function noMissingText(page, where) {
  const body = await page.locator('main, body').first().innerText();
  const bad = body.match(/.{0,40}\b(null|undefined|NaN)\b.{0,40}/);
  assert(!bad, `${where}: "${bad && bad[0]}"`);
}

/** Every page of the journey: readable on the phone, nothing missing, accessible. */
async function looksRight(page, where, name) {
  await noMissingText(page, where);
  await noHorizontalOverflow(page);
  await shot(page, name); // with the accessibility check (axe)
}

async function run(browser) {
  // ----------------------------------------------------------- setup ---
  const email = `jornada-${Date.now()}@paciente.test`;
  const fullName = 'Lívia Antunes Barros';
  const recToken = await loginApi(RECEPTIONIST, PASSWORD);
  const recMe = await apiCall('GET', '/api/me', recToken);
  const aurora = recMe.memberships.find((m) => m.role === 'receptionist').clinic_id;

  const phone = await openPage(browser, PHONE);
  // The 403/404 pages are provoked on purpose; a 409 when the reception wins a time too.
  phone.allowed.push(/status of 40[349]/);
  const { page } = phone;
  let helenaId = '';
  let bookedAt = '';
  let receptionBooked = '';
  try {
    const signedUp = await check('the patient signs up on the phone: a link by e-mail, opened, is the account', async () => {
      await page.goto(`${BASE_URL}/#/cadastro`);
      await page.locator('[data-view="signup"]').waitFor();
      await page.getByLabel('Nome completo (civil)').fill(fullName);
      await page.getByLabel('CPF').fill(randomCpf());
      await page.getByLabel('Data de nascimento').fill('1990-07-14');
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Senha').fill(PATIENT_PASSWORD);
      await page.getByLabel(/^Li e aceito/).check();
      const seen = await signupMails(email);
      await page.getByRole('button', { name: 'Criar conta' }).click();
      await page.getByText(`Enviamos um link para ${email}. Abra-o para ativar sua conta.`).waitFor();
      await looksRight(page, 'link enviado', '00-signup-link-sent');
      // No account before the link is opened.
      const before = await fetch(`${BASE_URL}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password: PATIENT_PASSWORD }),
      });
      assert(before.status === 401, `login before the link: ${before.status}`);
      const link = await signupLink(email, seen);
      await page.goto(`${BASE_URL}/${link}`);
      await page.locator('[data-view="home-patient"]').waitFor();
    });
    if (!signedUp) throw new Error('sign-up failed');

    const loggedIn = await check('the new patient, logged in by the link, opens "Consultas"', async () => {
      await page.getByRole('link', { name: 'Consultas' }).first().click();
      await page.locator('[data-view="my-appointments"]').waitFor();
      await page.getByText('Você não tem consultas marcadas.').waitFor();
      await looksRight(page, 'minhas consultas (empty)', '01-my-appointments-empty');
    });
    if (!loggedIn) throw new Error('login failed');

    await check('"Agendar consulta" lists the clinics; the patient chooses Clínica Aurora', async () => {
      await page.locator('[data-action="book"]').click();
      await page.locator('[data-view="booking-clinics"]').waitFor();
      const link = page.locator(`.bk-clinic-link[data-clinic-id="${aurora}"]`);
      await link.waitFor();
      const name = (await link.innerText()).trim();
      assert(name === 'Clínica Aurora', `clinic shown as "${name}" (never "Clínica Clínica …")`);
      await looksRight(page, 'escolher clínica', '02-choose-clinic');
      await link.click();
      await page.locator('[data-view="booking"]').waitFor();
    });

    await check('professionals are titled by profession and gender (Dra. médica, Dr. cirurgião-dentista)', async () => {
      const helena = page.locator('.bk-pros .bk-option', { hasText: 'Helena Duarte' });
      await helena.waitFor();
      const helenaText = (await helena.innerText()).replace(/\s+/g, ' ');
      assert(helenaText.includes('Dra. Helena Duarte'), `Helena shown as "${helenaText}"`);
      assert(helenaText.includes('Médica'), `Helena's profession: "${helenaText}"`);
      const rafael = page.locator('.bk-pros .bk-option', { hasText: 'Rafael Nogueira' });
      if (await rafael.count()) {
        const rafaelText = (await rafael.innerText()).replace(/\s+/g, ' ');
        assert(rafaelText.includes('Dr. Rafael Nogueira'), `Rafael shown as "${rafaelText}"`);
        assert(/Cirurgião-dentista/.test(rafaelText) && !/Médic/.test(rafaelText), `Rafael's profession: "${rafaelText}"`);
      }
      helenaId = await helena.locator('input').getAttribute('value');
      await helena.locator('label').click();
      await looksRight(page, 'profissional', '03-professional');
    });

    await check('the first day with free times shows them; one the reception books disappears live', async () => {
      await page.locator('[data-view="booking"][data-live="true"]').waitFor();
      const day = page.locator('.bk-date:not(.bk-date-empty)').first();
      await day.waitFor();
      await day.click();
      const slots = page.locator('.bk-slots .bk-slot');
      await slots.first().waitFor();
      const count = await slots.count();
      if (count < 3) return 'skip';
      // The reception books the second free time by phone for another patient.
      const taken = await slots.nth(1).getAttribute('data-starts-at');
      const patients = await apiCall('GET', `/api/clinics/${aurora}/patients?q=Maria`, recToken);
      const other = (patients || [])[0];
      assert(other, 'no patient to book for');
      const serviceId = new URLSearchParams(page.url().split('?')[1] || '').get('servico');
      try {
        const booked = await apiCall('POST', `/api/clinics/${aurora}/appointments`, recToken, {
          professional_user_id: helenaId, patient_id: other.id, starts_at: taken,
          ...(serviceId ? { service_id: serviceId } : {}),
        });
        receptionBooked = booked.id;
      } catch (err) {
        if (err.code === 'patient_busy') return 'skip';
        throw err;
      }
      await page.locator(`.bk-slots .bk-slot[data-starts-at="${taken}"]`).waitFor({ state: 'detached' });
      await looksRight(page, 'horários', '04-slots');
      return `${count} free times, ${taken} taken live`;
    });

    await check('the patient confirms the first free time; the confirmation reads right', async () => {
      const slot = page.locator('.bk-slots .bk-slot').first();
      bookedAt = await slot.getAttribute('data-starts-at');
      await slot.click();
      const confirm = page.locator('.bk-confirm-panel');
      await confirm.getByRole('button', { name: 'Confirmar agendamento' }).click();
      const done = page.locator('.bk-done');
      await done.getByRole('heading', { name: 'Consulta agendada' }).waitFor();
      const said = (await done.innerText()).replace(/\s+/g, ' ');
      assert(said.includes('Dra. Helena Duarte'), `confirmation: "${said}"`);
      assert(said.includes('Clínica Aurora') && !said.includes('Clínica Clínica'), `clinic: "${said}"`);
      assert(!/(hoje|amanhã) em /.test(said), `date in words: "${said}"`);
      assert(/(hoje|amanhã) às \d\d:\d\d|feira, \d{1,2} de [a-zç]+(?: de \d{4})?, às \d\d:\d\d|(sábado|domingo), \d{1,2} de/.test(said),
        `no date in words: "${said}"`);
      await looksRight(page, 'confirmação', '05-booked');
    });

    await check('"Minhas consultas" lists it; "Confirmar presença" confirms it', async () => {
      await page.getByRole('link', { name: 'Ver minhas consultas' }).click();
      await page.locator('[data-view="my-appointments"]').waitFor();
      const item = page.locator('.ma-item[data-status="scheduled"]').first();
      await item.waitFor();
      const proText = (await item.locator('.ma-pro').innerText()).trim();
      assert(proText.startsWith('Dra. Helena Duarte'), `professional shown as "${proText}"`);
      await item.locator('[data-action="confirm"]').click();
      await page.locator('.ma-item[data-status="confirmed"]').first().waitFor();
      await looksRight(page, 'confirmada', '06-confirmed');
    });

    await check('the patient reschedules to another free time', async () => {
      const item = page.locator('.ma-item[data-status="confirmed"]').first();
      const before = await item.getAttribute('data-id');
      await item.getByRole('button', { name: /^Remarcar consulta de/ }).click();
      const form = page.locator('form[aria-label="Remarcar consulta"]');
      await form.waitFor();
      // Walk forward until a day with free times (the page offers "Ver <next day>").
      for (let i = 0; i < 14; i += 1) {
        await form.locator('.bk-slot, .empty').first().waitFor();
        if (await form.locator('.bk-slot').count()) break;
        await form.locator('.btn-link').click();
      }
      const choice = form.locator('.bk-slot').last();
      await choice.click();
      const moved = page.locator(`.ma-item[data-id="${before}"][data-status="scheduled"]`);
      await moved.waitFor();
      await looksRight(page, 'remarcada', '07-rescheduled');
    });

    await check('the patient cancels it with a reason', async () => {
      const item = page.locator('.ma-item[data-status="scheduled"]').first();
      const id = await item.getAttribute('data-id');
      await item.getByRole('button', { name: /^Cancelar consulta de/ }).click();
      await page.getByLabel('Motivo do cancelamento').fill('Viagem de trabalho');
      await page.getByRole('button', { name: 'Cancelar consulta', exact: true }).click();
      await page.locator(`.ma-item[data-id="${id}"][data-status="cancelled"]`).waitFor();
      await page.getByText('Motivo do cancelamento: Viagem de trabalho').waitFor();
      await looksRight(page, 'cancelada', '08-cancelled');
    });

    await check('after a visit, the patient writes first to the doctor who saw them', async () => {
      // Seen by Helena: the reception fits an appointment in (weeks ahead, clear of the demo
      // week) and Helena starts and finishes it from "Meu dia".
      const patientToken = await loginApi(email, PATIENT_PASSWORD);
      const mine = await apiCall('GET', '/api/me', patientToken);
      const record = (mine.linked_records || []).find((r) => r.clinic_id === aurora);
      assert(record, 'the booking linked no record at Clínica Aurora');
      const helenaToken = await loginApi(HELENA, PASSWORD);
      let visitId = '';
      for (let hour = 11; hour <= 20 && !visitId; hour += 1) {
        const day = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
        try {
          const made = await apiCall('POST', `/api/clinics/${aurora}/appointments`, recToken, {
            professional_user_id: helenaId, patient_id: record.patient_id,
            starts_at: `${day}T${String(hour).padStart(2, '0')}:00:00Z`, fit_in: true,
          });
          visitId = made.id;
        } catch (err) {
          if (err.status !== 409) throw err;
        }
      }
      assert(visitId, 'no time to fit the visit in');
      await apiCall('POST', `/api/me/day/${visitId}/start`, helenaToken, {});
      await apiCall('POST', `/api/me/day/${visitId}/finish`, helenaToken, {});

      await page.goto(`${BASE_URL}/#/mensagens`);
      await page.locator('[data-view="chat"]').waitFor();
      const contact = page.locator('.chat-contact', { hasText: 'Dra. Helena Duarte' });
      await contact.waitFor();
      const said = (await contact.innerText()).replace(/\s+/g, ' ');
      assert(said.includes('Clínica Aurora') && !said.includes('Clínica Clínica'), `contact: "${said}"`);
      await looksRight(page, 'nova conversa', '09-new-conversation');
      await contact.getByRole('button', { name: /^Conversar com Dra\. Helena Duarte/ }).click();
      await page.locator('[data-view="chat"].has-room .chat-conversation').waitFor();
      const box = page.getByLabel(/^Mensagem para/);
      await box.fill('Boa tarde, doutora. Posso tomar o remédio depois do almoço?');
      await box.press('Enter');
      await page.locator('.chat-messages li.msg-own[data-state="sent"]')
        .filter({ hasText: 'Posso tomar o remédio' }).waitFor();
      await looksRight(page, 'conversa', '10-conversation');
    });

    await check('the patient gives their address on "Meus dados"; the clinic\'s record has it', async () => {
      await page.goto(`${BASE_URL}/#/`);
      await page.locator('[data-view="home-patient"]').waitFor();
      await page.locator('summary', { hasText: 'Informar endereço' }).click();
      const form = page.locator('form', { has: page.getByRole('button', { name: 'Salvar endereço' }) });
      await form.getByLabel('Logradouro').fill('Rua Frei Caneca');
      await form.getByLabel('Número').fill('77');
      await form.getByLabel('Bairro').fill('Consolação');
      await form.getByLabel('CEP').fill('01307000');
      await form.getByLabel('Cidade').fill('São Paulo');
      await form.getByLabel('UF').selectOption('SP');
      await form.getByRole('button', { name: 'Salvar endereço' }).click();
      await page.getByText('Endereço salvo.').waitFor();
      await page.getByText('Rua Frei Caneca, 77, Consolação, São Paulo/SP, CEP 01307-000').waitFor();
      await looksRight(page, 'endereço', '11a-address');
      const patientToken = await loginApi(email, PATIENT_PASSWORD);
      const mine = await apiCall('GET', '/api/me', patientToken);
      const record = (mine.linked_records || []).find((r) => r.clinic_id === aurora);
      const seen = await apiCall('GET', `/api/clinics/${aurora}/patients/${record.patient_id}`, recToken);
      assert(seen.address && seen.address.postal_code === '01307-000',
        `the clinic's record: ${JSON.stringify(seen.address)}`);
    });

    await check('a page of another role says "Sem permissão"; a missing one "Página não encontrada"', async () => {
      await page.goto(`${BASE_URL}/#/minha-agenda`);
      await page.locator('[data-view="forbidden"]').waitFor();
      await page.getByRole('heading', { name: 'Sem permissão' }).waitFor();
      await looksRight(page, '403', '11-forbidden');
      await page.goto(`${BASE_URL}/#/nada-por-aqui`);
      await page.locator('[data-view="not-found"]').waitFor();
      await page.getByRole('heading', { name: 'Página não encontrada' }).waitFor();
    });

    await check('no console errors, page errors or CSP violations', async () => {
      assert(!phone.errors.length, phone.errors.join(' | '));
      return bookedAt ? `booked ${bookedAt}` : '';
    });
  } finally {
    await phone.context.close().catch(() => {});
    // The reception's booking made for the live check goes back to the agenda.
    if (receptionBooked) {
      await apiCall('POST', `/api/clinics/${aurora}/appointments/${receptionBooked}/cancel`, recToken,
        { reason: 'Teste de disponibilidade ao vivo' }).catch(() => {});
    }
  }
}

main('journey-patient', run);
