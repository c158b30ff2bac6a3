-- Waiting room settings per clinic, TV panel and self check-in tokens (SQLite).
-- Keep in step with migrations/postgres.

CREATE TABLE queue_settings (
    clinic_id                BLOB PRIMARY KEY NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    -- 'strict': legal priority always first; 'alternate': after priority_run priority
    -- calls in a row, one regular ticket if any is waiting.
    priority_mode            TEXT NOT NULL DEFAULT 'strict' CHECK (priority_mode IN ('strict', 'alternate')),
    priority_run             INTEGER NOT NULL DEFAULT 2 CHECK (priority_run BETWEEN 1 AND 10),
    default_service_minutes  INTEGER NOT NULL DEFAULT 15 CHECK (default_service_minutes BETWEEN 1 AND 240),
    -- SHA-256 of the TV panel's secret (shown once to the admin).
    panel_token_hash         TEXT,
    -- The self check-in code printed as a QR code at reception (re-shown, so kept).
    checkin_token            TEXT UNIQUE,
    updated_at               TEXT NOT NULL
);
CREATE INDEX queue_settings_panel ON queue_settings (panel_token_hash);

-- Recent service times per professional (estimated wait).
CREATE INDEX queue_entries_done ON queue_entries (clinic_id, status, finished_at);
