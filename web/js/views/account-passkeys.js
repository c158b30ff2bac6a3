// @ts-check
// "Chaves de acesso (passkeys)" on the account security page: add a passkey (this phone's
// or computer's screen lock, or a security key) with a name, list them, remove one. A
// passkey logs in alone ("Entrar com chave de acesso") and answers the second step of a
// password login.
//
//   GET    /api/me/passkeys                  → [{id, name, created_at, last_used_at}]
//   POST   /api/me/passkeys/register/start   → CreationChallengeResponse (403 recent_login_required)
//   POST   /api/me/passkeys/register/finish  {name, credential} → 201 the passkey
//   DELETE /api/me/passkeys/{id}             {password?} → 204 (403 password_required / wrong_password)

import { api, ApiError, seg } from '../api.js';
import { createPasskey, passkeyPromptError, passkeysSupported } from '../passkeys.js';
import { h, clear, alertNode, createForm, errorMessage, formatDateTime, loadingNode } from '../ui.js';

/** @typedef {{id: string, name: string, created_at: string, last_used_at: string|null}} PasskeyInfo */

/** @param {unknown} err */
function passkeyError(err) {
  const prompt = passkeyPromptError(err);
  if (prompt) return prompt;
  if (err instanceof ApiError) {
    if (err.code === 'recent_login_required') return 'Por segurança, saia e entre novamente antes de adicionar uma chave de acesso.';
    if (err.code === 'passkey_exists') return 'Esta chave de acesso já está cadastrada.';
    if (err.code === 'invalid_passkey') return 'A chave de acesso não foi aceita. Tente de novo.';
    if (err.code === 'passkeys_unavailable') return 'Chaves de acesso não estão disponíveis neste endereço do atende.';
  }
  return errorMessage(err);
}

/**
 * @param {import('../types.js').ViewContext} ctx
 * @param {{onMfaEnabled?: () => void}} opts `onMfaEnabled`: the session was limited to
 *   enrolling; a passkey counts, and the rest of the app opens
 */
export function passkeysPanel(ctx, { onMfaEnabled }) {
  const body = h('div', { class: 'stack' });

  function load() {
    body.setAttribute('aria-busy', 'true');
    clear(body).append(loadingNode());
    api.get('/api/me/passkeys').then((/** @type {PasskeyInfo[]} */ list) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(...view(list || []));
    }).catch((err) => {
      if (!ctx.isCurrent()) return;
      body.removeAttribute('aria-busy');
      clear(body).append(alertNode(errorMessage(err)),
        h('button', { type: 'button', class: 'btn btn-secondary', text: 'Tentar novamente', onclick: load }));
    });
  }

  /** @param {PasskeyInfo[]} list */
  function view(list) {
    const supported = passkeysSupported();
    const add = createForm({
      label: 'Adicionar chave de acesso',
      submitLabel: 'Adicionar chave de acesso',
      busyLabel: 'Aguardando a chave…',
      codeToField: { invalid_passkey_name: 'name' },
      fields: [{
        name: 'name', label: 'Nome da chave', required: true, maxlength: 60, autocomplete: 'off',
        noOptionalTag: true, placeholder: 'Ex.: Celular, Notebook do consultório',
        hint: 'Para você reconhecer a chave na lista.',
      }],
      onSubmit: async (values) => {
        try {
          const options = await api.post('/api/me/passkeys/register/start', {});
          const credential = await createPasskey(options);
          await api.post('/api/me/passkeys/register/finish', { name: values.name, credential });
        } catch (err) {
          throw new ApiError(err instanceof ApiError ? err.status : 0,
            err instanceof ApiError ? err.code : 'passkey_prompt', passkeyError(err));
        }
        if (!ctx.isCurrent()) return undefined;
        if (onMfaEnabled) onMfaEnabled();
        else load();
        return undefined;
      },
    });
    const items = list.map((p) => passkeyItem(p));
    return [
      h('p', {
        text: 'Uma chave de acesso usa o desbloqueio do seu celular ou computador (digital, rosto ou PIN) para entrar sem senha, e também serve como verificação em duas etapas.',
      }),
      list.length
        ? h('ul', { class: 'list passkey-list', 'aria-label': 'Chaves de acesso cadastradas' }, ...items)
        : h('p', { class: 'muted', text: 'Nenhuma chave de acesso cadastrada.' }),
      supported
        ? add.form
        : h('p', { class: 'alert alert-info', text: 'Este navegador não oferece chaves de acesso nesta página.' }),
    ];
  }

  /** @param {PasskeyInfo} p */
  function passkeyItem(p) {
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: true });
    const password = h('input', {
      type: 'password', autocomplete: 'current-password', class: 'input', hidden: true,
      'aria-label': `Sua senha, para remover ${p.name}`, placeholder: 'Sua senha',
    });
    const remove = h('button', { type: 'button', class: 'btn btn-secondary', text: 'Remover', 'aria-label': `Remover ${p.name}` });
    remove.addEventListener('click', async () => {
      error.hidden = true;
      remove.disabled = true;
      const typed = /** @type {HTMLInputElement} */ (password).value;
      try {
        await api.del(`/api/me/passkeys/${seg(p.id)}`, typed ? { password: typed } : {});
        if (ctx.isCurrent()) load();
      } catch (err) {
        remove.disabled = false;
        if (err instanceof ApiError && (err.code === 'password_required' || err.code === 'wrong_password')) {
          password.hidden = false;
          /** @type {HTMLInputElement} */ (password).focus();
          error.textContent = err.code === 'wrong_password'
            ? 'Senha incorreta.'
            : 'Confirme com sua senha para remover a chave de acesso.';
        } else {
          error.textContent = errorMessage(err);
        }
        error.hidden = false;
      }
    });
    const used = p.last_used_at ? `último uso em ${formatDateTime(p.last_used_at)}` : 'ainda não usada';
    return h('li', { class: 'passkey-item', dataset: { passkey: p.id } },
      h('strong', { text: p.name }),
      h('span', { class: 'muted', text: ` — adicionada em ${formatDateTime(p.created_at)}, ${used}` }),
      h('div', { class: 'form-actions' }, password, remove),
      error);
  }

  load();
  return h('section', { class: 'panel', 'aria-labelledby': 'security-passkeys-heading', dataset: { part: 'passkeys' } },
    h('h2', { id: 'security-passkeys-heading', text: 'Chaves de acesso (passkeys)' }),
    body);
}
