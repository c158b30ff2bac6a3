// @ts-check
// WebAuthn in the browser: the server's options (binary fields in base64url, as webauthn-rs
// writes them) become what `navigator.credentials.create/get` take, and the authenticator's
// answer goes back as JSON with its binary fields in base64url (unpadded).

/** @param {string} s base64url, padded or not @returns {ArrayBuffer} */
function fromB64url(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** @param {ArrayBuffer|null|undefined} buf @returns {string|null} */
function toB64url(buf) {
  if (!buf) return null;
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 1) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Whether this page can use passkeys (a browser with WebAuthn, in a secure context). */
export function passkeysSupported() {
  return Boolean(window.isSecureContext && window.PublicKeyCredential && navigator.credentials);
}

/** @param {any[]|undefined} list */
function descriptors(list) {
  return (list || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
}

/**
 * Create a passkey with the server's `CreationChallengeResponse`; the answer for
 * `register/finish`'s `credential`.
 * @param {{publicKey: any}} options
 */
export async function createPasskey(options) {
  const pk = options.publicKey;
  const publicKey = {
    ...pk,
    challenge: fromB64url(pk.challenge),
    user: { ...pk.user, id: fromB64url(pk.user.id) },
    excludeCredentials: descriptors(pk.excludeCredentials),
  };
  const cred = /** @type {PublicKeyCredential} */ (await navigator.credentials.create({ publicKey }));
  const res = /** @type {AuthenticatorAttestationResponse} */ (cred.response);
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: toB64url(res.attestationObject),
      clientDataJSON: toB64url(res.clientDataJSON),
    },
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  };
}

/**
 * Ask for a passkey's assertion with the server's `RequestChallengeResponse` (a modal
 * prompt: the user pressed a button, so no conditional mediation).
 * @param {{publicKey: any}} options
 */
export async function getPasskeyAssertion(options) {
  const pk = options.publicKey;
  const publicKey = {
    ...pk,
    challenge: fromB64url(pk.challenge),
    allowCredentials: descriptors(pk.allowCredentials),
  };
  const cred = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({ publicKey }));
  const res = /** @type {AuthenticatorAssertionResponse} */ (cred.response);
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toB64url(res.authenticatorData),
      clientDataJSON: toB64url(res.clientDataJSON),
      signature: toB64url(res.signature),
      userHandle: toB64url(res.userHandle),
    },
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  };
}

/** Words for a failed WebAuthn prompt (cancelled, timed out, not allowed). @param {unknown} err */
export function passkeyPromptError(err) {
  if (err instanceof DOMException) {
    if (err.name === 'InvalidStateError') return 'Esta chave de acesso já está cadastrada nesta conta.';
    if (err.name === 'NotAllowedError') return 'A chave de acesso não foi usada (cancelada ou tempo esgotado).';
    return 'Não foi possível usar a chave de acesso neste navegador.';
  }
  return null;
}
