-- Waiting room settings per clinic, TV panel and self check-in tokens (PostgreSQL).
-- Keep in step with migrations/sqlite.

CREATE TABLE queue_settings (
    clinic_id                uuid PRIMARY KEY REFERENCES clinics(id) ON DELETE CASCADE,
    priority_mode            text NOT NULL DEFAULT 'strict' CHECK (priority_mode IN ('strict', 'alternate')),
    priority_run             integer NOT NULL DEFAULT 2 CHECK (priority_run BETWEEN 1 AND 10),
    default_service_minutes  integer NOT NULL DEFAULT 15 CHECK (default_service_minutes BETWEEN 1 AND 240),
    panel_token_hash         text,
    checkin_token            text UNIQUE,
    updated_at               timestamptz NOT NULL
);
CREATE INDEX queue_settings_panel ON queue_settings (panel_token_hash);

CREATE INDEX queue_entries_done ON queue_entries (clinic_id, status, finished_at);
