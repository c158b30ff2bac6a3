-- Waiting room (SQLite): one row per check-in; tickets numbered per clinic, day and prefix.

CREATE TABLE queue_entries (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    service_date          TEXT NOT NULL,
    ticket                TEXT NOT NULL,
    patient_id            BLOB REFERENCES patients(id) ON DELETE SET NULL,
    full_name             TEXT NOT NULL,
    professional_user_id  BLOB REFERENCES users(id) ON DELETE SET NULL,
    priority              TEXT NOT NULL,
    priority_rank         INTEGER NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'in_service', 'done', 'no_show', 'left')),
    room                  TEXT,
    checked_in_at         TEXT NOT NULL,
    called_at             TEXT,
    called_by             BLOB REFERENCES users(id) ON DELETE SET NULL,
    service_started_at    TEXT,
    finished_at           TEXT,
    recalls               INTEGER NOT NULL DEFAULT 0,
    UNIQUE (clinic_id, service_date, ticket)
);
CREATE INDEX queue_entries_waiting ON queue_entries (clinic_id, service_date, status, priority_rank, checked_in_at);

CREATE TABLE queue_counters (
    clinic_id     BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    service_date  TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    last_number   INTEGER NOT NULL,
    PRIMARY KEY (clinic_id, service_date, prefix)
);
