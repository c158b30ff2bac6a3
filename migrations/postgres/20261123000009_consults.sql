-- Teleconsultation sessions: one per appointment of kind teleconsultation, created when
-- someone first enters it.
CREATE TABLE consult_sessions (
    appointment_id   uuid PRIMARY KEY REFERENCES appointments(id) ON DELETE CASCADE,
    clinic_id        uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    status           text NOT NULL CHECK (status IN ('scheduled', 'waiting', 'in_call', 'ended')),
    ended_reason     text,
    participants     text NOT NULL DEFAULT '[]',  -- JSON: [{role, name, first_at}]
    created_at       timestamptz NOT NULL,
    waiting_at       timestamptz,
    admitted_at      timestamptz,
    ended_at         timestamptz
);
