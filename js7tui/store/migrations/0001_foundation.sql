-- Foundation: installation, identity services, accounts, roles, permissions, folders,
-- blocklist, settings, sessions, login history, failed-login counters, audit log.

CREATE TABLE installation (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    installation_id TEXT NOT NULL,
    security_level  TEXT NOT NULL CHECK (security_level IN ('LOW', 'MEDIUM', 'HIGH')),
    created         TEXT NOT NULL
);

-- The security level is written once and can never be lowered: not by a command, a setting,
-- a migration or a hand-made UPDATE. Raising it stays possible for a later, audited command.
CREATE TRIGGER installation_level_never_lowered
BEFORE UPDATE OF security_level ON installation
WHEN (CASE NEW.security_level WHEN 'LOW' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END)
   < (CASE OLD.security_level WHEN 'LOW' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END)
BEGIN
    SELECT RAISE(ABORT, 'the security level can never be lowered');
END;

CREATE TRIGGER installation_never_deleted
BEFORE DELETE ON installation
BEGIN
    SELECT RAISE(ABORT, 'the installation record (security level) cannot be deleted');
END;

CREATE TABLE identity_services (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
    type                 TEXT NOT NULL,
    ordering             INTEGER NOT NULL,
    required             INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    auth_scheme          TEXT NOT NULL DEFAULT 'SINGLE-FACTOR'
                         CHECK (auth_scheme IN ('SINGLE-FACTOR', 'TWO-FACTOR')),
    second_factor        INTEGER NOT NULL DEFAULT 0,
    second_factor_service_id INTEGER REFERENCES identity_services(id) ON DELETE RESTRICT,
    settings             TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE accounts (
    id                    INTEGER PRIMARY KEY,
    identity_service_id   INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    password_hash         TEXT,
    email                 TEXT,
    force_password_change INTEGER NOT NULL DEFAULT 0,
    disabled              INTEGER NOT NULL DEFAULT 0,
    created               TEXT NOT NULL,
    UNIQUE (identity_service_id, name)
);
CREATE INDEX accounts_name ON accounts(name);

CREATE TABLE roles (
    id                  INTEGER PRIMARY KEY,
    identity_service_id INTEGER NOT NULL REFERENCES identity_services(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    ordering            INTEGER NOT NULL,
    UNIQUE (identity_service_id, name)
);

CREATE TABLE account_roles (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, role_id)
);
CREATE INDEX account_roles_role ON account_roles(role_id);

-- controller_id '' is the default section (JOC scope and controllerDefaults).
CREATE TABLE role_permissions (
    role_id       INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL DEFAULT '',
    permission    TEXT NOT NULL,
    excluded      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (role_id, controller_id, permission)
);

CREATE TABLE role_folders (
    role_id       INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    controller_id TEXT NOT NULL DEFAULT '',
    folder        TEXT NOT NULL,
    recursive     INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (role_id, controller_id, folder)
);

CREATE TABLE blocklist (
    account_name TEXT PRIMARY KEY COLLATE NOCASE,
    comment      TEXT NOT NULL DEFAULT '',
    since        TEXT NOT NULL,
    blocked_by   TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    account_name  TEXT NOT NULL,
    grants        TEXT NOT NULL,          -- JSON: [{service, roles_from, roles}]
    source        TEXT NOT NULL,
    created       TEXT NOT NULL,
    last_used     TEXT NOT NULL,
    idle_timeout  INTEGER NOT NULL       -- seconds; negative = no expiry
);
CREATE INDEX sessions_account ON sessions(account_name);

CREATE TABLE login_history (
    id           INTEGER PRIMARY KEY,
    created      TEXT NOT NULL,
    account_name TEXT NOT NULL,
    source       TEXT NOT NULL,
    success      INTEGER NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX login_history_created ON login_history(created);
CREATE INDEX login_history_account ON login_history(account_name);

CREATE TABLE login_history_details (
    history_id   INTEGER NOT NULL REFERENCES login_history(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    service_name TEXT NOT NULL,
    message      TEXT NOT NULL,
    PRIMARY KEY (history_id, position)
);

-- Failed logins per (account, source), kept across processes (the CLI is short-lived).
CREATE TABLE failed_logins (
    account_name TEXT NOT NULL COLLATE NOCASE,
    source       TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    PRIMARY KEY (account_name, source)
);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    created       TEXT NOT NULL,
    account       TEXT NOT NULL,
    request       TEXT NOT NULL,
    category      TEXT NOT NULL,
    outcome       TEXT NOT NULL DEFAULT 'OK',
    controller_id TEXT NOT NULL DEFAULT '',
    object_type   TEXT NOT NULL DEFAULT '',
    path          TEXT NOT NULL DEFAULT '',
    folder        TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    ticket_link   TEXT NOT NULL DEFAULT '',
    time_spent    INTEGER,
    parameters    TEXT NOT NULL DEFAULT '{}',
    commit_id     TEXT NOT NULL DEFAULT '',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_created ON audit_log(created);
CREATE INDEX audit_account ON audit_log(account, created);
CREATE INDEX audit_category ON audit_log(category, created);
CREATE INDEX audit_folder ON audit_log(folder, created);
CREATE INDEX audit_controller ON audit_log(controller_id, created);

-- The head of the hash chain: catches entries cut off the end of the log.
CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL,
    hash    TEXT NOT NULL,
    entries INTEGER NOT NULL
);
