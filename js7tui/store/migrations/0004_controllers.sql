-- The Controllers this console talks to: where, as which hop user (password sealed with the
-- home's secret key), which CA to trust for the Controller's HTTPS certificate ('' = the
-- console's own CA) and which of the console's client certificates to present.
CREATE TABLE controllers (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    hop_user     TEXT NOT NULL,
    hop_password TEXT NOT NULL CHECK (hop_password LIKE 'sealed:%'),
    ca_pem       TEXT NOT NULL DEFAULT '',
    client_name  TEXT NOT NULL DEFAULT 'console',
    created      TEXT NOT NULL,
    updated      TEXT NOT NULL
);
