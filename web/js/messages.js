// @ts-check
// The app's pt-BR words that change with who or what they are about, in one place: a
// professional's title from their profession and gender (Dra. Helena, Cirurgião-dentista,
// Psicóloga), a document's participles agreeing with its kind ("Receita assinada",
// "Atestado assinado"), a clinic's name never doubled ("Clínica Clínica …"), dates and times
// through Intl in the clinic's zone ("hoje às 14:00", never "hoje em segunda-feira"), what
// each HTTP status means to the user (403 "Sem permissão", 404, 409, 429 with the wait,
// offline), and text that never shows "null" or "undefined". Pure functions: no DOM, no
// fetch; tests/web/messages.test.mjs covers them.

export const LOCALE = 'pt-BR';

/** @typedef {'female'|'male'|null|undefined} Gender */

/**
 * A value as text: null, undefined, NaN and the strings "null"/"undefined" become ''.
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && Number.isNaN(value)) return '';
  const s = String(value).trim();
  return s === 'null' || s === 'undefined' ? '' : s;
}

/**
 * The non-empty parts joined: `join(['Dra. Ana', null, 'CRM 1/SP'], ' · ')`.
 * @param {unknown[]} parts
 * @param {string} [sep]
 */
export function join(parts, sep = ' ') {
  return parts.map(text).filter(Boolean).join(sep);
}

/**
 * The form that agrees with a gender: `agree('female', {f: 'Psicóloga', m: 'Psicólogo'})`;
 * unknown gender gives `n` (the neutral "Psicólogo(a)") when there is one, else the masculine.
 * @param {Gender|string} gender
 * @param {{f: string, m: string, n?: string}} forms
 */
export function agree(gender, forms) {
  if (gender === 'female') return forms.f;
  if (gender === 'male') return forms.m;
  return forms.n ?? forms.m;
}

// ---------------------------------------------------------- professionals ---

/** Each profession's noun, by gender (n: the gender is not known). */
const PROFESSIONS = {
  doctor: { f: 'Médica', m: 'Médico', n: 'Médico(a)' },
  dentist: { f: 'Cirurgiã-dentista', m: 'Cirurgião-dentista', n: 'Cirurgião(ã)-dentista' },
  physiotherapist: { f: 'Fisioterapeuta', m: 'Fisioterapeuta' },
  psychologist: { f: 'Psicóloga', m: 'Psicólogo', n: 'Psicólogo(a)' },
  nutritionist: { f: 'Nutricionista', m: 'Nutricionista' },
  nurse: { f: 'Enfermeira', m: 'Enfermeiro', n: 'Enfermeiro(a)' },
};

/** Professions addressed as "Dr."/"Dra." in Brazilian clinics. */
const DOCTOR_TITLE = new Set(['doctor', 'dentist']);

/**
 * "Médica", "Cirurgião-dentista", "Psicóloga"… ('' for an unknown profession).
 * @param {string|null|undefined} profession
 * @param {Gender|string} [gender]
 */
export function professionNoun(profession, gender) {
  const forms = profession ? PROFESSIONS[profession] : null;
  return forms ? agree(gender, forms) : '';
}

/**
 * "Dr." or "Dra." for doctors and dentists of known gender; '' otherwise (never "Dr." for a
 * woman, never a guess).
 * @param {string|null|undefined} profession
 * @param {Gender|string} [gender]
 */
export function honorific(profession, gender) {
  if (!profession || !DOCTOR_TITLE.has(profession)) return '';
  if (gender === 'female') return 'Dra.';
  if (gender === 'male') return 'Dr.';
  return '';
}

/** A title someone already wrote into the name. */
const WRITTEN_TITLE = /^(dr|dra|dr\(a\))\.?\s+/i;

/**
 * How a professional is named: "Dra. Helena Duarte", "Dr. Rafael Lima", "Ana Souza" (a
 * psychologist). A title already in the name is replaced, not doubled.
 * @param {{name?: string|null, full_name?: string|null, profession?: string|null, gender?: string|null}|null|undefined} p
 */
export function professionalName(p) {
  if (!p) return '';
  const bare = text(p.name ?? p.full_name).replace(WRITTEN_TITLE, '');
  if (!bare) return '';
  return join([honorific(p.profession, p.gender), bare]);
}

/**
 * "Dra. Helena Duarte, Médica" — the name and what they do, for lists and confirmations.
 * @param {{name?: string|null, full_name?: string|null, profession?: string|null, gender?: string|null, specialty?: string|null}|null|undefined} p
 */
export function professionalLine(p) {
  if (!p) return '';
  return join([professionalName(p), text(p.specialty) || professionNoun(p.profession, p.gender)], ', ');
}

// ------------------------------------------------------------- documents ---

/** Document kinds: their names and grammatical gender. */
const DOCUMENTS = {
  prescription: { name: 'Receita simples', short: 'Receita', g: 'female' },
  special_prescription: { name: 'Receita de controle especial', short: 'Receita de controle especial', g: 'female' },
  certificate: { name: 'Atestado médico', short: 'Atestado', g: 'male' },
  exam_request: { name: 'Solicitação de exames', short: 'Solicitação de exames', g: 'female' },
  attendance_declaration: { name: 'Declaração de comparecimento', short: 'Declaração', g: 'female' },
  psychological_report: { name: 'Relatório psicológico', short: 'Relatório psicológico', g: 'male' },
};

/** @param {string|null|undefined} kind */
function documentOf(kind) {
  return (kind && DOCUMENTS[kind]) || { name: 'Documento', short: 'Documento', g: 'male' };
}

/**
 * "Receita simples", "Atestado médico"…
 * @param {string|null|undefined} kind
 * @param {{short?: boolean}} [opts] `short`: "Receita", "Atestado"
 */
export function documentName(kind, { short = false } = {}) {
  const d = documentOf(kind);
  return short ? d.short : d.name;
}

/**
 * A participle that agrees with the document: `documentWord('prescription', 'assinad')` →
 * "assinada", with a certificate "assinado". (The stem ends where the gender begins.)
 * @param {string|null|undefined} kind
 * @param {string} stem e.g. `assinad`, `emitid`, `revogad`
 */
export function documentWord(kind, stem) {
  return `${stem}${documentOf(kind).g === 'female' ? 'a' : 'o'}`;
}

/**
 * The kind with its participle: "Receita simples assinada", "Atestado médico emitido".
 * @param {string|null|undefined} kind
 * @param {string} stem
 */
export function documentWith(kind, stem) {
  return `${documentName(kind)} ${documentWord(kind, stem)}`;
}

/**
 * The badge of a document's state, agreeing with its kind: "Assinada", "Revogado"…
 * @param {string|null|undefined} kind
 * @param {'pending'|'signed'|'failed'|'revoked'|string} state
 */
export function documentState(kind, state) {
  if (state === 'signed') return capitalize(documentWord(kind, 'assinad'));
  if (state === 'revoked') return capitalize(documentWord(kind, 'revogad'));
  if (state === 'failed') return 'Falhou';
  return 'Assinando…';
}

// --------------------------------------------------------------- clinics ---

/** Words a clinic's own name may start with that already say what it is. */
const CLINIC_WORDS = /^(cl[ií]nica|policl[ií]nica|consult[oó]rio|centro|hospital|instituto|espa[cç]o|n[uú]cleo|odonto|unidade)\b/i;

/**
 * "Clínica Aurora" from "Aurora"; "Clínica Boa Vista" stays as it is; "Consultório Dr. X"
 * too. Never "Clínica Clínica …".
 * @param {string|null|undefined} name
 */
export function clinicName(name) {
  const n = text(name);
  if (!n) return 'a clínica';
  return CLINIC_WORDS.test(n) ? n : `Clínica ${n}`;
}

// ---------------------------------------------------------- dates, times ---

const formatters = new Map();

/** @param {string} key @param {Intl.DateTimeFormatOptions} options */
function formatter(key, options) {
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE, options);
    formatters.set(key, f);
  }
  return f;
}

/** @param {string|Date|null|undefined} at */
function toDate(at) {
  if (at instanceof Date) return Number.isNaN(at.getTime()) ? null : at;
  if (typeof at !== 'string' || !at) return null;
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The calendar day of an instant in a zone, as YYYY-MM-DD.
 * @param {Date} d @param {string} timeZone
 */
function dayIn(d, timeZone) {
  const parts = formatter(`ymd|${timeZone}`, { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(d);
  const get = (t) => (parts.find((p) => p.type === t) || { value: '' }).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Days from a to b (YYYY-MM-DD each). */
function dayDiff(a, b) {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/**
 * "14:00" in the zone.
 * @param {string|Date|null|undefined} at @param {string} timeZone
 */
export function timeAt(at, timeZone) {
  const d = toDate(at);
  if (!d) return '';
  return formatter(`hm|${timeZone}`, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

/**
 * The day of an instant as a person says it: "hoje", "amanhã", "ontem", else
 * "segunda-feira, 7 de dezembro" (with the year when it is not this year's).
 * @param {string|Date|null|undefined} at
 * @param {string} timeZone the clinic's
 * @param {Date} [now]
 */
export function dayPhrase(at, timeZone, now = new Date()) {
  const d = toDate(at);
  if (!d) return '';
  const day = dayIn(d, timeZone);
  const today = dayIn(now, timeZone);
  const diff = dayDiff(today, day);
  if (diff === 0) return 'hoje';
  if (diff === 1) return 'amanhã';
  if (diff === -1) return 'ontem';
  const sameYear = day.slice(0, 4) === today.slice(0, 4);
  const opts = sameYear
    ? { timeZone, weekday: 'long', day: 'numeric', month: 'long' }
    : { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' };
  return formatter(`day|${sameYear}|${timeZone}`, /** @type {Intl.DateTimeFormatOptions} */ (opts)).format(d);
}

/**
 * When something happens: "hoje às 14:00", "amanhã às 09:30",
 * "segunda-feira, 7 de dezembro, às 10:00".
 * @param {string|Date|null|undefined} at
 * @param {string} timeZone the clinic's
 * @param {Date} [now]
 */
export function whenPhrase(at, timeZone, now = new Date()) {
  const day = dayPhrase(at, timeZone, now);
  if (!day) return '';
  const sep = /^(hoje|amanhã|ontem)$/.test(day) ? ' às ' : ', às ';
  return `${day}${sep}${timeAt(at, timeZone)}`;
}

/**
 * A wait in words: "30 segundos", "1 minuto", "2 minutos".
 * @param {number|null|undefined} seconds
 */
export function waitWords(seconds) {
  const s = Math.max(1, Math.ceil(Number(seconds) || 0));
  if (s < 60) return s === 1 ? '1 segundo' : `${s} segundos`;
  const m = Math.ceil(s / 60);
  return m === 1 ? '1 minuto' : `${m} minutos`;
}

/** @param {string} s */
export function capitalize(s) {
  return s ? s.charAt(0).toLocaleUpperCase(LOCALE) + s.slice(1) : s;
}

// ----------------------------------------------------------- HTTP status ---

/**
 * @typedef {object} StatusPage
 * @property {string} kind `offline`, `unauthenticated`, `forbidden`, `not_found`, `conflict`,
 *   `rate_limited`, `invalid`, `server`, `unknown`
 * @property {string} title the page's heading
 * @property {string} text what happened and what to do
 */

/**
 * What a failed request means to the user, by its HTTP status (0: no answer, offline).
 * @param {number} status
 * @param {{retryAfter?: number|null, online?: boolean}} [opts]
 * @returns {StatusPage}
 */
export function statusPage(status, { retryAfter = null, online = true } = {}) {
  if (status === 0 || !online) {
    return {
      kind: 'offline',
      title: 'Sem conexão',
      text: online
        ? 'Não foi possível falar com o servidor. Confira sua internet e tente novamente.'
        : 'Você está sem internet. Assim que a conexão voltar, tente novamente.',
    };
  }
  if (status === 401) {
    return { kind: 'unauthenticated', title: 'Sessão expirada', text: 'Sua sessão expirou. Entre novamente.' };
  }
  if (status === 403) {
    return {
      kind: 'forbidden',
      title: 'Sem permissão',
      text: 'Você não tem permissão para ver ou fazer isto. Se precisar de acesso, fale com a administração da clínica.',
    };
  }
  if (status === 404) {
    return { kind: 'not_found', title: 'Página não encontrada', text: 'O que você procurou não existe ou foi removido.' };
  }
  if (status === 409) {
    return {
      kind: 'conflict',
      title: 'Isto mudou enquanto você olhava',
      text: 'Outra pessoa alterou estes dados agora há pouco. Atualize a página para ver como ficou.',
    };
  }
  if (status === 429) {
    return {
      kind: 'rate_limited',
      title: 'Muitas tentativas',
      text: retryAfter != null
        ? `Aguarde ${waitWords(retryAfter)} e tente novamente.`
        : 'Aguarde um pouco e tente novamente.',
    };
  }
  if (status === 400 || status === 422) {
    return { kind: 'invalid', title: 'Dados inválidos', text: 'Confira os dados informados e tente novamente.' };
  }
  if (status >= 500) {
    return {
      kind: 'server',
      title: 'O servidor não conseguiu responder',
      text: 'O servidor encontrou um erro. Tente novamente em instantes.',
    };
  }
  return { kind: 'unknown', title: 'Algo deu errado', text: `Erro inesperado (HTTP ${status}).` };
}

/**
 * The message for a failed request: the server's own pt-BR message when it has one (it
 * names the field or the rule), with the wait added for a 429; else the status's text.
 * @param {{status: number, message?: string|null, retryAfter?: number|null, code?: string|null}} err
 */
export function failureText(err) {
  const own = text(err.message);
  if (err.status === 429) {
    // Said once: the server's message may already say how long.
    const says = /tente novamente em|aguarde/i.test(own);
    const wait = err.retryAfter != null && !says ? ` Tente novamente em ${waitWords(err.retryAfter)}.` : '';
    return `${sentenceOf(own || 'Muitas tentativas.')}${wait}`;
  }
  return own ? sentenceOf(own) : statusPage(err.status, { retryAfter: err.retryAfter }).text;
}

/** @param {string} t */
function sentenceOf(t) {
  const c = capitalize(t.trim());
  return /[.!?…]$/.test(c) ? c : `${c}.`;
}

// ------------------------------------------------- appointment statuses ---

/** An appointment's status as it reads, in agreement with "consulta" (feminine). */
export const APPOINTMENT_STATUS_LABELS = {
  held: 'Reservada (lista de espera)',
  scheduled: 'Agendada',
  confirmed: 'Confirmada',
  checked_in: 'Chegou',
  in_progress: 'Em atendimento',
  done: 'Realizada',
  cancelled: 'Cancelada',
  no_show: 'Faltou',
};

/**
 * "Agendada", "Confirmada", "Realizada"… (the code itself when unknown, never "undefined").
 * @param {string|null|undefined} status
 */
export function appointmentStatus(status) {
  return APPOINTMENT_STATUS_LABELS[status] || text(status);
}

// ------------------------------------------------------------- the outbox ---

/** A message's state as the clinic's outbox view names it. */
export const MESSAGE_STATES = {
  queued: 'Na fila',
  sending: 'Enviando',
  sent: 'Enviada',
  delivered: 'Entregue',
  read: 'Lida',
  failed: 'Falhou (nova tentativa)',
  dead: 'Não enviada',
  cancelled: 'Cancelada',
};

/** The channels messages go by. */
export const MESSAGE_CHANNELS = { email: 'E-mail', whatsapp: 'WhatsApp', sms: 'SMS' };

/** What a message is, by its template. */
const MESSAGE_TEMPLATES = {
  appointment_reminder: 'Lembrete de consulta',
  appointment_booked: 'Consulta agendada',
  appointment_rescheduled: 'Consulta remarcada',
  appointment_cancelled: 'Consulta cancelada',
  waitlist_offer: 'Vaga da lista de espera',
  document_sent: 'Documento assinado',
  password_reset: 'Redefinição de senha',
};

/**
 * A template's name for people ("Lembrete de consulta"); an unknown one as it is.
 * @param {string|null|undefined} template
 */
export function messageKind(template) {
  const t = text(template);
  return MESSAGE_TEMPLATES[/** @type {keyof typeof MESSAGE_TEMPLATES} */ (t)] || t.replaceAll('_', ' ');
}

/**
 * A recipient with most of it hidden, for lists: "jo•••@exemplo.com", "+55 11 •••••-4321".
 * @param {string|null|undefined} address
 */
export function maskedRecipient(address) {
  const a = text(address);
  if (!a) return '';
  // The server masks it already for staff (src/domain/recipient.rs): shown as it comes.
  if (a.includes('•')) return a;
  const at = a.indexOf('@');
  if (at > 0) return `${a.slice(0, Math.min(2, at))}•••${a.slice(at)}`;
  const digits = a.replace(/\D/g, '');
  if (digits.length < 8) return '•••';
  const withCountry = digits.startsWith('55') && digits.length >= 12;
  const national = withCountry ? digits.slice(2) : digits;
  const area = national.length >= 10 ? `${national.slice(0, 2)} ` : '';
  return `${withCountry ? '+55 ' : ''}${area}•••••-${digits.slice(-4)}`;
}

/**
 * The data protection officer's contact as one line, or '' when none is configured:
 * `dpoContact({name: 'Ana Lima', email: 'dpo@clinica.com.br', phone: null})` →
 * "Encarregado(a) de dados (LGPD): Ana Lima · dpo@clinica.com.br".
 * @param {{name?: string|null, email?: string|null, phone?: string|null}|null|undefined} dpo
 */
export function dpoContact(dpo) {
  if (!dpo || !text(dpo.name)) return '';
  return `Encarregado(a) de dados (LGPD): ${join([dpo.name, dpo.email, dpo.phone], ' · ')}`;
}
