"""Issue 16 item 6: the private keys the store keeps (CA keys, signing CA, console and kept leaf
keys) are sealed with ``keys/secrets.key``; an older home's clear keys are sealed once when a
console opens it (one audited system change); a clear key found later is refused and named by
doctor; doctor checks the home's own files by name."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from js7tui.console import Console, open_console
from js7tui.doctor import examine
from js7tui.errors import StoreError
from js7tui.identity.sessions import Session
from js7tui.pki import sealed
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType, private_pem
from js7tui.pki.material import client_material
from js7tui.pki.profiles import Purpose
from tests.conftest import cheap_hasher
from tests.pki_support import META, admin, now_clock, pki  # noqa: F401  (fixtures)

KEY_COLUMNS = (("pki_authorities", "key_pem"), ("pki_signing_ca", "key_pem"),
               ("pki_certificates", "key_pem"))


def _values(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for table, column in KEY_COLUMNS
            for row in conn.execute(f"SELECT {column} FROM {table} "
                                    f"WHERE {column} IS NOT NULL")]


def _raw_files(console: Console) -> bytes:
    db = console.home.db_path  # type: ignore[union-attr]
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def _unseal_all(path: Path) -> int:
    """What an older home looked like: every key column in clear PEM (and no sealed mark)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    count = 0
    for table, column in KEY_COLUMNS:
        for row in conn.execute(f"SELECT rowid, {column} FROM {table} "
                                f"WHERE {column} IS NOT NULL").fetchall():
            pem = sealed.open_pem(conn, row[1], "a key").decode()
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                         (pem, row[0]))
            count += 1
    conn.commit()
    conn.close()
    return count


def test_every_kept_key_is_sealed_and_no_pem_reaches_the_store_file(
        pki: Console, admin: Session) -> None:  # noqa: F811
    pki.certificates.issue(admin, IssueRequest(Purpose.USER, "alice", email="a@example.com",
                                               keep_key=True), meta=META)
    pki.certificates.bundle(admin, "controller", "primary", password="store-password-1",
                            meta=META)
    values = _values(pki.store.conn)
    # root, issuing CA, signing CA, the console's key, alice's kept key
    assert len(values) >= 5
    assert all(v.startswith("sealed:v1:") for v in values)
    assert b"PRIVATE KEY" not in _raw_files(pki)
    assert sealed.is_marked(pki.home)  # type: ignore[arg-type]
    # and they are used: the console's TLS material opens, the CA still issues
    assert client_material(pki.store.conn).key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not [f for f in examine(pki.home, pki.store.conn, pki.clock.now())  # type: ignore[arg-type]
                if "in clear" in f or "secrets.key" in f]


def test_an_older_home_is_sealed_once_when_opened_with_one_audit_entry(
        pki: Console, admin: Session) -> None:  # noqa: F811
    home = pki.home
    assert home is not None
    pki.close()
    sealed.marker_path(home).unlink()
    clear = _unseal_all(home.db_path)
    assert clear >= 4
    # doctor only reads: it names them, and leaves them so
    doctor = open_console(home, check_modes=False, hasher=cheap_hasher())
    try:
        named = [f for f in examine(home, doctor.store.conn, doctor.clock.now())
                 if "in clear" in f]
        assert len(named) == clear and all(f.severity == "problem" for f in named)
        assert "open the home once with js7tui" in named[0]
    finally:
        doctor.close()
    for _ in range(2):  # the second opening changes nothing: idempotent
        console = open_console(home, hasher=cheap_hasher())
        try:
            assert all(v.startswith("sealed:v1:") for v in _values(console.store.conn))
            entries = console.store.conn.execute(
                "SELECT account, category, parameters FROM audit_log "
                "WHERE request = './pki/keys/seal'").fetchall()
            assert len(entries) == 1 and entries[0]["account"] == "js7tui"
            assert "BEGIN" not in entries[0]["parameters"]
            assert client_material(console.store.conn).key_pem.startswith(b"-----BEGIN")
        finally:
            console.close()
    assert sealed.is_marked(home)


def test_a_clear_key_written_by_sql_later_is_refused_never_sealed(
        pki: Console, admin: Session) -> None:  # noqa: F811
    home = pki.home
    assert home is not None
    pki.close()
    planted = private_pem(KeyType.EC_P256.generate()).decode()
    conn = sqlite3.connect(home.db_path)
    conn.execute("UPDATE pki_authorities SET key_pem = ? WHERE role = 'INTERMEDIATE'",
                 (planted,))
    conn.execute("UPDATE pki_certificates SET key_pem = ? WHERE purpose = 'console'",
                 (planted,))
    conn.commit()
    conn.close()
    console = open_console(home, hasher=cheap_hasher())
    try:
        row = console.store.conn.execute(
            "SELECT key_pem FROM pki_authorities WHERE role = 'INTERMEDIATE'").fetchone()
        assert row[0] == planted  # not sealed by the opening
        session = admin_session(console)
        with pytest.raises(StoreError, match=r"stored in clear.*outside js7tui"):
            console.certificates.issue(session, IssueRequest(Purpose.USER, "bob",
                                                             email="b@example.com"), meta=META)
        with pytest.raises(StoreError, match="stored in clear"):
            client_material(console.store.conn)
        named = [f for f in examine(home, console.store.conn, console.clock.now())
                 if "in clear" in f]
        assert len(named) == 2 and all("written outside js7tui (by SQL)" in f for f in named)
        assert any("INTERMEDIATE" in f for f in named) and any("console" in f for f in named)
    finally:
        console.close()


def admin_session(console: Console) -> Session:
    from tests.conftest import ROOT_PASSWORD, login
    return login(console, "root", ROOT_PASSWORD)


def test_doctor_checks_the_secret_key_wal_and_locks_by_name(
        pki: Console, admin: Session) -> None:  # noqa: F811
    home = pki.home
    assert home is not None
    now = pki.clock.now()
    key = home.secrets_key_path
    locks = home.db_path.with_name(home.db_path.name + ".locks")
    locks.mkdir(mode=0o700, exist_ok=True)

    def findings() -> list[str]:
        return [f"{f.severity}: {f}" for f in examine(home, pki.store.conn, now)]

    os.chmod(key, 0o640)
    assert any(f.startswith("problem:") and str(key) in f and "opens every key" in f
               for f in findings()), findings()
    os.chmod(key, 0o600)
    os.chmod(locks, 0o755)
    assert any(str(locks) in f and "0755" in f for f in findings()), findings()
    os.chmod(locks, 0o700)
    wal = home.db_path.with_name(home.db_path.name + "-wal")
    assert wal.exists()
    os.chmod(wal, 0o644)
    assert any(str(wal) in f and "readable by others" in f for f in findings())
    os.chmod(wal, 0o600)
    moved = key.with_name("secrets.key.moved")
    key.rename(moved)
    try:
        missing = [f for f in findings() if "is missing" in f]
        assert len(missing) == 1 and missing[0].startswith("problem:")
        assert "cannot be opened without it" in missing[0]
        key.symlink_to(moved)
        assert any("symbolic link" in f and str(key) in f for f in findings())
        key.unlink()
    finally:
        moved.rename(key)
    assert not [f for f in findings() if str(key) in f or str(locks) in f or str(wal) in f]
