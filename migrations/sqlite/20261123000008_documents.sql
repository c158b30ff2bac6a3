-- Signed documents: the installation's CA, professionals' signing keys, documents.

-- The installation's own certification authority (one row), created on first need.
CREATE TABLE signing_ca (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    key_enc     TEXT NOT NULL,  -- encrypted PKCS#8
    cert_der    BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

-- A professional's signing key: issued by the installation CA or imported (PKCS#12).
-- One active key per professional; replaced keys are retired, never deleted (documents
-- point at the key that signed them).
CREATE TABLE signing_keys (
    id               BLOB PRIMARY KEY NOT NULL,
    professional_id  BLOB NOT NULL REFERENCES professionals(id) ON DELETE CASCADE,
    source           TEXT NOT NULL CHECK (source IN ('installation_ca', 'imported')),
    key_enc          TEXT NOT NULL,  -- encrypted PKCS#8
    chain_der        BLOB NOT NULL,  -- DER certificates back to back, signer first
    subject          TEXT NOT NULL,
    issuer           TEXT NOT NULL,
    not_after        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    retired_at       TEXT
);
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (professional_id) WHERE retired_at IS NULL;

CREATE TABLE documents (
    id               BLOB PRIMARY KEY NOT NULL,
    clinic_id        BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_id  BLOB NOT NULL REFERENCES professionals(id) ON DELETE CASCADE,
    patient_id       BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('prescription', 'special_prescription', 'certificate', 'exam_request')),
    content_enc      TEXT NOT NULL,  -- encrypted JSON
    code             TEXT NOT NULL UNIQUE,  -- verification code printed on the document
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
    revoked_reason   TEXT
);
CREATE INDEX documents_patient ON documents (patient_id, created_at);
CREATE INDEX documents_professional ON documents (professional_id, created_at);
CREATE INDEX documents_pending ON documents (created_at) WHERE status = 'pending';
CREATE INDEX documents_sha256 ON documents (sha256);
