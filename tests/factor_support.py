"""Helpers for the second-factor tests: user certificates from the home's CA or a foreign one,
a real ssh-agent (OpenSSH) on a private socket, and the audit/history text of refusals."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from js7tui.identity.factors.sshsig import Agent


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(ser.Encoding.PEM) for c in certs)


def key_pem(key: object) -> bytes:
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                             ser.NoEncryption())


def openssh_key(key: object) -> bytes:
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH,  # type: ignore[attr-defined]
                             ser.NoEncryption())


def foreign_user(cn: str, now: dt.datetime) -> tuple[x509.Certificate, object, x509.Certificate]:
    """A clientAuth certificate for ``cn`` from a self-made root nobody trusts."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign Root")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=90))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return leaf, key, ca


@pytest.fixture
def ssh_agent(tmp_path: Path) -> Iterator[Agent]:
    """A real ssh-agent (OpenSSH's) on a socket in the test's directory, stopped by its PID."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.01)
        yield Agent(str(sock))
    finally:
        proc.terminate()
        proc.wait(5)


def ssh_add(agent: Agent, key: object, directory: Path) -> None:
    path = directory / f"key-{time.monotonic_ns()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(openssh_key(key))
    subprocess.run(["ssh-add", str(path)], env={**os.environ, "SSH_AUTH_SOCK": agent.path},
                   check=True, capture_output=True)
    path.unlink()


def last_refusal(console) -> tuple[str, str]:
    """(login history details, audit parameters) of the newest failed login, as text."""
    conn = console.store.conn
    entry = conn.execute("SELECT id, message FROM login_history WHERE success = 0 "
                         "ORDER BY id DESC LIMIT 1").fetchone()
    details = [r[0] for r in conn.execute(
        "SELECT message FROM login_history_details WHERE history_id = ? ORDER BY position",
        (entry["id"],))]
    audit = conn.execute("SELECT parameters FROM audit_log WHERE request = "
                         "'./authentication/login' ORDER BY id DESC LIMIT 1").fetchone()
    return entry["message"] + " | " + " | ".join(details), json.dumps(json.loads(audit[0]))
