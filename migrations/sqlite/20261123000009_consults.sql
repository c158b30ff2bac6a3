-- Teleconsultation sessions: one per appointment of kind teleconsultation, created when
-- someone first enters it.
CREATE TABLE consult_sessions (
    appointment_id   BLOB PRIMARY KEY NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    clinic_id        BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('scheduled', 'waiting', 'in_call', 'ended')),
    ended_reason     TEXT,
    participants     TEXT NOT NULL DEFAULT '[]',  -- JSON: [{role, name, first_at}]
    created_at       TEXT NOT NULL,
    waiting_at       TEXT,
    admitted_at      TEXT,
    ended_at         TEXT
);
