-- Money, first slice (issue #21): prices per professional, the clinic's Pix receiving
-- account, Pix charges and what the PSP reports about them, and the append-only
-- double-entry ledger. Amounts are integer centavos. Keep in step with migrations/sqlite.

-- A professional's own price for a service of the clinic (the service's price otherwise).
CREATE TABLE service_prices (
    service_id            uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    professional_user_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    clinic_id             uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    price_cents           bigint NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (service_id, professional_user_id)
);
CREATE INDEX service_prices_clinic ON service_prices (clinic_id);

-- Where a clinic receives Pix: its DICT key and the name and city the BR Code carries.
CREATE TABLE pix_settings (
    clinic_id      uuid PRIMARY KEY REFERENCES clinics(id) ON DELETE CASCADE,
    pix_key        text NOT NULL,
    merchant_name  text NOT NULL,
    merchant_city  text NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- One immediate charge (API Pix `cob`) for an appointment, by the txid atende chose.
CREATE TABLE pix_charges (
    txid            text PRIMARY KEY,
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    appointment_id  uuid NOT NULL REFERENCES appointments(id),
    patient_id      uuid NOT NULL REFERENCES patients(id),
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    status          text NOT NULL CHECK (status IN ('active', 'paid', 'expired')),
    br_code         text NOT NULL,
    location        text,
    expires_at      timestamptz NOT NULL,
    created_by      uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    paid_at         timestamptz
);
CREATE INDEX pix_charges_appointment ON pix_charges (appointment_id, created_at);
-- At most one open charge per appointment (two requests at once cannot open two).
CREATE UNIQUE INDEX pix_charges_one_active ON pix_charges (appointment_id) WHERE status = 'active';

-- One Pix received, by its endToEndId: a repeated notification finds it and changes nothing.
CREATE TABLE pix_payments (
    end_to_end_id   text PRIMARY KEY,
    txid            text NOT NULL REFERENCES pix_charges(txid),
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    appointment_id  uuid NOT NULL REFERENCES appointments(id),
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    -- `horario` as the PSP reported it.
    paid_at         timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX pix_payments_appointment ON pix_payments (appointment_id);

-- A refund (devolução) of a Pix received, by the id atende chose.
CREATE TABLE pix_refunds (
    id              text PRIMARY KEY,
    end_to_end_id   text NOT NULL REFERENCES pix_payments(end_to_end_id),
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    appointment_id  uuid NOT NULL REFERENCES appointments(id),
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),
    -- requested (EM_PROCESSAMENTO), returned (DEVOLVIDO), failed (NAO_REALIZADO).
    status          text NOT NULL CHECK (status IN ('requested', 'returned', 'failed')),
    rtr_id          text,
    reason          text NOT NULL DEFAULT '',
    requested_by    uuid REFERENCES users(id) ON DELETE SET NULL,
    requested_at    timestamptz NOT NULL,
    settled_at      timestamptz
);
CREATE INDEX pix_refunds_appointment ON pix_refunds (appointment_id);

-- The ledger: every money movement as lines of one transaction (`txn_id`) whose amounts
-- sum to zero (debit > 0, credit < 0). Rows are never changed nor deleted; a mistake is
-- corrected by a new transaction. (kind, reference, account) is unique, so the same event
-- can never be posted twice.
CREATE TABLE ledger_entries (
    id              bigserial PRIMARY KEY,
    txn_id          uuid NOT NULL,
    clinic_id       uuid NOT NULL REFERENCES clinics(id),
    account         text NOT NULL,
    amount_cents    bigint NOT NULL CHECK (amount_cents <> 0),
    kind            text NOT NULL,
    reference       text NOT NULL,
    appointment_id  uuid REFERENCES appointments(id),
    created_by      uuid REFERENCES users(id),
    created_at      timestamptz NOT NULL,
    UNIQUE (kind, reference, account)
);
CREATE INDEX ledger_entries_clinic_time ON ledger_entries (clinic_id, created_at);
CREATE INDEX ledger_entries_appointment ON ledger_entries (appointment_id);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only';
END $$;
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
