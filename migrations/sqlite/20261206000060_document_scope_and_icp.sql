-- Scope of practice brings two kinds (attendance declarations for every profession,
-- psychological reports for psychologists), and each signed document records whether its
-- certificate chained to ICP-Brasil (the PDF, the verification page and the ITI reply
-- disclose it when not). SQLite cannot change a CHECK in place: the table is rebuilt with
-- the same columns (nothing references documents), then its indexes.
CREATE TABLE documents_new (
    id               BLOB PRIMARY KEY NOT NULL,
    clinic_id        BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_id  BLOB NOT NULL REFERENCES professionals(id) ON DELETE CASCADE,
    patient_id       BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('prescription', 'special_prescription',
                         'certificate', 'exam_request', 'attendance_declaration',
                         'psychological_report')),
    content_enc      TEXT NOT NULL,
    code             TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'failed')),
    failure          TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    signing_key_id   BLOB REFERENCES signing_keys(id),
    pdf              BLOB,
    sha256           TEXT,
    created_at       TEXT NOT NULL,
    signed_at        TEXT,
    sent_at          TEXT,
    revoked_at       TEXT,
    revoked_reason   TEXT,
    lease_node       TEXT,
    lease_until      TEXT,
    icp_brasil       BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO documents_new (id, clinic_id, professional_id, patient_id, kind, content_enc, code,
    status, failure, attempts, signing_key_id, pdf, sha256, created_at, signed_at, sent_at,
    revoked_at, revoked_reason, lease_node, lease_until)
SELECT id, clinic_id, professional_id, patient_id, kind, content_enc, code, status, failure,
    attempts, signing_key_id, pdf, sha256, created_at, signed_at, sent_at, revoked_at,
    revoked_reason, lease_node, lease_until
FROM documents;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
CREATE INDEX documents_patient ON documents (patient_id, created_at);
CREATE INDEX documents_professional ON documents (professional_id, created_at);
CREATE INDEX documents_pending ON documents (created_at) WHERE status = 'pending';
CREATE INDEX documents_sha256 ON documents (sha256);
