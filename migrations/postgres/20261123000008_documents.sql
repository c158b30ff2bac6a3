-- Signed documents: the installation's CA, professionals' signing keys, documents.

-- The installation's own certification authority (one row), created on first need.
CREATE TABLE signing_ca (
    id          integer PRIMARY KEY CHECK (id = 1),
    key_enc     text NOT NULL,  -- encrypted PKCS#8
    cert_der    bytea NOT NULL,
    created_at  timestamptz NOT NULL
);

-- A professional's signing key: issued by the installation CA or imported (PKCS#12).
-- One active key per professional; replaced keys are retired, never deleted (documents
-- point at the key that signed them).
CREATE TABLE signing_keys (
    id               uuid PRIMARY KEY,
    professional_id  uuid NOT NULL REFERENCES professionals(id) ON DELETE CASCADE,
    source           text NOT NULL CHECK (source IN ('installation_ca', 'imported')),
    key_enc          text NOT NULL,  -- encrypted PKCS#8
    chain_der        bytea NOT NULL,  -- DER certificates back to back, signer first
    subject          text NOT NULL,
    issuer           text NOT NULL,
    not_after        timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    retired_at       timestamptz
);
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (professional_id) WHERE retired_at IS NULL;

CREATE TABLE documents (
    id               uuid PRIMARY KEY,
    clinic_id        uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_id  uuid NOT NULL REFERENCES professionals(id) ON DELETE CASCADE,
    patient_id       uuid NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('prescription', 'special_prescription', 'certificate', 'exam_request')),
    content_enc      text NOT NULL,  -- encrypted JSON
    code             text NOT NULL UNIQUE,  -- verification code printed on the document
    status           text NOT NULL CHECK (status IN ('pending', 'signed', 'failed')),
    failure          text,
    attempts         integer NOT NULL DEFAULT 0,
    signing_key_id   uuid REFERENCES signing_keys(id),
    pdf              bytea,
    sha256           text,
    created_at       timestamptz NOT NULL,
    signed_at        timestamptz,
    sent_at          timestamptz,
    revoked_at       timestamptz,
    revoked_reason   text
);
CREATE INDEX documents_patient ON documents (patient_id, created_at);
CREATE INDEX documents_professional ON documents (professional_id, created_at);
CREATE INDEX documents_pending ON documents (created_at) WHERE status = 'pending';
CREATE INDEX documents_sha256 ON documents (sha256);
