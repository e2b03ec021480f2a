-- The console's audit-chain heads (issue 16): the Controller sits in the zone without user
-- access, so what it journals here witnesses the console's audit log from outside the store.
-- Rows are only added (a trigger refuses changes and deletions); `audit verify` compares the
-- store's chain with them, `status` and `doctor` its security level and schema digest.
CREATE TABLE audit_witness (
    installation_id TEXT NOT NULL,
    audit_id        INTEGER NOT NULL,
    hash            TEXT NOT NULL,
    entries         INTEGER NOT NULL,
    security_level  TEXT NOT NULL,
    schema_digest   TEXT NOT NULL,
    received        TEXT NOT NULL,
    received_from   TEXT NOT NULL,
    PRIMARY KEY (installation_id, audit_id)
);
CREATE TRIGGER audit_witness_append_only_update
BEFORE UPDATE ON audit_witness
BEGIN
    SELECT RAISE(ABORT, 'audit witnesses are never changed');
END;
CREATE TRIGGER audit_witness_append_only_delete
BEFORE DELETE ON audit_witness
BEGIN
    SELECT RAISE(ABORT, 'audit witnesses are never deleted');
END;
