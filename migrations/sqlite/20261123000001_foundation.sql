-- Foundation schema (SQLite). Ids are UUIDv7 stored as 16-byte BLOBs; times are UTC
-- RFC 3339 TEXT; booleans are INTEGER 0/1. Keep in step with migrations/postgres.

CREATE TABLE users (
    id              BLOB PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    platform_admin  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    disabled_at     TEXT
);

CREATE TABLE clinics (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    cnpj         TEXT NOT NULL UNIQUE,
    street       TEXT NOT NULL,
    number       TEXT NOT NULL,
    complement   TEXT,
    district     TEXT NOT NULL,
    city         TEXT NOT NULL,
    uf           TEXT NOT NULL,
    postal_code  TEXT NOT NULL,
    time_zone    TEXT NOT NULL DEFAULT 'America/Sao_Paulo',
    created_at   TEXT NOT NULL
);

CREATE TABLE professionals (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    profession      TEXT NOT NULL,
    council         TEXT NOT NULL,
    council_number  TEXT NOT NULL,
    council_uf      TEXT NOT NULL,
    specialty       TEXT,
    rqe             TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (council, council_uf, council_number)
);

CREATE TABLE memberships (
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    clinic_id   BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('clinic_admin', 'professional', 'receptionist')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, clinic_id, role)
);
CREATE INDEX memberships_by_clinic ON memberships (clinic_id);

CREATE TABLE patients (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    full_name    TEXT NOT NULL,
    social_name  TEXT,
    cpf          TEXT NOT NULL UNIQUE,
    birth_date   TEXT NOT NULL,
    phone        TEXT,
    email        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- A patient registered with a clinic; the clinic's own clinical text lives here,
-- encrypted (AES-256-GCM, "v1:<key id>:<base64>").
CREATE TABLE clinic_patients (
    clinic_id       BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id      BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    allergies_enc   TEXT,
    notes_enc       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (clinic_id, patient_id)
);
CREATE INDEX clinic_patients_by_patient ON clinic_patients (patient_id);

-- LGPD: which terms/privacy version a user accepted, when, and whether withdrawn.
CREATE TABLE consents (
    id             BLOB PRIMARY KEY NOT NULL,
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    terms_version  TEXT NOT NULL,
    accepted_at    TEXT NOT NULL,
    accepted_ip    TEXT,
    withdrawn_at   TEXT
);
CREATE INDEX consents_by_user ON consents (user_id);

-- One row per login: the family of its rotating refresh tokens.
CREATE TABLE auth_sessions (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_reason TEXT
);

CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    session_id  BLOB NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Append-only, hash-chained audit log. Each row's hash covers the previous row's hash.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY NOT NULL,
    at             TEXT NOT NULL,
    actor_user_id  BLOB,
    action         TEXT NOT NULL,
    entity         TEXT NOT NULL,
    entity_id      TEXT,
    clinic_id      BLOB,
    ip             TEXT,
    details        TEXT NOT NULL DEFAULT '{}',
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
