"""What encrypted values cost (issue 21): job start latency on the Agent, encryptions per second.

What it measures
    1. Job start latency on a real Agent (``js7tui agent serve`` over HTTPS with client
       certificates, ``tests/estate.py``; items pushed and tasks started with the Controller's
       credentials, as the Controller does): the time of ``POST /api/task`` (verify the
       workflow and its job resource with the trust anchors, build the environment, decrypt,
       spawn the job), for a job resource with ten encrypted variables beside one with ten
       plain ones; median and p95 of N starts each, interleaved. Target: within 1.3x.
    2. Encryptions per second: ``console.encipherment.encrypt`` (permission check, audit
       entry in its transaction, the envelope) beside ``envelope.encrypt`` alone and the bare
       ``cryptography`` calls it makes (ephemeral key, ECDH, HKDF, AES key wrap, AES-GCM; or
       RSA-OAEP and AES-GCM), for EC P-256 and RSA-3072 certificates.

Run: ``python benchmarks/encrypted_secrets.py [--starts N] [--encryptions N]``
"""

from __future__ import annotations

import sys
from pathlib import Path

# (not named secrets.py: a script's folder comes first on sys.path, and a benchmarks/secrets.py
# shadowed the standard library's ``secrets`` for every other benchmark)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import os
import statistics
import tempfile
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from js7tui.encipherment import envelope
from js7tui.engine.shapes import update_items_body
from js7tui.pki.keys import KeyType
from tests.estate import Estate, wait_for, workflow

VARIABLES = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _resource(path: str, values: list[str]) -> dict[str, object]:
    return {"TYPE": "JobResource", "path": path, "versionId": "r1",
            "variables": {f"v{i}": f"'{v}'" for i, v in enumerate(values)},
            "env": {f"E{i}": f"$v{i}" for i in range(len(values))}}


def job_starts(root: Path, starts: int) -> tuple[list[float], list[float]]:
    estate = Estate(root, agents=["agent-1"])
    service = estate.console.encipherment
    service.issue(estate.admin, "enc-a1", agents=["agent-1"])
    encrypted = [service.encrypt(estate.admin, "enc-a1", f"secret-{i}-{os.urandom(6).hex()}",
                                 f"jobresource:enc:v{i}").value for i in range(VARIABLES)]
    plain = [f"plain-value-{i}-{os.urandom(6).hex()}" for i in range(VARIABLES)]
    estate.configure_controller_certificate()
    estate.configure_agent("agent-1")
    estate.start("agent", "agent-1")
    try:
        items = [_resource("enc", encrypted), _resource("plain", plain)]
        for name in ("enc", "plain"):
            items.append(workflow(f"wf-{name}", {"j": ("agent-1", "exit 0")},
                                  jobResourcePaths=[name]))
        with estate.as_controller("agent-1") as agent:
            agent.call("POST", "/api/item",
                       json=update_items_body([estate.sign(i).to_wire() for i in items]))
            timings: dict[str, list[float]] = {"enc": [], "plain": []}
            for n in range(starts + 5):
                for name in ("enc", "plain"):
                    body = {"TYPE": "StartTask", "taskId": f"{name}-{n}", "orderId": f"o{n}",
                            "workflowPath": f"wf-{name}", "versionId": "v1", "position": 0,
                            "jobName": "j", "arguments": {}}
                    began = time.perf_counter()
                    task = agent.call("POST", "/api/task", json=body)
                    elapsed = time.perf_counter() - began
                    if task.get("state") not in ("running", "succeeded"):
                        raise SystemExit(f"task {name}-{n} did not start: {task}")
                    if n >= 5:  # warm-up
                        timings[name].append(elapsed * 1000)
                    wait_for(lambda t=f"{name}-{n}": agent.call(  # type: ignore[misc]
                        "GET", "/api/task/output", params={"taskId": t, "stdout": 0,
                                                           "stderr": 0})["state"]
                        == "succeeded", "the job ending", 10, interval=0.005)
        return timings["enc"], timings["plain"]
    finally:
        estate.stop_all()


def _bare_ec(public: ec.EllipticCurvePublicKey, data: bytes) -> None:
    key = AESGCM.generate_key(256)
    ephemeral = ec.generate_private_key(public.curve)
    point = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
    kek = HKDF(hashes.SHA256(), 32, point, b"info").derive(ephemeral.exchange(ec.ECDH(), public))
    aes_key_wrap(kek, key)
    AESGCM(key).encrypt(os.urandom(12), data, b"aad")


def _bare_rsa(public, data: bytes) -> None:  # type: ignore[no-untyped-def]
    key = AESGCM.generate_key(256)
    public.encrypt(key, asym_padding.OAEP(asym_padding.MGF1(hashes.SHA256()), hashes.SHA256(),
                                          None))
    AESGCM(key).encrypt(os.urandom(12), data, b"aad")


def rate(function, count: int) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    for _ in range(count):
        function()
    return count / (time.perf_counter() - began)


def encryptions(root: Path, count: int) -> list[tuple[str, float, float, float]]:
    from tests.estate import new_console
    console, admin = new_console(root / "home")
    rows = []
    try:
        for alias, kind in (("ec", KeyType.EC_P256), ("rsa", KeyType.RSA_3072)):
            view = console.encipherment.issue(admin, alias, key_type=kind, agents=[alias])
            cert = view.cert.cert
            bare = _bare_ec if kind is KeyType.EC_P256 else _bare_rsa
            data = b"a-database-password-of-some-length"
            rows.append((kind.value,
                         rate(lambda: console.encipherment.encrypt(
                             admin, alias, "a-database-password-of-some-length",  # noqa: B023
                             "jobresource:db:password"), count),
                         rate(lambda: envelope.encrypt(
                             "a-database-password-of-some-length", cert,  # noqa: B023
                             "jobresource:db:password"), count),
                         rate(lambda: bare(cert.public_key(), data), count)))  # noqa: B023
    finally:
        console.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--encryptions", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        enc, plain = job_starts(Path(tmp) / "starts", args.starts)
        print(f"job start (POST /api/task), {args.starts} each, {VARIABLES} variables:")
        for label, values in (("plain", plain), ("encrypted", enc)):
            print(f"  {label:>9}: median {statistics.median(values):6.2f} ms, "
                  f"p95 {percentile(values, 0.95):6.2f} ms")
        ratio = statistics.median(enc) / statistics.median(plain)
        print(f"  ratio of medians: {ratio:.2f}x (target <= 1.30x)")
        print(f"encryptions per second ({args.encryptions} each):")
        for kind, service, ours, bare in encryptions(Path(tmp) / "enc", args.encryptions):
            print(f"  {kind:>8}: console {service:7.0f}/s, envelope {ours:7.0f}/s, "
                  f"bare cryptography {bare:7.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
