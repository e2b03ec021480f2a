-- The Agent's journal: the signed items its Controller attached (exact signed bytes, verified
-- again here), the tasks it ran, and the events its Controller polls.

CREATE TABLE journal_info (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    journal_id TEXT NOT NULL,
    created    TEXT NOT NULL
);
INSERT INTO journal_info (id, journal_id, created)
VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE items (
    item_type     TEXT NOT NULL CHECK (item_type IN ('Workflow', 'JobResource')),
    path          TEXT NOT NULL,
    version_id    TEXT NOT NULL,
    signed_string TEXT NOT NULL,
    signature     TEXT NOT NULL,
    digest        TEXT NOT NULL,
    signer        TEXT NOT NULL,
    attached      TEXT NOT NULL,
    PRIMARY KEY (item_type, path, version_id)
);

CREATE TABLE tasks (
    task_id        TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL,
    workflow_path  TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    job_name       TEXT NOT NULL,
    position       INTEGER NOT NULL,
    state          TEXT NOT NULL
                   CHECK (state IN ('starting', 'running', 'succeeded', 'failed', 'killed')),
    pid            INTEGER,
    return_code    INTEGER,
    stdout         TEXT NOT NULL DEFAULT '',
    stderr         TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL DEFAULT '',
    kill_requested INTEGER NOT NULL DEFAULT 0,
    created        TEXT NOT NULL,
    started        TEXT,
    ended          TEXT
);
CREATE INDEX tasks_state ON tasks(state);

CREATE TABLE events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id  TEXT NOT NULL REFERENCES tasks(task_id),
    type     TEXT NOT NULL CHECK (type IN ('TaskStarted', 'TaskFinished'))
);
