-- The Controller's journal: deployed signed items (every version an order may still run), what
-- each Agent holds, orders with their steps, and how far each Agent's events were read.

CREATE TABLE journal_info (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    journal_id TEXT NOT NULL,
    created    TEXT NOT NULL
);
INSERT INTO journal_info (id, journal_id, created)
VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE item_versions (
    item_type     TEXT NOT NULL CHECK (item_type IN ('Workflow', 'JobResource')),
    path          TEXT NOT NULL,
    version_id    TEXT NOT NULL,
    signed_string TEXT NOT NULL,
    signature     TEXT NOT NULL,
    digest        TEXT NOT NULL,
    signer        TEXT NOT NULL,
    agents        TEXT NOT NULL DEFAULT '{}',  -- workflows: {agent: [job resources]}
    deployed      TEXT NOT NULL,
    PRIMARY KEY (item_type, path, version_id)
);

-- The current version of each deployed item; revision counts its changes.
CREATE TABLE items (
    item_type  TEXT NOT NULL,
    path       TEXT NOT NULL,
    version_id TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    deployed   TEXT NOT NULL,
    PRIMARY KEY (item_type, path),
    FOREIGN KEY (item_type, path, version_id)
        REFERENCES item_versions(item_type, path, version_id)
);

-- What each Agent should hold: pending until it accepted, refused with its reason.
CREATE TABLE attachments (
    agent      TEXT NOT NULL,
    item_type  TEXT NOT NULL,
    path       TEXT NOT NULL,
    version_id TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'attached', 'refused')),
    message    TEXT NOT NULL DEFAULT '',
    updated    TEXT NOT NULL,
    PRIMARY KEY (agent, item_type, path, version_id),
    FOREIGN KEY (item_type, path, version_id)
        REFERENCES item_versions(item_type, path, version_id) ON DELETE CASCADE
);
CREATE INDEX attachments_pending ON attachments(agent, state);

CREATE TABLE detachments (
    agent     TEXT NOT NULL,
    item_type TEXT NOT NULL,
    path      TEXT NOT NULL,
    PRIMARY KEY (agent, item_type, path)
);

CREATE TABLE orders (
    order_id         TEXT PRIMARY KEY,
    workflow_path    TEXT NOT NULL,
    version_id       TEXT NOT NULL,
    arguments        TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL
                     CHECK (state IN ('running', 'finished', 'failed', 'cancelled')),
    position         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    message          TEXT NOT NULL DEFAULT '',
    created          TEXT NOT NULL,
    updated          TEXT NOT NULL
);
CREATE INDEX orders_state ON orders(state);
CREATE INDEX orders_workflow ON orders(workflow_path, state);

CREATE TABLE steps (
    order_id    TEXT NOT NULL REFERENCES orders(order_id),
    position    INTEGER NOT NULL,
    job_name    TEXT NOT NULL,
    agent       TEXT NOT NULL,
    task_id     TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL CHECK (state IN
                ('ready', 'started', 'running', 'succeeded', 'failed', 'killed', 'cancelled')),
    pid         INTEGER,
    return_code INTEGER,
    stdout      TEXT NOT NULL DEFAULT '',
    stderr      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    started     TEXT,
    ended       TEXT,
    PRIMARY KEY (order_id, position)
);
CREATE INDEX steps_agent_state ON steps(agent, state);

CREATE TABLE agent_cursors (
    agent      TEXT PRIMARY KEY,
    journal_id TEXT NOT NULL,
    event_id   INTEGER NOT NULL
);
