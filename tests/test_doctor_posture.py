"""``js7tui doctor`` as a posture check: every file mode of the home, lax settings, plain or
unverified LDAP, certificates by the time left (counted right), exit codes by severity."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from js7tui.clock import FrozenClock
from js7tui.console import Console
from js7tui.doctor import examine
from js7tui.identity.sessions import Session
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.profiles import Purpose
from js7tui.pki.records import days_between, time_left
from tests.pki_support import admin, now_clock, pki  # noqa: F401  (fixtures)
from tests.test_cli_robust import make_script


def test_days_are_counted_toward_zero_and_hours_under_a_day() -> None:
    clock = FrozenClock()
    now = clock.now()
    assert days_between(now, now + timedelta(hours=23)) == 0
    assert days_between(now, now + timedelta(days=1, hours=1)) == 1
    assert days_between(now, now - timedelta(days=1, minutes=5)) == -1  # not -2
    assert days_between(now, now - timedelta(hours=2)) == 0
    assert time_left(now, now + timedelta(hours=23)) == "in 23 hours"
    assert time_left(now, now + timedelta(days=1)) == "in 1 day"
    assert time_left(now, now + timedelta(days=3, hours=5)) == "in 3 days"
    assert time_left(now, now + timedelta(minutes=40)) == "in 40 minutes"


def test_doctor_says_hours_for_a_certificate_with_less_than_a_day_left(
        pki: Console, admin: Session, now_clock: FrozenClock) -> None:  # noqa: F811
    issued = pki.certificates.issue(admin, IssueRequest(Purpose.USER, "alice", days=1,
                                                        email="a@example.com", keep_key=True))
    not_after = issued.record.not_after
    assert not_after is not None
    now_clock.current = not_after - timedelta(hours=23, minutes=30)
    texts = [f for f in examine(pki.home, pki.store.conn, now_clock.now())  # type: ignore[arg-type]
             if "alice" in f]
    assert len(texts) == 1 and "expires in 23 hours" in texts[0], texts
    assert texts[0].severity == "warning"
    now_clock.current = not_after + timedelta(days=1, minutes=1)
    assert issued.record.days_left(now_clock.now()) == -1  # what cert list shows; not -2
    texts = [f for f in examine(pki.home, pki.store.conn, now_clock.now())  # type: ignore[arg-type]
             if "alice" in f]
    assert "expired on" in texts[0] and texts[0].severity == "problem"


def test_doctor_posture_and_exit_codes(tmp_path: Path) -> None:
    sh = make_script(tmp_path)
    sh.ok("cert", "export-root-key", "--out", str(tmp_path / "root.key"), "--unencrypted")
    assert sh("doctor").returncode == 0
    sh.ok("settings", "set", "idle_session_timeout", "-1")
    sh.ok("settings", "set", "minimum_password_length", "6")
    done = sh("doctor")
    assert done.returncode == 1, done
    assert "warning: idle_session_timeout is -1: sessions never end when idle" in done.stdout
    assert "warning: minimum_password_length is 6" in done.stdout
    sh.ok("settings", "set", "idle_session_timeout", "15m")
    sh.ok("settings", "set", "minimum_password_length", "12")

    sh.ok("identity-service", "create", "corp", "--type", "LDAP")
    sh.ok("identity-service", "set", "corp", "--setting",
          "server_urls=ldap://dc1.example.com:389", "--setting", "protocol=PLAIN",
          "--setting", "verify_hostname=false", "--setting",
          "user_dn_template=uid={account},dc=example,dc=com")
    done = sh("doctor")
    assert done.returncode == 2, done
    assert ("problem: the LDAP service 'corp' uses protocol PLAIN: passwords cross the "
            "network in clear to ldap://dc1.example.com:389") in done.stdout
    assert "warning: the LDAP service 'corp' has verify_hostname = false" in done.stdout
    sh.ok("identity-service", "delete", "corp")

    # Every file mode of the home, named; a demo's engine directories live there too.
    (sh.home / "config.toml").chmod(0o644)
    state = sh.home / "demo" / "controller" / "state"
    state.mkdir(parents=True, mode=0o700)
    (state / "server.json").write_text("{}")
    (state / "server.json").chmod(0o644)
    work = sh.home / "demo" / "agent" / "work"
    work.mkdir(parents=True)
    work.chmod(0o755)
    for folder in (sh.home / "demo", state.parent, work.parent):
        folder.chmod(0o700)
    done = sh("doctor")
    assert done.returncode == 1, done
    lines = done.stdout.splitlines()
    for path, mode, wanted in ((sh.home / "config.toml", "0644", "0600"),
                               (state / "server.json", "0644", "0600"),
                               (work, "0755", "0700")):
        assert (f"warning: {path} is readable by others (mode {mode}, expected {wanted}): "
                f"fix it with chmod {wanted[1:]} {path}") in lines, done.stdout
    os.chmod(work, 0o777)
    done = sh("doctor")
    assert done.returncode == 2 and f"problem: {work} is writable and readable" in done.stdout


def test_doctor_names_a_weak_tls_certificate(tmp_path: Path) -> None:
    """A Controller certificate with a 1024-bit RSA key, put into the store as an imported
    one would be: doctor calls it a problem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from js7tui.doctor import _weak_tls_certificates
    from js7tui.store import Store
    store = Store.create(tmp_path / "weak.db")
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old-controller")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    with store.transaction() as conn:
        conn.execute("INSERT INTO pki_certificates (serial, purpose, name, subject, key_type, "
                     "status, cert_pem, created, created_by) VALUES ('01', 'controller', "
                     "'old-controller', 'CN=old-controller', 'rsa-1024', 'VALID', ?, ?, 'test')",
                     (cert.public_bytes(serialization.Encoding.PEM).decode(), now.isoformat()))
    found = _weak_tls_certificates(store.conn)
    assert len(found) == 1 and found[0].severity == "problem"
    assert "'old-controller' has an RSA key of 1024 bits" in found[0]
    store.close()
