"""Names in a home's store for shell completion (``js7tui.cli.completion``): accounts, roles,
identity services, Controllers, inventory objects and folders.

Read straight from the store file, read-only (SQLite ``mode=ro``), without a session or login:
the store is its owner's (0600 in a 0700 home), so whoever can open it could read the names
with sqlite3 already, and anyone else gets no names (the read fails silently, nothing leaks and
nothing is logged). Nothing is written, no login is recorded, and only names are read, never a
password hash, e-mail or secret. One short query per TAB.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping

from js7tui.home import resolve_home

_QUERIES = {
    "accounts": "SELECT DISTINCT a.name FROM accounts a JOIN identity_services s "
                "ON s.id = a.identity_service_id WHERE (? IS NULL OR s.name = ?) ORDER BY 1",
    "roles": "SELECT DISTINCT r.name FROM roles r JOIN identity_services s "
             "ON s.id = r.identity_service_id WHERE (? IS NULL OR s.name = ?) ORDER BY 1",
    "services": "SELECT name FROM identity_services ORDER BY ordering",
    "controllers": "SELECT id FROM controllers ORDER BY 1",
    "objects": "SELECT CASE folder WHEN '/' THEN '/' || name ELSE folder || '/' || name END "
               "FROM inventory_objects ORDER BY 1",
    "folders": "SELECT path FROM inventory_folders ORDER BY 1",
}


def store_names(kind: str, home: str | None, service: str | None = None,
                env: Mapping[str, str] | None = None) -> list[str]:
    """Names of ``kind`` (a key of ``_QUERIES``) in the home's store, read-only; [] if the
    store does not exist or cannot be read."""
    path = resolve_home(home, os.environ if env is None else env).db_path
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.5)
        try:
            query = _QUERIES[kind]
            rows = conn.execute(query, (service, service) if "?" in query else ()).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    return [row[0] for row in rows]
