// @ts-check
// Agenda helpers shared by the staff agenda, the public booking page and the patient's
// "Minhas consultas": dates in a clinic's time zone, pt-BR labels and error messages.
//
// The API speaks UTC instants (RFC 3339) and "local dates" (YYYY-MM-DD in the clinic's
// zone). Everything shown to people is in the clinic's zone (Intl.DateTimeFormat with
// `timeZone`), whatever the browser's own zone is.

import { ApiError } from './api.js';
import { errorMessage } from './ui.js';
import { APPOINTMENT_STATUS_LABELS, appointmentStatus } from './messages.js';

export const DEFAULT_TZ = 'America/Sao_Paulo';

/** Appointment statuses as they read (from the message catalog: "Agendada", "Realizada"…). */
export const STATUS_LABELS = APPOINTMENT_STATUS_LABELS;

export function statusLabel(status) {
  return appointmentStatus(status);
}

/** Still ahead and changeable (reschedule, cancel by the patient): same rule as the server. */
export function isOpen(status) {
  return status === 'scheduled' || status === 'confirmed';
}

/** Holds the professional's time (everything but cancelled and no-show). */
export function holdsTime(status) {
  return status !== 'cancelled' && status !== 'no_show';
}

export const KIND_LABELS = {
  in_person: 'Presencial',
  teleconsultation: 'Teleconsulta',
};

const WEEKDAY_NAMES = ['Segunda-feira', 'Terça-feira', 'Quarta-feira', 'Quinta-feira', 'Sexta-feira', 'Sábado', 'Domingo'];
const WEEKDAY_SHORT = ['seg', 'ter', 'qua', 'qui', 'sex', 'sáb', 'dom'];

/** 0 = Monday … 6 = Sunday (the API's numbering). */
export function weekdayName(weekday) {
  return WEEKDAY_NAMES[weekday] || '';
}

// ---------------------------------------------------------- time zones ---

const partsFormatters = new Map();

function partsFormatter(timeZone) {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      });
    } catch {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: DEFAULT_TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      });
    }
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** {year, month, day, hour, minute} of `date` (Date, ms or ISO) in `timeZone`. */
export function zonedParts(date, timeZone) {
  const d = date instanceof Date ? date : new Date(date);
  const out = {};
  for (const p of partsFormatter(timeZone).formatToParts(d)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** The local date (YYYY-MM-DD) of an instant in `timeZone`. */
export function localDate(iso, timeZone) {
  const p = zonedParts(iso, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** Minutes since local midnight of an instant in `timeZone`. */
export function localMinutes(iso, timeZone) {
  const p = zonedParts(iso, timeZone);
  return p.hour * 60 + p.minute;
}

/** Today (YYYY-MM-DD) in `timeZone`. */
export function todayIn(timeZone) {
  return localDate(new Date(), timeZone);
}

/** The instant (ISO, UTC) of local date `ymd` at `hm` ("HH:MM") in `timeZone`. */
export function zonedToUtc(ymd, hm, timeZone) {
  const [y, mo, d] = ymd.split('-').map(Number);
  const [hh, mm] = hm.split(':').map(Number);
  const wanted = Date.UTC(y, mo - 1, d, hh, mm);
  // Guess with the offset at that wall time, then correct once (DST edges).
  let guess = wanted;
  for (let i = 0; i < 2; i += 1) {
    const p = zonedParts(guess, timeZone);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    guess += wanted - shown;
  }
  return new Date(guess).toISOString();
}

/** "HH:MM" from minutes since midnight. */
export function hhmm(minutes) {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

/** "HH:MM" → minutes since midnight (NaN when malformed). */
export function parseHhmm(text) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(text || '').trim());
  if (!m) return Number.NaN;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min)) return Number.NaN;
  return h * 60 + min;
}

function ymdToUtcDate(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

export function isYmd(text) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(text || ''))) return false;
  const d = ymdToUtcDate(text);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

export function addDays(ymd, n) {
  const d = ymdToUtcDate(ymd);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** Days from `a` to `b` (YYYY-MM-DD). */
export function daysBetween(a, b) {
  return Math.round((ymdToUtcDate(b).getTime() - ymdToUtcDate(a).getTime()) / 86_400_000);
}

/** 0 = Monday … 6 = Sunday. */
export function weekdayOf(ymd) {
  return (ymdToUtcDate(ymd).getUTCDay() + 6) % 7;
}

/** The Monday of the week of `ymd`. */
export function mondayOf(ymd) {
  return addDays(ymd, -weekdayOf(ymd));
}

const dateFormatters = new Map();
function dateFormatter(key, options) {
  let f = dateFormatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('pt-BR', { ...options, timeZone: 'UTC' });
    dateFormatters.set(key, f);
  }
  return f;
}

/** "Terça-feira, 25 de novembro de 2026" (a heading) */
export function longDate(ymd) {
  const text = dateFormatter('long', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' })
    .format(ymdToUtcDate(ymd));
  return text.charAt(0).toLocaleUpperCase('pt-BR') + text.slice(1);
}

/** "terça-feira, 25/11" */
export function mediumDate(ymd) {
  return `${dateFormatter('wd', { weekday: 'long' }).format(ymdToUtcDate(ymd))}, ${shortDate(ymd)}`;
}

/** "25/11" */
export function shortDate(ymd) {
  const [, m, d] = ymd.split('-');
  return `${d}/${m}`;
}

/** "25/11/2026" */
export function fullDate(ymd) {
  const [y, m, d] = ymd.split('-');
  return `${d}/${m}/${y}`;
}

/** "ter" */
export function weekdayShort(ymd) {
  return WEEKDAY_SHORT[weekdayOf(ymd)];
}

/** "10:00" in the clinic's zone. */
export function timeIn(iso, timeZone) {
  return hhmm(localMinutes(iso, timeZone));
}

/** "terça-feira, 25/11 às 10:00" in the clinic's zone. */
export function whenText(iso, timeZone) {
  return `${mediumDate(localDate(iso, timeZone))} às ${timeIn(iso, timeZone)}`;
}

/** "Horário Padrão de Brasília" (the zone's long name in pt-BR), else the IANA name. */
export function zoneName(timeZone) {
  try {
    const part = new Intl.DateTimeFormat('pt-BR', { timeZone, timeZoneName: 'long' })
      .formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    if (part && part.value && !/^GMT/.test(part.value)) return part.value;
  } catch {
    // fall through
  }
  return String(timeZone || '').replace(/_/g, ' ');
}

/** "R$ 150,00" */
export function money(cents) {
  if (!cents) return '';
  return new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' }).format(cents / 100);
}

/**
 * Centavos from what a person types as reais: "150", "150,5", "R$ 1.234,56", "12.50".
 * Null when it is not an amount (letters, more than two decimals, negative).
 * @param {string} text
 * @returns {number|null}
 */
export function parseMoney(text) {
  const t = String(text || '').replace(/R\$|\s/g, '');
  // "1.234,56" / "1234,56" / "1234" (comma decimals, dots for thousands) or "12.50".
  const m = /^(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?$/.exec(t) || /^(\d+)\.(\d{1,2})$/.exec(t);
  if (!m) return null;
  const reais = Number(m[1].replace(/\./g, ''));
  const cents = m[2] ? Number(m[2].padEnd(2, '0')) : 0;
  const total = reais * 100 + cents;
  return Number.isSafeInteger(total) ? total : null;
}

/**
 * The first and last day of the month of `ymd` ("2026-02-10" → 2026-02-01 … 2026-02-28).
 * @param {string} ymd
 */
export function monthOf(ymd) {
  const [y, m] = ymd.split('-').map(Number);
  const first = `${y}-${String(m).padStart(2, '0')}-01`;
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { from: first, to: addDays(next, -1) };
}

/** "30 min", "1 h", "1 h 30 min" */
export function durationText(minutes) {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m} min`;
  const rest = m % 60;
  return rest ? `${Math.floor(m / 60)} h ${rest} min` : `${Math.floor(m / 60)} h`;
}

export function minutesBetween(aIso, bIso) {
  return Math.round((Date.parse(bIso) - Date.parse(aIso)) / 60_000);
}

// -------------------------------------------------------------- errors ---

const AGENDA_MESSAGES = {
  slot_taken: 'Esse horário acabou de ser ocupado. Escolha outro horário.',
  patient_busy: 'O paciente já tem outra consulta nesse horário.',
  slot_unavailable: 'Esse horário não está disponível na agenda do profissional.',
  invalid_service: 'Esse serviço não é oferecido por este profissional.',
  patient_not_registered: 'Paciente não cadastrado nesta clínica.',
  not_a_professional: 'Esse profissional não atende nesta clínica.',
  invalid_transition: 'Essa consulta mudou de situação enquanto isso. A agenda foi atualizada.',
  invalid_reason: 'Informe o motivo do cancelamento (até 300 caracteres).',
  invalid_range: 'Intervalo de datas inválido.',
  invalid_duration: 'A duração deve ser de 5 a 480 minutos.',
  invalid_kind: 'Tipo de atendimento inválido.',
  invalid_status: 'Situação inválida.',
  invalid_weekday: 'Dia da semana inválido.',
  invalid_time: 'Horário inválido. Use o formato HH:MM.',
  invalid_hours: 'Confira os horários: o fim de cada intervalo deve ser depois do início.',
  overlapping_hours: 'Há intervalos sobrepostos no mesmo dia.',
  invalid_notice: 'A antecedência mínima pode ser de até 30 dias.',
  invalid_window: 'A janela de agendamento deve ser de 1 a 365 dias.',
  invalid_daily_limit: 'O limite diário deve ser de 1 a 200 consultas.',
  invalid_step: 'O intervalo entre horários deve ser de 5, 10, 15, 20, 30 ou 60 minutos.',
  invalid_service_name: 'Informe o nome do serviço (até 80 caracteres).',
  invalid_price: 'Preço inválido.',
  invalid_buffer: 'Os intervalos antes e depois devem ser de 0 a 120 minutos.',
};

/** pt-BR message for an agenda API error. `opts.patient`: the text is for a patient. */
export function agendaError(err, { patient = false } = {}) {
  if (err instanceof ApiError && Object.hasOwn(AGENDA_MESSAGES, err.code)) {
    if (patient && err.code === 'patient_busy') return 'Você já tem outra consulta nesse horário.';
    if (patient && err.code === 'invalid_transition') return 'Esta consulta não pode mais ser alterada.';
    return AGENDA_MESSAGES[err.code];
  }
  return errorMessage(err);
}

export function isCode(err, ...codes) {
  return err instanceof ApiError && codes.includes(err.code);
}

// -------------------------------------------------------------- misc ---

/** Services a professional offers: the clinic's (no professional) and their own. */
export function servicesFor(services, proId) {
  return (services || [])
    .filter((s) => s.active !== false && (!s.professional_user_id || String(s.professional_user_id) === String(proId)))
    .sort((a, b) => String(a.name).localeCompare(String(b.name), 'pt-BR'));
}

/** "Consulta — 30 min · R$ 150,00" */
export function serviceText(s) {
  const price = money(s.price_cents);
  return `${s.name} — ${durationText(s.duration_minutes)}${price ? ` · ${price}` : ''}`;
}

/** Group free slots ({starts_at, ends_at}) by local date. */
export function slotsByDate(slots, timeZone) {
  const out = new Map();
  for (const s of slots || []) {
    const d = localDate(s.starts_at, timeZone);
    if (!out.has(d)) out.set(d, []);
    out.get(d).push(s);
  }
  for (const list of out.values()) list.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  return out;
}

export function byStart(a, b) {
  return Date.parse(a.starts_at) - Date.parse(b.starts_at);
}

/** Read/write sessionStorage without throwing (private mode). */
export function sessionGet(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

export function sessionSet(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // ignore
  }
}
