// Shared by the teleconsultation browser tests (teleconsult.mjs: peer to peer;
// teleconsult-relay.mjs: through the server's media relay): booking the call, reading the
// pages' WebRTC stats, the pre-call network check and the in-call chat.

import { apiCall, assert, loginApi, text } from './lib.mjs';

export const RECEPTIONIST = 'recepcao@aurora.demo';
export const CLINIC_ADMIN = 'admin@aurora.demo';
export const PATIENT = 'joao@paciente.demo';
/** How long inbound video must keep growing. */
export const FLOW_MS = 2000;
/** The password of the professional each run adds to Aurora. */
const PROFESSIONAL_PASSWORD = 'senha da teleconsulta 1';

/** ISO (UTC, no milliseconds) of now + `minutes`, rounded up to 5 minutes. */
export function startsIn(minutes) {
  const step = 5 * 60_000;
  const t = Math.ceil((Date.now() + minutes * 60_000) / step) * step;
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/**
 * The clinic admin adds a professional of the test's own to Aurora (the demo's
 * professionals are busy at hours the test cannot know, some appointments in service and
 * so not cancellable), and the receptionist books João a teleconsultation with her about
 * ten minutes from now. João's own appointments that would overlap are cancelled first.
 * Resolves {recToken, helenaToken, professional: {email, password, name}, clinicId, appt,
 * consult, cancel()}; `cancel()` cancels the teleconsultation. (`helenaToken` and the
 * pages' "H" name the test's professional.)
 */
export async function bookTeleconsult() {
  const recToken = await loginApi(RECEPTIONIST);
  const recMe = await apiCall('GET', '/api/me', recToken);
  const membership = recMe.memberships.find((m) => m.role === 'receptionist' && /Aurora/.test(m.clinic_name));
  assert(membership, 'recepcao@aurora.demo has no receptionist membership at Aurora');
  const clinicId = membership.clinic_id;
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const professional = {
    email: `tele.${stamp}@teste.demo`,
    password: PROFESSIONAL_PASSWORD,
    name: `Lívia Teste ${stamp.slice(-5)}`,
  };
  const adminToken = await loginApi(CLINIC_ADMIN);
  await apiCall('POST', `/api/clinics/${clinicId}/professionals`, adminToken, {
    email: professional.email,
    full_name: professional.name,
    password: professional.password,
    profession: 'doctor',
    council: 'CRM',
    council_number: stamp.slice(-6),
    council_uf: 'SP',
    gender: 'female',
  });
  const helenaToken = await loginApi(professional.email, professional.password);
  const helenaMe = await apiCall('GET', '/api/me', helenaToken);
  const patients = await apiCall('GET', `/api/clinics/${clinicId}/patients?q=Jo%C3%A3o`, recToken);
  const joao = (Array.isArray(patients) ? patients : []).find((p) => /João Pereira/.test(p.full_name));
  assert(joao, `João not found: ${JSON.stringify(patients).slice(0, 200)}`);
  // The room opens 30 minutes before the start, so the call starts within that.
  const starts_at = startsIn(10);
  const duration = 30;
  await freeThePatient(clinicId, recToken, joao.id, Date.parse(starts_at), duration);
  const appt = await apiCall('POST', `/api/clinics/${clinicId}/appointments`, recToken, {
    professional_user_id: helenaMe.id,
    patient_id: joao.id,
    starts_at,
    kind: 'teleconsultation',
    duration_minutes: duration,
    fit_in: true,
  });
  assert(appt.kind === 'teleconsultation', `booked kind ${appt.kind}`);
  const consult = await apiCall('GET', `/api/consults/${appt.id}`, helenaToken);
  assert(consult.status === 'scheduled', `status ${consult.status}`);
  assert(/^\/#\/consulta\/[^/]+$/.test(consult.patient_link || ''), `patient_link ${consult.patient_link}`);
  const cancel = () => apiCall('POST', `/api/clinics/${clinicId}/appointments/${appt.id}/cancel`, recToken,
    { reason: 'teste da teleconsulta' }).catch(() => {});
  return { recToken, helenaToken, professional, clinicId, appt, consult, cancel };
}

/** YYYY-MM-DD of `date` in São Paulo (the demo clinic's time zone). */
function localDay(date) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo' }).format(date);
}

/**
 * Cancel João's appointments that overlap [start, start + minutes) (the demo books him
 * with Dra. Helena at 14:00 every day; earlier tests may book him too). One that cannot be
 * cancelled any more (in service, done) fails the setup with its status.
 */
async function freeThePatient(clinicId, recToken, patientId, start, minutes) {
  const until = start + minutes * 60_000;
  const list = await apiCall('GET',
    `/api/clinics/${clinicId}/appointments?from=${localDay(new Date(start))}&to=${localDay(new Date(until))}`, recToken);
  for (const a of Array.isArray(list) ? list : []) {
    const overlaps = Date.parse(a.starts_at) < until && Date.parse(a.ends_at) > start;
    if (a.patient_id !== patientId || !overlaps || ['cancelled', 'no_show'].includes(a.status)) continue;
    await apiCall('POST', `/api/clinics/${clinicId}/appointments/${a.id}/cancel`, recToken,
      { reason: 'liberar horário para o teste da teleconsulta' });
  }
}

/** The picture size of a <video> once it has one. */
export async function videoSize(locator) {
  await locator.evaluate((v) => new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (v.videoWidth > 0) resolve();
      else if (Date.now() - t0 > 10_000) reject(new Error('no picture'));
      else setTimeout(tick, 100);
    };
    tick();
  }));
  return locator.evaluate((v) => ({ w: v.videoWidth, h: v.videoHeight }));
}

/** Inbound video of every remote participant of the page's call (window.__atendeCall.inbound()). */
export function inbound(page) {
  return page.evaluate(() => (window.__atendeCall ? window.__atendeCall.inbound() : []));
}

/**
 * Inbound video from `count` remote participants grows on `page` over FLOW_MS (after its
 * call connected). Tries a few rounds: a subscription made again meanwhile (new id) only
 * means measuring once more.
 */
export async function remoteVideosFlow(page, who, count) {
  await page.locator('[data-connection="connected"]').waitFor({ timeout: 20_000 });
  let last = '';
  for (let round = 0; round < 4; round += 1) {
    let before = [];
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      before = await inbound(page);
      if (before.length === count && before.every((r) => r.frames > 0)) break;
      await page.waitForTimeout(250);
    }
    last = JSON.stringify(before);
    if (before.length !== count || !before.every((r) => r.frames > 0)) continue;
    await page.waitForTimeout(FLOW_MS);
    const after = await inbound(page);
    const grew = before.map((b) => {
      const a = after.find((x) => x.id === b.id);
      return a && a.bytes > b.bytes && a.frames > b.frames ? a.frames - b.frames : null;
    });
    last = `${JSON.stringify(before)} → ${JSON.stringify(after)}`;
    if (grew.every((n) => n !== null)) {
      return `${who}: ${before.map((b, i) => `${b.name || b.role} +${grew[i]} frames`).join(', ')}`;
    }
  }
  throw new Error(`${who}: inbound video from ${count} participant(s) did not grow (${last})`);
}

/**
 * The pre-call network check on the patient's (or guest's) link page reaches a verdict.
 * Resolves {verdict, message, numbers}.
 */
export async function networkVerdict(page) {
  const box = page.locator('.tc-net');
  await box.waitFor();
  await page.waitForFunction(() => {
    const v = document.querySelector('.tc-net')?.dataset.verdict;
    return v === 'good' || v === 'weak' || v === 'bad' || v === 'failed';
  }, null, { timeout: 20_000 });
  const verdict = await box.getAttribute('data-verdict');
  const message = await text(box.locator('.tc-net-message'));
  const numbers = await box.locator('.tc-net-numbers').isVisible() ? await text(box.locator('.tc-net-numbers')) : '';
  assert(verdict !== 'failed', `the network check failed: "${message}"`);
  assert(/conexão/i.test(message), `verdict message "${message}"`);
  assert(/Latência: .* · Perda de pacotes: .* · Taxa: /.test(numbers), `numbers "${numbers}"`);
  return { verdict, message, numbers };
}

/** The chat panel of the page's call, opened. */
export async function openChat(page) {
  const panel = page.locator('.tc-chat');
  await panel.waitFor();
  if ((await panel.getAttribute('data-open')) !== 'true') {
    await panel.getByRole('button', { name: /Chat da consulta/ }).click();
  }
  return panel;
}

/** Send `body` from the page's chat; resolves once it shows as sent (not pending). */
export async function sendChat(page, body) {
  const panel = await openChat(page);
  await panel.getByLabel('Mensagem').fill(body);
  await panel.getByRole('button', { name: 'Enviar' }).click();
  await panel.locator('.tc-chat-msg[data-mine="true"]:not([data-pending])', { hasText: body }).waitFor();
}

/** The page's chat shows `body` from `name` (a string or a RegExp), with an HH:MM time. */
export async function seesChat(page, name, body, { timeout = 10_000 } = {}) {
  const panel = page.locator('.tc-chat');
  const msg = panel.locator('.tc-chat-msg', { hasText: body }).last();
  await msg.waitFor({ state: 'attached', timeout });
  const who = await msg.locator('.tc-chat-name').textContent();
  const at = await msg.locator('.tc-chat-time').textContent();
  assert(name instanceof RegExp ? name.test(who || '') : who === name, `message shown from "${who}", expected "${name}"`);
  assert(/^\d{2}:\d{2}$/.test(at || ''), `message time "${at}"`);
  const shown = await msg.locator('.tc-chat-text').textContent();
  assert(shown === body, `message text "${shown}"`);
  return at;
}
