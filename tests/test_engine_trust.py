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
