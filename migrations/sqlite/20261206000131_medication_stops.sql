-- Medications in use come from the prescriptions issued in atende (documents); a
-- professional marks one of a prescription's medicines as stopped, with a reason (encrypted).
-- A stop is final (to resume, prescribe again) and never deleted.
CREATE TABLE medication_stops (
    id           BLOB PRIMARY KEY NOT NULL,
    clinic_id    BLOB NOT NULL REFERENCES clinics(id),
    patient_id   BLOB NOT NULL REFERENCES patients(id),
    document_id  BLOB NOT NULL REFERENCES documents(id),
    -- The medicine's position in the prescription (0-based).
    item         INTEGER NOT NULL CHECK (item >= 0),
    reason_enc   TEXT NOT NULL,
    stopped_by   BLOB NOT NULL REFERENCES users(id),
    stopped_at   TEXT NOT NULL,
    UNIQUE (document_id, item),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES clinic_patients(clinic_id, patient_id)
);
CREATE INDEX medication_stops_by_record ON medication_stops (clinic_id, patient_id);

CREATE TRIGGER medication_stops_never_deleted BEFORE DELETE ON medication_stops
BEGIN SELECT RAISE(ABORT, 'clinical record rows are never deleted'); END;
