-- The signing CA (issue 16): an intermediate of the root used for nothing but code-signing
-- certificates, so that Controllers and Agents trust signers through it (and through
-- explicitly registered signer certificates), never through the CA that issues TLS
-- certificates. One row; its key is PKCS#8 PEM like the other CA keys (NULL: not held), its
-- latest CRL beside it. Existing homes get it on first use (a signing certificate or a
-- bundle) while the root key is in the store.
CREATE TABLE pki_signing_ca (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    subject         TEXT NOT NULL,
    serial          TEXT NOT NULL,
    key_type        TEXT NOT NULL,
    not_before      TEXT NOT NULL,
    not_after       TEXT NOT NULL,
    cert_pem        TEXT NOT NULL,
    key_pem         TEXT,
    created         TEXT NOT NULL,
    crl_number      INTEGER NOT NULL DEFAULT 0,
    crl_last_update TEXT,
    crl_next_update TEXT,
    crl_pem         TEXT
);
