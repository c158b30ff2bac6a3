-- A professional can take back an invitation to a teleconsultation: the guest's link stops
-- working and their open connections are closed.
ALTER TABLE consult_guests ADD COLUMN revoked_at TEXT;
