-- Encipherment certificates (issue 21): per Agent, apart from its TLS certificate, managed by
-- alias (JS7's ENC_CERTIFICATES / ENC_AGENT_CERTIFICATES). An alias has one CURRENT
-- certificate; a renewal makes the previous one SUPERSEDED (its key stays on the Agents until
-- nothing in the inventory holds a value for it) and RETIRED once the console says so.
-- ``key_pem`` is the private key sealed with the home's secrets key (js7tui.secrets), held
-- only until every Agent assigned to the alias had it in a bundle; then NULL for good.
CREATE TABLE encipherment_certificates (
    id          INTEGER PRIMARY KEY,
    alias       TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,      -- SHA-256 of the certificate's DER, hex
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    key_type    TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    cert_pem    TEXT NOT NULL,
    key_pem     TEXT,
    origin      TEXT NOT NULL CHECK (origin IN ('ISSUED', 'IMPORTED')),
    state       TEXT NOT NULL CHECK (state IN ('CURRENT', 'SUPERSEDED', 'RETIRED')),
    replaces_id INTEGER REFERENCES encipherment_certificates(id),
    created     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    key_removed TEXT,
    retired     TEXT
);
CREATE UNIQUE INDEX encipherment_current_alias ON encipherment_certificates(alias)
    WHERE state = 'CURRENT';

-- Which Agents an alias serves (one certificate may serve a group of Agents).
CREATE TABLE encipherment_assignments (
    alias    TEXT NOT NULL,
    agent    TEXT NOT NULL,
    assigned TEXT NOT NULL,
    PRIMARY KEY (alias, agent)
);

-- Which Agent had which certificate's key in a bundle, and when it was told to delete it.
CREATE TABLE encipherment_deliveries (
    cert_id   INTEGER NOT NULL REFERENCES encipherment_certificates(id) ON DELETE CASCADE,
    agent     TEXT NOT NULL,
    delivered TEXT NOT NULL,
    removed   TEXT,
    PRIMARY KEY (cert_id, agent)
);
