-- A waiting-room entry checked in for an appointment: ordered by the appointment's time,
-- and its moves (check-in, start, finish, no-show) feed the appointment's status.
ALTER TABLE queue_entries ADD COLUMN appointment_id BLOB REFERENCES appointments(id) ON DELETE SET NULL;
ALTER TABLE queue_entries ADD COLUMN appointment_at TEXT;
CREATE INDEX queue_entries_appointment ON queue_entries (appointment_id);
