// @ts-check
// Chat: "Nova conversa", where a receptionist or a clinic admin opens a conversation between
// a patient and a professional of the clinic (`POST /api/clinics/{id}/chat/rooms`).

import { api, qs, seg } from '../api.js';
import { h, clear, alertNode, displayName, errorMessage, loadingNode, professionLabel, uid } from '../ui.js';
import { chatHref, isPatientOf, isProfessionalOf } from './chat-rooms.js';

/**
 * "Nova conversa" (receptionists and clinic admins): pick a patient and a professional of
 * one of `clinics` and open their conversation; `onOpened(room)` after it is opened.
 * @param {import('../types.js').ViewContext} ctx
 * @param {import('../types.js').Me} me
 * @param {Array<{id: string, name: string}>} clinics
 * @param {(room: import('./chat-rooms.js').ChatRoom) => void} onOpened
 */
export function newConversationPanel(ctx, me, clinics, onOpened) {
  const headingId = 'new-chat-heading';
  const errorBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const statusBox = h('p', { class: 'form-status', role: 'status' });

  const clinicId = uid('nc-clinic');
  const clinicSelect = clinics.length > 1
    ? h('select', { id: clinicId, name: 'clinic' }, clinics.map((c) => h('option', { value: c.id, text: c.name })))
    : null;
  const currentClinic = () => (clinicSelect ? clinicSelect.value : clinics[0].id);

  const searchId = uid('nc-search');
  const search = h('input', {
    id: searchId, type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': `${searchId}-hint`,
  });
  const searchButton = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Buscar' });
  const results = h('div', { class: 'nc-results' });
  const resultsCount = h('p', { class: 'muted small nc-count', role: 'status' });
  const patientError = h('p', { class: 'field-error', id: uid('nc-patient-error'), hidden: true });
  const patientSet = h('fieldset', { class: 'nc-patients', 'aria-describedby': patientError.id },
    h('legend', { text: 'Paciente' }), resultsCount, results, patientError);

  const profId = uid('nc-prof');
  const profError = h('p', { class: 'field-error', id: `${profId}-error`, hidden: true });
  const profSelect = h('select', { id: profId, name: 'professional', 'aria-describedby': profError.id },
    h('option', { value: '', text: 'Carregando…' }));

  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Abrir conversa' });
  const form = h('form', { class: 'form nc-form', novalidate: true, 'aria-label': 'Nova conversa' },
    errorBox,
    h('div', { class: 'form-fields' },
      clinicSelect ? h('div', { class: 'field' }, h('label', { for: clinicId, text: 'Clínica' }), clinicSelect) : null,
      h('div', { class: 'field' },
        h('label', { for: searchId, text: 'Buscar paciente' }),
        h('p', { class: 'field-hint', id: `${searchId}-hint`, text: 'Nome, nome social ou CPF completo' }),
        h('div', { class: 'search-row' }, search, searchButton)),
      patientSet,
      h('div', { class: 'field' }, h('label', { for: profId, text: 'Profissional' }), profSelect, profError)),
    h('div', { class: 'form-actions' }, submit),
    statusBox);

  /** Patients shown, by id (for the success message). */
  const shown = new Map();
  let searchSeq = 0;
  let debounce = 0;

  async function runSearch() {
    searchSeq += 1;
    const mine = searchSeq;
    const q = search.value.trim();
    const clinic = currentClinic();
    results.setAttribute('aria-busy', 'true');
    if (!results.firstChild) results.append(loadingNode());
    try {
      const list = await api.get(`/api/clinics/${seg(clinic)}/patients${qs({ q })}`);
      if (mine !== searchSeq || !ctx.isCurrent()) return;
      renderPatients(Array.isArray(list) ? list : [], q);
    } catch (err) {
      if (mine !== searchSeq || !ctx.isCurrent()) return;
      clear(results).append(alertNode(errorMessage(err)));
      resultsCount.textContent = '';
    } finally {
      if (mine === searchSeq) results.removeAttribute('aria-busy');
    }
  }

  function renderPatients(list, q) {
    const checked = /** @type {HTMLInputElement|null} */ (form.querySelector('input[name="patient"]:checked'));
    const keep = checked ? checked.value : null;
    clear(results);
    shown.clear();
    resultsCount.textContent = list.length
      ? `${list.length} ${list.length === 1 ? 'paciente encontrado' : 'pacientes encontrados'}`
      : '';
    if (!list.length) {
      results.append(h('p', {
        class: 'empty',
        text: q ? `Nenhum paciente encontrado para “${q}”.` : 'Nenhum paciente cadastrado.',
      }));
      return;
    }
    const ul = h('ul', { class: 'nc-patient-list' });
    for (const p of list) {
      shown.set(String(p.id), p);
      const id = uid('nc-p');
      ul.append(h('li', { class: 'checkbox-row nc-patient' },
        h('input', { type: 'radio', name: 'patient', id, value: p.id, checked: String(p.id) === keep }),
        h('label', { for: id },
          h('span', { class: 'nc-patient-name', text: displayName(p) }),
          h('span', { class: 'muted small', text: ` · CPF ${p.cpf || '—'}` }))));
    }
    results.append(ul);
  }

  async function loadProfessionals() {
    const clinic = currentClinic();
    profSelect.disabled = true;
    profSelect.replaceChildren(h('option', { value: '', text: 'Carregando…' }));
    try {
      const members = await api.get(`/api/clinics/${seg(clinic)}/members`);
      if (!ctx.isCurrent() || clinic !== currentClinic()) return;
      const profs = (Array.isArray(members) ? members : [])
        .filter((m) => m.role === 'professional')
        .sort((a, b) => String(a.full_name).localeCompare(String(b.full_name), 'pt-BR'));
      profSelect.replaceChildren(h('option', {
        value: '',
        text: profs.length ? 'Selecione…' : 'Nenhum profissional na clínica',
      }));
      for (const m of profs) {
        const detail = m.professional
          ? [professionLabel(m.professional.profession), m.professional.specialty].filter(Boolean).join(', ')
          : '';
        profSelect.append(h('option', { value: m.user_id, text: detail ? `${m.full_name} (${detail})` : m.full_name }));
      }
    } catch (err) {
      if (!ctx.isCurrent()) return;
      profSelect.replaceChildren(h('option', { value: '', text: 'Não foi possível carregar' }));
      errorBox.textContent = errorMessage(err);
      errorBox.hidden = false;
    } finally {
      profSelect.disabled = false;
    }
  }

  function clearErrors() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    for (const el of [patientError, profError]) {
      el.hidden = true;
      el.textContent = '';
    }
    patientSet.removeAttribute('aria-invalid');
    profSelect.removeAttribute('aria-invalid');
  }

  search.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(runSearch, 350);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      window.clearTimeout(debounce);
      runSearch();
    }
  });
  searchButton.addEventListener('click', () => {
    window.clearTimeout(debounce);
    runSearch();
  });
  if (clinicSelect) {
    clinicSelect.addEventListener('change', () => {
      clear(results);
      runSearch();
      loadProfessionals();
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearErrors();
    statusBox.replaceChildren();
    const checked = /** @type {HTMLInputElement|null} */ (form.querySelector('input[name="patient"]:checked'));
    const patientId = checked ? checked.value : '';
    const professionalId = profSelect.value;
    let firstInvalid = null;
    if (!patientId) {
      patientError.textContent = 'Selecione um paciente.';
      patientError.hidden = false;
      firstInvalid = firstInvalid || search;
    }
    if (!professionalId) {
      profError.textContent = 'Selecione um profissional.';
      profError.hidden = false;
      profSelect.setAttribute('aria-invalid', 'true');
      firstInvalid = firstInvalid || profSelect;
    }
    if (firstInvalid) {
      errorBox.textContent = 'Escolha o paciente e o profissional da conversa.';
      errorBox.hidden = false;
      firstInvalid.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Abrindo…';
    form.setAttribute('aria-busy', 'true');
    try {
      const room = await api.post(`/api/clinics/${seg(currentClinic())}/chat/rooms`, {
        patient_id: patientId,
        professional_user_id: professionalId,
      });
      if (!ctx.isCurrent()) return;
      const patient = shown.get(String(patientId));
      const patientName = (patient && displayName(patient)) || (room && room.patient_name) || 'o paciente';
      const profName = (room && room.professional_name) || profSelect.selectedOptions[0]?.textContent || 'o profissional';
      const member = room && (isPatientOf(me, room) || isProfessionalOf(me, room));
      statusBox.append(`Conversa aberta entre ${patientName} e ${profName}. `,
        member
          ? h('a', { href: chatHref(room.id), text: 'Abrir conversa' })
          : 'Os dois já podem trocar mensagens pelo atende.');
      onOpened(room);
    } catch (err) {
      errorBox.textContent = errorMessage(err);
      errorBox.hidden = false;
      errorBox.setAttribute('tabindex', '-1');
      errorBox.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Abrir conversa';
      form.removeAttribute('aria-busy');
    }
  });

  runSearch();
  loadProfessionals();

  return h('section', { class: 'panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: 'Nova conversa' }),
    h('p', {
      class: 'muted',
      text: 'Abra uma conversa entre um paciente e um profissional da clínica. Só os dois participam dela.',
    }),
    form);
}
