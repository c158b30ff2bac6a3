-- #21: the front desk's cash register (caixa). A session is opened by one staff member with
-- the cash in the drawer and closed with the count; its movements (payments and refunds in
-- cash, on the card machine, or by Pix at the desk) are never changed nor deleted, and none
-- is added once the session is closed: a correction is an adjustment (admins, audited).
CREATE TABLE cash_sessions (
    id             BLOB PRIMARY KEY NOT NULL,
    clinic_id      BLOB NOT NULL REFERENCES clinics(id),
    opened_by      BLOB NOT NULL REFERENCES users(id),
    opened_at      TEXT NOT NULL,
    opening_cents  INTEGER NOT NULL CHECK (opening_cents >= 0),
    closed_at      TEXT,
    closed_by      BLOB REFERENCES users(id),
    counted_cents  INTEGER,
    expected_cents INTEGER,
    note           TEXT
);
-- One open session per person and clinic.
CREATE UNIQUE INDEX cash_sessions_one_open ON cash_sessions (clinic_id, opened_by) WHERE closed_at IS NULL;
CREATE INDEX cash_sessions_clinic_time ON cash_sessions (clinic_id, opened_at);

CREATE TABLE cash_movements (
    id             BLOB PRIMARY KEY NOT NULL,
    session_id     BLOB NOT NULL REFERENCES cash_sessions(id),
    clinic_id      BLOB NOT NULL REFERENCES clinics(id),
    kind           TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'adjustment')),
    method         TEXT NOT NULL CHECK (method IN ('cash', 'card', 'pix')),
    -- Positive for payments and refunds; an adjustment is signed (+ found, − missing).
    amount_cents   INTEGER NOT NULL CHECK (amount_cents <> 0 AND (kind = 'adjustment' OR amount_cents > 0)),
    appointment_id BLOB REFERENCES appointments(id),
    nsu            TEXT,
    description_enc TEXT NOT NULL,
    created_by     BLOB NOT NULL REFERENCES users(id),
    created_at     TEXT NOT NULL
);
CREATE INDEX cash_movements_session ON cash_movements (session_id, created_at);

CREATE TRIGGER cash_movements_no_update
BEFORE UPDATE OF id, session_id, clinic_id, kind, method, amount_cents, appointment_id, nsu,
                 created_by, created_at ON cash_movements
BEGIN SELECT RAISE(ABORT, 'cash_movements is append-only'); END;
-- The one change allowed: a key rotation rewriting the description under another key.
CREATE TRIGGER cash_movements_description_only_rekeyed
BEFORE UPDATE OF description_enc ON cash_movements
WHEN NOT (NEW.description_enc LIKE 'v1:_%:_%'
          AND substr(NEW.description_enc, 1, instr(substr(NEW.description_enc, 4), ':') + 3)
           <> substr(OLD.description_enc, 1, instr(substr(OLD.description_enc, 4), ':') + 3))
BEGIN SELECT RAISE(ABORT, 'cash_movements is append-only'); END;
CREATE TRIGGER cash_movements_no_delete BEFORE DELETE ON cash_movements
BEGIN SELECT RAISE(ABORT, 'cash_movements is append-only'); END;
CREATE TRIGGER cash_movements_session_open BEFORE INSERT ON cash_movements
WHEN NEW.kind <> 'adjustment'
  AND (SELECT closed_at FROM cash_sessions WHERE id = NEW.session_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'cash session closed'); END;
CREATE TRIGGER cash_sessions_closed_stay_closed BEFORE UPDATE ON cash_sessions
WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'cash session closed'); END;
CREATE TRIGGER cash_sessions_no_delete BEFORE DELETE ON cash_sessions
BEGIN SELECT RAISE(ABORT, 'cash sessions are kept'); END;
