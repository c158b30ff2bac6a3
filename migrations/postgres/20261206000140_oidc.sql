-- OpenID Connect login for clinic staff: each clinic's connection to its identity provider,
-- and the logins started and not yet finished.

-- One connection per clinic, set by its admin. `client_secret_enc` is encrypted with the
-- field cipher (listed in store::keys::ENCRYPTED_COLUMNS); it is never returned.
CREATE TABLE clinic_oidc (
    clinic_id          uuid PRIMARY KEY REFERENCES clinics(id) ON DELETE CASCADE,
    issuer             text NOT NULL,
    client_id          text NOT NULL,
    client_secret_enc  text NOT NULL,
    display_name       text NOT NULL,
    allowed_domain     text,
    updated_at         timestamptz NOT NULL,
    updated_by         uuid REFERENCES users(id) ON DELETE SET NULL
);

-- A login sent to the provider and awaiting its callback: keyed by the hash of `state`,
-- bound to the browser that started it (hash of the `atende_oidc` cookie), single use
-- (`used_at`), short-lived. The nonce is kept as its hash (the ID token carries it back);
-- the PKCE verifier is encrypted (it is sent to the provider at the code exchange).
CREATE TABLE oidc_logins (
    state_hash     text PRIMARY KEY,
    clinic_id      uuid NOT NULL REFERENCES clinics(id) ON DELETE CASCADE,
    browser_hash   text NOT NULL,
    nonce_hash     text NOT NULL,
    verifier_enc   text NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins (expires_at);
