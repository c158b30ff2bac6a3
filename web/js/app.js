// @ts-check
// atende browser app: hash router, header and per-role homes.
//
// Routes:
//   #/entrar                          login
//   #/entrar/{clinic_id}              the clinic's single sign-on button (views/login-sso.js)
//   #/sso                             where the clinic's provider sends staff back
//   #/cadastro                        patient sign-up
//   #/                                home (chosen from /api/me)
//   #/clinica/{id}[?papel=…]          staff home for one clinic membership
//   #/clinica/{id}/paciente/{pid}     patient record (staff); ?atendimento={id} opens that draft
//   #/plataforma                      platform admin
//   #/plataforma/clinica/{id}         platform admin: a clinic's onboarding, its team (views/onboarding.js)
//   #/clinica/{id}/implantacao        clinic admin: onboarding sequence (views/onboarding.js)
//   #/meus-dados                      patient home
//   #/mensagens[/{room_id}]            chat (every role)
//   #/clinica/{id}/agenda             clinic agenda: day/week grid, booking (staff; views/agenda.js)
//   #/clinica/{id}/horarios           working hours, exceptions, services (views/agenda-settings.js)
//   #/clinica/{id}/caixa[?consulta=…] the front desk's cash register (views/cash.js)
//   #/clinica/{id}/relatorios         revenue report and CSV export, clinic admins (views/reports.js)
//   #/minha-agenda                    a professional's appointments in every clinic
//   #/meu-dia[?data=YYYY-MM-DD]       a professional's day in every clinic: next patient,
//                                     start/finish, record, chat (views/my-day.js)
//   #/minhas-consultas                a patient's appointments (views/my-appointments.js)
//   #/agendar/{clinic_id}             public booking page, with or without a login (views/booking.js)
//   #/agendar                         choose a clinic to book at (views/booking-clinics.js)
//   #/meus-documentos                 a patient's signed documents (views/my-documents.js)
//   #/minha-assinatura                a professional's signing certificate (views/signing-key.js)
//   #/seguranca                       any user: change the password, two-factor, sign out everywhere (views/account-security.js)
//   #/teleconsulta/{appointment_id}   a professional's teleconsultation: waiting room and video
//                                     call (views/teleconsult.js)
//   #/clinica/{id}/mensagens-enviadas the clinic's outbox: messages to patients and their
//                                     delivery state (clinic admins; views/outbox.js)
//
// Public pages (no login; see views/waiting-room.js):
//   #/painel/{token}                  TV call panel of the waiting room (no header)
//   #/fila/{tracker}                  a patient's ticket and place in line (phone)
//   #/checkin/{code}                  self check-in from the reception's QR code
//   #/link/{action}/{token}           one-click link: confirm/cancel an appointment, accept/decline
//                                     a waitlist offer (views/link.js)
//   #/verificar[/{document_id}]       verify a signed document by its code or file
//                                     (views/verify.js; /v/{id} in the QR code lands here)
//   #/consulta/{token}                a patient's teleconsultation by link: camera check,
//                                     waiting room, video call (views/consult.js)
//   #/esqueci-senha                   ask for a password reset link by e-mail
//   #/redefinir-senha/{token}         choose a new password with it (views/password-reset.js)
//   #/convite/{token}                 a clinic's invitation: create one's password (same view)
//   #/confirmar-email/{token}         a sign-up's e-mailed link: creates the account and logs in
//   #/vincular/{token}                a clinic's e-mailed link: links the logged-in account to its record
//                                     (kept through the login or sign-up when nobody is logged in)
//                                     (views/login.js)

import { authEvents, clearTokens, isLoggedIn, logout, me as fetchMe } from './api.js';
import { realtime } from './realtime.js';
import { h, alertNode, displayName, errorMessage, loadingNode } from './ui.js';
import { statusPage } from './messages.js';
import { badgeText, unread, unreadText } from './unread.js';
import { canChat, renderChat } from './views/chat.js';
import { renderConfirmEmail, renderLogin, renderSignup } from './views/login.js';
import { renderSsoStart, renderSsoReturn, lastSsoButton } from './views/login-sso.js';
import { renderForgotPassword, renderInvitation, renderResetPassword } from './views/password-reset.js';
import { renderPatientHome } from './views/patient.js';
import { renderCheckin, renderPanel, renderTracker } from './views/waiting-room.js';
import { renderPlatformHome } from './views/platform.js';
import { renderPatientDetail } from './views/patients.js';
import { clinicHref, findMembership, renderStaffHome, roleParamFor, sortedMemberships } from './views/staff.js';
import { renderClinicAgenda } from './views/agenda.js';
import { renderMyAgenda } from './views/my-agenda.js';
import { renderMyDay } from './views/my-day.js';
import { renderOnboarding } from './views/onboarding.js';
import { renderScheduleSettings } from './views/agenda-settings.js';
import { renderCash } from './views/cash.js';
import { renderReports } from './views/reports.js';
import { bookingLoginNotice, renderBooking, takeReturnTo } from './views/booking.js';
import { keepLinkForLogin, linkLoginNotice, renderAcceptLink, takeLinkAfterLogin } from './views/patient-links.js';
import { renderMyAppointments } from './views/my-appointments.js';
import { renderBookingClinics } from './views/booking-clinics.js';
import { renderLink } from './views/link.js';
import { renderMyDocuments } from './views/my-documents.js';
import { renderSigningKey } from './views/signing-key.js';
import { renderAccountSecurity } from './views/account-security.js';
import { renderVerify } from './views/verify.js';
import { renderTeleconsult } from './views/teleconsult.js';
import { renderConsult } from './views/consult.js';
import { renderOutbox } from './views/outbox.js';

const CLINIC_KEY = 'atende.clinic';

const main = document.getElementById('main');
const headerNav = document.getElementById('header-nav');
const headerUser = document.getElementById('header-user');
const headerUserName = document.getElementById('header-user-name');
const logoutButton = /** @type {HTMLButtonElement} */ (document.getElementById('logout-button'));
const skipLink = document.getElementById('skip-link');
const rtStatus = document.getElementById('rt-status');
const rtStatusText = document.getElementById('rt-status-text');

const PILL_TEXT = {
  connecting: 'Conectando…',
  connected: 'Ao vivo',
  reconnecting: 'Reconectando…',
  disconnected: 'Desconectado',
};

const state = {
  me: null,
  seq: 0,
  notice: null,
  focusOnMount: false,
  /** Run before the next view renders (leave real-time topics, stop timers). */
  cleanups: [],
};

function runCleanups() {
  const fns = state.cleanups;
  state.cleanups = [];
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      console.error(err);
    }
  }
}

// ---------------------------------------------------------------- routing ---

function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
  const [pathPart, query = ''] = raw.split('?');
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, params: new URLSearchParams(query) };
}

function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function replaceHash(hash) {
  history.replaceState(null, '', hash);
}

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // ignore
  }
}

function rememberClinic(membership) {
  storageSet(CLINIC_KEY, `${membership.clinic_id}|${membership.role}`);
}

function preferredMembership(me) {
  const memberships = sortedMemberships(me);
  const saved = storageGet(CLINIC_KEY);
  if (saved) {
    const found = memberships.find((m) => `${m.clinic_id}|${m.role}` === saved);
    if (found) return found;
  }
  return memberships[0];
}

/** Pages that work without a login, whatever the session. */
const PUBLIC_PAGES = {
  painel: renderPanel,
  fila: renderTracker,
  checkin: renderCheckin,
  consulta: renderConsult,
  'redefinir-senha': renderResetPassword,
  convite: renderInvitation,
};

function publicPage(parts) {
  if (parts[0] === 'link' && parts.length === 3) return 'link';
  if (parts[0] === 'verificar' && parts.length <= 2) return 'verificar';
  if (parts[0] === 'esqueci-senha' && parts.length === 1) return 'esqueci-senha';
  return parts.length === 2 && Object.hasOwn(PUBLIC_PAGES, parts[0]) ? parts[0] : null;
}

function mount(view) {
  main.replaceChildren(view);
  main.removeAttribute('aria-busy');
  if (state.focusOnMount) {
    // Move focus to the new page's heading so screen readers announce it.
    const heading = view.querySelector('h1');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
    window.scrollTo(0, 0);
  }
  state.focusOnMount = true;
}

function showLoading() {
  main.setAttribute('aria-busy', 'true');
  main.replaceChildren(loadingNode());
}

function takeNotice() {
  const notice = state.notice;
  state.notice = null;
  return notice;
}

function onLoggedIn(user) {
  state.me = user && typeof user === 'object' && Array.isArray(user.memberships) ? user : null;
  // Back to the booking page that asked for the login, if any.
  navigate(takeReturnTo() || takeLinkAfterLogin() || '#/', { replace: true });
}

/** The public booking page: works without a login; a logged-in patient books at once. */
async function renderBookingPage(ctx, clinicId, params) {
  if (isLoggedIn() && !state.me) {
    showLoading();
    try {
      state.me = await fetchMe();
    } catch {
      state.me = null; // an expired session just makes this an anonymous visit
    }
    if (!ctx.isCurrent()) return;
  }
  if (!isLoggedIn()) state.me = null;
  updateHeader();
  if (state.me) realtime.connect();
  mount(clinicId ? renderBooking(ctx, clinicId, { me: state.me, params }) : renderBookingClinics(ctx));
}

async function render() {
  state.seq += 1;
  const seq = state.seq;
  runCleanups();
  const ctx = {
    isCurrent: () => seq === state.seq,
    navigate,
    rememberClinic,
    /** Register `fn` to run when this view is replaced. */
    onCleanup: (fn) => {
      if (seq === state.seq) state.cleanups.push(fn);
      else fn();
    },
  };
  const { parts, params } = parseHash();
  const top = parts[0] || '';

  const pub = publicPage(parts);
  // The TV panel is the whole screen; the other public pages keep only the brand (a
  // teleconsultation's page is wider, for the video).
  if (pub === 'painel') document.body.dataset.layout = 'tv';
  else if (pub === 'consulta') document.body.dataset.layout = 'call';
  else if (pub) document.body.dataset.layout = 'public';
  else delete document.body.dataset.layout;
  if (pub) {
    headerUser.hidden = true;
    headerNav.hidden = true;
    if (pub === 'link') mount(renderLink(ctx, parts[1], parts[2]));
    else if (pub === 'verificar') mount(renderVerify(ctx, parts[1] || null));
    else if (pub === 'esqueci-senha') mount(renderForgotPassword(ctx));
    else mount(PUBLIC_PAGES[pub](ctx, parts[1]));
    return;
  }

  if (top === 'confirmar-email' && parts.length === 2) {
    headerUser.hidden = true;
    headerNav.hidden = true;
    document.body.dataset.layout = 'public';
    mount(renderConfirmEmail(ctx, parts[1], { onLoggedIn }));
    return;
  }

  if (top === 'agendar' && parts.length === 1) {
    await renderBookingPage(ctx, null, params);
    return;
  }
  if (top === 'agendar' && parts.length === 2) {
    await renderBookingPage(ctx, parts[1], params);
    return;
  }

  if (!isLoggedIn()) {
    state.me = null;
    updateHeader();
    if (top === 'cadastro') {
      mount(renderSignup(ctx));
      return;
    }
    if (top === 'sso') {
      mount(renderSsoReturn(ctx, params, { onLoggedIn }));
      return;
    }
    if (top === 'entrar' && parts.length === 2) {
      mount(renderSsoStart(ctx, parts[1]));
      return;
    }
    if (top === 'vincular' && parts.length === 2) keepLinkForLogin(parts[1]);
    if (top !== 'entrar') replaceHash('#/entrar');
    mount(renderLogin(ctx, {
      notice: takeNotice() || bookingLoginNotice() || linkLoginNotice(), onLoggedIn, sso: lastSsoButton(ctx),
    }));
    return;
  }

  if (top === 'entrar' || top === 'cadastro' || top === 'sso') {
    replaceHash('#/');
    parts.length = 0;
  }

  if (!state.me) {
    showLoading();
    try {
      state.me = await fetchMe();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      if (err.status === 401) {
        clearTokens();
        state.notice = 'Sua sessão expirou. Entre novamente.';
        navigate('#/entrar', { replace: true });
        return;
      }
      mount(errorView(err));
      return;
    }
    if (!ctx.isCurrent()) return;
  }
  const me = state.me;
  updateHeader();
  if (me.mfa_enrolment_required) {
    // The clinic requires two-factor: until it is on, this session can only enrol.
    if (parts[0] !== 'seguranca' || parts.length !== 1) replaceHash('#/seguranca');
    mount(renderAccountSecurity(ctx, {
      onMfaEnabled: () => {
        state.me = null;
        navigate('#/', { replace: true });
      },
    }));
    return;
  }
  realtime.connect();
  if (canChat(me)) unread.start(me);

  const section = parts[0] || '';
  if (section === '') {
    renderHome(ctx, me);
    return;
  }
  if (section === 'clinica' && parts[1]) {
    const membership = findMembership(me, parts[1], params.get('papel'));
    if (!membership) {
      mount(noClinicAccessView());
      return;
    }
    if (parts.length === 2) {
      mount(renderStaffHome(ctx, me, membership));
      return;
    }
    if (parts.length === 3 && (parts[2] === 'agenda' || parts[2] === 'horarios')) {
      const roleParam = roleParamFor(me, membership);
      const opts = { me, membership, params, roleParam, homeHref: clinicHref(me, membership) };
      if (parts[2] === 'agenda') mount(renderClinicAgenda(ctx, opts));
      else if (membership.role !== 'receptionist') mount(renderScheduleSettings(ctx, opts));
      else mount(statusView(403, 'Os horários são editados pelo profissional ou pela administração da clínica.'));
      return;
    }
    if (parts.length === 3 && parts[2] === 'implantacao') {
      if (membership.role !== 'clinic_admin') {
        mount(statusView(403, 'A implantação da clínica é feita pela sua administração.'));
        return;
      }
      mount(renderOnboarding(ctx, me, membership.clinic_id, {
        backHref: clinicHref(me, membership), roleParam: roleParamFor(me, membership),
      }));
      return;
    }
    if (parts.length === 3 && parts[2] === 'relatorios') {
      if (membership.role === 'clinic_admin') mount(renderReports(ctx, { membership, params, homeHref: clinicHref(me, membership) }));
      else mount(statusView(403, 'Os relatórios são da administração da clínica.'));
      return;
    }
    if (parts.length === 3 && parts[2] === 'caixa') {
      const homeHref = clinicHref(me, membership);
      if (membership.role === 'receptionist' || membership.role === 'clinic_admin') {
        mount(renderCash(ctx, { membership, params, homeHref }));
      } else {
        mount(statusView(403, 'O caixa é da recepção e da administração da clínica.'));
      }
      return;
    }
    if (parts.length === 3 && parts[2] === 'mensagens-enviadas') {
      if (membership.role === 'clinic_admin') {
        mount(renderOutbox(ctx, { membership, homeHref: clinicHref(me, membership) }));
      } else {
        mount(statusView(403, 'As mensagens enviadas aos pacientes são vistas pela administração da clínica.'));
      }
      return;
    }
    if (parts.length === 4 && parts[2] === 'paciente') {
      mount(renderPatientDetail(ctx, {
        me,
        membership,
        patientId: parts[3],
        roleParam: params.get('papel'),
        encounterId: params.get('atendimento'),
      }));
      return;
    }
  }
  if (section === 'plataforma' && me.platform_admin && parts.length === 3 && parts[1] === 'clinica') {
    mount(renderOnboarding(ctx, me, parts[2], { platform: true, backHref: '#/plataforma' }));
    return;
  }
  if (section === 'plataforma' && me.platform_admin) {
    mount(renderPlatformHome());
    return;
  }
  if (section === 'minha-agenda' && me.professional && parts.length === 1) {
    mount(renderMyAgenda(ctx, me, params));
    return;
  }
  if (section === 'meu-dia' && me.professional && parts.length === 1) {
    mount(renderMyDay(ctx, me, params));
    return;
  }
  if (section === 'minhas-consultas' && me.patient && parts.length === 1) {
    mount(renderMyAppointments(ctx, me));
    return;
  }
  if (section === 'meus-documentos' && me.patient && parts.length === 1) {
    mount(renderMyDocuments(ctx, me));
    return;
  }
  if (section === 'teleconsulta' && me.professional && parts.length === 2) {
    mount(renderTeleconsult(ctx, me, parts[1]));
    return;
  }
  if (section === 'minha-assinatura' && me.professional && parts.length === 1) {
    mount(renderSigningKey(ctx));
    return;
  }
  if (section === 'seguranca' && parts.length === 1) {
    mount(renderAccountSecurity(ctx, {}));
    return;
  }
  if (section === 'vincular' && parts.length === 2) {
    mount(renderAcceptLink(ctx, me, parts[1]));
    return;
  }
  if (section === 'meus-dados' && me.patient) {
    mount(renderPatientHome(ctx, me));
    return;
  }
  if (section === 'mensagens' && canChat(me) && parts.length <= 2) {
    mount(renderChat(ctx, me, parts[1] || null));
    return;
  }
  mount(missingPageView(parts));
}

function renderHome(ctx, me) {
  if (me.memberships && me.memberships.length) {
    navigate(clinicHref(me, preferredMembership(me)), { replace: true });
  } else if (me.patient) {
    mount(renderPatientHome(ctx, me));
  } else if (me.platform_admin) {
    mount(renderPlatformHome());
  } else {
    mount(noAccessView(me));
  }
}

// ------------------------------------------------------------ misc views ---

/** The page of a status (403, 404…) from the message catalog, with its own text if given. */
function statusView(status, message = '') {
  const page = statusPage(status, { online: navigator.onLine !== false });
  document.title = `${page.title} — atende`;
  return h('div', { class: 'view view-narrow', dataset: { view: page.kind.replace(/_/g, '-'), status: String(status) } },
    h('h1', { tabindex: '-1', text: page.title }),
    h('p', { text: message || page.text }),
    h('p', null, h('a', { href: '#/', text: 'Ir para o início' })));
}

/** Pages that exist for some roles only: their section and the path lengths they take. */
const ROLE_PAGES = {
  plataforma: [1, 3],
  'minha-agenda': [1],
  'meu-dia': [1],
  'minhas-consultas': [1],
  'meus-documentos': [1],
  teleconsulta: [2],
  'minha-assinatura': [1],
  'meus-dados': [1],
  mensagens: [1, 2],
};

/** A page that exists but not for this user is 403 ("sem permissão"), anything else 404. */
function missingPageView(parts) {
  const lengths = ROLE_PAGES[parts[0]];
  return statusView(lengths && lengths.includes(parts.length) ? 403 : 404);
}

/** A clinic page the user has no role in (any more: a role taken away ends here live). */
function noClinicAccessView() {
  document.title = 'Sem acesso a esta clínica — atende';
  return h('div', { class: 'view view-narrow', dataset: { view: 'no-clinic-access' } },
    h('h1', { tabindex: '-1', text: 'Sem acesso a esta clínica' }),
    h('p', { text: 'Você não tem acesso a esta clínica. Se a sua função foi alterada agora há pouco, fale com a administração da clínica.' }),
    h('p', null, h('a', { href: '#/', text: 'Ir para o início' })));
}

function noAccessView(me) {
  document.title = 'Sem acesso — atende';
  return h('div', { class: 'view view-narrow', dataset: { view: 'no-access' } },
    h('h1', { tabindex: '-1', text: `Olá, ${displayName(me)}` }),
    h('p', { text: 'Sua conta ainda não está vinculada a nenhuma clínica. Peça à administração da clínica para adicionar você à equipe.' }));
}

function errorView(err) {
  const status = typeof err?.status === 'number' ? err.status : 0;
  const page = statusPage(status, { retryAfter: err?.retryAfter ?? null, online: navigator.onLine !== false });
  document.title = `${page.title} — atende`;
  return h('div', { class: 'view view-narrow', dataset: { view: 'error', status: String(status) } },
    h('h1', { tabindex: '-1', text: page.title }),
    alertNode(errorMessage(err)),
    h('button', { type: 'button', class: 'btn btn-primary', text: 'Tentar novamente', onclick: () => render() }));
}

// ---------------------------------------------------------------- header ---

function updateHeader() {
  const me = state.me;
  if (!me) {
    headerUser.hidden = true;
    headerNav.hidden = true;
    headerNav.replaceChildren();
    headerUserName.textContent = '';
    return;
  }
  headerUserName.textContent = displayName(me.patient) || displayName(me) || me.email || '';
  headerUser.hidden = false;

  const links = [];
  if (me.memberships && me.memberships.length) links.push(['#/', 'Clínicas', 'clinica']);
  if (me.professional && me.memberships && me.memberships.some((m) => m.role === 'professional')) {
    links.push(['#/meu-dia', 'Meu dia', 'meu-dia']);
    links.push(['#/minha-agenda', 'Minha agenda', 'minha-agenda']);
    links.push(['#/minha-assinatura', 'Assinatura digital', 'minha-assinatura']);
  }
  if (me.patient) links.push(['#/minhas-consultas', 'Consultas', 'minhas-consultas']);
  if (me.patient) links.push(['#/meus-documentos', 'Documentos', 'meus-documentos']);
  if (me.patient) links.push(['#/meus-dados', 'Minha conta', 'meus-dados']);
  if (me.platform_admin) links.push(['#/plataforma', 'Plataforma', 'plataforma']);
  if (canChat(me)) links.push(['#/mensagens', 'Mensagens', 'mensagens']);
  links.push(['#/seguranca', 'Segurança', 'seguranca']);
  if (links.length < 2) {
    headerNav.hidden = true;
    headerNav.replaceChildren();
    return;
  }
  const top = parseHash().parts[0] || 'clinica';
  const current = top === 'teleconsulta' ? 'minha-agenda' : top;
  const ul = h('ul', null, links.map(([href, label, key]) => {
    const link = h('a', { href, text: label, 'aria-current': key === current ? 'page' : null });
    if (key === 'mensagens') {
      // The count is the link's description (outside it): its name stays "Mensagens".
      link.classList.add('nav-messages');
      link.setAttribute('aria-describedby', 'nav-unread-text');
      link.append(h('span', { class: 'nav-badge', id: 'nav-unread-badge', 'aria-hidden': 'true', hidden: true }));
      return h('li', null, link, h('span', { class: 'visually-hidden', id: 'nav-unread-text' }));
    }
    return h('li', null, link);
  }));
  headerNav.replaceChildren(ul);
  headerNav.hidden = false;
  updateUnreadBadge();
}

/** The total of unread messages on the header's "Mensagens" link. */
function updateUnreadBadge() {
  const badge = document.getElementById('nav-unread-badge');
  const text = document.getElementById('nav-unread-text');
  if (!badge || !text) return;
  const n = state.me ? unread.total() : 0;
  badge.textContent = n ? badgeText(n) : '';
  badge.hidden = !n;
  text.textContent = n ? unreadText(n) : '';
}

// ---------------------------------------------------------------- events ---

logoutButton.addEventListener('click', async () => {
  logoutButton.disabled = true;
  try {
    await logout();
  } finally {
    logoutButton.disabled = false;
  }
});

authEvents.addEventListener('logout', (event) => {
  const { detail } = /** @type {CustomEvent<{reason?: string}|undefined>} */ (event);
  const reason = detail && detail.reason;
  state.me = null;
  storageSet(CLINIC_KEY, null);
  // A public page (TV panel, phone page, check-in) does not need the session.
  if (publicPage(parseHash().parts)) return;
  // The booking page stays, now for a visitor.
  if (parseHash().parts[0] === 'agendar') {
    render();
    return;
  }
  if (reason === 'user') state.notice = 'Você saiu do atende.';
  else if (reason === 'invalid_refresh_token' || reason === 'no_refresh_token') {
    state.notice = 'Sua sessão expirou. Entre novamente.';
  } else state.notice = 'Sua sessão foi encerrada. Entre novamente.';
  navigate('#/entrar', { replace: true });
});

unread.onChange(updateUnreadBadge);

// A role taken away or a patient link revoked: read who the user is again and show the
// current page as it is now allowed (a clinic page lost says so).
realtime.onAccessChanged(() => {
  if (!isLoggedIn()) return;
  state.me = null;
  render();
});

realtime.onStatus((status) => {
  rtStatus.dataset.state = status;
  rtStatusText.textContent = PILL_TEXT[status] || status;
});

skipLink.addEventListener('click', (event) => {
  event.preventDefault();
  const heading = main.querySelector('h1');
  (heading || main).focus();
});

window.addEventListener('hashchange', () => render());

render();
