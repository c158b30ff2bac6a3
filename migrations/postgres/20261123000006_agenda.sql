-- Agenda (PostgreSQL): services, working hours, exceptions, appointments without double
-- booking, waitlist, single-use links, the message outbox and iCal feeds.
-- Keep in step with migrations/sqlite.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE services (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    -- NULL: offered by every professional of the clinic.
    professional_user_id  uuid REFERENCES users(id) ON DELETE CASCADE,
    name                  text NOT NULL,
    duration_minutes      integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    price_cents           bigint NOT NULL CHECK (price_cents >= 0),
    buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 120),
    buffer_after_minutes  integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 120),
    teleconsultation      boolean NOT NULL DEFAULT false,
    active                boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL
);
CREATE INDEX services_clinic ON services (clinic_id);

-- Booking rules of one professional in one clinic.
CREATE TABLE agenda_settings (
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    min_notice_minutes    integer NOT NULL DEFAULT 120,
    booking_window_days   integer NOT NULL DEFAULT 60,
    daily_limit           integer,
    slot_step_minutes     integer NOT NULL DEFAULT 15,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (clinic_id, professional_user_id)
);

-- Weekly working hours in the clinic's local time; several rows a day leave breaks between.
CREATE TABLE working_hours (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    weekday               integer NOT NULL CHECK (weekday BETWEEN 0 AND 6), -- 0 = Monday
    start_time            text NOT NULL, -- HH:MM
    end_time              text NOT NULL
);
CREATE INDEX working_hours_pro ON working_hours (clinic_id, professional_user_id);

-- Holidays, vacations (closed) and extra hours, in UTC.
CREATE TABLE agenda_exceptions (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    -- NULL: the whole clinic (a holiday).
    professional_user_id  uuid REFERENCES users(id) ON DELETE CASCADE,
    kind                  text NOT NULL CHECK (kind IN ('closed', 'extra')),
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL CHECK (ends_at > starts_at),
    reason                text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL
);
CREATE INDEX agenda_exceptions_clinic ON agenda_exceptions (clinic_id, starts_at);

CREATE TABLE appointments (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  uuid NOT NULL REFERENCES users(id),
    patient_id            uuid NOT NULL REFERENCES patients(id),
    service_id            uuid REFERENCES services(id) ON DELETE SET NULL,
    kind                  text NOT NULL CHECK (kind IN ('in_person', 'teleconsultation')),
    status                text NOT NULL CHECK (status IN ('held', 'scheduled', 'confirmed', 'checked_in',
                              'in_progress', 'done', 'cancelled', 'no_show')),
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL CHECK (ends_at > starts_at),
    -- The professional's time taken, buffers included.
    block_start           timestamptz NOT NULL,
    block_end             timestamptz NOT NULL CHECK (block_end > block_start),
    -- For status 'held' (a waitlist offer): when the hold lapses.
    hold_expires_at       timestamptz,
    notes                 text NOT NULL DEFAULT '',
    cancel_reason         text,
    booked_by             uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    -- No double booking, whatever the clinic: one professional, one patient at a time.
    CONSTRAINT appointments_professional_overlap EXCLUDE USING gist (
        professional_user_id WITH =, tstzrange(block_start, block_end, '[)') WITH &&)
        WHERE (status NOT IN ('cancelled', 'no_show')),
    CONSTRAINT appointments_patient_overlap EXCLUDE USING gist (
        patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE (status NOT IN ('cancelled', 'no_show'))
);
CREATE INDEX appointments_clinic_time ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_pro_time ON appointments (professional_user_id, block_start);
CREATE INDEX appointments_patient ON appointments (patient_id, starts_at);

CREATE TABLE waitlist_entries (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id            uuid NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    -- At least one of professional and service.
    professional_user_id  uuid REFERENCES users(id) ON DELETE CASCADE,
    service_id            uuid REFERENCES services(id) ON DELETE CASCADE,
    date_from             date NOT NULL,
    date_to               date NOT NULL,
    -- Preferred local times of day (HH:MM), inclusive start, exclusive end.
    time_from             text NOT NULL DEFAULT '00:00',
    time_to               text NOT NULL DEFAULT '24:00',
    status                text NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'declined', 'expired', 'cancelled')),
    created_at            timestamptz NOT NULL
);
CREATE INDEX waitlist_clinic ON waitlist_entries (clinic_id, status, created_at);

CREATE TABLE waitlist_offers (
    id                    uuid PRIMARY KEY,
    waitlist_id           uuid NOT NULL REFERENCES waitlist_entries(id) ON DELETE CASCADE,
    appointment_id        uuid NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    status                text NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'expired')),
    expires_at            timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    decided_at            timestamptz
);
CREATE INDEX waitlist_offers_open ON waitlist_offers (status, expires_at);

-- One-click links that work once: the hash of each used link.
CREATE TABLE used_links (
    token_hash            text PRIMARY KEY,
    purpose               text NOT NULL,
    used_at               timestamptz NOT NULL
);

-- Messages to send (e-mail/SMS/WhatsApp delivery is a later feature; it reads this table).
CREATE TABLE outbox (
    id                    uuid PRIMARY KEY,
    clinic_id             uuid REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id            uuid REFERENCES patients(id) ON DELETE CASCADE,
    user_id               uuid REFERENCES users(id) ON DELETE CASCADE,
    template              text NOT NULL,
    payload               text NOT NULL, -- encrypted JSON (links are capabilities)
    created_at            timestamptz NOT NULL,
    sent_at               timestamptz
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- Secret iCal feed per professional (hash only; revoking deletes it).
CREATE TABLE ical_feeds (
    professional_user_id  uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    token_hash            text NOT NULL UNIQUE,
    created_at            timestamptz NOT NULL
);

-- Waiting room: the day's calls, newest first (panel snapshots, alternate priority mode).
CREATE INDEX queue_entries_calls ON queue_entries (clinic_id, service_date, called_at);
