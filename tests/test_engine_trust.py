"""The engines enforce the installation's signing trust themselves (issue 16), against real
``js7tui controller|agent serve`` processes: revoked signers, the signing trust apart from the
TLS trust.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from js7tui.client import ControllerClient, ControllerRefused
from js7tui.engine.shapes import update_items_body
from js7tui.pki.profiles import Purpose
from tests.estate import Estate, running_estate, wait_attached, wait_order, workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("trust"), ["agent-1"]) as estate:
        yield estate


@pytest.fixture
def ctl(estate: Estate) -> Iterator[ControllerClient]:
    with estate.client() as client:
        yield client


def install_crls(estate: Estate) -> None:
    """Replace every engine's CRL files atomically, as a CA helper's transfer would."""
    for name in ("controller-1", *estate.agents):
        for target, pem in estate.crl_files().items():
            path = estate.dir(name) / target
            path.parent.mkdir(mode=0o700, exist_ok=True)
            path.with_suffix(".new").write_text(pem)
            path.with_suffix(".new").replace(path)


# -- revocation --------------------------------------------------------------------------------
def test_a_revoked_signer_is_refused_everywhere_without_a_restart(
        estate: Estate, ctl: ControllerClient) -> None:
    signer = estate.issue(Purpose.SIGNING, "soon-revoked")
    flow = workflow("revoked-flow", {"j": ("agent-1", "echo ran")})
    assert ctl.deploy([estate.sign(flow, signer)])[0]["outcome"] == "added"
    wait_attached(ctl, "revoked-flow")
    ctl.add_order("before-1", "revoked-flow")
    assert wait_order(ctl, "before-1").state == "finished"
    assert ctl.revoked_items() == []
    pids = {name: child.process.pid for name, child in estate.servers.items()}

    estate.console.certificates.revoke(estate.admin, signer.record.serial or "",
                                       "keyCompromise")
    install_crls(estate)

    # At acceptance: the Controller refuses a new version signed by the revoked certificate.
    newer = workflow("revoked-flow", {"j": ("agent-1", "echo newer")}, version="v2")
    with pytest.raises(ControllerRefused) as refused:
        ctl.deploy([estate.sign(newer, signer)])
    assert refused.value.code == "SignerRevoked"
    subject = signer.cert.subject.rfc4514_string()
    assert (f"the signing certificate {subject} (serial {signer.record.serial}) was revoked on "
            in str(refused.value))
    assert "keyCompromise" in str(refused.value)
    # ... and so does the Agent when the item is sent to it straight.
    with estate.as_controller("agent-1") as agent, pytest.raises(ControllerRefused) as direct:
        agent.call("POST", "/api/item",
                   json=update_items_body([estate.sign(newer, signer).to_wire()]))
    assert direct.value.code == "SignerRevoked"

    # The Controller reports what it holds but can no longer run.
    [report] = ctl.revoked_items()
    assert (report["path"], report["revoked"], report["code"]) == (
        "revoked-flow", True, "SignerRevoked")
    assert "was revoked on" in report["reason"]

    # Before the job start: the Agent refuses the item accepted before the revocation.
    ctl.add_order("after-1", "revoked-flow")
    order = wait_order(ctl, "after-1")
    assert order.state == "failed"
    assert "SignerRevoked" in order.message or "was revoked on" in order.message, order.message
    assert order.steps == [] or order.steps[0].stdout == ""
    assert {name: child.process.pid for name, child in estate.servers.items()} == pids
    assert "was revoked on" in estate.log("agent-1")

    # Other signers are not affected.
    other = workflow("unrevoked-flow", {"j": ("agent-1", "echo fine")})
    assert ctl.deploy([estate.sign(other)])[0]["outcome"] == "added"


# -- the signing trust apart from the TLS trust ------------------------------------------------
def test_a_code_signing_certificate_of_the_tls_ca_registered_to_nobody_is_refused(
        estate: Estate) -> None:
    """An insider with the console's client certificate and the TLS issuing CA's key makes a
    code-signing certificate there and POSTs an item signed with it straight to the
    Controller (and to an Agent): neither trusts the TLS CA for signed items."""
    from datetime import timedelta

    from js7tui.pki import authority
    from js7tui.pki.builder import build_leaf
    from js7tui.pki.issuing import Issued
    from js7tui.pki.keys import KeyType
    from js7tui.pki.profiles import default_san, parse_san, subject_for

    conn = estate.console.store.conn
    now = estate.clock.now()
    tls_ca = authority.issuer(conn, now)
    key = KeyType.EC_P256.generate()
    cert = build_leaf(Purpose.SIGNING, subject_for(Purpose.SIGNING, "nobody"), key.public_key(),
                      parse_san(default_san(Purpose.SIGNING, "nobody", None)), tls_ca,
                      now - timedelta(minutes=1), 30)
    rogue = Issued(estate.signer.record, cert, [cert, tls_ca.cert], key)
    item = estate.sign(workflow("rogue", {"j": ("agent-1", "echo pwned")}), rogue)
    with estate.client() as ctl, pytest.raises(ControllerRefused) as refused:
        ctl.deploy([item])
    assert refused.value.code == "MessageSignedByUnknown"
    assert "does not chain" in str(refused.value)
    with estate.as_controller("agent-1") as agent, pytest.raises(ControllerRefused) as direct:
        agent.call("POST", "/api/item", json=update_items_body([item.to_wire()]))
    assert direct.value.code == "MessageSignedByUnknown"
    # The engines hold the signing CA, not the root or the TLS issuing CA.
    trusted = (estate.dir("controller-1") / "trusted-x509-keys").iterdir()
    assert [p.name for p in trusted] == ["js7tui-signers.pem"]


def test_at_high_no_signing_key_is_made_inside_the_console(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from tests.test_cli import Cli

    cli = Cli(tmp_path)
    code, _, err = cli("init", "--security-level", "high")
    assert code == 0, err
    config = cli.home / "config.toml"
    config.write_text(config.read_text().replace("argon2_time_cost = 3", "argon2_time_cost = 1")
                      .replace("argon2_memory_kib = 65536", "argon2_memory_kib = 8")
                      .replace("argon2_parallelism = 4", "argon2_parallelism = 1"))
    from tests.test_cli import logged_in_root
    logged_in_root(cli)
    for options in (["--out-key", str(tmp_path / "k.pem")], ["--keep-key"]):
        code, _, err = cli("cert", "issue", "signing", "root", *options)
        assert code != 0, options
        assert "security level HIGH: no signing key may be made or kept inside the console" \
            in err and "--csr" in err
        assert not (tmp_path / "k.pem").exists()
    code, _, err = cli("cert", "csr", "signing", "root", "--out", str(tmp_path / "x.csr"))
    assert code != 0 and "security level HIGH" in err
    for args in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-out", "signing.key"],
                 ["req", "-new", "-key", "signing.key", "-subj", "/CN=root", "-out",
                  "signing.csr"]):
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)
    code, out, err = cli("cert", "issue", "signing", "root", "--csr",
                         str(tmp_path / "signing.csr"), "--out-cert",
                         str(tmp_path / "signing.pem"))
    assert code == 0, err
    from cryptography import x509
    chain = x509.load_pem_x509_certificates((tmp_path / "signing.pem").read_bytes())
    assert "from the request" in out and "Signing CA" in chain[1].subject.rfc4514_string()
    code, _, err = cli("signing-key", "register", str(tmp_path / "signing.pem"))
    assert code == 0, err
    rows = cli_store_rows(cli)
    assert all(key is None for key in rows)


def cli_store_rows(cli) -> list[object]:  # type: ignore[no-untyped-def]
    import sqlite3
    conn = sqlite3.connect(cli.home / "js7tui.db")
    try:
        return [r[0] for r in conn.execute(
            "SELECT key_pem FROM pki_certificates WHERE purpose = 'signing'")] + [
            r[0] for r in conn.execute("SELECT key_sealed FROM signing_keys")]
    finally:
        conn.close()


# -- refused handshakes are logged -------------------------------------------------------------
def test_refused_tls_handshakes_are_logged_with_peer_reason_and_subject(
        estate: Estate, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import ssl

    from js7tui.client import ControllerUnreachable
    from js7tui.pki.material import ClientMaterial, client_material
    from tests.estate import CONSOLE_PASSWORD, new_console

    outsider, _admin = new_console(tmp_path / "outsider")
    try:
        theirs = client_material(outsider.store.conn)
        ours = client_material(estate.console.store.conn)
        foreign_cert = x509_first(theirs.cert_chain_pem)
        tls = ClientMaterial(theirs.cert_chain_pem, theirs.key_pem, ours.ca_pem, ours.crl_pem)
        with estate.client(tls=tls, timeout=5) as client, pytest.raises(ControllerUnreachable):
            client.login()
        context = ssl.create_default_context(cadata=ours.ca_pem.decode())
        with ControllerClient(estate.servers["controller-1"].url, "console", CONSOLE_PASSWORD,
                              ssl_context=context, timeout=5) as client, pytest.raises(
                ControllerUnreachable):
            client.login()
    finally:
        outsider.close()
    subject = foreign_cert.subject.rfc4514_string()
    issuer = foreign_cert.issuer.rfc4514_string()

    def logged() -> list[str]:
        return [line for line in estate.log("controller-1").splitlines()
                if "refused TLS handshake from 127.0.0.1:" in line]

    from tests.estate import wait_for
    wait_for(lambda: len(logged()) >= 2, "two refused handshakes in the log", 10)
    untrusted = next(line for line in logged() if subject in line and issuer in line)
    assert "unable to get local issuer certificate" in untrusted
    assert f"serial {foreign_cert.serial_number:x}" in untrusted
    assert any("no client certificate sent" in line for line in logged())


def x509_first(pem: bytes):  # type: ignore[no-untyped-def]
    from cryptography import x509
    return x509.load_pem_x509_certificates(pem)[0]
