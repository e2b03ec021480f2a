-- Four-eyes approval (issue 22): a request holds the frozen operation and what the approver
-- reads; each decision carries its proof (an HMAC keyed outside the store, bound to the
-- request's digest and the approver's session, and a signature where the approver has a
-- signing certificate), so a row edited or added by hand does not execute.

CREATE TABLE approval_requests (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,     -- deploy, revoke, import-deploy, roles, accounts, ...
    operation          TEXT NOT NULL,     -- what runs once approved (DEPLOY, roles.set_permission)
    category           TEXT NOT NULL,
    title              TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    requestor          TEXT NOT NULL,
    preferred_approver TEXT NOT NULL DEFAULT '',
    payload            TEXT NOT NULL,     -- JSON: the frozen operation
    view               TEXT NOT NULL,     -- JSON: what the approver reads (lines, diff)
    digest             TEXT NOT NULL,     -- sha256 over the canonical request
    requestor_state    TEXT NOT NULL DEFAULT 'REQUESTED'
                       CHECK (requestor_state IN ('REQUESTED', 'WITHDRAWN', 'EXECUTED')),
    approver_state     TEXT NOT NULL DEFAULT 'PENDING'
                       CHECK (approver_state IN ('PENDING', 'APPROVED', 'REJECTED')),
    approver           TEXT NOT NULL DEFAULT '',
    created            TEXT NOT NULL,
    expires            TEXT NOT NULL,
    updated            TEXT NOT NULL,
    executed           TEXT,
    audit_id           INTEGER
);
CREATE INDEX approval_requests_open ON approval_requests(requestor_state, approver_state);
CREATE INDEX approval_requests_requestor ON approval_requests(requestor, created);
CREATE INDEX approval_requests_created ON approval_requests(created);

CREATE TABLE approval_decisions (
    id                 INTEGER PRIMARY KEY,
    request_id         INTEGER NOT NULL REFERENCES approval_requests(id) ON DELETE CASCADE,
    decision           TEXT NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
    approver           TEXT NOT NULL,
    comment            TEXT NOT NULL,
    digest             TEXT NOT NULL,
    session_id         INTEGER NOT NULL,
    session_token_hash TEXT NOT NULL,
    decided            TEXT NOT NULL,
    audit_id           INTEGER NOT NULL,
    proof              TEXT NOT NULL,
    signature          TEXT NOT NULL DEFAULT ''   -- JSON signature object, '' without a certificate
);
CREATE INDEX approval_decisions_request ON approval_decisions(request_id);
