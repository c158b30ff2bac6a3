-- Foundation schema (PostgreSQL). Keep in step with migrations/sqlite.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL UNIQUE,
    password_hash   text NOT NULL,
    full_name       text NOT NULL,
    platform_admin  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    disabled_at     timestamptz
);

CREATE TABLE clinics (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    cnpj         text NOT NULL UNIQUE,
    street       text NOT NULL,
    number       text NOT NULL,
    complement   text,
    district     text NOT NULL,
    city         text NOT NULL,
    uf           char(2) NOT NULL,
    postal_code  text NOT NULL,
    time_zone    text NOT NULL DEFAULT 'America/Sao_Paulo',
    created_at   timestamptz NOT NULL
);

CREATE TABLE professionals (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    profession      text NOT NULL,
    council         text NOT NULL,
    council_number  text NOT NULL,
    council_uf      text NOT NULL,
    specialty       text,
    rqe             text,
    created_at      timestamptz NOT NULL,
    UNIQUE (council, council_uf, council_number)
);

CREATE TABLE memberships (
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    clinic_id   uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('clinic_admin', 'professional', 'receptionist')),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, clinic_id, role)
);
CREATE INDEX memberships_by_clinic ON memberships (clinic_id);

CREATE TABLE patients (
    id           uuid PRIMARY KEY,
    user_id      uuid UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    full_name    text NOT NULL,
    social_name  text,
    cpf          text NOT NULL UNIQUE,
    birth_date   date NOT NULL,
    phone        text,
    email        text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE clinic_patients (
    clinic_id       uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id      uuid NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    allergies_enc   text,
    notes_enc       text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (clinic_id, patient_id)
);
CREATE INDEX clinic_patients_by_patient ON clinic_patients (patient_id);

CREATE TABLE consents (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    terms_version  text NOT NULL,
    accepted_at    timestamptz NOT NULL,
    accepted_ip    text,
    withdrawn_at   timestamptz
);
CREATE INDEX consents_by_user ON consents (user_id);

CREATE TABLE auth_sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_reason text
);

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE audit_log (
    seq            bigint PRIMARY KEY,
    at             timestamptz NOT NULL,
    actor_user_id  uuid,
    action         text NOT NULL,
    entity         text NOT NULL,
    entity_id      text,
    clinic_id      uuid,
    ip             text,
    details        text NOT NULL DEFAULT '{}',
    prev_hash      text NOT NULL,
    hash           text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
