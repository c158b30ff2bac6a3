-- OpenID Connect login for clinic staff: each clinic's connection to its identity provider,
-- and the logins started and not yet finished.

-- One connection per clinic, set by its admin. `client_secret_enc` is encrypted with the
-- field cipher (listed in store::keys::ENCRYPTED_COLUMNS); it is never returned.
CREATE TABLE clinic_oidc (
    clinic_id          BLOB PRIMARY KEY NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    issuer             TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    client_secret_enc  TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    allowed_domain     TEXT,
    updated_at         TEXT NOT NULL,
    updated_by         BLOB REFERENCES users(id) ON DELETE SET NULL
);

-- A login sent to the provider and awaiting its callback: keyed by the hash of `state`,
-- bound to the browser that started it (hash of the `atende_oidc` cookie), single use
-- (`used_at`), short-lived. The nonce is kept as its hash (the ID token carries it back);
-- the PKCE verifier is encrypted (it is sent to the provider at the code exchange).
CREATE TABLE oidc_logins (
    state_hash     TEXT PRIMARY KEY NOT NULL,
    clinic_id      BLOB NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    browser_hash   TEXT NOT NULL,
    nonce_hash     TEXT NOT NULL,
    verifier_enc   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins (expires_at);
