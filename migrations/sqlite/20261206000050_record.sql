-- The clinical record (prontuário), first slice: encounters (draft → locked), their addenda,
-- allergies, and time-limited "break the glass" access. Every clinical text is encrypted
-- at rest (AES-256-GCM, "v1:<key id>:<base64>"). Nothing here is ever deleted (CFM
-- 1.821/2007, Law 13.787/2018): the triggers below refuse it, and a locked encounter
-- never changes.

-- One encounter of a patient record (clinic_patients) with one professional, optionally
-- started from an appointment. The clinical fields are one encrypted JSON document.
CREATE TABLE encounters (
    id               BLOB PRIMARY KEY NOT NULL,
    clinic_id        BLOB NOT NULL REFERENCES clinics(id),
    patient_id       BLOB NOT NULL REFERENCES patients(id),
    professional_id  BLOB NOT NULL REFERENCES professionals(id),
    author_user_id   BLOB NOT NULL REFERENCES users(id),
    appointment_id   BLOB REFERENCES appointments(id),
    -- The author's profession was psychology when it was written: readable only by them.
    psychology       INTEGER NOT NULL DEFAULT 0 CHECK (psychology IN (0, 1)),
    -- The author's council registration, as it was on the entry.
    council          TEXT NOT NULL,
    council_number   TEXT NOT NULL,
    council_uf       TEXT NOT NULL,
    content_enc      TEXT NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    status           TEXT NOT NULL CHECK (status IN ('draft', 'locked')),
    -- 'signed' (by its author) or 'auto' (record.auto_lock_hours after creation).
    lock_kind        TEXT CHECK (lock_kind IN ('signed', 'auto')),
    locked_at        TEXT,
    locked_by        BLOB REFERENCES users(id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX encounters_by_record ON encounters (clinic_id, patient_id, created_at);
CREATE INDEX encounters_drafts ON encounters (created_at) WHERE status = 'draft';

-- A correction or complement to a locked encounter, with its own author and time.
CREATE TABLE encounter_addenda (
    id              BLOB PRIMARY KEY NOT NULL,
    encounter_id    BLOB NOT NULL REFERENCES encounters(id),
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    patient_id      BLOB NOT NULL REFERENCES patients(id),
    author_user_id  BLOB NOT NULL REFERENCES users(id),
    council         TEXT,
    council_number  TEXT,
    council_uf      TEXT,
    text_enc        TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX encounter_addenda_by_record ON encounter_addenda (clinic_id, patient_id, created_at);
CREATE INDEX encounter_addenda_by_encounter ON encounter_addenda (encounter_id, created_at);

-- Allergies and intolerances of a patient record.
CREATE TABLE allergies (
    id              BLOB PRIMARY KEY NOT NULL,
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    patient_id      BLOB NOT NULL REFERENCES patients(id),
    substance_enc   TEXT NOT NULL,
    reaction_enc    TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    status          TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    recorded_by     BLOB NOT NULL REFERENCES users(id),
    created_at      TEXT NOT NULL,
    updated_by      BLOB NOT NULL REFERENCES users(id),
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX allergies_by_record ON allergies (clinic_id, patient_id, created_at);

-- "Break the glass": a professional without a care relationship opened the record for a
-- typed reason (encrypted), until expires_at.
CREATE TABLE record_access_grants (
    id          BLOB PRIMARY KEY NOT NULL,
    clinic_id   BLOB NOT NULL REFERENCES clinics(id),
    patient_id  BLOB NOT NULL REFERENCES patients(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    reason_enc  TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX record_access_grants_by_user ON record_access_grants (user_id, clinic_id, patient_id, expires_at);

CREATE TRIGGER encounters_never_deleted BEFORE DELETE ON encounters
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
CREATE TRIGGER encounter_addenda_never_deleted BEFORE DELETE ON encounter_addenda
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
CREATE TRIGGER allergies_never_deleted BEFORE DELETE ON allergies
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
CREATE TRIGGER encounter_addenda_never_changed BEFORE UPDATE ON encounter_addenda
BEGIN SELECT RAISE(ABORT, 'addenda never change'); END;
CREATE TRIGGER encounters_locked_never_change BEFORE UPDATE ON encounters
WHEN OLD.status = 'locked'
BEGIN SELECT RAISE(ABORT, 'a locked encounter never changes'); END;
