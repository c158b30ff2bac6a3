// Headless-browser test of the clinic admin's outbox view (#18: "Mensagens aos pacientes",
// #/clinica/{id}/mensagens-enviadas):
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/outbox.mjs
//
// With its own data each run: the receptionist books a fit-in for João with Dra. Helena
// some weeks ahead and cancels it over HTTP, which queues two e-mails ("Consulta agendada",
// "Consulta cancelada"; the demo has no SMTP server and writes its e-mail into a maildir,
// so they are soon "Enviada"). Then:
// - the demo admin reaches the view from the clinic's home ("Mensagens aos pacientes");
// - above the list, sets when reminders go (48 h and 24 h before), the quiet hours and the
//   sender, is told the demo has no WhatsApp yet, and finds it all kept after a reload (the
//   settings are put back afterwards: other browser tests share the clinic);
// - rewrites the booking e-mail: an unknown variable is named, the preview fills the
//   variables with made-up data and keeps the buttons, the saved text is marked
//   "(personalizado)", and "Voltar ao texto padrão" restores the built-in words;
// - the table shows both messages with channel, state, kind, patient and appointment,
//   attempts, and the address it went to, mostly hidden (the masking is unit-tested in
//   tests/web/messages.test.mjs);
// - filtering by state "Na fila" or channel "SMS" leaves none of them; "Enviada" + "E-mail"
//   keeps them;
// - with more than 200 messages (fit-ins booked and cancelled until there are), the list
//   shows the newest 200 and "Carregar mais antigas" adds the older ones, none twice;
// - the receptionist opening the same address gets "Sem permissão" in words;
// - the page has no horizontal overflow on a phone; no console errors or CSP violations.
// Screenshots go to tests/browser/screenshots/outbox-*.png (each checked by axe-core).
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  HttpError, PHONE, addDays, apiCall, assert, check, localDate, loginApi, loginUi, main,
  noHorizontalOverflow, openPage, screenshots, text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
const ADMIN = 'admin@aurora.demo';
const RECEPTIONIST = 'recepcao@aurora.demo';
const JOAO_CPF = '52998224725';

async function run(browser) {
  const { shot } = screenshots('outbox');
  const recToken = await loginApi(RECEPTIONIST);
  const me = await apiCall('GET', '/api/me', recToken);
  const clinicId = me.memberships.find((m) => m.role === 'receptionist' && /Aurora/.test(m.clinic_name)).clinic_id;
  const found = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=${JOAO_CPF}`, recToken);
  const joao = found.find((p) => String(p.cpf || '').replace(/\D/g, '') === JOAO_CPF);
  assert(joao, 'João is not a patient at Aurora');
  const helena = (await apiCall('GET', `/api/clinics/${clinicId}/members`, recToken))
    .find((m) => m.role === 'professional' && /Helena/.test(m.full_name));
  assert(helena, 'Dra. Helena is not a professional at Aurora');

  let appt = null;
  await check('setup: a fit-in booked and cancelled queues two e-mails', async () => {
    // Some weeks ahead (a different day each run), the first free time from 07:00.
    // São Paulo keeps -03:00 all year (no daylight saving since 2019).
    const day = addDays(localDate(new Date()), 20 + (Math.floor(Date.now() / 60000) % 200));
    for (let k = 0; k < 60 && !appt; k += 1) {
      const minutes = 7 * 60 + k * 10;
      const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      try {
        appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, recToken, {
          professional_user_id: helena.user_id, patient_id: joao.id,
          starts_at: `${day}T${hhmm}:00-03:00`, duration_minutes: 10, fit_in: true,
          notes: 'teste da caixa de saída (browser)',
        });
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 409) throw err;
      }
    }
    assert(appt, `no free time on ${day}`);
    await apiCall('POST', `/api/clinics/${clinicId}/appointments/${appt.id}/cancel`, recToken,
      { reason: 'teste da caixa de saída' });
    const adminToken = await loginApi(ADMIN);
    let list = [];
    for (let i = 0; i < 60; i += 1) {
      list = await apiCall('GET', `/api/clinics/${clinicId}/messages?appointment_id=${appt.id}`, adminToken);
      if (list.length === 2 && list.every((m) => m.status === 'sent')) break;
      await new Promise((resolve) => { setTimeout(resolve, 250); });
    }
    assert(list.length === 2, `${list.length} messages about the appointment`);
    assert(list.every((m) => m.status === 'sent'), list.map((m) => m.status).join(', '));
    return list.map((m) => `${m.template} ${m.status}`).join(', ');
  });

  const admin = await openPage(browser, DESKTOP);
  const desk = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  try {
    const rowsOfAppt = (page) => page.locator('.ob-table tbody tr').filter({ hasText: 'João' })
      .filter({ has: page.locator(`a[href$="/paciente/${joao.id}"]`) });

    await check('the admin reaches "Mensagens aos pacientes" from the clinic home', async () => {
      const { page } = admin;
      await loginUi(page, ADMIN);
      await page.locator('[data-view="home-admin"]').waitFor();
      await page.getByRole('link', { name: 'Mensagens aos pacientes' }).click();
      await page.locator('[data-view="outbox"]').waitFor();
      await page.getByRole('heading', { level: 1, name: 'Mensagens aos pacientes' }).waitFor();
      await page.locator('.ob-table').waitFor();
    });

    await check('the admin sets when reminders go and who they come from, and it is kept', async () => {
      const { page } = admin;
      const adminToken = await loginApi(ADMIN);
      const path = `/api/clinics/${clinicId}/messaging`;
      const before = await apiCall('GET', path, adminToken);
      const panel = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Como a clínica avisa os pacientes' }) });
      await panel.getByLabel('Enviar lembretes das consultas').waitFor();
      try {
        // The demo has no WhatsApp: the admin is told the switch changes nothing yet.
        assert(/ainda não tem este canal configurado/.test(await text(panel)), 'no word on the missing channel');
        await panel.getByLabel('Enviar lembretes das consultas').check();
        for (const m of [2880, 1440, 720, 240, 120, 60, 30]) {
          const box = panel.getByLabel(m >= 60 ? `${m / 60} ${m === 60 ? 'hora' : 'horas'} antes` : `${m} minutos antes`, { exact: true });
          if (m === 2880 || m === 1440) await box.check(); else await box.uncheck();
        }
        await panel.getByLabel('Sem lembretes a partir de').fill('22:00');
        await panel.getByLabel('Nome do remetente').fill('Aurora — Recepção');
        await panel.getByLabel('Respostas de e-mail para').fill('isto não é e-mail');
        await panel.getByRole('button', { name: 'Salvar' }).click();
        await panel.getByText('Informe um e-mail válido.').waitFor();
        await panel.getByLabel('Respostas de e-mail para').fill('recepcao@aurora.demo');
        await panel.getByRole('button', { name: 'Salvar' }).click();
        await panel.getByText('Salvo: lembretes 48 horas antes, 24 horas antes da consulta.').waitFor();
        const saved = await apiCall('GET', path, adminToken);
        assert(JSON.stringify(saved.reminder_offsets_minutes) === '[2880,1440]', `offsets: ${saved.reminder_offsets_minutes}`);
        assert(saved.quiet_start === '22:00' && saved.sender_name === 'Aurora — Recepção'
          && saved.reply_to === 'recepcao@aurora.demo', JSON.stringify(saved));
        await shot(page, 'settings');
        // Coming back shows what was saved.
        await page.reload();
        await panel.getByLabel('48 horas antes', { exact: true }).waitFor();
        assert(await panel.getByLabel('48 horas antes', { exact: true }).isChecked(), '48 h not kept');
        assert(!(await panel.getByLabel('2 horas antes', { exact: true }).isChecked()), '2 h came back');
        assert(await panel.getByLabel('Sem lembretes a partir de').inputValue() === '22:00', 'quiet start');
      } finally {
        // The other browser tests share this demo clinic.
        await apiCall('PUT', path, adminToken, {
          sender_name: before.sender_name, reply_to: before.reply_to, reminders_enabled: before.reminders_enabled,
          reminder_offsets_minutes: before.reminder_offsets_minutes, quiet_start: before.quiet_start,
          quiet_end: before.quiet_end, whatsapp_enabled: before.whatsapp_enabled, sms_enabled: before.sms_enabled,
        });
      }
    });

    await check('the admin rewrites the booking e-mail: a wrong variable is named, the preview fills the rest', async () => {
      const { page, allowed } = admin;
      // The refused preview is a 422 by design.
      allowed.push(/422/);
      const adminToken = await loginApi(ADMIN);
      const path = `/api/clinics/${clinicId}/messaging/texts/appointment_booked`;
      const panel = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Textos dos e-mails' }) });
      try {
        await panel.getByLabel('Mensagem').selectOption('appointment_booked');
        await panel.getByText('{{profissional}}').first().waitFor();
        await panel.getByLabel('Assunto').fill('{{nome}}, sua consulta está marcada');
        await panel.getByRole('button', { name: 'Pré-visualizar' }).click();
        await panel.getByText('variável desconhecida: {{nome}}').first().waitFor();
        await panel.getByLabel('Assunto').fill('{{paciente}}, sua consulta está marcada');
        await panel.getByLabel('Texto', { exact: true }).fill('Olá, {{paciente}}!\n\n{{profissional}} espera você em {{data_hora}}.\n\nTraga seus exames anteriores.');
        await panel.getByRole('button', { name: 'Pré-visualizar' }).click();
        await panel.locator('.mt-preview').getByText('Maria, sua consulta está marcada').waitFor();
        const shown = await text(panel.locator('.mt-preview'));
        assert(/Dra\. Ana Souza espera você em/.test(shown) && /Confirmar presença/.test(shown), shown);
        await shot(page, 'texts-preview');
        await panel.getByRole('button', { name: 'Salvar texto' }).click();
        await panel.getByText('Salvo: as próximas mensagens saem com este texto.').waitFor();
        const option = await panel.getByLabel('Mensagem').locator('option:checked').textContent();
        assert(option === 'Consulta agendada (personalizado)', `option: ${option}`);
        const list = await apiCall('GET', `/api/clinics/${clinicId}/messaging/texts`, adminToken);
        const saved = list.find((t) => t.template === 'appointment_booked');
        assert(saved.custom && saved.custom.subject === '{{paciente}}, sua consulta está marcada', JSON.stringify(saved));
        await panel.getByRole('button', { name: 'Voltar ao texto padrão' }).click();
        await panel.getByText('Pronto: as próximas mensagens saem com o texto padrão.').waitFor();
        assert(await panel.getByLabel('Assunto').inputValue() === 'Consulta agendada: {{data_hora}}', 'subject not restored');
      } finally {
        await apiCall('DELETE', path, adminToken);
      }
    });

    await check('both messages are listed with channel, state, kind, patient, appointment and attempts', async () => {
      const { page } = admin;
      const booked = rowsOfAppt(page).and(page.locator('tr[data-status="sent"]')).filter({ hasText: 'Consulta agendada' }).first();
      await booked.waitFor();
      const cells = (await booked.locator('td').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      assert(cells[1] === 'E-mail', `channel: ${cells[1]}`);
      assert(cells[2] === 'Consulta agendada', `kind: ${cells[2]}`);
      assert(cells[3].startsWith('Enviada'), `state: ${cells[3]}`);
      assert(/^jo•+@paciente\.demo$/.test(cells[4]), `recipient of a sent message: ${cells[4]}`);
      assert(/João Pereira da Silva/.test(cells[5]) && /Consulta \d{2}\/\d{2}\/\d{4}/.test(cells[5]), `patient: ${cells[5]}`);
      assert(cells[6] === '1', `attempts: ${cells[6]}`);
      await page.locator('.ob-table tbody tr').filter({ hasText: 'Consulta cancelada' }).first().waitFor();
      assert(await rowsOfAppt(page).count() >= 2, 'the two messages of this run are listed');
      const body = await text(page.locator('main'));
      assert(!/\b(null|undefined|NaN|Invalid Date)\b/.test(body), 'stray text on the page');
      await shot(page, 'admin');
    });

    await check('the state and channel filters narrow the list', async () => {
      const { page } = admin;
      await page.getByLabel('Estado').selectOption('queued');
      await page.locator('.ob-table tbody tr[data-status="queued"], .ob-empty').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('.ob-table tbody tr[data-status="sent"]'));
      await page.getByLabel('Estado').selectOption('');
      await page.getByLabel('Canal').selectOption('sms');
      await page.locator('.ob-empty').waitFor();
      assert((await text(page.locator('.ob-empty'))) === 'Nenhuma mensagem com estes filtros.', 'empty text');
      await shot(page, 'filtered-empty');
      await page.getByLabel('Estado').selectOption('sent');
      await page.getByLabel('Canal').selectOption('email');
      await page.locator('.ob-table tbody tr[data-status="sent"][data-channel="email"]').first().waitFor();
      assert(await page.locator('.ob-table tbody tr:not([data-status="sent"])').count() === 0, 'other states listed');
      const status = await text(page.locator('.ob-list [role="status"]'));
      assert(/mensage(m|ns) com estes filtros/.test(status), `count: ${status}`);
    });

    await check('200 at a time: "Carregar mais antigas" brings the older ones, none twice', async () => {
      const { page } = admin;
      // More than a page: fit-ins booked and cancelled (two e-mails each) on days of their own.
      const adminToken = await loginApi(ADMIN);
      const total = async () => {
        let n = 0;
        let before = null;
        for (;;) {
          const q = before ? `?before=${before}` : '';
          const pageOf = await apiCall('GET', `/api/clinics/${clinicId}/messages${q}`, adminToken);
          n += pageOf.length;
          if (pageOf.length < 200) return n;
          before = pageOf[pageOf.length - 1].id;
        }
      };
      let have = await total();
      const first = addDays(localDate(new Date()), 300 + (Math.floor(Date.now() / 60000) % 200));
      for (let k = 0; have <= 230 && k < 600; k += 1) {
        const minutes = 7 * 60 + (k % 60) * 10;
        const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        try {
          const a = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, recToken, {
            professional_user_id: helena.user_id, patient_id: joao.id,
            starts_at: `${addDays(first, Math.floor(k / 60))}T${hhmm}:00-03:00`, duration_minutes: 10, fit_in: true,
          });
          await apiCall('POST', `/api/clinics/${clinicId}/appointments/${a.id}/cancel`, recToken,
            { reason: 'teste de paginação' });
          have += 2;
        } catch (err) {
          if (!(err instanceof HttpError) || err.status !== 409) throw err;
        }
      }
      have = await total();
      assert(have > 200, `only ${have} messages`);
      await page.getByLabel('Estado').selectOption('');
      await page.getByLabel('Canal').selectOption('');
      await page.getByRole('button', { name: 'Atualizar' }).click();
      const rows = page.locator('.ob-table tbody tr');
      await page.waitForFunction(() => document.querySelectorAll('.ob-table tbody tr').length === 200);
      const status = await text(page.locator('.ob-list [role="status"]'));
      assert(status.includes('há mais antigas'), `status: ${status}`);
      await page.getByRole('button', { name: 'Carregar mais antigas' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.ob-table tbody tr').length > 200);
      const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-message')));
      assert(new Set(ids).size === ids.length, 'a message listed twice');
      assert(ids.length >= Math.min(have, 400), `${ids.length} rows of ${have}`);
      return `${ids.length} of ${have} shown`;
    });

    await check('a receptionist opening the address is told it is for the administration', async () => {
      const { page, allowed } = desk;
      allowed.push(/403/);
      await loginUi(page, RECEPTIONIST);
      await page.locator('[data-view="home-receptionist"]').waitFor();
      assert(await page.getByRole('link', { name: 'Mensagens aos pacientes' }).count() === 0, 'the link shows to a receptionist');
      await page.goto(`${page.url().split('#')[0]}#/clinica/${clinicId}/mensagens-enviadas`);
      await page.getByText('As mensagens enviadas aos pacientes são vistas pela administração da clínica.').waitFor();
    });

    await check('on a phone the table scrolls inside its box, not the page', async () => {
      const { page } = phone;
      await loginUi(page, ADMIN);
      await page.locator('[data-view="home-admin"]').waitFor();
      await page.goto(`${page.url().split('#')[0]}#/clinica/${clinicId}/mensagens-enviadas`);
      await page.locator('.ob-table tbody tr').first().waitFor();
      await noHorizontalOverflow(page);
      await shot(page, 'phone', { fullPage: false });
    });

    await check('no console errors, page errors or CSP violations', async () => {
      for (const [who, p] of [['admin', admin], ['receptionist', desk], ['phone', phone]]) {
        assert(!p.errors.length, `${who}: ${p.errors.join(' | ')}`);
      }
    });
  } finally {
    await admin.context.close();
    await desk.context.close();
    await phone.context.close();
  }
}

main('outbox', run);
