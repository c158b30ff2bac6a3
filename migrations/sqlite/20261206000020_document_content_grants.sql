-- Least privilege for signed documents: their clinical content (the CID of a certificate,
-- a prescription's items, an exam request's indication) and the signed PDF are readable by
-- the issuing professional and the patient; other members of the clinic read them only
-- when the clinic grants their role here (each such read is audited).
CREATE TABLE clinic_document_grants (
    clinic_id   BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('clinic_admin', 'professional', 'receptionist')),
    granted_by  BLOB REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (clinic_id, role)
);
