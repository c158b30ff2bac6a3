-- Passkeys (WebAuthn): an account's registered credentials, usable as a second factor and
-- for passwordless login, and the short-lived server-side state of each ceremony.

-- One row per registered credential. `credential_id` is the authenticator's credential id
-- (base64url), unique across accounts; `credential` is webauthn-rs's `Passkey` (public key,
-- counter, backup flags) as JSON, encrypted with the field cipher.
CREATE TABLE passkeys (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           text NOT NULL,
    credential_id  text NOT NULL UNIQUE,
    credential     text NOT NULL,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A ceremony in progress: `kind` is `register`, `second_factor` or `login`; `state` is
-- webauthn-rs's ceremony state (it holds the challenge) as JSON, encrypted with the field
-- cipher. Single use (`used_at`), dead at `expires_at`; any node can finish it.
-- `mfa_token_hash` binds a second-factor ceremony to the login awaiting it.
CREATE TABLE passkey_ceremonies (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    user_id         uuid REFERENCES users(id) ON DELETE CASCADE,
    mfa_token_hash  text,
    state           text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies (expires_at);
