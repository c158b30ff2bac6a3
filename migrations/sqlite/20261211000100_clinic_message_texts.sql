-- #18: the words a clinic wrote for its e-mails to patients (subject and body with
-- {{variables}}, checked when saved); no row: the built-in words of that message.
CREATE TABLE clinic_message_texts (
    clinic_id   BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    template    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_by  BLOB REFERENCES users(id) ON DELETE SET NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (clinic_id, template)
);
