-- Sign-up confirms the e-mail before the account exists (#16): a request waits here, with
-- only the hash of the token its e-mailed link carries, until the link is opened (once,
-- within 24 hours). The address is kept as a blind index; the identity sealed.

CREATE TABLE pending_signups (
    id                BLOB PRIMARY KEY NOT NULL,
    -- SHA-256 (hex) of the link's 256-bit token.
    token_hash        TEXT NOT NULL UNIQUE,
    -- HMAC blind index of the e-mail (lower case), never the address itself.
    email_index       TEXT NOT NULL,
    -- The sign-up's e-mail, name, social name, CPF, birth date and phone: sealed JSON.
    identity_enc      TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    terms_version     TEXT NOT NULL,
    -- Where the request (and so the acceptance of the terms) came from.
    ip                TEXT,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    used_at           TEXT
);
CREATE INDEX pending_signups_by_expiry ON pending_signups (expires_at);
CREATE INDEX pending_signups_by_email ON pending_signups (email_index);

-- The per-address daily sign-up limit now counts requests (the account comes later).
DROP INDEX audit_log_signups;
CREATE INDEX audit_log_signups ON audit_log (ip, at) WHERE action = 'auth.signup_requested';
