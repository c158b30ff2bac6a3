-- Keyed audit chain: each row carries an HMAC-SHA256 (`<key id>:<hex>`) over its content and
-- the previous row's MAC, under an audit key the database does not hold. Rows written before
-- this migration keep NULL and are checked by their SHA-256 hash chain only (the first keyed
-- row, `audit.keyed` written at the next start, covers their last hash).
ALTER TABLE audit_log ADD COLUMN mac TEXT;

-- Abuse limits read from the database, so they hold across nodes and restarts:
-- a patient's own bookings of the last 24 hours, and sign-ups per address per day.
CREATE INDEX appointments_booked_by ON appointments (booked_by, created_at);
CREATE INDEX audit_log_signups ON audit_log (ip, at) WHERE action = 'auth.signup';
