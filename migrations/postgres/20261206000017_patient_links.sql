-- Identity by proof (#16): a patient record has one owner — a clinic (its own record of the
-- person) or an account (the profile its holder typed at sign-up). CPF stops being unique:
-- the same person is one record per clinic plus, if they signed up, their profile; nothing
-- is ever attached to an existing record because a CPF or birth date matches.
ALTER TABLE patients DROP CONSTRAINT patients_cpf_key;
CREATE INDEX patients_by_cpf ON patients (cpf);

-- The link between an account and a clinic's record of a patient, and the proofs that
-- make it. States: `suggested` (a CPF match seen by the system: shown to staff, grants
-- nothing), `pending` (staff issued a one-time proof for the record; `user_id` is empty
-- until someone redeems it), `linked` (the account holder proved control; the account now
-- sees the record), `revoked` (ended by staff or the patient, or a proof that died: five
-- wrong tries or expiry). Only hashes of proofs are stored.
CREATE TABLE patient_links (
    id               uuid PRIMARY KEY,
    clinic_id        uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id       uuid NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    user_id          uuid REFERENCES users(id) ON DELETE CASCADE,
    state            text NOT NULL CHECK (state IN ('suggested', 'pending', 'linked', 'revoked')),
    -- front_desk_code | self_service | suggestion
    method           text NOT NULL,
    -- The public half of a front-desk code (looked up), and the hash of the secret half.
    code_selector    text UNIQUE,
    code_hash        text,
    failed_attempts  integer NOT NULL DEFAULT 0,
    expires_at       timestamptz,
    created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    linked_at        timestamptz,
    revoked_at       timestamptz,
    revoked_reason   text
);
CREATE INDEX patient_links_by_user ON patient_links (user_id, state);
CREATE INDEX patient_links_by_patient ON patient_links (patient_id);
