-- #21: the front desk's cash register (caixa). A session is opened by one staff member with
-- the cash in the drawer and closed with the count; its movements (payments and refunds in
-- cash, on the card machine, or by Pix at the desk) are never changed nor deleted, and none
-- is added once the session is closed: a correction is an adjustment (admins, audited).
CREATE TABLE cash_sessions (
    id             uuid PRIMARY KEY,
    clinic_id      uuid NOT NULL REFERENCES clinics(id),
    opened_by      uuid NOT NULL REFERENCES users(id),
    opened_at      timestamptz NOT NULL,
    opening_cents  bigint NOT NULL CHECK (opening_cents >= 0),
    closed_at      timestamptz,
    closed_by      uuid REFERENCES users(id),
    counted_cents  bigint,
    expected_cents bigint,
    note           text
);
-- One open session per person and clinic.
CREATE UNIQUE INDEX cash_sessions_one_open ON cash_sessions (clinic_id, opened_by) WHERE closed_at IS NULL;
CREATE INDEX cash_sessions_clinic_time ON cash_sessions (clinic_id, opened_at);

CREATE TABLE cash_movements (
    id             uuid PRIMARY KEY,
    session_id     uuid NOT NULL REFERENCES cash_sessions(id),
    clinic_id      uuid NOT NULL REFERENCES clinics(id),
    kind           text NOT NULL CHECK (kind IN ('payment', 'refund', 'adjustment')),
    method         text NOT NULL CHECK (method IN ('cash', 'card', 'pix')),
    -- Positive for payments and refunds; an adjustment is signed (+ found, − missing).
    amount_cents   bigint NOT NULL CHECK (amount_cents <> 0 AND (kind = 'adjustment' OR amount_cents > 0)),
    appointment_id uuid REFERENCES appointments(id),
    nsu            text,
    description_enc text NOT NULL,
    created_by     uuid NOT NULL REFERENCES users(id),
    created_at     timestamptz NOT NULL
);
CREATE INDEX cash_movements_session ON cash_movements (session_id, created_at);

CREATE FUNCTION cash_movements_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash_movements is append-only';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- The one change allowed: a key rotation rewriting the description under another key.
        IF (to_jsonb(NEW) - 'description_enc') = (to_jsonb(OLD) - 'description_enc')
           AND NEW.description_enc LIKE 'v1:_%:_%'
           AND split_part(NEW.description_enc, ':', 2) <> split_part(OLD.description_enc, ':', 2) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'cash_movements is append-only';
    END IF;
    IF NEW.kind <> 'adjustment'
       AND (SELECT closed_at FROM cash_sessions WHERE id = NEW.session_id) IS NOT NULL THEN
        RAISE EXCEPTION 'cash session closed';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cash_movements_guard BEFORE INSERT OR UPDATE OR DELETE ON cash_movements
FOR EACH ROW EXECUTE FUNCTION cash_movements_guard();

CREATE FUNCTION cash_sessions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cash sessions are kept';
    END IF;
    IF OLD.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'cash session closed';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cash_sessions_guard BEFORE UPDATE OR DELETE ON cash_sessions
FOR EACH ROW EXECUTE FUNCTION cash_sessions_guard();
