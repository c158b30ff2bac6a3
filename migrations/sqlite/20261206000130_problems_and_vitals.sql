-- The record's structured lists, second part: the problem list (CID-10 coded, active or
-- resolved) and vital signs. Clinical values are encrypted at rest like the rest of the
-- record ("v1:<key id>:<base64>"): the CID-10 code and notes of a problem, the measured
-- values and notes of a set of vital signs. Nothing here is ever deleted.

-- A problem or diagnosis kept across encounters.
CREATE TABLE problems (
    id           BLOB PRIMARY KEY NOT NULL,
    clinic_id    BLOB NOT NULL REFERENCES clinics(id),
    patient_id   BLOB NOT NULL REFERENCES patients(id),
    -- The CID-10 code (J11.1), encrypted: a diagnosis is clinical data.
    code_enc     TEXT NOT NULL,
    notes_enc    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'resolved')),
    -- When it began (a calendar date, as the professional states it), if known.
    onset_date   TEXT,
    resolved_at  TEXT,
    recorded_by  BLOB NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    updated_by   BLOB NOT NULL REFERENCES users(id),
    updated_at   TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX problems_by_record ON problems (clinic_id, patient_id, created_at);

-- One set of vital signs taken together (the values: one encrypted JSON document).
CREATE TABLE vital_signs (
    id           BLOB PRIMARY KEY NOT NULL,
    clinic_id    BLOB NOT NULL REFERENCES clinics(id),
    patient_id   BLOB NOT NULL REFERENCES patients(id),
    values_enc   TEXT NOT NULL,
    notes_enc    TEXT NOT NULL,
    measured_at  TEXT NOT NULL,
    recorded_by  BLOB NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX vital_signs_by_record ON vital_signs (clinic_id, patient_id, measured_at);

CREATE TRIGGER problems_never_deleted BEFORE DELETE ON problems
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
CREATE TRIGGER vital_signs_never_deleted BEFORE DELETE ON vital_signs
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
