"""Fixtures and helpers for the PKI tests: a home with the built-in CA on a clock frozen at the
real current time (OpenSSL, keytool and ssl check validity against the wall clock), and the
real command-line tools."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.sessions import Session
from js7tui.pki.keys import KeyType
from js7tui.security_level import SecurityLevel
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login

# A missing tool fails the test with one line naming its Debian package (tests/system_tools.py).
needs_openssl = pytest.mark.usefixtures("need_openssl")
needs_keytool = pytest.mark.usefixtures("need_keytool")


@pytest.fixture
def now_clock() -> FrozenClock:
    return FrozenClock(current=datetime.now(UTC).replace(microsecond=0))


def make_console(path: Path, clock: FrozenClock,
                 key_type: KeyType | None = KeyType.EC_P256) -> Console:
    return initialize(Home(path), SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                      ca_key_type=key_type)


def root_session(console: Console) -> Session:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    return login(console, "root", ROOT_PASSWORD)


@pytest.fixture
def pki(tmp_path: Path, now_clock: FrozenClock) -> Iterator[Console]:
    console = make_console(tmp_path / "home", now_clock)
    yield console
    console.close()


@pytest.fixture
def admin(pki: Console) -> Session:
    return root_session(pki)


def run(*argv: str | Path, input: bytes | None = None, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], input=input.decode() if input else None,
                            capture_output=True, text=True, cwd=cwd, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({result.returncode}): {result.stdout}"
                             f"{result.stderr}")
    return result


def counts(console: Console) -> tuple[int, ...]:
    """What a refused operation must leave as it was."""
    queries = [f"SELECT COUNT(*) FROM {table}"
               for table in ("pki_certificates", "pki_authorities", "pki_crls")]
    queries += [
        "SELECT COALESCE(SUM(crl_number), 0) FROM pki_crls",
        "SELECT COUNT(*) FROM pki_certificates WHERE key_pem IS NOT NULL",
        "SELECT COUNT(*) FROM pki_certificates WHERE status = 'REVOKED'",
    ]
    return tuple(console.store.conn.execute(q).fetchone()[0] for q in queries)


def audit_rows(console: Console) -> list[dict[str, str]]:
    return [dict(row) for row in console.store.conn.execute(
        "SELECT * FROM audit_log ORDER BY id").fetchall()]


META = AuditMeta()


def handshake(server: ssl.SSLContext, client: ssl.SSLContext,
              server_hostname: str = "localhost") -> dict[str, object]:
    """One real TLS connection over 127.0.0.1: what the server saw and what failed where."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    result: dict[str, object] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                peer = tls.getpeercert()
                result["peer"] = dict(x[0] for x in peer["subject"]) if peer else None
                tls.recv(16)
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            result["server_error"] = getattr(exc, "reason", None) or str(exc)
            result["server_verify"] = getattr(exc, "verify_message", None)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.sendall(b"hello")
            result["reply"] = tls.recv(16)
    except (ssl.SSLError, OSError) as exc:
        result["client_error"] = getattr(exc, "reason", None) or str(exc)
        result["client_verify"] = getattr(exc, "verify_message", None)
    thread.join(timeout=20)
    listener.close()
    return result
