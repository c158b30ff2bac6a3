-- Waiting room (PostgreSQL). Keep in step with migrations/sqlite.

CREATE TABLE queue_entries (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    service_date          date NOT NULL,
    ticket                text NOT NULL,
    patient_id            uuid REFERENCES patients(id) ON DELETE SET NULL,
    full_name             text NOT NULL,
    professional_user_id  uuid REFERENCES users(id) ON DELETE SET NULL,
    priority              text NOT NULL,
    priority_rank         integer NOT NULL,
    status                text NOT NULL CHECK (status IN ('waiting', 'called', 'in_service', 'done', 'no_show', 'left')),
    room                  text,
    checked_in_at         timestamptz NOT NULL,
    called_at             timestamptz,
    called_by             uuid REFERENCES users(id) ON DELETE SET NULL,
    service_started_at    timestamptz,
    finished_at           timestamptz,
    recalls               integer NOT NULL DEFAULT 0,
    UNIQUE (clinic_id, service_date, ticket)
);
CREATE INDEX queue_entries_waiting ON queue_entries (clinic_id, service_date, status, priority_rank, checked_in_at);

CREATE TABLE queue_counters (
    clinic_id     uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    service_date  date NOT NULL,
    prefix        text NOT NULL,
    last_number   integer NOT NULL,
    PRIMARY KEY (clinic_id, service_date, prefix)
);
