-- Agenda (SQLite): services, working hours, exceptions, appointments without double
-- booking, waitlist, single-use links, the message outbox and iCal feeds.
-- Keep in step with migrations/postgres. SQLite has no exclusion constraints: bookings
-- check for overlaps inside the serialized write transaction (src/store/agenda.rs).

CREATE TABLE services (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    -- NULL: offered by every professional of the clinic.
    professional_user_id  BLOB REFERENCES users(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    duration_minutes      INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    price_cents           INTEGER NOT NULL CHECK (price_cents >= 0),
    buffer_before_minutes INTEGER NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 120),
    buffer_after_minutes  INTEGER NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 120),
    teleconsultation      INTEGER NOT NULL DEFAULT 0,
    active                INTEGER NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL
);
CREATE INDEX services_clinic ON services (clinic_id);

-- Booking rules of one professional in one clinic.
CREATE TABLE agenda_settings (
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    min_notice_minutes    INTEGER NOT NULL DEFAULT 120,
    booking_window_days   INTEGER NOT NULL DEFAULT 60,
    daily_limit           integer,
    slot_step_minutes     INTEGER NOT NULL DEFAULT 15,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (clinic_id, professional_user_id)
);

-- Weekly working hours in the clinic's local time; several rows a day leave breaks between.
CREATE TABLE working_hours (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    weekday               INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6), -- 0 = Monday
    start_time            TEXT NOT NULL, -- HH:MM
    end_time              TEXT NOT NULL
);
CREATE INDEX working_hours_pro ON working_hours (clinic_id, professional_user_id);

-- Holidays, vacations (closed) and extra hours, in UTC.
CREATE TABLE agenda_exceptions (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    -- NULL: the whole clinic (a holiday).
    professional_user_id  BLOB REFERENCES users(id) ON DELETE CASCADE,
    kind                  TEXT NOT NULL CHECK (kind IN ('closed', 'extra')),
    starts_at             TEXT NOT NULL,
    ends_at               TEXT NOT NULL CHECK (ends_at > starts_at),
    reason                TEXT NOT NULL DEFAULT '',
    created_at            TEXT NOT NULL
);
CREATE INDEX agenda_exceptions_clinic ON agenda_exceptions (clinic_id, starts_at);

CREATE TABLE appointments (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    professional_user_id  BLOB NOT NULL REFERENCES users(id),
    patient_id            BLOB NOT NULL REFERENCES patients(id),
    service_id            BLOB REFERENCES services(id) ON DELETE SET NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('in_person', 'teleconsultation')),
    status                TEXT NOT NULL CHECK (status IN ('held', 'scheduled', 'confirmed', 'checked_in',
                              'in_progress', 'done', 'cancelled', 'no_show')),
    starts_at             TEXT NOT NULL,
    ends_at               TEXT NOT NULL CHECK (ends_at > starts_at),
    -- The professional's time taken, buffers included.
    block_start           TEXT NOT NULL,
    block_end             TEXT NOT NULL CHECK (block_end > block_start),
    -- For status 'held' (a waitlist offer): when the hold lapses.
    hold_expires_at       TEXT,
    notes                 TEXT NOT NULL DEFAULT '',
    cancel_reason         TEXT,
    booked_by             BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX appointments_clinic_time ON appointments (clinic_id, starts_at);
CREATE INDEX appointments_pro_time ON appointments (professional_user_id, block_start);
CREATE INDEX appointments_patient ON appointments (patient_id, starts_at);

CREATE TABLE waitlist_entries (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id            BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    -- At least one of professional and service.
    professional_user_id  BLOB REFERENCES users(id) ON DELETE CASCADE,
    service_id            BLOB REFERENCES services(id) ON DELETE CASCADE,
    date_from             TEXT NOT NULL,
    date_to               TEXT NOT NULL,
    -- Preferred local times of day (HH:MM), inclusive start, exclusive end.
    time_from             TEXT NOT NULL DEFAULT '00:00',
    time_to               TEXT NOT NULL DEFAULT '24:00',
    status                TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'declined', 'expired', 'cancelled')),
    created_at            TEXT NOT NULL
);
CREATE INDEX waitlist_clinic ON waitlist_entries (clinic_id, status, created_at);

CREATE TABLE waitlist_offers (
    id                    BLOB PRIMARY KEY NOT NULL,
    waitlist_id           BLOB NOT NULL REFERENCES waitlist_entries(id) ON DELETE CASCADE,
    appointment_id        BLOB NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    status                TEXT NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'expired')),
    expires_at            TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    decided_at            TEXT
);
CREATE INDEX waitlist_offers_open ON waitlist_offers (status, expires_at);

-- One-click links that work once: the hash of each used link.
CREATE TABLE used_links (
    token_hash            TEXT PRIMARY KEY,
    purpose               TEXT NOT NULL,
    used_at               TEXT NOT NULL
);

-- Messages to send (e-mail/SMS/WhatsApp delivery is a later feature; it reads this table).
CREATE TABLE outbox (
    id                    BLOB PRIMARY KEY NOT NULL,
    clinic_id             BLOB REFERENCES clinics(id) ON DELETE CASCADE,
    patient_id            BLOB REFERENCES patients(id) ON DELETE CASCADE,
    user_id               BLOB REFERENCES users(id) ON DELETE CASCADE,
    template              TEXT NOT NULL,
    payload               TEXT NOT NULL, -- encrypted JSON (links are capabilities)
    created_at            TEXT NOT NULL,
    sent_at               TEXT
);
CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;

-- Secret iCal feed per professional (hash only; revoking deletes it).
CREATE TABLE ical_feeds (
    professional_user_id  BLOB PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash            TEXT NOT NULL UNIQUE,
    created_at            TEXT NOT NULL
);

-- Waiting room: the day's calls, newest first (panel snapshots, alternate priority mode).
CREATE INDEX queue_entries_calls ON queue_entries (clinic_id, service_date, called_at);
