// @ts-check
// DOM helpers, formatting, pt-BR labels and a small form controller.
// Everything that comes from the server is inserted as text (never as HTML).

import { ApiError } from './api.js';
import { failureText } from './messages.js';

/** @typedef {import('./types.js').Named} Named */
/** @typedef {import('./types.js').Professional} Professional */

const PROPERTY_KEYS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'open']);

/**
 * What `h` and `append` accept as children: nodes, strings and numbers (as text), nested
 * arrays of those; null, undefined and false are skipped.
 * @typedef {Node|string|number|boolean|null|undefined|Array<any>} Child
 */

/**
 * Props of `h`: `class`, `text`, `dataset`, `on<event>` listeners, the properties in
 * PROPERTY_KEYS, and any other attribute.
 * @typedef {{[key: string]: any, class?: string|null, text?: unknown,
 *   dataset?: Record<string, string>}} Props
 */

/**
 * Create an element. `props`: class, text, dataset, on<event> (functions),
 * value/checked/selected/disabled/hidden/open as properties, anything else as
 * an attribute (true → empty attribute; false/null/undefined → omitted).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props|null} [props]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (PROPERTY_KEYS.has(key)) el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * Append children (nodes, strings as text, arrays; null/false skipped).
 * @template {Element|DocumentFragment} T
 * @param {T} parent
 * @param {Child} children
 * @returns {T}
 */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/**
 * Remove every child of `el`.
 * @template {Element} T
 * @param {T} el
 * @returns {T}
 */
export function clear(el) {
  el.replaceChildren();
  return el;
}

let idCounter = 0;
/** A page-unique element id: "prefix-7". */
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// ---------------------------------------------------------------- labels ---

export const PROFESSIONS = {
  doctor: 'Médico(a)',
  dentist: 'Dentista',
  physiotherapist: 'Fisioterapeuta',
  psychologist: 'Psicólogo(a)',
  nutritionist: 'Nutricionista',
  nurse: 'Enfermeiro(a)',
};

export const COUNCIL_FOR_PROFESSION = {
  doctor: 'CRM',
  dentist: 'CRO',
  physiotherapist: 'CREFITO',
  psychologist: 'CRP',
  nutritionist: 'CRN',
  nurse: 'COREN',
};

export const COUNCILS = ['CRM', 'CRO', 'CREFITO', 'CRP', 'CRN', 'COREN'];

export const ROLES = {
  clinic_admin: 'Administrador(a)',
  professional: 'Profissional',
  receptionist: 'Recepcionista',
};

export const UFS = [
  'AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA',
  'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO',
];

export const TIME_ZONES = [
  ['America/Sao_Paulo', 'America/Sao_Paulo (Brasília)'],
  ['America/Recife', 'America/Recife (PE)'],
  ['America/Fortaleza', 'America/Fortaleza (CE, RN, PB, PI, MA)'],
  ['America/Bahia', 'America/Bahia (BA)'],
  ['America/Maceio', 'America/Maceio (AL, SE)'],
  ['America/Belem', 'America/Belem (PA, AP)'],
  ['America/Araguaina', 'America/Araguaina (TO)'],
  ['America/Manaus', 'America/Manaus (AM)'],
  ['America/Cuiaba', 'America/Cuiaba (MT)'],
  ['America/Campo_Grande', 'America/Campo_Grande (MS)'],
  ['America/Porto_Velho', 'America/Porto_Velho (RO)'],
  ['America/Boa_Vista', 'America/Boa_Vista (RR)'],
  ['America/Rio_Branco', 'America/Rio_Branco (AC)'],
  ['America/Noronha', 'America/Noronha (Fernando de Noronha)'],
];

/** @param {string|null|undefined} code e.g. `doctor` → "Médico(a)" */
export function professionLabel(code) {
  return PROFESSIONS[code] || code || '';
}

/** @param {string|null|undefined} code e.g. `receptionist` → "Recepcionista" */
export function roleLabel(code) {
  return ROLES[code] || code || '';
}

/**
 * "CRM 123456/SP"
 * @param {Professional|null|undefined} prof
 */
export function councilText(prof) {
  if (!prof) return '';
  const uf = prof.council_uf ? `/${prof.council_uf}` : '';
  return `${prof.council || ''} ${prof.council_number || ''}${uf}`.trim();
}

// ------------------------------------------------------------ formatting ---

/**
 * Name to show for a person: the social name wins when present.
 * @param {Named|null|undefined} person
 * @returns {string}
 */
export function displayName(person) {
  if (!person) return '';
  const social = typeof person.social_name === 'string' ? person.social_name.trim() : '';
  return social || person.full_name || '';
}

/** @param {Named|null|undefined} person */
export function hasSocialName(person) {
  return Boolean(person && typeof person.social_name === 'string' && person.social_name.trim());
}

/**
 * Name node: "Ana" + a muted "(nome social)" marker when it is a social name.
 * @param {Named|null|undefined} person
 */
export function nameNode(person) {
  const frag = document.createDocumentFragment();
  frag.append(displayName(person));
  if (hasSocialName(person)) {
    // NBSP inside the inline-block tag: a link's underline stops at the name.
    frag.append(h('span', { class: 'social-tag', text: '\u00a0(nome social)' }));
  }
  return frag;
}

/**
 * "1990-05-07" → "07/05/1990" (no time-zone shifting).
 * @param {string|null|undefined} isoDate
 */
export function formatDate(isoDate) {
  if (!isoDate) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : String(isoDate);
}

/**
 * Whole years from a birth date (YYYY-MM-DD) to `now`, in the browser's calendar; null when
 * the date is malformed or in the future.
 * @param {string|null|undefined} isoDate
 * @param {Date} [now]
 * @returns {number|null}
 */
export function ageFrom(isoDate, now = new Date()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate || '');
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let age = now.getFullYear() - year;
  if (now.getMonth() + 1 < month || (now.getMonth() + 1 === month && now.getDate() < day)) age -= 1;
  return age >= 0 ? age : null;
}

/**
 * "07/05/1990 (35 anos)"
 * @param {string|null|undefined} isoDate
 */
export function formatBirth(isoDate) {
  const age = ageFrom(isoDate);
  const date = formatDate(isoDate);
  if (age === null) return date;
  return `${date} (${age} ${age === 1 ? 'ano' : 'anos'})`;
}

/**
 * "25/11/2026, 10:00": an instant in `timeZone` (the browser's zone when absent or unknown).
 * @param {string|null|undefined} iso
 * @param {string} [timeZone]
 */
export function formatDateTime(iso, timeZone) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  /** @type {Intl.DateTimeFormatOptions} */
  const options = { dateStyle: 'short', timeStyle: 'short' };
  try {
    return new Intl.DateTimeFormat('pt-BR', timeZone ? { ...options, timeZone } : options).format(date);
  } catch {
    return new Intl.DateTimeFormat('pt-BR', options).format(date);
  }
}

/** @param {unknown} value @returns {string} only its digits */
export function digits(value) {
  return String(value || '').replace(/\D+/g, '');
}

/**
 * Lay `chars` over `pattern`, each `#` taking the next one; stops when they run out.
 * @param {string} chars
 * @param {string} pattern
 */
function maskWith(chars, pattern) {
  let out = '';
  let i = 0;
  for (const ch of pattern) {
    if (i >= chars.length) break;
    if (ch === '#') {
      out += chars[i];
      i += 1;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Input masks by name (`field({mask})`): each takes what was typed, returns it formatted. */
/** @type {Record<'cpf'|'cnpj'|'cep'|'phone', (value: unknown) => string>} */
export const masks = {
  cpf: (v) => maskWith(digits(v), '###.###.###-##'),
  // CNPJ may be alphanumeric (Receita Federal, 2026): letters allowed in the first 12.
  cnpj: (v) => maskWith(String(v || '').toUpperCase().replace(/[^0-9A-Z]+/g, ''), '##.###.###/####-##'),
  cep: (v) => maskWith(digits(v), '#####-###'),
  phone: (v) => {
    const d = digits(v);
    if (d.length === 0) return '';
    if (d.length <= 10) return maskWith(d, '(##) ####-####');
    return maskWith(d, '(##) #####-####');
  },
};

/**
 * "+5511912345678" (as stored) or "11912345678" → "(11) 91234-5678".
 * @param {string|null|undefined} value
 */
export function formatPhone(value) {
  if (!value) return '';
  let d = digits(value);
  if (d.startsWith('55') && (d.length === 12 || d.length === 13)) d = d.slice(2);
  if (d.length === 10 || d.length === 11) return masks.phone(d);
  return String(value);
}

/**
 * One line: "Rua X, 10 — sala 2, Centro, São Paulo/SP, CEP 01000-000".
 * @param {{street?: string, number?: string, complement?: string, district?: string,
 *   city?: string, uf?: string, postal_code?: string}|null|undefined} address
 */
export function formatAddress(address) {
  if (!address) return '';
  const line1 = [address.street, address.number].filter(Boolean).join(', ');
  const withComplement = address.complement ? `${line1} — ${address.complement}` : line1;
  const city = [address.city, address.uf].filter(Boolean).join('/');
  return [withComplement, address.district, city, address.postal_code ? `CEP ${address.postal_code}` : '']
    .filter(Boolean)
    .join(', ');
}

/** The parts of an address, as form fields and API keys. */
export const ADDRESS_KEYS = ['street', 'number', 'complement', 'district', 'postal_code', 'city', 'uf'];

/**
 * Form fields for an address (logradouro, número, complemento, bairro, CEP, cidade, UF).
 * @param {{required?: boolean, initial?: Record<string, string|null|undefined>|null}} [opts]
 *   required: every part but the complement must be filled; initial: an address (or form
 *   values) to start from.
 * @returns {FieldOptions[]}
 */
export function addressFields({ required = false, initial = null } = {}) {
  /** @param {string} key */
  const v = (key) => (initial && initial[key]) || '';
  return [
    { name: 'street', label: 'Logradouro', required, autocomplete: 'address-line1', maxlength: 200, wide: true, value: v('street') },
    { name: 'number', label: 'Número', required, maxlength: 20, value: v('number') },
    { name: 'complement', label: 'Complemento', autocomplete: 'address-line2', maxlength: 100, value: v('complement') },
    { name: 'district', label: 'Bairro', required, maxlength: 100, value: v('district') },
    {
      name: 'postal_code', label: 'CEP', required, inputmode: 'numeric', mask: 'cep', maxlength: 9,
      autocomplete: 'postal-code', placeholder: '00000-000',
      pattern: /^\d{5}-?\d{3}$/, patternMessage: 'Informe os 8 dígitos do CEP.', value: v('postal_code'),
    },
    { name: 'city', label: 'Cidade', required, autocomplete: 'address-level2', maxlength: 100, value: v('city') },
    {
      name: 'uf', label: 'UF', type: 'select', required, placeholder: 'Selecione…',
      options: UFS.map((uf) => [uf, uf]), value: v('uf'),
    },
  ];
}

/**
 * The address typed in `addressFields`, or null when every part is blank.
 * @param {Record<string, string>} values
 * @returns {import('./types.js').Address|null}
 */
export function addressFromValues(values) {
  const a = Object.fromEntries(ADDRESS_KEYS.map((k) => [k, (values[k] || '').trim()]));
  if (ADDRESS_KEYS.every((k) => !a[k])) return null;
  return /** @type {import('./types.js').Address} */ ({ ...a, complement: a.complement || null });
}

/**
 * "1 paciente", "2 pacientes"
 * @param {number} n
 * @param {string} one
 * @param {string} many
 */
export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ------------------------------------------------------------ components ---

/**
 * A definition list from [label, value] pairs; empty values show "—".
 * @param {Child[][]} rows [label, value] pairs
 */
export function detailsList(rows, className = 'details') {
  const dl = h('dl', { class: className });
  for (const [label, value] of rows) {
    const empty = value === null || value === undefined || value === '';
    dl.append(
      h('div', { class: 'details-row' },
        h('dt', { text: label }),
        h('dd', { class: empty ? 'muted' : null }, empty ? '—' : value)),
    );
  }
  return dl;
}

/** A section that shows "Carregando…" while `aria-busy` is set. */
export function loadingNode(text = 'Carregando…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

/** @param {string} message an error, announced (role=alert) */
export function alertNode(message) {
  return h('p', { class: 'alert alert-error', role: 'alert', text: message });
}

/**
 * Server messages come in lower case without a final period: tidy them up.
 * @param {unknown} text
 */
export function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return t;
  const first = t.charAt(0).toLocaleUpperCase('pt-BR') + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/**
 * The pt-BR text to show for a failure: an API error's message, else a generic one.
 * @param {unknown} err
 */
export function errorMessage(err) {
  // The server's own pt-BR message (it names the rule), with the wait for a 429; the
  // status's text from the catalog when there is none.
  if (err instanceof ApiError) return failureText(err);
  // A bug, not an API answer: keep it visible to developers (and to the smoke test).
  console.error(err);
  return 'Ocorreu um erro inesperado. Tente novamente.';
}

/**
 * Load data into `container` (marked aria-busy while loading). `render(data)`
 * returns the nodes to show. Errors are shown in an alert with a retry button.
 * @template T
 * @param {HTMLElement} container
 * @param {() => Promise<T>} loader
 * @param {(data: T) => Child} render
 */
export async function loadInto(container, loader, render) {
  // Only the newest load of a container may fill it: a slower answer to an older request
  // (a filter changed twice quickly) must not overwrite the newer one.
  const mine = (loadsOf.get(container) || 0) + 1;
  loadsOf.set(container, mine);
  const stale = () => loadsOf.get(container) !== mine;
  container.setAttribute('aria-busy', 'true');
  clear(container).append(loadingNode());
  try {
    const data = await loader();
    if (stale()) return;
    clear(container);
    append(container, render(data));
  } catch (err) {
    if (stale()) return;
    clear(container).append(
      alertNode(errorMessage(err)),
      h('button', {
        type: 'button',
        class: 'btn btn-secondary',
        text: 'Tentar novamente',
        onclick: () => loadInto(container, loader, render),
      }),
    );
  } finally {
    if (!stale()) container.removeAttribute('aria-busy');
  }
}

/** How many loads each container has started ({@link loadInto}). */
const loadsOf = /** @type {WeakMap<Element, number>} */ (new WeakMap());

/**
 * A read-only text (a link to hand over) with a copy button: the clipboard API where the
 * page may use it, else the text is selected and copied the old way.
 */
/**
 * @param {{label: string, value: string, name?: string, buttonLabel?: string}} opts
 * @returns {{node: HTMLDivElement, input: HTMLInputElement}}
 */
export function copyField({ label, value, name = 'link', buttonLabel = 'Copiar link' }) {
  const id = uid(`copy-${name}`);
  const input = h('input', {
    id, name, type: 'text', readonly: true, value, spellcheck: 'false', class: 'copy-input',
  });
  const status = h('p', { class: 'copy-status small', role: 'status' });
  const button = h('button', { type: 'button', class: 'btn btn-secondary btn-small copy-button', text: buttonLabel });
  input.addEventListener('focus', () => input.select());
  button.addEventListener('click', async () => {
    status.textContent = '';
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(input.value);
        ok = true;
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      input.focus();
      input.select();
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
    }
    status.textContent = ok ? 'Copiado.' : 'Selecione o texto e copie (Ctrl+C).';
  });
  const node = h('div', { class: 'field copy-field' },
    h('label', { for: id, text: label }),
    h('div', { class: 'copy-row' }, input, button),
    status);
  return { node, input };
}

/**
 * An SVG string (a QR code from the server) as a data: URL for an <img>: the page's CSP
 * allows data: images, not blob:.
 * @param {string} svg
 */
export function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}

/**
 * Disclosure panel (<details>) used for secondary forms.
 * @param {string} summaryText
 * @param {Child} content
 * @param {{open?: boolean, className?: string}} [opts]
 */
export function disclosure(summaryText, content, { open = false, className = '' } = {}) {
  return h('details', { class: `disclosure ${className}`.trim(), open },
    h('summary', { text: summaryText }),
    h('div', { class: 'disclosure-body' }, content));
}

// ------------------------------------------------------------------ forms ---

/**
 * Options of `field`.
 * @typedef {object} FieldOptions
 * @property {string} name
 * @property {string} label
 * @property {string} [type] text|email|password|date|tel|search|number|select|textarea|checkbox
 * @property {boolean} [required]
 * @property {string} [autocomplete]
 * @property {string} [inputmode]
 * @property {string} [hint]
 * @property {Array<Array<string|number>>} [options] a select's [value, label] pairs
 * @property {unknown} [value] the initial value (a checkbox: checked when truthy)
 * @property {number} [rows]
 * @property {number} [minlength]
 * @property {number} [maxlength]
 * @property {string} [mask] a key of `masks`
 * @property {RegExp} [pattern]
 * @property {string} [patternMessage]
 * @property {string} [placeholder]
 * @property {(value: string) => string|null} [validate] a message when the value is wrong
 * @property {boolean} [wide] spans the form's columns
 * @property {boolean} [noOptionalTag] no "(opcional)" after the label
 */

/**
 * A field built by `field`: its control, its error line and the wrapper to insert.
 * @typedef {object} Field
 * @property {string} name
 * @property {FieldOptions} opts
 * @property {HTMLInputElement|HTMLSelectElement|HTMLTextAreaElement} input
 * @property {HTMLParagraphElement} error
 * @property {HTMLDivElement} wrap
 */

/**
 * Build a labelled field.
 * opts: name, label, type (text|email|password|date|tel|search|select|textarea|checkbox),
 * required, autocomplete, inputmode, hint, options ([value, label] pairs), value,
 * rows, minlength, maxlength, mask (key of `masks`), pattern (RegExp),
 * patternMessage, placeholder.
 * @param {FieldOptions} opts
 * @returns {Field}
 */
export function field(opts) {
  const id = uid(`f-${opts.name}`);
  const hintId = opts.hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  const type = opts.type || 'text';
  /** @type {Field['input']} */
  let input;

  if (type === 'select') {
    input = h('select', { id, name: opts.name, required: opts.required, 'aria-describedby': describedBy });
    if (opts.placeholder) input.append(h('option', { value: '', text: opts.placeholder }));
    for (const [value, label] of opts.options || []) {
      const option = h('option', { value, text: label });
      // defaultSelected, so that form.reset() goes back to it.
      if (opts.value !== undefined && String(value) === String(opts.value)) option.defaultSelected = true;
      input.append(option);
    }
  } else if (type === 'textarea') {
    input = h('textarea', {
      id,
      name: opts.name,
      rows: opts.rows || 3,
      required: opts.required,
      maxlength: opts.maxlength,
      'aria-describedby': describedBy,
    });
    input.defaultValue = /** @type {string} */ (opts.value) || '';
  } else {
    input = h('input', {
      id,
      name: opts.name,
      type,
      required: opts.required,
      autocomplete: opts.autocomplete,
      inputmode: opts.inputmode,
      minlength: opts.minlength,
      maxlength: opts.maxlength,
      placeholder: opts.placeholder,
      'aria-describedby': describedBy,
    });
    if (type === 'checkbox') input.defaultChecked = Boolean(opts.value);
    else if (opts.value !== undefined && opts.value !== null) input.defaultValue = String(opts.value);
  }

  if (opts.mask && masks[opts.mask]) {
    const mask = masks[opts.mask];
    const text = /** @type {HTMLInputElement} */ (input);
    text.addEventListener('input', () => {
      // Only reformat while typing at the end, so mid-string edits keep the caret.
      if (text.selectionStart === text.value.length) text.value = mask(text.value);
    });
    text.addEventListener('blur', () => {
      text.value = mask(text.value);
    });
  }

  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const hint = hintId ? h('p', { class: 'field-hint', id: hintId, text: opts.hint }) : null;
  const optional = !opts.required && type !== 'checkbox' && !opts.noOptionalTag
    ? h('span', { class: 'optional', text: ' (opcional)' })
    : null;

  let wrap;
  if (type === 'checkbox') {
    wrap = h('div', { class: 'field field-checkbox' },
      h('div', { class: 'checkbox-row' }, input, h('label', { for: id, text: opts.label })),
      hint, error);
  } else {
    wrap = h('div', { class: `field${opts.wide ? ' field-wide' : ''}` },
      h('label', { for: id }, opts.label, optional), hint, input, error);
  }

  return { name: opts.name, opts, input, error, wrap };
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The message for a field's value, or null when it is fine.
 * @param {Field} f
 * @returns {string|null}
 */
function validateField(f) {
  const { input, opts } = f;
  if (opts.type === 'checkbox') {
    return opts.required && !(/** @type {HTMLInputElement} */ (input)).checked ? 'É necessário marcar esta opção.' : null;
  }
  const value = input.value.trim();
  if (!value) return opts.required ? 'Preencha este campo.' : null;
  if (opts.type === 'email' && !EMAIL_RE.test(value)) return 'Informe um e-mail válido.';
  if (opts.minlength && value.length < opts.minlength) {
    return `Use pelo menos ${opts.minlength} caracteres.`;
  }
  if (opts.type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'Informe uma data válida.';
  if (opts.pattern && !opts.pattern.test(value)) return opts.patternMessage || 'Valor inválido.';
  if (opts.validate) return opts.validate(value);
  return null;
}

/**
 * What `createForm` returns.
 * @typedef {object} FormController
 * @property {HTMLFormElement} form
 * @property {Map<string, Field>} fields
 * @property {HTMLButtonElement} submit
 * @property {(name: string) => Field|undefined} get
 * @property {() => Record<string, any>} values trimmed; empty → undefined; checkbox → boolean
 * @property {(name: string, message: string) => boolean} setFieldError
 * @property {() => void} clearErrors
 * @property {(message: string) => void} showError
 * @property {(message: Child) => void} setStatus
 * @property {() => void} reset
 * @property {() => void} focusFirstInvalid
 */

/**
 * @typedef {object} FormConfig
 * @property {string} label the form's accessible name
 * @property {Array<FieldOptions|Node>} fields
 * @property {string} submitLabel
 * @property {string} [busyLabel]
 * @property {Record<string, string>} [codeToField] API error code → field name
 * @property {(values: Record<string, any>, ctrl: FormController) => (Child|Promise<Child>)} onSubmit
 *   resolves with the success message, if any
 * @property {string} [className]
 * @property {Child} [extraActions] beside the submit button
 */

/**
 * A form with client-side validation, an error summary (role=alert), a
 * success status (role=status) and mapping of API error codes to fields.
 *
 * config: { label, fields: [field opts], submitLabel, busyLabel, codeToField,
 *           onSubmit(values, ctrl) → string|void (success message), className }
 * @param {FormConfig} config
 * @returns {FormController}
 */
export function createForm(config) {
  const fields = config.fields.map((opts) => (opts instanceof Node ? opts : field(opts)));
  /** @type {Map<string, Field>} */
  const byName = new Map();
  for (const f of fields) if (!(f instanceof Node)) byName.set(f.name, f);

  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: config.submitLabel });
  const form = h('form', {
    class: `form ${config.className || ''}`.trim(),
    novalidate: true,
    'aria-label': config.label,
  },
  errorBox,
  h('div', { class: 'form-fields' }, fields.map((f) => (f instanceof Node ? f : f.wrap))),
  h('div', { class: 'form-actions' }, submit, config.extraActions || null),
  statusBox);

  /** @type {FormController} */
  const ctrl = {
    form,
    fields: byName,
    submit,
    get(name) {
      return byName.get(name);
    },
    values() {
      const out = {};
      for (const [name, f] of byName) {
        if (f.opts.type === 'checkbox') out[name] = /** @type {HTMLInputElement} */ (f.input).checked;
        else {
          const v = f.input.value.trim();
          out[name] = v === '' ? undefined : v;
        }
      }
      return out;
    },
    setFieldError(name, message) {
      const f = byName.get(name);
      if (!f) return false;
      f.error.textContent = message;
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      return true;
    },
    clearErrors() {
      errorBox.hidden = true;
      errorBox.textContent = '';
      for (const f of byName.values()) {
        f.error.hidden = true;
        f.error.textContent = '';
        f.input.removeAttribute('aria-invalid');
      }
    },
    showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    },
    /** Success message: a string, a node or an array of both. */
    setStatus(message) {
      clear(statusBox);
      if (message) append(statusBox, message);
    },
    reset() {
      form.reset();
      ctrl.clearErrors();
    },
    focusFirstInvalid() {
      for (const f of byName.values()) {
        if (f.input.getAttribute('aria-invalid') === 'true') {
          f.input.focus();
          return;
        }
      }
      errorBox.setAttribute('tabindex', '-1');
      errorBox.focus();
    },
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    ctrl.clearErrors();
    ctrl.setStatus('');
    let invalid = 0;
    for (const f of byName.values()) {
      const message = validateField(f);
      if (message) {
        ctrl.setFieldError(f.name, message);
        invalid += 1;
      }
    }
    if (invalid) {
      ctrl.showError(invalid === 1 ? 'Corrija o campo destacado.' : `Corrija os ${invalid} campos destacados.`);
      ctrl.focusFirstInvalid();
      return;
    }
    // Disabling the focused button drops focus to <body>: give it back afterwards.
    const hadFocus = document.activeElement === submit;
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    if (config.busyLabel) submit.textContent = config.busyLabel;
    let failed = false;
    try {
      const message = await config.onSubmit(ctrl.values(), ctrl);
      if (message) ctrl.setStatus(message);
    } catch (err) {
      failed = true;
      handleFormError(ctrl, err, config.codeToField || {});
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      submit.textContent = config.submitLabel;
    }
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!failed && hadFocus && lost && submit.isConnected) submit.focus();
  });

  return ctrl;
}

/**
 * Show a failed submit: on the field its code (or the body's `field`) names, else on top.
 * @param {FormController} ctrl
 * @param {unknown} err
 * @param {Record<string, string>} codeToField
 */
function handleFormError(ctrl, err, codeToField) {
  const message = errorMessage(err);
  if (err instanceof ApiError) {
    /** @type {{field?: unknown}} */
    const body = err.body && typeof err.body === 'object' ? err.body : {};
    const target = codeToField[err.code] || (typeof body.field === 'string' ? body.field : null);
    if (target && ctrl.setFieldError(target, message)) {
      ctrl.showError(message);
      ctrl.focusFirstInvalid();
      return;
    }
  }
  ctrl.showError(message);
  ctrl.focusFirstInvalid();
}

/** Field sets shared by several views. */
export const commonCodeToField = {
  invalid_email: 'email',
  email_taken: 'email',
  invalid_cpf: 'cpf',
  weak_password: 'password',
  invalid_password: 'password',
  invalid_birth_date: 'birth_date',
  invalid_phone: 'phone',
  invalid_full_name: 'full_name',
  invalid_name: 'full_name',
  terms_not_accepted: 'accepted_terms',
  invalid_cnpj: 'cnpj',
  cnpj_taken: 'cnpj',
  invalid_postal_code: 'postal_code',
  invalid_uf: 'uf',
  invalid_address: 'street',
  invalid_time_zone: 'time_zone',
  invalid_council: 'council',
  invalid_council_number: 'council_number',
  invalid_council_uf: 'council_uf',
  invalid_profession: 'profession',
  invalid_role: 'role',
  password_required: 'password',
  invalid_rqe: 'rqe',
  council_mismatch: 'council',
};

/** Standard validation for a CPF typed with or without punctuation. */
export const CPF_PATTERN = /^(\d{3}\.?\d{3}\.?\d{3}-?\d{2})$/;
