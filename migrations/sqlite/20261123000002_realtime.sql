-- Real-time core (SQLite): per-topic sequence numbers and the event log that lets a
-- client resume, WebSocket tickets, and chat rooms (the first entity with live events).

CREATE TABLE topic_seqs (
    topic     TEXT PRIMARY KEY NOT NULL,
    last_seq  INTEGER NOT NULL
);

-- Every persisted push, so a client that rejoins with `since` gets exactly what it missed.
-- Payloads are encrypted like clinical text (they may carry chat bodies).
CREATE TABLE topic_events (
    topic        TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event        TEXT NOT NULL,
    payload_enc  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (topic, seq)
);

-- Short-lived single-use tickets for opening a WebSocket (browsers cannot set headers).
CREATE TABLE ws_tickets (
    ticket_hash  TEXT PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id   BLOB NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);

CREATE TABLE chat_rooms (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('patient', 'staff')),
    patient_id            BLOB REFERENCES patients(id) ON DELETE CASCADE,
    professional_user_id  BLOB REFERENCES users(id) ON DELETE CASCADE,
    created_at            TEXT NOT NULL,
    CHECK ((kind = 'staff' AND patient_id IS NULL AND professional_user_id IS NULL)
        OR (kind = 'patient' AND patient_id IS NOT NULL AND professional_user_id IS NOT NULL))
);
CREATE UNIQUE INDEX chat_rooms_one_per_pair ON chat_rooms (clinic_id, patient_id, professional_user_id)
    WHERE kind = 'patient';
CREATE UNIQUE INDEX chat_rooms_one_staff_room ON chat_rooms (clinic_id) WHERE kind = 'staff';

CREATE TABLE chat_messages (
    room_id         BLOB NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    id              BLOB NOT NULL,
    sender_user_id  BLOB NOT NULL REFERENCES users(id),
    body_enc        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (room_id, seq),
    UNIQUE (room_id, id)
);
