-- Outbox delivery (#18): each message's channel, state, attempts, lease and last error, the
-- appointment it is about, the address it went to; per-clinic sender and reminder settings;
-- the reminders already queued; password reset tokens.

ALTER TABLE outbox ADD COLUMN channel text NOT NULL DEFAULT 'email';
ALTER TABLE outbox ADD COLUMN status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dead', 'cancelled'));
ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0;
-- When the message may next be tried (queued, failed), or when a `sending` lease runs out.
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE outbox ADD COLUMN lease_owner text;
ALTER TABLE outbox ADD COLUMN last_error text;
ALTER TABLE outbox ADD COLUMN to_address text;
ALTER TABLE outbox ADD COLUMN appointment_id uuid REFERENCES appointments(id) ON DELETE SET NULL;
ALTER TABLE outbox ADD COLUMN updated_at timestamptz;
UPDATE outbox SET status = 'sent' WHERE sent_at IS NOT NULL;
UPDATE outbox SET next_attempt_at = created_at, updated_at = COALESCE(sent_at, created_at);
DROP INDEX outbox_unsent;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('queued', 'sending', 'failed');
CREATE INDEX outbox_by_patient ON outbox (patient_id, created_at);
CREATE INDEX outbox_by_appointment ON outbox (appointment_id);

-- How a clinic's messages go out; no row: the defaults (clinic name, 24 h and 2 h, 21:00-08:00).
CREATE TABLE clinic_messaging (
    clinic_id         uuid PRIMARY KEY REFERENCES clinics(id) ON DELETE CASCADE,
    sender_name       text,
    reply_to          text,
    reminders_enabled boolean NOT NULL DEFAULT true,
    -- Minutes before the appointment, comma separated (e.g. '1440,120').
    reminder_offsets  text NOT NULL DEFAULT '1440,120',
    quiet_start       text NOT NULL DEFAULT '21:00',
    quiet_end         text NOT NULL DEFAULT '08:00',
    updated_at        timestamptz NOT NULL
);

-- One row per reminder queued: an appointment, its start at the time, the offset. A moved
-- appointment has a new start, so its reminders are queued again for the new time.
CREATE TABLE appointment_reminders (
    appointment_id    uuid NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    starts_at         timestamptz NOT NULL,
    offset_minutes    integer NOT NULL,
    outbox_id         uuid,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (appointment_id, starts_at, offset_minutes)
);

-- Password reset links: the hash of the token only; single use, short life.
CREATE TABLE password_resets (
    token_hash        text PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    used_at           timestamptz
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
