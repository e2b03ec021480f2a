-- Signing keys by security level and the deployment history (reference 4.1-4.4; issue 5).
-- One signing identity per account: its certificate (PEM), the chain up to its root (PEM,
-- intermediates then root) and, below HIGH, its private key sealed with the home's secret box.
-- At LOW the installation's key belongs to the default profile account.
CREATE TABLE signing_keys (
    account    TEXT PRIMARY KEY,
    cert_pem   TEXT NOT NULL,
    chain_pem  TEXT NOT NULL DEFAULT '',
    key_sealed TEXT,                        -- NULL: certificate only (always at HIGH)
    origin     TEXT NOT NULL CHECK (origin IN ('GENERATED', 'IMPORTED', 'REGISTERED')),
    subject    TEXT NOT NULL,
    serial     TEXT NOT NULL,
    not_after  TEXT NOT NULL,
    created    TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- At HIGH no private key ever enters the store, whatever code or SQL tries.
CREATE TRIGGER signing_keys_no_key_at_high_insert
BEFORE INSERT ON signing_keys
WHEN NEW.key_sealed IS NOT NULL
     AND (SELECT security_level FROM installation WHERE id = 1) = 'HIGH'
BEGIN
    SELECT RAISE(ABORT, 'security level HIGH: no private key may be stored');
END;
CREATE TRIGGER signing_keys_no_key_at_high_update
BEFORE UPDATE OF key_sealed ON signing_keys
WHEN NEW.key_sealed IS NOT NULL
     AND (SELECT security_level FROM installation WHERE id = 1) = 'HIGH'
BEGIN
    SELECT RAISE(ABORT, 'security level HIGH: no private key may be stored');
END;

-- One deployment (commit): deploy, revoke or import-deploy, by one account, signed by one key.
CREATE TABLE deployments (
    commit_id  TEXT PRIMARY KEY,
    operation  TEXT NOT NULL CHECK (operation IN ('DEPLOY', 'REVOKE', 'IMPORT_DEPLOY')),
    account    TEXT NOT NULL,
    signer     TEXT NOT NULL DEFAULT '',    -- the signing certificate's subject ('' to revoke)
    audit_id   INTEGER,                     -- the DEPLOYMENT audit entry
    created    TEXT NOT NULL
);

-- What the commit held: each object with its version.
CREATE TABLE deployment_objects (
    commit_id   TEXT NOT NULL REFERENCES deployments(commit_id) ON DELETE CASCADE,
    object_type TEXT NOT NULL,
    path        TEXT NOT NULL,
    version_id  TEXT NOT NULL,
    digest      TEXT NOT NULL DEFAULT '',   -- SHA-256 of the signed bytes
    PRIMARY KEY (commit_id, object_type, path)
);

-- Its outcome per Controller: deployed, or failed with the Controller's reason.
CREATE TABLE deployment_targets (
    commit_id     TEXT NOT NULL REFERENCES deployments(commit_id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('DEPLOYED', 'FAILED')),
    message       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (commit_id, controller_id)
);
CREATE INDEX deployment_targets_controller ON deployment_targets(controller_id, state);
CREATE INDEX deployment_objects_version ON deployment_objects(version_id);
