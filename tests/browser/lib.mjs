// Shared scaffolding of the headless-browser tests in tests/browser/*.mjs.
//
// Env: BASE_URL (default http://127.0.0.1:8080), CHROMIUM (default
// /usr/bin/chromium), DEMO_PASSWORD (default atende-demo), MAILDIR (where the server
// writes its e-mail, `messaging.mail_dir`; default ./data/mail, the demo's in its data dir).
//
// A test defines `async function run(browser)` made of `check(name, fn)` calls and
// ends with `main('<label>', run)`: it launches Chromium, runs the checks, prints one
// line per check and "N passed, N failed" and exits 1 on failure.

import { mkdir, readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = process.env.DEMO_PASSWORD || 'atende-demo';
export const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
export const TIMEOUT = 15_000;
export const PHONE = { width: 390, height: 844 };
/** The demo clinics' time zone. */
export const CLINIC_TZ = 'America/Sao_Paulo';

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/**
 * Extra flags for video-call tests (`main(label, run, { webrtc: true })`): a fake camera
 * (a moving test pattern) and microphone (a beep), permission prompts answered "allow",
 * and ICE host candidates on loopback with plain IP addresses (no mDNS names), so two
 * pages of the same browser can call each other without STUN or TURN.
 */
export const WEBRTC_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
];

// ------------------------------------------------------------- checks ---

const counts = { passed: 0, failed: 0, skipped: 0 };

export function firstLine(err) {
  return String((err && err.message) || err).split('\n')[0];
}

/**
 * Run one check: prints "ok name (note)" when `fn` resolves (a string result is the
 * note; the string 'skip' counts it as skipped), "FAIL name: reason" when it throws.
 * Resolves true unless it failed.
 */
export async function check(name, fn) {
  try {
    const note = await fn();
    if (note === 'skip') {
      counts.skipped += 1;
      console.log(`skip ${name}`);
      return true;
    }
    counts.passed += 1;
    console.log(`ok   ${name}${typeof note === 'string' && note ? ` (${note})` : ''}`);
    return true;
  } catch (err) {
    counts.failed += 1;
    console.log(`FAIL ${name}: ${firstLine(err)}`);
    // Where in the test it stopped (the test file's own frames).
    const at = String((err && err.stack) || '').split('\n').filter((l) => /tests\/browser\/(?!lib\.mjs)/.test(l));
    if (at.length) console.log(`     at ${at[0].trim().replace(/^at /, '')}`);
    return false;
  }
}

/** Count a failure that was not run as a check (prints "FAIL name: reason"). */
export function fail(name, reason) {
  counts.failed += 1;
  console.log(`FAIL ${name}: ${reason}`);
}

/** Count a skipped part of the test (prints "skip name" when a name is given). */
export function skip(name) {
  counts.skipped += 1;
  if (name) console.log(`skip ${name}`);
}

/** "N passed, N failed[, N skipped]". */
export function summary(extraFailed = 0) {
  const { passed, failed, skipped } = counts;
  return `${passed} passed, ${failed + extraFailed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

export function exitCode() {
  return counts.failed ? 1 : 0;
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ------------------------------------------------------------ browser ---

/** Launch Chromium; `webrtc`: with WEBRTC_ARGS. */
export function launch({ webrtc = false } = {}) {
  const args = webrtc ? [...LAUNCH_ARGS, ...WEBRTC_ARGS] : LAUNCH_ARGS;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * Launch Chromium, run `run(browser)` and exit with the summary: "atende browser
 * <label> test against BASE_URL", one line per check, "N passed, N failed".
 * An exception escaping `run` counts as one failure ("stopped early").
 * `options.webrtc`: launch with the video-call flags (WEBRTC_ARGS).
 */
export function main(label, run, { webrtc = false } = {}) {
  const go = async () => {
    await mkdir(SHOTS, { recursive: true });
    console.log(`atende browser ${label} test against ${BASE_URL}`);
    let browser;
    try {
      browser = await launch({ webrtc });
    } catch (err) {
      console.log(`FAIL launch chromium (${CHROMIUM}): ${firstLine(err)}`);
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
    try {
      await run(browser);
    } catch (err) {
      counts.failed += 1;
      console.log(`FAIL stopped early: ${firstLine(err)}`);
    } finally {
      await browser.close();
    }
    console.log(summary());
    process.exit(exitCode());
  };
  return go().catch((err) => {
    console.log(`FAIL unexpected: ${firstLine(err)}`);
    console.log(summary(1));
    process.exit(1);
  });
}

/**
 * A new context (pt-BR, `timezoneId`) + page that records console errors, page errors
 * and CSP violations in `errors`. Push RegExps onto `allowed` for console errors the
 * test provokes on purpose (HTTP 4xx answers). `newPage()` opens another watched page
 * in the same context. With `failOnDialog`, any alert/confirm dialog is dismissed and
 * recorded as an error.
 */
export async function openPage(browser, viewport, { timezoneId = CLINIC_TZ, failOnDialog = false } = {}) {
  const context = await browser.newContext({ viewport, locale: 'pt-BR', timezoneId });
  const errors = [];
  const allowed = [];
  // Belt and braces: CSP violations also arrive as DOM events.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
    });
  });
  const watch = (page) => {
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => errors.push(`pageerror: ${firstLine(e)}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (allowed.some((re) => re.test(text))) return;
      errors.push(`console: ${text} @ ${msg.location().url || '?'}`);
    });
    if (failOnDialog) {
      page.on('dialog', (d) => {
        errors.push(`dialog opened: ${d.message()}`);
        d.dismiss().catch(() => {});
      });
    }
    return page;
  };
  const page = watch(await context.newPage());
  return { context, page, errors, allowed, newPage: async () => watch(await context.newPage()) };
}

/** Log in through the login view (does not wait for the home view). */
export async function loginUi(page, email, password = PASSWORD) {
  await page.goto(`${BASE_URL}/`);
  await page.locator('[data-view="login"]').waitFor();
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Senha').fill(password);
  await page.getByRole('button', { name: 'Entrar', exact: true }).click();
}

/**
 * Screenshot helpers writing screenshots/<prefix>-<name>.png:
 * `shot(page, name, { fullPage })` and `shotOf(locator, name)`.
 */
export function screenshots(prefix, { fullPage: defaultFullPage = true } = {}) {
  return {
    /** A screenshot of the page, which must also pass the accessibility check (axe). */
    shot: async (page, name, { fullPage = defaultFullPage } = {}) => {
      await page.screenshot({ path: join(SHOTS, `${prefix}-${name}.png`), fullPage });
      await accessible(page, `${prefix}-${name}`);
    },
    shotOf: async (locator, name) => {
      await locator.screenshot({ path: join(SHOTS, `${prefix}-${name}.png`) });
    },
  };
}

export async function noHorizontalOverflow(page) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert(scroll <= width, `page is ${scroll}px wide in a ${width}px viewport`);
}

/** The element's visible text with runs of whitespace collapsed. */
export async function text(locator) {
  return ((await locator.innerText()) || '').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------- API ---

export class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** JSON call to the API; throws an HttpError (status, code) unless 2xx. */
export async function apiCall(method, path, token, body) {
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const code = data && (data.code || (data.error && data.error.code));
    throw new HttpError(res.status, code, `${method} ${path} → ${res.status} ${text}`);
  }
  return data;
}

// ------------------------------------------------------------- e-mail ---

/** The server's maildir (`messaging.mail_dir`; `atende serve --demo`: <data dir>/mail). */
export const MAILDIR = process.env.MAILDIR || './data/mail';

/** A part's body decoded by its Content-Transfer-Encoding. @param {string} head @param {string} body */
function decodePart(head, body) {
  if (/content-transfer-encoding:\s*base64/i.test(head)) {
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    const bytes = body.replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** A message's headers (unfolded) and its text: every part decoded, joined. @param {string} raw */
/** A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded. @param {string} v */
function decodeWords(v) {
  return v.replace(/=\?utf-8\?([bq])\?([^?]*)\?=(\s+(?==\?utf-8\?))?/gi, (_, kind, text) => (kind.toLowerCase() === 'b'
    ? Buffer.from(text, 'base64').toString('utf8')
    : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')));
}

function readMail(raw) {
  const cut = raw.search(/\r?\n\r?\n/);
  const head = (cut < 0 ? raw : raw.slice(0, cut)).replace(/\r?\n[ \t]+/g, ' ');
  const header = (/** @type {string} */ name) => {
    const m = head.match(new RegExp(`^${name}:\\s*(.*)$`, 'im'));
    return m ? decodeWords(m[1].trim()) : '';
  };
  const parts = raw.split(/^--.*$/m).map((part) => {
    const at = part.search(/\r?\n\r?\n/);
    return at < 0 ? part : decodePart(part.slice(0, at), part.slice(at).trim());
  });
  return { header, text: parts.join('\n') };
}

/** The mails in MAILDIR/new to `to` with `subject`: [{id, text}]. */
async function mailsTo(to, subject) {
  let names = [];
  try {
    names = await readdir(join(MAILDIR, 'new'));
  } catch {
    return [];
  }
  const found = [];
  for (const name of names) {
    const mail = readMail(await readFile(join(MAILDIR, 'new', name), 'utf8'));
    const rcpt = mail.header('To').toLowerCase();
    if (mail.header('Subject') === subject && (rcpt === to || rcpt.endsWith(`<${to}>`))) {
      found.push({ id: mail.header('Message-ID') || name, text: mail.text });
    }
  }
  return found;
}

const SIGNUP_SUBJECT = 'Confirme seu e-mail no atende';

/** The ids of the sign-up links e-mailed to `email` so far. @param {string} email */
export async function signupMails(email) {
  return new Set((await mailsTo(email.toLowerCase(), SIGNUP_SUBJECT)).map((m) => m.id));
}

/**
 * The next sign-up link e-mailed to `email` (one whose id is not in `seen`), as a path
 * (`/#/confirmar-email/<token>`), once it arrives in MAILDIR.
 * @param {string} email
 * @param {Set<string>} seen
 */
export async function signupLink(email, seen = new Set()) {
  return mailedLink(email, SIGNUP_SUBJECT, 'confirmar-email', seen);
}

/**
 * The first link to `#/<page>/<token>` in an e-mail with `subject` to `email` (one whose id
 * is not in `seen`), as a path, once it arrives in MAILDIR.
 * @param {string} email
 * @param {string} subject
 * @param {string} page
 * @param {Set<string>} seen
 */
export async function mailedLink(email, subject, page, seen = new Set()) {
  const until = Date.now() + TIMEOUT;
  const pattern = new RegExp(`/#/${page}/[A-Za-z0-9_-]+`);
  while (Date.now() < until) {
    const fresh = (await mailsTo(email.toLowerCase(), subject)).find((m) => !seen.has(m.id));
    const link = fresh && fresh.text.match(pattern);
    if (link) return link[0];
    await new Promise((resolve) => { setTimeout(resolve, 200); });
  }
  throw new Error(`no "${subject}" link for ${email} in ${MAILDIR}/new within ${TIMEOUT / 1000} s`);
}

/**
 * Sign up a patient through the API as a person does: ask, open the link e-mailed to the
 * address (read from MAILDIR), confirm. Resolves to the confirmation's answer
 * (`{access_token, user, …}`).
 * @param {Record<string, unknown>} body the sign-up request
 */
export async function signUpApi(body) {
  const email = String(body.email);
  const seen = await signupMails(email);
  const asked = await apiCall('POST', '/api/auth/signup', null, body);
  assert(asked && asked.status === 'verification_sent', `sign-up answered ${JSON.stringify(asked)}`);
  const token = (await signupLink(email, seen)).split('/').pop();
  return apiCall('POST', '/api/auth/signup/confirm', null, { token });
}

/** A random valid CPF, formatted. */
export function randomCpf() {
  for (;;) {
    const d = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
    if (d.every((x) => x === d[0])) continue;
    const check = (digits) => {
      const n = digits.length + 1;
      const r = digits.reduce((sum, x, i) => sum + x * (n - i), 0) % 11;
      return r < 2 ? 0 : 11 - r;
    };
    d.push(check(d));
    d.push(check(d));
    const s = d.join('');
    return `${s.slice(0, 3)}.${s.slice(3, 6)}.${s.slice(6, 9)}-${s.slice(9)}`;
  }
}

/** Access token of a demo account. */
export async function loginApi(email, password = PASSWORD) {
  const session = await apiCall('POST', '/api/auth/login', null, { email, password });
  return session.access_token;
}

// --------------------------------------------------- clinic time zone ---

/** YYYY-MM-DD of `date` in the clinic's zone. */
export function localDate(date) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: CLINIC_TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

/** HH:MM of the instant `iso` in the clinic's zone. */
export function localTime(iso) {
  return new Intl.DateTimeFormat('pt-BR', { timeZone: CLINIC_TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

export function addDays(ymd, n) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// ------------------------------------------------------- accessibility ---

let axeSource = null;

/**
 * Run axe-core (npm, the engine behind most accessibility checkers) on the page as it is
 * and fail on any violation of serious or critical impact, naming the rule, the elements
 * and axe's advice. axe is evaluated through the DevTools protocol, so the page's strict
 * CSP (no inline scripts) stays as it is. Resolves with the number of rules that passed.
 * @param {import('playwright-core').Page} page
 * @param {string} where what the user is looking at, for the message
 */
export async function accessible(page, where) {
  axeSource ??= await readFile(
    join(dirname(fileURLToPath(import.meta.url)), 'node_modules', 'axe-core', 'axe.min.js'),
    'utf8',
  );
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return {
      passes: r.passes.length,
      violations: r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`),
    };
  });
  assert(!result.violations.length, `${where}: ${result.violations.join(' | ')}`);
  return result.passes;
}

// ------------------------------------------------------------- journeys ---

/**
 * What the user sees has no "null", "undefined" or "NaN" (a value that did not arrive),
 * nor any text matching one of `forbidden` (e.g. a title that disagrees).
 * @param {import('playwright-core').Page} page
 * @param {string} where what the user is looking at, for the message
 * @param {RegExp[]} [forbidden]
 */
export async function noMissingText(page, where, forbidden = []) {
  const body = await page.locator('body').innerText();
  const bad = body.match(/.{0,40}\b(null|undefined|NaN)\b.{0,40}/);
  assert(!bad, `${where}: "${bad && bad[0]}"`);
  for (const re of forbidden) {
    const hit = body.match(re);
    assert(!hit, `${where}: "${hit && hit[0]}"`);
  }
}
