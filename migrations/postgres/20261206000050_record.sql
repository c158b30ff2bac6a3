-- The clinical record (prontuário), first slice: encounters (draft → locked), their addenda,
-- allergies, and time-limited "break the glass" access. Every clinical text is encrypted
-- at rest (AES-256-GCM, "v1:<key id>:<base64>"). Nothing here is ever deleted (CFM
-- 1.821/2007, Law 13.787/2018): the triggers below refuse it, and a locked encounter
-- never changes.

-- One encounter of a patient record (clinic_patients) with one professional, optionally
-- started from an appointment. The clinical fields are one encrypted JSON document.
CREATE TABLE encounters (
    id               uuid PRIMARY KEY,
    clinic_id        uuid NOT NULL REFERENCES clinics(id),
    patient_id       uuid NOT NULL REFERENCES patients(id),
    professional_id  uuid NOT NULL REFERENCES professionals(id),
    author_user_id   uuid NOT NULL REFERENCES users(id),
    appointment_id   uuid REFERENCES appointments(id),
    -- The author's profession was psychology when it was written: readable only by them.
    psychology       boolean NOT NULL DEFAULT false,
    -- The author's council registration, as it was on the entry.
    council          text NOT NULL,
    council_number   text NOT NULL,
    council_uf       text NOT NULL,
    content_enc      text NOT NULL,
    version          bigint NOT NULL CHECK (version >= 1),
    status           text NOT NULL CHECK (status IN ('draft', 'locked')),
    -- 'signed' (by its author) or 'auto' (record.auto_lock_hours after creation).
    lock_kind        text CHECK (lock_kind IN ('signed', 'auto')),
    locked_at        timestamptz,
    locked_by        uuid REFERENCES users(id),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX encounters_by_record ON encounters (clinic_id, patient_id, created_at);
CREATE INDEX encounters_drafts ON encounters (created_at) WHERE status = 'draft';

-- A correction or complement to a locked encounter, with its own author and time.
CREATE TABLE encounter_addenda (
    id              uuid PRIMARY KEY,
    encounter_id    uuid NOT NULL REFERENCES encounters(id),
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    patient_id      uuid NOT NULL REFERENCES patients(id),
    author_user_id  uuid NOT NULL REFERENCES users(id),
    council         text,
    council_number  text,
    council_uf      text,
    text_enc        text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX encounter_addenda_by_record ON encounter_addenda (clinic_id, patient_id, created_at);
CREATE INDEX encounter_addenda_by_encounter ON encounter_addenda (encounter_id, created_at);

-- Allergies and intolerances of a patient record.
CREATE TABLE allergies (
    id              uuid PRIMARY KEY,
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    patient_id      uuid NOT NULL REFERENCES patients(id),
    substance_enc   text NOT NULL,
    reaction_enc    text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    status          text NOT NULL CHECK (status IN ('active', 'inactive')),
    recorded_by     uuid NOT NULL REFERENCES users(id),
    created_at      timestamptz NOT NULL,
    updated_by      uuid NOT NULL REFERENCES users(id),
    updated_at      timestamptz NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX allergies_by_record ON allergies (clinic_id, patient_id, created_at);

-- "Break the glass": a professional without a care relationship opened the record for a
-- typed reason (encrypted), until expires_at.
CREATE TABLE record_access_grants (
    id          uuid PRIMARY KEY,
    clinic_id   uuid NOT NULL REFERENCES clinics(id),
    patient_id  uuid NOT NULL REFERENCES patients(id),
    user_id     uuid NOT NULL REFERENCES users(id),
    reason_enc  text NOT NULL,
    granted_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX record_access_grants_by_user ON record_access_grants (user_id, clinic_id, patient_id, expires_at);

CREATE FUNCTION record_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'clinical record rows are never deleted';
END $$;
CREATE FUNCTION record_locked_never_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a locked encounter or an addendum never changes';
END $$;
CREATE TRIGGER encounters_never_deleted BEFORE DELETE ON encounters
    FOR EACH ROW EXECUTE FUNCTION record_never_deleted();
CREATE TRIGGER encounter_addenda_never_deleted BEFORE DELETE ON encounter_addenda
    FOR EACH ROW EXECUTE FUNCTION record_never_deleted();
CREATE TRIGGER allergies_never_deleted BEFORE DELETE ON allergies
    FOR EACH ROW EXECUTE FUNCTION record_never_deleted();
CREATE TRIGGER encounter_addenda_never_changed BEFORE UPDATE ON encounter_addenda
    FOR EACH ROW EXECUTE FUNCTION record_locked_never_changes();
CREATE TRIGGER encounters_locked_never_change BEFORE UPDATE ON encounters
    FOR EACH ROW WHEN (OLD.status = 'locked') EXECUTE FUNCTION record_locked_never_changes();
