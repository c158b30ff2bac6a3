-- Two-factor login (TOTP, RFC 6238) with single-use recovery codes, the pending second step
-- of a login, and the clinic policy that requires two-factor of its professionals and admins.

-- One authenticator per account. `secret` is the TOTP key, encrypted with the field cipher;
-- `confirmed_at` is NULL while enrolment waits for a first correct code. `last_step` is the
-- last accepted time step: a code is accepted only for a later step (no replay).
CREATE TABLE mfa_totp (
    user_id       uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret        text NOT NULL,
    created_at    timestamptz NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint NOT NULL DEFAULT 0
);

-- Recovery codes, stored only as hashes; each works once.
CREATE TABLE mfa_recovery_codes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX mfa_recovery_codes_by_user ON mfa_recovery_codes (user_id, code_hash);

-- A login whose password was right and whose second factor is awaited: the opaque
-- `mfa_token` (stored as its SHA-256 hash), single use, short-lived, dead after too many
-- wrong codes.
CREATE TABLE mfa_challenges (
    token_hash    text PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    known_device  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    failures      integer NOT NULL DEFAULT 0,
    used_at       timestamptz
);
CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges (expires_at);

ALTER TABLE clinics ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;
