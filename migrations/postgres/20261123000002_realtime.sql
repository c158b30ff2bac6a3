-- Real-time core (PostgreSQL). Keep in step with migrations/sqlite.

CREATE TABLE topic_seqs (
    topic     text PRIMARY KEY,
    last_seq  bigint NOT NULL
);

CREATE TABLE topic_events (
    topic        text NOT NULL,
    seq          bigint NOT NULL,
    event        text NOT NULL,
    payload_enc  text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (topic, seq)
);

CREATE TABLE ws_tickets (
    ticket_hash  text PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id   uuid NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

CREATE TABLE chat_rooms (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    kind                  text NOT NULL CHECK (kind IN ('patient', 'staff')),
    patient_id            uuid REFERENCES patients(id) ON DELETE CASCADE,
    professional_user_id  uuid REFERENCES users(id) ON DELETE CASCADE,
    created_at            timestamptz NOT NULL,
    CHECK ((kind = 'staff' AND patient_id IS NULL AND professional_user_id IS NULL)
        OR (kind = 'patient' AND patient_id IS NOT NULL AND professional_user_id IS NOT NULL))
);
CREATE UNIQUE INDEX chat_rooms_one_per_pair ON chat_rooms (clinic_id, patient_id, professional_user_id)
    WHERE kind = 'patient';
CREATE UNIQUE INDEX chat_rooms_one_staff_room ON chat_rooms (clinic_id) WHERE kind = 'staff';

CREATE TABLE chat_messages (
    room_id         uuid NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    id              uuid NOT NULL,
    sender_user_id  uuid NOT NULL REFERENCES users(id),
    body_enc        text NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (room_id, seq),
    UNIQUE (room_id, id)
);
