-- no-transaction
-- Identity by proof (#16): a patient record has one owner — a clinic (its own record of the
-- person) or an account (the profile its holder typed at sign-up). CPF stops being unique:
-- the same person is one record per clinic plus, if they signed up, their profile; nothing
-- is ever attached to an existing record because a CPF or birth date matches.
--
-- SQLite cannot drop an inline UNIQUE, so `patients` is rebuilt by the documented
-- procedure (foreign keys off, new table, copy, drop, rename, foreign_key_check). That
-- needs the pragma outside a transaction, hence `no-transaction` and our own BEGIN/COMMIT.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE patients_new (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB UNIQUE REFERENCES users(id) ON DELETE SET NULL,
    full_name    TEXT NOT NULL,
    social_name  TEXT,
    cpf          TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    phone        TEXT,
    email        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
INSERT INTO patients_new (id, user_id, full_name, social_name, cpf, birth_date, phone, email, created_at, updated_at)
    SELECT id, user_id, full_name, social_name, cpf, birth_date, phone, email, created_at, updated_at FROM patients;
DROP TABLE patients;
ALTER TABLE patients_new RENAME TO patients;
CREATE INDEX patients_by_cpf ON patients (cpf);

-- The link between an account and a clinic's record of a patient, and the proofs that
-- make it. States: `suggested` (a CPF match seen by the system: shown to staff, grants
-- nothing), `pending` (staff issued a one-time proof for the record; `user_id` is empty
-- until someone redeems it), `linked` (the account holder proved control; the account now
-- sees the record), `revoked` (ended by staff or the patient, or a proof that died: five
-- wrong tries or expiry). Only hashes of proofs are stored.
CREATE TABLE patient_links (
    id               BLOB PRIMARY KEY NOT NULL,
    clinic_id        BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id       BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    user_id          BLOB REFERENCES users(id) ON DELETE CASCADE,
    state            TEXT NOT NULL CHECK (state IN ('suggested', 'pending', 'linked', 'revoked')),
    -- front_desk_code | self_service | suggestion
    method           TEXT NOT NULL,
    -- The public half of a front-desk code (looked up), and the hash of the secret half.
    code_selector    TEXT UNIQUE,
    code_hash        TEXT,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    expires_at       TEXT,
    created_by       BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    linked_at        TEXT,
    revoked_at       TEXT,
    revoked_reason   TEXT
);
CREATE INDEX patient_links_by_user ON patient_links (user_id, state);
CREATE INDEX patient_links_by_patient ON patient_links (patient_id);
COMMIT;
PRAGMA foreign_keys = ON;
