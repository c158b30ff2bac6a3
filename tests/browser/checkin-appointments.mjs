// Headless-browser test of the check-in from today's appointments ("Consultas de hoje" on
// the reception's waiting-room board).
//
//   BASE_URL=http://127.0.0.1:8080 node tests/browser/checkin-appointments.mjs
//
// On the demo data (Clínica Aurora, America/Sao_Paulo; João at 14:00 and Maria at 14:30
// with Dra. Helena today):
// - setup over HTTP: today's open queue entries (earlier runs) are closed; the appointment
//   to check in is João's if it is still scheduled/confirmed, else Maria's, else a fit-in
//   booked for João today (reruns on the same data); the test skips only if none can be had;
// - the receptionist (browser in Asia/Tokyo: every time shown is still the clinic's) sees
//   "Consultas de hoje" live, with that appointment's time, patient, professional, service
//   and status, and a "Check-in" button;
// - a fit-in booked today over HTTP for the other patient appears WITHOUT a reload; that
//   patient, already in line as a walk-in (checked in before the booking), cannot be checked in again from it: a clear
//   error with the ticket; once the walk-in leaves and the booking is cancelled over HTTP,
//   its row disappears live;
// - "Check-in" on the chosen appointment: the row leaves the list, the ticket and the
//   "Link para acompanhar no celular" show, the board lists the entry with "Consulta HH:MM";
//   over HTTP the appointment is `checked_in`, and a second check-in is `invalid_appointment`
//   (before that, choosing the patient in "Registrar chegada" shows the appointment with a
//   button to check in for it instead of as a walk-in);
// - Dra. Helena (HTTP) calls next and starts: the board shows "Em atendimento" live and
//   the appointment is `in_progress`; finishing makes it `done`;
// - no horizontal overflow at 390 px; no console errors, page errors or CSP violations
//   (except the 409 the test provokes on purpose).
// Screenshots go to tests/browser/screenshots/checkin-*.png.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo).
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 on failure.

import {
  BASE_URL,
  PHONE,
  apiCall,
  assert,
  check,
  firstLine,
  main,
  loginApi,
  loginUi,
  noHorizontalOverflow,
  openPage as openWatchedPage,
  screenshots,
  skip,
  text,
} from './lib.mjs';

const DESKTOP = { width: 1280, height: 900 };
// The receptionist's browser is far from the clinic: times must still be the clinic's.
const BROWSER_TZ = 'Asia/Tokyo';

const RECEPTIONIST = 'recepcao@aurora.demo';
const HELENA = 'dra.helena@atende.demo';
const JOAO = { name: 'João Pereira da Silva', cpf: '52998224725' };
const MARIA = { name: 'Maria', cpf: '11144477735' };
const ROOM = 'Consultório 3';

// ----------------------------------------------------- clinic time zone ---

function zonedParts(date, timeZone) {
  const out = {};
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
  for (const p of f.formatToParts(date)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  if (out.hour === 24) out.hour = 0;
  return out;
}

const pad = (n) => String(n).padStart(2, '0');

function todayIn(timeZone) {
  const p = zonedParts(new Date(), timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "14:00" of an instant in the clinic's zone. */
function hhmmIn(iso, timeZone) {
  const p = zonedParts(new Date(iso), timeZone);
  return `${pad(p.hour)}:${pad(p.minute)}`;
}

/** The UTC instant (ISO) of local `ymd` at `minutes` past midnight in `timeZone`. */
function zonedToUtc(ymd, minutes, timeZone) {
  const [y, mo, d] = ymd.split('-').map(Number);
  const wanted = Date.UTC(y, mo - 1, d, Math.floor(minutes / 60), minutes % 60);
  let guess = wanted;
  for (let i = 0; i < 2; i += 1) {
    const p = zonedParts(new Date(guess), timeZone);
    guess += wanted - Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  }
  return new Date(guess).toISOString();
}

// -------------------------------------------------------------- pages ---

/** A watched page whose browser runs in BROWSER_TZ, marked to detect full reloads. */
async function openPage(browser, viewport) {
  const opened = await openWatchedPage(browser, viewport, { timezoneId: BROWSER_TZ });
  await opened.page.addInitScript(() => {
    window.__sameDocument = true;
  });
  return opened;
}

async function noStrayText(page) {
  const body = await page.locator('body').innerText();
  const stray = body.match(/\b(null|undefined|NaN|Invalid Date)\b/);
  assert(!stray, `the page shows "${stray && stray[0]}"`);
}

// --------------------------------------------------------------- test ---

const { shotOf } = screenshots('checkin');

async function run(browser) {
  const recToken = await loginApi(RECEPTIONIST);
  const helenaToken = await loginApi(HELENA);
  const me = await apiCall('GET', '/api/me', recToken);
  const membership = me.memberships.find((m) => m.role === 'receptionist' && /Aurora/.test(m.clinic_name));
  assert(membership, 'recepcao@aurora.demo has no receptionist membership at Aurora');
  const clinicId = membership.clinic_id;
  const queuePath = `/api/clinics/${clinicId}/queue`;
  const apptPath = `/api/clinics/${clinicId}/appointments`;
  const clinic = await apiCall('GET', `/api/clinics/${clinicId}`, recToken);
  const tz = clinic.time_zone;
  const today = todayIn(tz);
  const todays = () => apiCall('GET', `${apptPath}?from=${today}&to=${today}`, recToken);
  const appointment = async (id) => (await todays()).find((a) => a.id === id);
  const open = (a) => a.status === 'scheduled' || a.status === 'confirmed';

  /** Patient ids of João and Maria (from their records at the clinic). */
  const patientIds = {};
  for (const p of [JOAO, MARIA]) {
    const found = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=${p.cpf}`, recToken);
    const hit = (Array.isArray(found) ? found : []).find((x) => String(x.cpf || '').replace(/\D/g, '') === p.cpf);
    assert(hit, `no patient with CPF ${p.cpf} at the clinic`);
    patientIds[p.cpf] = hit.id;
  }
  let helenaId = null;

  /** Book a fit-in with Helena today for `patientId` at the first free time from 06:00. */
  async function bookFitIn(patientId) {
    for (let k = 0; k < 36; k += 1) {
      const minutes = 6 * 60 + k * 10;
      try {
        return await apiCall('POST', apptPath, recToken, {
          professional_user_id: helenaId,
          patient_id: patientId,
          starts_at: zonedToUtc(today, minutes, tz),
          duration_minutes: 10,
          fit_in: true,
          notes: 'teste de check-in (browser)',
        });
      } catch (err) {
        if (err.status !== 409) throw err;
      }
    }
    throw new Error('no free time for a fit-in today');
  }

  /** What this run leaves to clean up: entry ids to close, appointment ids to cancel. */
  const cleanup = { entries: new Set(), appointments: new Set() };
  let target = null;
  let other = null;

  const setup = await check('setup: leftovers closed, an appointment of today to check in', async () => {
    const entries = await apiCall('GET', queuePath, recToken);
    let closed = 0;
    for (const e of entries) {
      const action = e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (!action) continue;
      await apiCall('POST', `${queuePath}/${e.id}/${action}`, recToken, {});
      closed += 1;
    }
    const list = await todays();
    const helenaMember = (await apiCall('GET', `/api/clinics/${clinicId}/members`, recToken))
      .find((m) => m.role === 'professional' && /Helena/.test(m.full_name));
    assert(helenaMember, 'Dra. Helena is not a professional at Aurora');
    helenaId = helenaMember.user_id;
    const of = (cpf) => list.find((a) => a.patient_id === patientIds[cpf] && a.professional_user_id === helenaId && open(a));
    target = of(JOAO.cpf) || of(MARIA.cpf) || null;
    let note = target ? `${target.patient_name} ${hhmmIn(target.starts_at, tz)} (open)` : '';
    if (!target) {
      try {
        target = await bookFitIn(patientIds[JOAO.cpf]);
        cleanup.appointments.add(target.id);
        note = `${target.patient_name} ${hhmmIn(target.starts_at, tz)} (fit-in booked: the demo ones were used)`;
      } catch (err) {
        return `SKIP: neither João's nor Maria's appointment is open and no fit-in could be booked (${firstLine(err)})`;
      }
    }
    other = target.patient_id === patientIds[JOAO.cpf]
      ? { ...MARIA, id: patientIds[MARIA.cpf] }
      : { ...JOAO, id: patientIds[JOAO.cpf] };
    return `${closed} closed; ${note}`;
  });
  if (!setup) throw new Error('setup failed');
  if (!target) {
    skip();
    return;
  }
  const targetTime = hhmmIn(target.starts_at, tz);

  const rec = await openPage(browser, DESKTOP);
  const pages = [['receptionist', rec]];
  const section = rec.page.locator('[data-queue="appointments"]');
  const rowOf = (id) => section.locator(`.queue-appt[data-id="${id}"]`);
  const board = rec.page.locator('[data-queue="board"]');
  let entry = null;

  try {
    const ready = await check('the receptionist sees "Consultas de hoje", live, in the clinic\'s time', async () => {
      await loginUi(rec.page, RECEPTIONIST);
      await rec.page.locator('[data-view="home-receptionist"]').waitFor();
      await rec.page.locator('[data-queue="board"][data-live="true"]').waitFor();
      await rec.page.locator('[data-queue="appointments"][data-live="true"]').waitFor();
      await section.getByRole('heading', { name: /Consultas de hoje/ }).waitFor();
      const row = rowOf(target.id);
      await row.waitFor();
      assert((await text(row.locator('.queue-appt-time'))) === targetTime, `time "${await text(row.locator('.queue-appt-time'))}", expected ${targetTime}`);
      assert((await text(row.locator('.queue-name'))) === target.patient_name, 'patient name');
      const meta = await text(row.locator('.card-meta'));
      assert(meta.includes(target.professional_name), `no professional in "${meta}"`);
      if (target.service_name) assert(meta.includes(target.service_name), `no service in "${meta}"`);
      const status = await text(row.locator('.queue-appt-status'));
      assert(status === (target.status === 'confirmed' ? 'Confirmada' : 'Agendada'), `status "${status}"`);
      await row.getByRole('button', { name: `Check-in: ${targetTime} — ${target.patient_name}` }).waitFor();
      // Only appointments still to arrive, in time order.
      const shown = await section.locator('.queue-appt').evaluateAll((els) => els.map((e) => e.dataset.id));
      const expected = (await todays()).filter(open).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at)).map((a) => a.id);
      assert(shown.join(' ') === expected.join(' '), `rows ${shown.length}, expected ${expected.length} (or another order)`);
      await noStrayText(rec.page);
      return `${shown.length} to arrive`;
    });
    if (!ready) throw new Error('the list did not show');

    let extra = null;
    let walkIn = null;
    await check('a fit-in booked today (HTTP) appears without a reload', async () => {
      // The patient was already in line as a walk-in before this appointment was booked (a
      // desk check-in after the booking would have linked it).
      walkIn = await apiCall('POST', queuePath, recToken, { patient_id: other.id });
      cleanup.entries.add(walkIn.id);
      extra = await bookFitIn(other.id);
      cleanup.appointments.add(extra.id);
      const row = rowOf(extra.id);
      await row.waitFor();
      assert((await text(row.locator('.queue-appt-time'))) === hhmmIn(extra.starts_at, tz), 'fit-in time');
      assert((await text(row.locator('.queue-name'))) === extra.patient_name, 'fit-in patient');
      assert(await rec.page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
      return `${extra.patient_name} ${hhmmIn(extra.starts_at, tz)}`;
    });

    await check('a patient already in line as a walk-in: a clear error with the ticket', async () => {
      assert(extra && walkIn, 'no fit-in or walk-in');
      await board.locator(`.queue-entry[data-ticket="${walkIn.ticket}"]`).waitFor();
      rec.allowed.push(/status of 409/);
      await rowOf(extra.id).getByRole('button', { name: /^Check-in:/ }).click();
      const alert = section.getByRole('alert');
      await alert.filter({ hasText: `já está na fila de hoje com a senha ${walkIn.ticket}` }).waitFor();
      await rowOf(extra.id).waitFor();
      await shotOf(section, 'already-in-line');
      // The walk-in leaves (not linked to an appointment: nothing is cancelled) and the
      // fit-in is cancelled: its row goes away live.
      await apiCall('POST', `${queuePath}/${walkIn.id}/leave`, recToken, {});
      cleanup.entries.delete(walkIn.id);
      assert(open(await appointment(extra.id)), 'the fit-in changed status when the walk-in left');
      await apiCall('POST', `${apptPath}/${extra.id}/cancel`, recToken, { reason: 'Teste de check-in' });
      cleanup.appointments.delete(extra.id);
      await rowOf(extra.id).waitFor({ state: 'detached' });
      return await text(alert);
    });

    await check('choosing the patient in "Registrar chegada" points to the appointment', async () => {
      const form = rec.page.locator('form.queue-checkin');
      const cpf = Object.keys(patientIds).find((k) => patientIds[k] === target.patient_id);
      await form.getByLabel('Paciente', { exact: true }).fill(cpf);
      await form.getByRole('button', { name: `Usar cadastro de ${target.patient_name}` }).click();
      const hint = form.locator('.queue-chosen-appt');
      await hint.filter({ hasText: `Tem consulta hoje às ${targetTime} com ${target.professional_name}` }).waitFor();
      await hint.getByRole('button', { name: `Check-in da consulta das ${targetTime}` }).waitFor();
      await shotOf(form, 'walk-in-hint');
      // Not used here: the check-in is done from "Consultas de hoje" below.
      await form.getByRole('button', { name: 'Trocar paciente' }).click();
      await form.getByLabel('Paciente', { exact: true }).fill('');
    });

    const checkedIn = await check(`Check-in of ${target.patient_name} (${targetTime}): the row goes, the ticket and phone link show`, async () => {
      await rowOf(target.id).getByRole('button', { name: `Check-in: ${targetTime} — ${target.patient_name}` }).click();
      await rowOf(target.id).waitFor({ state: 'detached' });
      const result = section.locator('.queue-tracker');
      await result.locator('.queue-tracker-ticket').waitFor();
      const ticket = await text(result.locator('.queue-tracker-ticket strong'));
      assert(/^[NP]\d{3}$/.test(ticket), `ticket "${ticket}"`);
      const link = await result.getByLabel('Link para acompanhar no celular').inputValue();
      assert(link.startsWith(`${BASE_URL}/#/fila/`), `tracker link "${link}"`);
      assert(!(await section.getByRole('alert').count()), 'an error is still shown');
      // The board lists the entry, with the appointment's time.
      const row = board.locator(`.queue-waiting .queue-entry[data-ticket="${ticket}"]`);
      await row.waitFor();
      assert((await text(row.locator('.queue-name'))) === target.patient_name, 'name on the board');
      const tag = await text(row.locator('.queue-appt-tag'));
      assert(tag === `Consulta ${targetTime}`, `board tag "${tag}"`);
      assert((await text(row.locator('.queue-prof'))) === target.professional_name, 'professional on the board');
      const entries = await apiCall('GET', queuePath, recToken);
      entry = entries.find((e) => e.ticket === ticket);
      assert(entry && entry.appointment_id === target.id, 'the entry is not linked to the appointment');
      cleanup.entries.add(entry.id);
      // From now on the queue carries it (leaving the queue cancels it).
      cleanup.appointments.delete(target.id);
      const a = await appointment(target.id);
      assert(a.status === 'checked_in', `appointment status ${a.status}`);
      await noStrayText(rec.page);
      await shotOf(board, 'board');
      return `${ticket}, ${tag}`;
    });

    if (checkedIn) {
      await check('a second check-in of the same appointment is refused (invalid_appointment)', async () => {
        try {
          await apiCall('POST', queuePath, recToken, { appointment_id: target.id });
        } catch (err) {
          assert(err.status === 422 && err.code === 'invalid_appointment', `got ${err.status} ${err.code}`);
          return '422';
        }
        throw new Error('the second check-in was accepted');
      });

      await check('Dra. Helena calls next and starts (HTTP): the appointment is in_progress, live on the board', async () => {
        const called = await apiCall('POST', `${queuePath}/call-next`, helenaToken, { room: ROOM });
        assert(called.id === entry.id, `called ${called.ticket}, expected ${entry.ticket}`);
        await board.locator(`.queue-active .queue-entry[data-ticket="${entry.ticket}"][data-status="called"]`).waitFor();
        await apiCall('POST', `${queuePath}/${entry.id}/start`, helenaToken, {});
        const row = board.locator(`.queue-active .queue-entry[data-ticket="${entry.ticket}"][data-status="in_service"]`);
        await row.waitFor();
        assert((await text(row.locator('.queue-appt-tag'))) === `Consulta ${targetTime}`, 'no "Consulta" tag while in service');
        const a = await appointment(target.id);
        assert(a.status === 'in_progress', `appointment status ${a.status}`);
        // Not back in the list of appointments to arrive.
        assert(!(await rowOf(target.id).count()), 'the appointment is listed again');
        await shotOf(board, 'in-service');
        return a.status;
      });

      await check('at 390 px the board has no horizontal overflow', async () => {
        await rec.page.setViewportSize(PHONE);
        await noHorizontalOverflow(rec.page);
        await shotOf(section, 'phone');
        await rec.page.setViewportSize(DESKTOP);
      });

      await check('finishing the service makes the appointment done', async () => {
        await apiCall('POST', `${queuePath}/${entry.id}/finish`, helenaToken, {});
        cleanup.entries.delete(entry.id);
        await board.locator(`.queue-entry[data-ticket="${entry.ticket}"][data-status="done"]`).waitFor({ state: 'attached' });
        const a = await appointment(target.id);
        assert(a.status === 'done', `appointment status ${a.status}`);
      });
    }

    await check('no console errors, page errors or CSP violations', async () => {
      const all = pages.flatMap(([who, p]) => p.errors.map((e) => `${who}: ${e}`));
      assert(!all.length, all.join(' | '));
    });
  } finally {
    for (const id of cleanup.entries) {
      const e = (await apiCall('GET', queuePath, recToken).catch(() => [])).find((x) => x.id === id);
      const action = !e ? null : e.status === 'waiting' ? 'leave' : (e.status === 'called' || e.status === 'in_service') ? 'finish' : null;
      if (action) await apiCall('POST', `${queuePath}/${id}/${action}`, recToken, {}).catch(() => {});
    }
    for (const id of cleanup.appointments) {
      await apiCall('POST', `${apptPath}/${id}/cancel`, recToken, { reason: 'Teste de check-in' }).catch(() => {});
    }
    for (const [, p] of pages) await p.context.close().catch(() => {});
  }
}

main('check-in-from-appointments', run);
