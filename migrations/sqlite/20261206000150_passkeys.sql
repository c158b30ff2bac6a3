-- Passkeys (WebAuthn): an account's registered credentials, usable as a second factor and
-- for passwordless login, and the short-lived server-side state of each ceremony.

-- One row per registered credential. `credential_id` is the authenticator's credential id
-- (base64url), unique across accounts; `credential` is webauthn-rs's `Passkey` (public key,
-- counter, backup flags) as JSON, encrypted with the field cipher.
CREATE TABLE passkeys (
    id             BLOB PRIMARY KEY NOT NULL,
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    credential_id  TEXT NOT NULL UNIQUE,
    credential     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A ceremony in progress: `kind` is `register`, `second_factor` or `login`; `state` is
-- webauthn-rs's ceremony state (it holds the challenge) as JSON, encrypted with the field
-- cipher. Single use (`used_at`), dead at `expires_at`; any node can finish it.
-- `mfa_token_hash` binds a second-factor ceremony to the login awaiting it.
CREATE TABLE passkey_ceremonies (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    user_id         BLOB REFERENCES users(id) ON DELETE CASCADE,
    mfa_token_hash  TEXT,
    state           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies (expires_at);
