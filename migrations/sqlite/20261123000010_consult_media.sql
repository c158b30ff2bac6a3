-- Teleconsultation media: how the call's media flows (peer to peer, or through atende's
-- relay), when someone was last connected to it (a call nobody attends ends), and the
-- third participants (interpreter, family member) a professional invited.
ALTER TABLE consult_sessions ADD COLUMN media TEXT NOT NULL DEFAULT 'p2p' CHECK (media IN ('p2p', 'relay'));
ALTER TABLE consult_sessions ADD COLUMN last_presence_at TEXT;

CREATE TABLE consult_guests (
    id              BLOB PRIMARY KEY NOT NULL,
    appointment_id  BLOB NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    relation        TEXT NOT NULL CHECK (relation IN ('interpreter', 'family')),
    invited_by      BLOB NOT NULL REFERENCES users(id),
    created_at      TEXT NOT NULL
);
CREATE INDEX consult_guests_by_appointment ON consult_guests (appointment_id);
