-- #18: the words a clinic wrote for its e-mails to patients (subject and body with
-- {{variables}}, checked when saved); no row: the built-in words of that message.
CREATE TABLE clinic_message_texts (
    clinic_id   uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    template    text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    updated_by  uuid REFERENCES users(id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (clinic_id, template)
);
