-- WhatsApp channel and messaging consent (#18): the provider's id of each message sent (its
-- status callbacks name it) and the receipt it reported (delivered, then read: never
-- backwards); whether a clinic's reminders go by WhatsApp; each patient's opt-in/opt-out per
-- channel with its time and source; the inbound webhook events already handled (the
-- provider retries, each acts once).

ALTER TABLE outbox ADD COLUMN provider_message_id TEXT;
-- NULL, 'delivered' or 'read' (a message in state 'sent' shows it as its state).
ALTER TABLE outbox ADD COLUMN receipt TEXT CHECK (receipt IN ('delivered', 'read'));
ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
ALTER TABLE outbox ADD COLUMN read_at TEXT;
CREATE INDEX outbox_by_provider_id ON outbox (provider_message_id);

ALTER TABLE clinic_messaging ADD COLUMN whatsapp_enabled INTEGER NOT NULL DEFAULT 0;

-- The current choice per patient and channel; no row: reminders may go (the care the patient
-- contracted). Each change also leaves an audit row.
CREATE TABLE message_consents (
    patient_id  BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms')),
    opted_in    INTEGER NOT NULL,
    -- 'signup', 'clinic', 'link' or 'reply'.
    source      TEXT NOT NULL CHECK (source IN ('signup', 'clinic', 'link', 'reply')),
    changed_at  TEXT NOT NULL,
    PRIMARY KEY (patient_id, channel)
);

CREATE TABLE webhook_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
