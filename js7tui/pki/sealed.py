"""Private keys kept in the store are sealed with the home's secret box (issue 16).

The CA keys (root while online, issuing, signing CA), the console's client key and any kept
or held leaf key are written as ``sealed:v1:...`` (js7tui.secrets, Fernet) with the key file
``keys/secrets.key`` of the home the database belongs to, never as PEM; a copy of
``js7tui.db`` alone reveals no key. Readers accept only sealed values: a PEM found in one of
these columns was written outside js7tui (by SQL) and is refused with a sentence, so a key
cannot be planted by editing the store.

The box is found from the connection itself (the database file's home), so every function
that takes a connection keeps its signature. A store without a file (``Store.memory``) uses
one in-memory key for the process.

Homes older than this change held these keys in clear. SQL migrations cannot read the key
file, so :func:`seal_clear_keys` seals them when a console opens the home: one transaction,
one audit entry as a system change, then the marker file ``keys/keys-sealed`` records that
this home is sealed; from then on a clear value is never sealed again, only refused (an
attacker who can write the store cannot use the migration to plant a key).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from js7tui.errors import StoreError
from js7tui.home import Home, write_private_file
from js7tui.pki.keys import PrivateKey, load_private_pem
from js7tui.secrets import SecretBox, is_sealed

MARKER = "keys-sealed"
_MEMORY = SecretBox(None)

# (table, key column, how a row is named, what the key is) of every column that holds a
# private key the console keeps. Encipherment keys and signing keys (``deploy key``) were
# sealed from the start; they are named here so that doctor looks at them too.
COLUMNS = (
    ("pki_authorities", "key_pem", "role", "CA key"),
    ("pki_signing_ca", "key_pem", "subject", "signing CA key"),
    ("pki_certificates", "key_pem", "purpose || ' ' || name || ' (serial ' || "
     "COALESCE(serial, 'pending') || ')'", "certificate key"),
    ("encipherment_certificates", "key_pem", "alias", "encipherment key"),
    ("signing_keys", "key_sealed", "account", "signing key"),
)
# The columns sealed here on opening an older home (the others never held clear keys).
SEALED_HERE = COLUMNS[:3]


def database_file(conn: sqlite3.Connection) -> str:
    for row in conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return str(row[2] or "")
    return ""


def home_of(conn: sqlite3.Connection) -> Home | None:
    path = database_file(conn)
    return Home(Path(path).parent) if path else None


def box_for(conn: sqlite3.Connection) -> SecretBox:
    """The secret box of the home this connection's database lives in."""
    home = home_of(conn)
    return SecretBox(home.secrets_key_path) if home is not None else _MEMORY


def seal(conn: sqlite3.Connection, pem: str | bytes | None) -> str | None:
    """What a key column stores for ``pem`` (None stays None)."""
    if pem is None:
        return None
    text = pem.decode("ascii") if isinstance(pem, bytes) else pem
    return box_for(conn).seal(text)


def open_pem(conn: sqlite3.Connection, stored: str | None, what: str) -> bytes:
    """The PEM of a stored key; a value that is not sealed is refused (planted by SQL)."""
    if stored is None:
        raise StoreError(f"{what} is not in this store")
    if not is_sealed(stored):
        raise StoreError(
            f"{what} is stored in clear: js7tui seals every key it keeps, so this one was "
            "written into the store outside js7tui and is refused (js7tui doctor names it); "
            "remove it, or import the key again with js7tui")
    return box_for(conn).open(stored).encode("ascii")


def open_key(conn: sqlite3.Connection, stored: str | None, what: str) -> PrivateKey:
    return load_private_pem(open_pem(conn, stored, what))


@dataclass(frozen=True)
class ClearKey:
    table: str
    column: str
    rowid: int
    name: str
    what: str

    def sentence(self) -> str:
        return f"the {self.what} of {self.name} ({self.table}.{self.column})"


def clear_keys(conn: sqlite3.Connection, columns: tuple[tuple[str, str, str, str], ...]
               = COLUMNS) -> list[ClearKey]:
    """Every non-empty key value that is not sealed, in the given columns."""
    found = []
    for table, column, name, what in columns:
        try:
            rows = conn.execute(
                f"SELECT rowid, {name} FROM {table} WHERE {column} IS NOT NULL AND "
                f"substr({column}, 1, 10) IS NOT 'sealed:v1:'").fetchall()
        except sqlite3.OperationalError:  # a table this schema does not have
            continue
        found += [ClearKey(table, column, int(r[0]), str(r[1]), what) for r in rows]
    return found


def marker_path(home: Home) -> Path:
    return home.keys_dir / MARKER


def is_marked(home: Home) -> bool:
    return marker_path(home).is_file()


def mark(home: Home) -> None:
    if not is_marked(home):
        write_private_file(marker_path(home),
                           b"js7tui: the private keys in js7tui.db are sealed with "
                           b"secrets.key; a clear key found there is refused\n")


def seal_clear_keys(store, clock, account: str) -> list[ClearKey]:  # type: ignore[no-untyped-def]
    """An older home's clear keys, sealed in one transaction with one audit entry (a system
    change); nothing when the home is marked sealed already (then a clear key is refused,
    never sealed) or has nothing in clear. Returns what was sealed."""
    from js7tui import audit
    from js7tui.audit import Category
    home = home_of(store.conn)
    if home is None or is_marked(home):
        return []
    box = box_for(store.conn)
    sealed: list[ClearKey] = []
    if clear_keys(store.conn, SEALED_HERE):
        with store.transaction() as conn:
            sealed = clear_keys(conn, SEALED_HERE)  # again, under the write lock
            for key in sealed:
                value = conn.execute(f"SELECT {key.column} FROM {key.table} "
                                     "WHERE rowid = ?", (key.rowid,)).fetchone()[0]
                conn.execute(f"UPDATE {key.table} SET {key.column} = ? "
                             "WHERE rowid = ?", (box.seal(value), key.rowid))
            if sealed:
                audit.append(conn, created=clock.now(), account=account,
                             request="./pki/keys/seal", category=Category.CERTIFICATES,
                             parameters={"sealed": [f"{k.what}: {k.name}" for k in sealed],
                                         "with": "keys/secrets.key"})
    mark(home)
    return sealed
