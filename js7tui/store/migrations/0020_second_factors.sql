-- CERTIFICATE and FIDO identity services, first and second factor (issue 20).

-- Single-use login challenges: a certificate login signs one, a FIDO login asserts one. A row
-- is marked used the moment a response is checked (right or wrong), so a challenge answers
-- one attempt only; a response to a used or expired challenge is refused.
CREATE TABLE login_challenges (
    id           TEXT PRIMARY KEY,            -- random, 128 bits, base64url
    service_id   INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    account_name TEXT NOT NULL,               -- '' when a single-factor login names no account
    kind         TEXT NOT NULL CHECK (kind IN ('certificate', 'fido', 'fido-registration')),
    payload      TEXT NOT NULL,               -- JSON: the signed text, or fido2's state
    pending_id   TEXT,                        -- the waiting first-factor login it completes
    created      TEXT NOT NULL,
    expires      TEXT NOT NULL,
    used         TEXT
);
CREATE INDEX login_challenges_expires ON login_challenges(expires);

-- A first factor that succeeded on a TWO-FACTOR service, waiting for its second factor. The
-- client holds the token (only its SHA-256 is kept); what the first factor's providers
-- returned (OIDC or Vault tokens) is sealed.
CREATE TABLE pending_logins (
    token_hash   TEXT PRIMARY KEY,
    account_name TEXT NOT NULL,
    typed_account TEXT NOT NULL,
    source       TEXT NOT NULL,
    second_service_id INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    subjects     TEXT NOT NULL,               -- sealed JSON
    details      TEXT NOT NULL,               -- JSON [[service, message], ...]
    created      TEXT NOT NULL,
    expires      TEXT NOT NULL
);

-- The certificate (its public key) a CERTIFICATE service accepts for an account. Bound when an
-- administrator binds it, or on the first accepted login when the service binds on first use;
-- reset by an administrator (recovery: a lost key, a new certificate with a new key).
CREATE TABLE certificate_bindings (
    service_id   INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    account_name TEXT NOT NULL,
    spki_sha256  TEXT NOT NULL,
    cert_pem     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    bound        TEXT NOT NULL,
    bound_by     TEXT NOT NULL,
    PRIMARY KEY (service_id, account_name)
);

-- FIDO2 credentials, several per account; the account is the first factor's account name
-- when the service is a second factor. sign_count is the highest counter seen: an assertion
-- whose counter does not grow (a cloned authenticator) is refused. A removed device keeps its
-- row (removed set) so that its next use is refused as "removed", not as unknown.
CREATE TABLE fido_devices (
    id              INTEGER PRIMARY KEY,
    service_id      INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    account_name    TEXT NOT NULL,
    credential_id   TEXT NOT NULL,            -- base64url
    credential_data TEXT NOT NULL,            -- base64url of fido2's AttestedCredentialData
    sign_count      INTEGER NOT NULL DEFAULT 0,
    name            TEXT NOT NULL,
    created         TEXT NOT NULL,
    last_used       TEXT,
    removed         TEXT,                     -- removed by an administrator: refused, said so
    UNIQUE (service_id, credential_id)
);
CREATE INDEX fido_devices_account ON fido_devices(service_id, account_name);

-- Registrations a person requested, waiting for an administrator (JS7's IAM_FIDO2_REGISTRATIONS):
-- approved creates the account (if the service keeps accounts) and its device; deferred keeps
-- the request, refused until approved.
CREATE TABLE fido_registrations (
    id              INTEGER PRIMARY KEY,
    service_id      INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    account_name    TEXT NOT NULL,
    email           TEXT,
    credential_id   TEXT NOT NULL,
    credential_data TEXT NOT NULL,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    device_name     TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'deferred', 'approved')),
    requested       TEXT NOT NULL,
    source          TEXT NOT NULL,
    decided         TEXT,
    decided_by      TEXT
);
