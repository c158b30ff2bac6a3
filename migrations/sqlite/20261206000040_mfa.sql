-- Two-factor login (TOTP, RFC 6238) with single-use recovery codes, the pending second step
-- of a login, and the clinic policy that requires two-factor of its professionals and admins.

-- One authenticator per account. `secret` is the TOTP key, encrypted with the field cipher;
-- `confirmed_at` is NULL while enrolment waits for a first correct code. `last_step` is the
-- last accepted time step: a code is accepted only for a later step (no replay).
CREATE TABLE mfa_totp (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER NOT NULL DEFAULT 0
);

-- Recovery codes, stored only as hashes; each works once.
CREATE TABLE mfa_recovery_codes (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX mfa_recovery_codes_by_user ON mfa_recovery_codes (user_id, code_hash);

-- A login whose password was right and whose second factor is awaited: the opaque
-- `mfa_token` (stored as its SHA-256 hash), single use, short-lived, dead after too many
-- wrong codes.
CREATE TABLE mfa_challenges (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    known_device  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    used_at       TEXT
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);

ALTER TABLE clinics ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
