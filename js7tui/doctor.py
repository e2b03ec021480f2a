"""``js7tui doctor``: read-only posture checks of a home, one sentence per finding.

It needs no session: whoever can read the home's 0600 store can read everything it reports,
and a monitoring job should be able to run it. Each finding is a *problem* (wrong now: an
expired certificate, a file others can write, passwords sent in clear) or a *warning* (to look
at: expiring soon, a file others can read, a lax setting). ``js7tui doctor`` exits 0 when all
is well, 1 with warnings only, 2 with at least one problem.

What it checks:

- the mode of every file and folder in the home (folders 0700, files 0600), including the
  Controller and Agent directories a demo keeps there (``state/server.json``, ``work/``);
- settings out of sane ranges: sessions that never end when idle or only after more than
  ``MAX_IDLE`` (12 h), a minimum password length under ``MIN_PASSWORD_LENGTH`` (8);
- LDAP services that send passwords in clear (``protocol = PLAIN`` with ``ldap://`` URLs) or
  do not check the server's host name (``verify_hostname = false``);
- the CA, certificates and CRL (js7tui.pki.health), counted in whole days, hours under a day;
- the home's own files by name: ``keys/secrets.key`` present, a regular file and 0600 (whoever
  reads it opens every sealed key and secret: readable by others is a problem), the store, its
  WAL and SHM files and the ``js7tui.db.locks/`` folder never symbolic links;
- any private key still in clear in the store (js7tui.pki.sealed): not yet sealed in an older
  home, or written by SQL into one whose keys are sealed;
- the store against its Controllers (js7tui.audit.posture): a security level lower than the
  one a Controller runs at or witnessed, a schema (triggers included) other than the one it
  witnessed, a Controller that did not answer (said, never taken as agreement).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from js7tui.findings import PROBLEM, WARNING, Finding, problem, warning
from js7tui.home import Home, ModeProblem
from js7tui.pki import health

if TYPE_CHECKING:
    from js7tui.console import Console

MAX_IDLE = 12 * 3600
MIN_PASSWORD_LENGTH = 8
MAX_WALK = 20000  # entries of the home looked at; a larger home is reported as such
LDAP_TYPES = ("LDAP", "LDAP-JOC")


def _file_modes(home: Home) -> list[Finding]:
    """Every folder (0700) and file (0600) of the home, each named as what it is: writable
    by others (every other command refuses the home when it is one of its own files) or
    readable by others."""
    found: list[Finding] = []
    problems: list[ModeProblem] = []
    seen = 0
    for top, dirs, files in os.walk(home.root):
        dirs.sort()
        for name, wanted in [("", 0o700)] + [(f, 0o600) for f in sorted(files)]:
            path = Path(top) / name if name else Path(top)
            seen += 1
            if seen > MAX_WALK:
                found.append(warning(f"{home.root} holds more than {MAX_WALK} files; only the "
                                     "first were checked"))
                return found + _sentences(problems)
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                problems.append(ModeProblem(path, mode, wanted))
    return found + _sentences(problems, secret=home.secrets_key_path)


def _sentences(problems: list[ModeProblem], secret: Path | None = None) -> list[Finding]:
    found = []
    for p in problems:
        if p.path == secret and not p.writable:  # reading it opens every sealed key
            found.append(problem(p.sentence() + "; whoever reads it opens every key and "
                                 "secret sealed in the store"))
        else:
            found.append(Finding(p.sentence(), PROBLEM if p.writable else WARNING))
    return found


def _home_files(home: Home, conn: sqlite3.Connection) -> list[Finding]:
    """The home's own files by name: the secret box's key present and a plain file; the
    store, its WAL and SHM files, the keys folder and the login locks folder never symbolic
    links (the mode walk does not follow them, and a link points the home's data elsewhere)."""
    from js7tui.pki import sealed
    found: list[Finding] = []
    key = home.secrets_key_path
    db = home.db_path
    locks = db.with_name(db.name + ".locks")
    named = [(db, "the store"), (db.with_name(db.name + "-wal"), "the store's WAL file"),
             (db.with_name(db.name + "-shm"), "the store's SHM file"),
             (home.keys_dir, "the keys folder"), (key, "the secret box's key"),
             (locks, "the login locks folder"), (sealed.marker_path(home), "the sealed mark")]
    for path, what in named:
        if path.is_symlink():
            found.append(problem(f"{path} ({what}) is a symbolic link: js7tui keeps its files "
                                 "in the home itself; replace it with the file it points to"))
    if not key.is_symlink():
        if not key.exists():
            # none yet is normal for a home that has sealed nothing (js7tui makes it then)
            holds = _sealed_values(conn)
            if holds:
                found.append(problem(
                    f"{key} (the secret box's key) is missing, but the store holds {holds} "
                    "sealed key(s) or secret(s): they cannot be opened without it; restore "
                    "the file from the home's backup"))
        elif not key.is_file():
            found.append(problem(f"{key} (the secret box's key) is not a regular file"))
    if locks.exists() and not locks.is_symlink() and not locks.is_dir():
        found.append(problem(f"{locks} (the login locks folder) is not a folder: logins "
                             "cannot be serialised; remove it"))
    return found


def _sealed_values(conn: sqlite3.Connection) -> int:
    from js7tui.pki import sealed
    total = 0
    for table, column, _, _ in sealed.COLUMNS:
        try:
            total += int(conn.execute(f"SELECT COUNT(*) FROM {table} WHERE "
                                      f"substr({column}, 1, 10) = 'sealed:v1:'").fetchone()[0])
        except sqlite3.OperationalError:
            continue
    return total


def _clear_keys(conn: sqlite3.Connection, home: Home | None) -> list[Finding]:
    """Every private key the store holds in clear, named: js7tui keeps them sealed with
    ``keys/secrets.key``; a clear one is either not yet sealed (an older home that no
    command has opened since) or was written by SQL, and every reader refuses it."""
    from js7tui.pki import sealed
    marked = home is not None and sealed.is_marked(home)
    found = []
    for key in sealed.clear_keys(conn):
        if marked:
            found.append(problem(
                f"{key.sentence()} is in clear in the store: this home's keys are sealed, so "
                "it was written outside js7tui (by SQL) and js7tui refuses to use it; remove "
                "it and find out who wrote it"))
        else:
            found.append(problem(
                f"{key.sentence()} is in clear in the store: anyone with a copy of js7tui.db "
                "has it; open the home once with js7tui (js7tui status) to seal it"))
    return found


def _settings(conn: sqlite3.Connection) -> list[Finding]:
    from js7tui.durations import format_duration
    from js7tui.identity import settings
    found = []
    idle = settings.read(conn, "idle_session_timeout")
    if idle < 0:
        found.append(warning("idle_session_timeout is -1: sessions never end when idle; set a "
                             "limit (js7tui settings set idle_session_timeout 15m)"))
    elif idle > MAX_IDLE:
        found.append(warning(f"idle_session_timeout is {format_duration(idle)}: an idle "
                             f"session outlives {format_duration(MAX_IDLE)}; 15m is JS7's "
                             "default"))
    length = settings.read(conn, "minimum_password_length")
    if length < MIN_PASSWORD_LENGTH:
        found.append(warning(f"minimum_password_length is {length}: passwords that short are "
                             f"guessed; use at least {MIN_PASSWORD_LENGTH} (12 is the "
                             "default)"))
    return found


def _ldap(conn: sqlite3.Connection) -> list[Finding]:
    from js7tui.identity import records
    found = []
    for service in records.services(conn):
        if service.type not in LDAP_TYPES:
            continue
        values = service.settings or {}
        protocol = str(values.get("protocol") or "STARTTLS").upper()
        urls = [str(u) for u in values.get("server_urls") or []]
        plain = [u for u in urls if u.lower().startswith("ldap://")]
        state = " (disabled)" if service.disabled else ""
        if protocol == "PLAIN" and plain:
            found.append(problem(
                f"the LDAP service '{service.name}'{state} uses protocol PLAIN: passwords "
                f"cross the network in clear to {', '.join(plain)}; use STARTTLS or ldaps://"))
        if values.get("verify_hostname") is False:
            found.append(warning(
                f"the LDAP service '{service.name}'{state} has verify_hostname = false: any "
                "certificate of its CA is accepted for any server name"))
    return found


def _weak_tls_certificates(conn: sqlite3.Connection) -> list[Finding]:
    """Valid certificates of the console's CA for the console, Controllers and Agents whose
    key or signature is weak for TLS (RSA under 2048 bits, an EC curve under 256 bits, SHA-1
    or MD5): a problem. The protocol itself is TLS 1.2 or newer with OpenSSL's default suites
    on every hop, and no setting weakens it."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    found: list[Finding] = []
    for row in conn.execute("SELECT name, purpose, cert_pem FROM pki_certificates WHERE "
                            "status = 'VALID' AND cert_pem IS NOT NULL AND purpose IN "
                            "('console', 'controller', 'agent')"):
        try:
            cert = x509.load_pem_x509_certificate(row["cert_pem"].encode("ascii"))
        except ValueError:
            continue
        key = cert.public_key()
        weak = []
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            weak.append(f"an RSA key of {key.key_size} bits")
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 256:
            weak.append(f"the curve {key.curve.name}")
        algorithm = cert.signature_hash_algorithm
        if algorithm is not None and algorithm.name in ("sha1", "md5"):
            weak.append(f"a {algorithm.name.upper()} signature")
        if weak:
            found.append(problem(
                f"the {row['purpose']} certificate '{row['name']}' has {' and '.join(weak)}: "
                "too weak for TLS; renew it (js7tui cert renew) and install the new bundle"))
    return found


def _expiring_signers(conn: sqlite3.Connection, now: datetime, days: int) -> list[Finding]:
    """Deployed items whose signing certificate expires soon: they keep running where they
    are attached, but no engine takes them anew after that day (README: signing certificates
    that expire). One finding per Controller and signer."""
    from js7tui.deployment.status import expiring_items
    groups: dict[tuple[str, str, str], list[str]] = {}
    lefts: dict[tuple[str, str, str], str] = {}
    for item in expiring_items(conn, now, days):
        key = (item.controller_id, item.signer, item.not_after[:10])
        groups.setdefault(key, []).append(item.path)
        lefts.setdefault(key, item.left)
    found: list[Finding] = []
    for (controller, signer, day), paths in sorted(groups.items()):
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        sentence = (f"{len(paths)} item(s) deployed on Controller '{controller}' ({shown}) are "
                    f"signed by '{signer}', whose certificate {lefts[(controller, signer, day)]}"
                    f" ({day}): they keep running where attached, but no Agent takes them "
                    "anew after that day; sign them again: js7tui deployment resign (LOW, "
                    "MEDIUM) or export them for signing (HIGH)")
        expired = lefts[(controller, signer, day)].startswith("expired")
        found.append(problem(sentence) if expired else warning(sentence))
    return found


def examine(home: Home, conn: sqlite3.Connection, now: datetime,
            expiry_days: int = 30) -> list[Finding]:
    return (_file_modes(home) + _home_files(home, conn) + _clear_keys(conn, home)
            + _settings(conn) + _ldap(conn) + health.findings(conn, now)
            + _weak_tls_certificates(conn) + _expiring_signers(conn, now, expiry_days))


def _store_against_controllers(console: Console) -> list[Finding]:
    """The store's schema and security level against what each registered Controller
    witnessed and runs at (js7tui.audit.posture; short timeouts, no transaction held)."""
    from js7tui.audit.posture import check_console
    return check_console(console)[0]


def examine_console(console: Console, *, controllers: bool = True) -> list[Finding]:
    """The findings for an opened console (what ``js7tui doctor`` prints); ``controllers``:
    also compare the store with the registered Controllers (network, short timeouts)."""
    conn, now = console.store.conn, console.clock.now()
    days = console.config.controllers.expiry_warning_days
    if console.home is None:
        found = (_clear_keys(conn, None) + _settings(conn) + _ldap(conn)
                 + health.findings(conn, now)
                 + _weak_tls_certificates(conn) + _expiring_signers(conn, now, days))
    else:
        found = examine(console.home, conn, now, days)
    return found + (_store_against_controllers(console) if controllers else [])
