-- The certificate authority: its CA certificates (root, issuing intermediate), every issued
-- certificate with purpose, owner, validity and status, the CRLs, and PKI settings.
-- Private keys (CA keys, kept leaf keys) are PKCS#8 PEM in these rows; the store file is 0600
-- and no key ever reaches a log or the audit log.

CREATE TABLE pki_authorities (
    role        TEXT PRIMARY KEY CHECK (role IN ('ROOT', 'INTERMEDIATE')),
    subject     TEXT NOT NULL,
    serial      TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    not_before  TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    cert_pem    TEXT NOT NULL,
    key_pem     TEXT,                          -- NULL: exported (offline) or external CA
    origin      TEXT NOT NULL CHECK (origin IN ('BUILT-IN', 'IMPORTED')),
    key_removed TEXT,                          -- when the key left the store
    created     TEXT NOT NULL
);

CREATE TABLE pki_certificates (
    id                INTEGER PRIMARY KEY,
    serial            TEXT UNIQUE,             -- lower-case hex; NULL while a CSR is pending
    purpose           TEXT NOT NULL
                      CHECK (purpose IN ('console', 'controller', 'agent', 'user', 'signing')),
    name              TEXT NOT NULL,           -- component name or account
    owner             TEXT NOT NULL DEFAULT '',-- the account a user/signing certificate is for
    subject           TEXT NOT NULL,
    issuer            TEXT NOT NULL DEFAULT '',
    san               TEXT NOT NULL DEFAULT '[]', -- JSON list of "DNS:x", "IP:x", "email:x", "URI:x"
    key_type          TEXT NOT NULL,
    not_before        TEXT,
    not_after         TEXT,
    status            TEXT NOT NULL CHECK (status IN ('PENDING', 'VALID', 'REVOKED')),
    cert_pem          TEXT,
    key_pem           TEXT,                    -- only while held: before export, or kept on request
    keep_key          INTEGER NOT NULL DEFAULT 0,
    csr_pem           TEXT,
    replaces_id       INTEGER REFERENCES pki_certificates(id),
    exported          TEXT,                    -- last bundle or key export
    import_confirmed  TEXT,
    revoked_at        TEXT,
    revocation_reason TEXT,
    created           TEXT NOT NULL,
    created_by        TEXT NOT NULL
);
CREATE INDEX pki_certificates_name ON pki_certificates(purpose, name);
CREATE INDEX pki_certificates_not_after ON pki_certificates(status, not_after);

-- The latest CRL of each CA level (signed here, or imported from an external CA).
CREATE TABLE pki_crls (
    role        TEXT PRIMARY KEY CHECK (role IN ('ROOT', 'INTERMEDIATE')),
    crl_number  INTEGER NOT NULL,
    last_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    crl_pem     TEXT NOT NULL
);

CREATE TABLE pki_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
