-- The record's structured lists, second part: the problem list (CID-10 coded, active or
-- resolved) and vital signs. Clinical values are encrypted at rest like the rest of the
-- record ("v1:<key id>:<base64>"): the CID-10 code and notes of a problem, the measured
-- values and notes of a set of vital signs. Nothing here is ever deleted.

-- A problem or diagnosis kept across encounters.
CREATE TABLE problems (
    id           uuid PRIMARY KEY,
    clinic_id    uuid NOT NULL REFERENCES clinics(id),
    patient_id   uuid NOT NULL REFERENCES patients(id),
    -- The CID-10 code (J11.1), encrypted: a diagnosis is clinical data.
    code_enc     text NOT NULL,
    notes_enc    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('active', 'resolved')),
    -- When it began (a calendar date, as the professional states it), if known.
    onset_date   date,
    resolved_at  timestamptz,
    recorded_by  uuid NOT NULL REFERENCES users(id),
    created_at   timestamptz NOT NULL,
    updated_by   uuid NOT NULL REFERENCES users(id),
    updated_at   timestamptz NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX problems_by_record ON problems (clinic_id, patient_id, created_at);

-- One set of vital signs taken together (the values: one encrypted JSON document).
CREATE TABLE vital_signs (
    id           uuid PRIMARY KEY,
    clinic_id    uuid NOT NULL REFERENCES clinics(id),
    patient_id   uuid NOT NULL REFERENCES patients(id),
    values_enc   text NOT NULL,
    notes_enc    text NOT NULL,
    measured_at  timestamptz NOT NULL,
    recorded_by  uuid NOT NULL REFERENCES users(id),
    created_at   timestamptz NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX vital_signs_by_record ON vital_signs (clinic_id, patient_id, measured_at);

CREATE TRIGGER problems_never_deleted BEFORE DELETE ON problems
    FOR EACH ROW EXECUTE FUNCTION record_never_deleted();
CREATE TRIGGER vital_signs_never_deleted BEFORE DELETE ON vital_signs
    FOR EACH ROW EXECUTE FUNCTION record_never_deleted();
