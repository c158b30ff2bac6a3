-- Money, first slice (issue #21): prices per professional, the clinic's Pix receiving
-- account, Pix charges and what the PSP reports about them, and the append-only
-- double-entry ledger. Amounts are integer centavos. Keep in step with migrations/postgres.

-- A professional's own price for a service of the clinic (the service's price otherwise).
CREATE TABLE service_prices (
    service_id            BLOB NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    professional_user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    clinic_id             BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    price_cents           INTEGER NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (service_id, professional_user_id)
);
CREATE INDEX service_prices_clinic ON service_prices (clinic_id);

-- Where a clinic receives Pix: its DICT key and the name and city the BR Code carries.
CREATE TABLE pix_settings (
    clinic_id      BLOB PRIMARY KEY NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    pix_key        TEXT NOT NULL,
    merchant_name  TEXT NOT NULL,
    merchant_city  TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- One immediate charge (API Pix `cob`) for an appointment, by the txid atende chose.
CREATE TABLE pix_charges (
    txid            TEXT PRIMARY KEY,
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    appointment_id  BLOB NOT NULL REFERENCES appointments(id),
    patient_id      BLOB NOT NULL REFERENCES patients(id),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    status          TEXT NOT NULL CHECK (status IN ('active', 'paid', 'expired')),
    br_code         TEXT NOT NULL,
    location        text,
    expires_at      TEXT NOT NULL,
    created_by      BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    paid_at         TEXT
);
CREATE INDEX pix_charges_appointment ON pix_charges (appointment_id, created_at);
-- At most one open charge per appointment (two requests at once cannot open two).
CREATE UNIQUE INDEX pix_charges_one_active ON pix_charges (appointment_id) WHERE status = 'active';

-- One Pix received, by its endToEndId: a repeated notification finds it and changes nothing.
CREATE TABLE pix_payments (
    end_to_end_id   TEXT PRIMARY KEY,
    txid            TEXT NOT NULL REFERENCES pix_charges(txid),
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    appointment_id  BLOB NOT NULL REFERENCES appointments(id),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    -- `horario` as the PSP reported it.
    paid_at         TEXT NOT NULL,
    recorded_at     TEXT NOT NULL
);
CREATE INDEX pix_payments_appointment ON pix_payments (appointment_id);

-- A refund (devolução) of a Pix received, by the id atende chose.
CREATE TABLE pix_refunds (
    id              TEXT PRIMARY KEY,
    end_to_end_id   TEXT NOT NULL REFERENCES pix_payments(end_to_end_id),
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    appointment_id  BLOB NOT NULL REFERENCES appointments(id),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    -- requested (EM_PROCESSAMENTO), returned (DEVOLVIDO), failed (NAO_REALIZADO).
    status          TEXT NOT NULL CHECK (status IN ('requested', 'returned', 'failed')),
    rtr_id          text,
    reason          TEXT NOT NULL DEFAULT '',
    requested_by    BLOB REFERENCES users(id) ON DELETE SET NULL,
    requested_at    TEXT NOT NULL,
    settled_at      TEXT
);
CREATE INDEX pix_refunds_appointment ON pix_refunds (appointment_id);

-- The ledger: every money movement as lines of one transaction (`txn_id`) whose amounts
-- sum to zero (debit > 0, credit < 0). Rows are never changed nor deleted; a mistake is
-- corrected by a new transaction. (kind, reference, account) is unique, so the same event
-- can never be posted twice.
CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_id          BLOB NOT NULL,
    clinic_id       BLOB NOT NULL REFERENCES clinics(id),
    account         TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL CHECK (amount_cents <> 0),
    kind            TEXT NOT NULL,
    reference       TEXT NOT NULL,
    appointment_id  BLOB REFERENCES appointments(id),
    created_by      BLOB REFERENCES users(id),
    created_at      TEXT NOT NULL,
    UNIQUE (kind, reference, account)
);
CREATE INDEX ledger_entries_clinic_time ON ledger_entries (clinic_id, created_at);
CREATE INDEX ledger_entries_appointment ON ledger_entries (appointment_id);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
