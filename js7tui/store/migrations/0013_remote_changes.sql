-- Changes with a remote side (issue 15): every deploy, revoke, import-deploy, order add and
-- order cancel is recorded here, with its audit entry, BEFORE anything is sent (phase 1); each
-- target's outcome is written after its answer (phase 3). A change may be live on a Controller
-- only if its row was committed first.
CREATE TABLE remote_changes (
    id        INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('DEPLOY', 'REVOKE', 'IMPORT_DEPLOY', 'ADD_ORDERS',
                                            'CANCEL_ORDERS')),
    reference TEXT NOT NULL,             -- the commit id, or the first order id
    account   TEXT NOT NULL,
    request   TEXT NOT NULL,
    category  TEXT NOT NULL,
    probe     TEXT NOT NULL DEFAULT '{}', -- JSON: what reconciliation asks the remote side
    created   TEXT NOT NULL,
    pid       INTEGER NOT NULL DEFAULT 0, -- the process that delivers it (gone: interrupted)
    audit_id  INTEGER                     -- the intent's audit entry
);
CREATE INDEX remote_changes_reference ON remote_changes(reference);

-- One row per target (Controller): SENDING until its answer, then ACCEPTED, REFUSED (with the
-- engine's reason), UNKNOWN (no answer, or the answer was lost) or NOT_APPLIED (nothing changed
-- there: not sent, or reconciliation found the Controller does not hold it).
CREATE TABLE remote_targets (
    change_id INTEGER NOT NULL REFERENCES remote_changes(id) ON DELETE CASCADE,
    target    TEXT NOT NULL,
    state     TEXT NOT NULL CHECK (state IN ('SENDING', 'ACCEPTED', 'REFUSED', 'UNKNOWN',
                                             'NOT_APPLIED')),
    message   TEXT NOT NULL DEFAULT '',
    updated   TEXT NOT NULL,
    PRIMARY KEY (change_id, target)
);
CREATE INDEX remote_targets_open ON remote_targets(state, target);

-- Deployments keep their history; their per-Controller outcome is now the road's.
INSERT INTO remote_changes (kind, reference, account, request, category, created, audit_id)
SELECT d.operation, d.commit_id, d.account,
       CASE d.operation WHEN 'REVOKE' THEN './inventory/deployment/revoke'
                        WHEN 'IMPORT_DEPLOY' THEN './inventory/deployment/import_deploy'
                        ELSE './inventory/deployment/deploy' END,
       'DEPLOYMENT', d.created, d.audit_id
FROM deployments d;
INSERT INTO remote_targets (change_id, target, state, message, updated)
SELECT c.id, t.controller_id, CASE t.state WHEN 'DEPLOYED' THEN 'ACCEPTED' ELSE 'REFUSED' END,
       t.message, c.created
FROM deployment_targets t JOIN remote_changes c ON c.reference = t.commit_id;
DROP INDEX deployment_targets_controller;
DROP TABLE deployment_targets;

ALTER TABLE deployments ADD COLUMN change_id INTEGER REFERENCES remote_changes(id);
-- When the signing certificate of the commit expires (NULL: revoke, or recorded before).
ALTER TABLE deployments ADD COLUMN signer_not_after TEXT;
UPDATE deployments SET change_id = (SELECT id FROM remote_changes c
                                    WHERE c.reference = deployments.commit_id);

-- What the history reads per Controller (the state names are the road's).
CREATE VIEW deployment_targets AS
SELECT d.commit_id AS commit_id, t.target AS controller_id, t.state AS state,
       t.message AS message, t.updated AS updated
FROM deployments d JOIN remote_targets t ON t.change_id = d.change_id;

-- Per Agent, what the Controller said of a deployment's items: attached, pending or refused.
CREATE TABLE deployment_agents (
    commit_id     TEXT NOT NULL REFERENCES deployments(commit_id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL,
    agent         TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('attached', 'pending', 'refused')),
    message       TEXT NOT NULL DEFAULT '',
    updated       TEXT NOT NULL,
    PRIMARY KEY (commit_id, controller_id, agent)
);
CREATE INDEX deployment_agents_open ON deployment_agents(state, controller_id);
