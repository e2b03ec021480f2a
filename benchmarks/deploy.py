"""Signed deployment through a Controller to two Agents, and job start latency, on loopback.

What it measures
    1. Deployment: N signed workflows (default 1,000), each with one job on each of two Agents,
       signed by the console side (``sign_bytes``) and sent to the Controller in one
       UpdateItems request; timed until both Agents hold every item (the Controller verifies
       each item, journals it, forwards it, and each Agent verifies it again and journals it).
    2. The floor: the bare public-key work of the same run, measured in this process on the
       same items: N signatures plus 3N verifications (Controller + 2 Agents), with the same
       key and algorithm; no chain checks, no JSON, no I/O.
    2b. The same N workflows deployed the console's way (``console.deployments.deploy``: the
       policy and permission checks, serialising and signing each object with the LOW key in
       the store, the intent and its audit entry in one transaction, the send with no
       transaction open, the Controller's outcome and its audit entry, then the wait until
       both Agents hold every item and their states recorded), timed against the same floor.
       Revocation (CRLs) and the signing-CA chain are checked at every hop.
    3. The console side of external signing (``--console-side``, on by default): N workflows
       imported into the console's inventory, ``export --for-signing`` (zip), every file
       signed outside the console (ECDSA P-256 / SHA-256, what ``openssl dgst -sha256 -sign``
       produces; a key the console never sees, its certificate registered from a CSR), the
       signed zip written, then ``import-deploy``: hardened read, inventory match, every
       signature verified against the registered certificate and chain, the exact bytes sent
       to the Controller; and until both Agents hold every item. Time per step.
    4. Job start latency: an order is added (client clock before the request) until the Agent
       has started the job's process (the Agent's timestamp right after the fork); orders one
       after the other, each waited for, so nothing queues.

Real parts only: the servers are ``js7tui controller serve`` / ``js7tui agent serve``
subprocesses over HTTPS with client certificates; journals are SQLite with synchronous=FULL.

Targets: the console's deployment (2b) within 2.5x of the floor; job start p50 under 20 ms.

Run: ``python benchmarks/deploy.py [--items N] [--orders M] [--algorithm NAME]
[--no-console-side]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.pki.keys import KeyType
from js7tui.signing import Algorithm, SignedItem, sign_bytes
from js7tui.signing.algorithms import verify_raw
from tests.estate import Estate, wait_for, workflow

TARGET_RATIO = 2.5
TARGET_P50_MS = 20.0


def sign_all(estate: Estate, texts: list[str], algorithm: Algorithm) -> list[SignedItem]:
    signer = estate.signer
    return [SignedItem(text, sign_bytes(text.encode(), signer.key, certificate=signer.cert,
                                        chain=signer.chain[1:2], algorithm=algorithm))
            for text in texts]


def floor(estate: Estate, texts: list[str], algorithm: Algorithm) -> tuple[float, float]:
    """Seconds for N bare signatures and for 3N bare verifications."""
    import base64

    key, public = estate.signer.key, estate.signer.cert.public_key()
    data = [t.encode() for t in texts]
    start = time.perf_counter()
    signatures = [base64.b64decode(sign_bytes(d, key, certificate=estate.signer.cert,
                                              algorithm=algorithm)["signatureString"])
                  for d in data]
    signed = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(3):
        for d, s in zip(data, signatures, strict=True):
            assert verify_raw(algorithm, public, s, d)
    return signed, time.perf_counter() - start


def deploy(estate: Estate, items: list[SignedItem]) -> float:
    with estate.client() as client:
        client.login()
        start = time.perf_counter()
        results = client.deploy(items)
        acknowledged = time.perf_counter() - start
        assert len(results) == len(items)
        wait_for(lambda: all(a["pendingItems"] == 0 for a in client.agents()),
                 "every item on both Agents", 600, interval=0.025)
        total = time.perf_counter() - start
        refused = sum(a["refusedItems"] for a in client.agents())
        assert refused == 0, f"{refused} items refused by an Agent"
    print(f"  Controller acknowledged after {acknowledged:.3f} s")
    return total


def console_deploy(estate: Estate, count: int) -> float:
    """Seconds for N workflows through the console's deploy road until 'deployed' (both
    Agents hold every item)."""
    from js7tui.audit import AuditMeta
    from js7tui.inventory import ImportFile
    from tests.estate import CONSOLE_PASSWORD

    console, admin, meta = estate.console, estate.admin, AuditMeta()
    if not console.controllers.list(admin):
        console.controllers.register(admin, "controller-1", estate.servers["controller-1"].url,
                                     "console", CONSOLE_PASSWORD, meta=meta)
    console.signing_keys.generate(admin, meta=meta)
    files = [ImportFile(f"cd-{i:05d}.workflow.json", json.dumps(
        {k: v for k, v in workflow(f"cd-{i:05d}", {"a": ("agent-1", f"echo {i} a"),
                                                   "b": ("agent-2", f"echo {i} b")}).items()
         if k != "versionId"}).encode()) for i in range(count)]
    console.inventory.import_files(admin, "/console-deploy", files, meta=meta)
    console.deployments.agent_wait = 600.0   # until both Agents hold all of it
    start = time.perf_counter()
    result = console.deployments.deploy(admin, ["/console-deploy"], ["controller-1"],
                                        meta=meta)
    spent = time.perf_counter() - start
    assert result.ok, result.targets
    return spent


def latency(estate: Estate, orders: int) -> tuple[list[float], list[float]]:
    estate_items = [estate.sign(workflow("latency", {"j": ("agent-1", "true")}))]
    with estate.client() as client:
        client.deploy(estate_items)
        wait_for(lambda: all(a["pendingItems"] == 0 for a in client.agents()), "attached")
        client.add_order("warm-up", "latency")
        wait_for(lambda: client.order("warm-up").ended, "warm-up order")
        end_to_end, server_side = [], []
        for index in range(orders):
            before = time.time()
            client.add_order(f"lat-{index}", "latency")
            order = wait_for(lambda i=index: (o := client.order(f"lat-{i}")).ended and o,
                             "order", 30, interval=0.05)
            started = datetime.fromisoformat(order.steps[0].started).timestamp()
            created = datetime.fromisoformat(order.created).timestamp()
            end_to_end.append((started - before) * 1000)
            server_side.append((started - created) * 1000)
    return end_to_end, server_side


def console_side(estate: Estate, count: int, root: Path) -> None:
    """Export, sign outside and import-deploy ``count`` workflows through the console."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from js7tui.audit import AuditMeta
    from js7tui.deployment import ArchiveEntry, ArchiveFormat, read_archive, write_archive
    from js7tui.inventory import ImportFile
    from js7tui.pki.issuing import IssueRequest
    from js7tui.pki.profiles import Purpose
    from tests.estate import CONSOLE_PASSWORD

    console, admin, meta = estate.console, estate.admin, AuditMeta()
    console.controllers.register(admin, "controller-1", estate.servers["controller-1"].url,
                                 "console", CONSOLE_PASSWORD, meta=meta)
    # import-deploy is the HIGH way: raise the level (the installation allows raising only)
    with console.store.transaction() as conn:
        conn.execute("UPDATE installation SET security_level = 'HIGH' WHERE id = 1")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()   # root's own signing certificate
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")]))
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    issued = console.certificates.issue_from_csr(admin, csr,
                                                 IssueRequest(Purpose.SIGNING, "root"))
    console.signing_keys.register(admin, issued.cert_chain_pem, meta=meta)
    def document(i: int) -> bytes:
        wf = workflow(f"cs-{i:05d}", {"a": ("agent-1", f"echo {i} a"),
                                      "b": ("agent-2", f"echo {i} b")})
        return json.dumps({k: v for k, v in wf.items() if k != "versionId"}).encode()
    files = [ImportFile(f"cs-{i:05d}.workflow.json", document(i)) for i in range(count)]
    exported, signed = root / "export.zip", root / "signed.zip"

    def step(label: str, action):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        result = action()
        spent = time.perf_counter() - start
        print(f"  {label:<46} {spent:8.3f} s  {spent / count * 1e3:7.2f} ms/workflow")
        return result

    print(f"console side: {count} workflows, export -> sign outside -> import-deploy")
    step("import into the inventory", lambda: console.inventory.import_files(
        admin, "/bench", files, meta=meta))
    step("export --for-signing (zip)", lambda: console.exports.for_signing(
        admin, ["/bench"], exported, meta=meta))
    entries = read_archive(exported)

    def sign() -> list[ArchiveEntry]:
        return [ArchiveEntry(e.name + ".sig", key.sign(e.data, ec.ECDSA(hashes.SHA256())))
                for e in entries if e.name != "meta_inf"]
    signatures = step("sign every file outside (ECDSA P-256/SHA-256)", sign)
    step("write the signed zip", lambda: write_archive(signed, ArchiveFormat.ZIP,
                                                        [*entries, *signatures]))
    result = step("import-deploy (read, verify all, deploy)", lambda: (
        console.deployments.import_deploy(admin, signed, "controller-1", meta=meta)))
    assert result.ok, result.targets
    with estate.client() as client:
        step("until both Agents hold every item", lambda: wait_for(
            lambda: all(a["pendingItems"] == 0 for a in client.agents()),
            "every item on both Agents", 600, interval=0.025))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--algorithm", default="SHA512withECDSA",
                        choices=["SHA512withECDSA", "SHA256withECDSA", "SHA256withRSA"],
                        help="signature algorithm (keys from the console's CA: EC P-256 or "
                        "RSA 3072)")
    parser.add_argument("--no-console-side", action="store_true",
                        help="skip export, external signing and import-deploy")
    parser.add_argument("--journal-sync", default="full", choices=["full", "normal"],
                        help="SQLite synchronous mode of the journals (default: full)")
    args = parser.parse_args()
    algorithm = Algorithm(args.algorithm)
    key_type = KeyType.RSA_3072 if algorithm is Algorithm.SHA256_RSA else KeyType.EC_P256
    with tempfile.TemporaryDirectory(prefix="js7tui-bench-") as root:
        estate = Estate(Path(root), agents=["agent-1", "agent-2"],
                        journal_sync=args.journal_sync, signer_key_type=key_type)
        try:
            estate.start_all()
            texts = [json.dumps(workflow(f"wf-{i:05d}", {"a": ("agent-1", f"echo {i} a"),
                                                          "b": ("agent-2", f"echo {i} b")}))
                     for i in range(args.items)]
            print(f"deploy: {args.items} workflows ({algorithm.value}), Controller + 2 Agents, "
                  "HTTPS with client certificates, SQLite journals (synchronous="
                  f"{args.journal_sync.upper()})")
            start = time.perf_counter()
            items = sign_all(estate, texts, algorithm)
            signing = time.perf_counter() - start
            deployed = deploy(estate, items)
            sign_floor, verify_floor = floor(estate, texts, algorithm)
            crypto = sign_floor + verify_floor
            total = signing + deployed
            ratio = total / crypto
            print(f"  signing (console, with certificate)  {signing:8.3f} s")
            print(f"  deploy until both Agents hold all    {deployed:8.3f} s")
            print(f"  total                                {total:8.3f} s")
            print(f"  floor: {args.items} signatures          {sign_floor:8.3f} s")
            print(f"  floor: {3 * args.items} verifications       {verify_floor:8.3f} s")
            print(f"  floor total                          {crypto:8.3f} s")
            print(f"  ratio total / floor                  {ratio:8.2f}x  (bare client path, "
                  "for comparison)")
            print(f"  deploy alone / verification floor    {deployed / verify_floor:8.2f}x")
            # a fresh estate of its own: the Controller above already holds N items, which
            # would slow the second deployment of N for reasons that are not the road's
            with tempfile.TemporaryDirectory(prefix="js7tui-bench-road-") as road_root:
                fresh = Estate(Path(road_root), agents=["agent-1", "agent-2"],
                               journal_sync=args.journal_sync, signer_key_type=key_type)
                try:
                    fresh.start_all()
                    through = console_deploy(fresh, args.items)
                finally:
                    fresh.stop_all()
            road = through / crypto
            print("console deploy (policy, sign, intent + audit, send, outcome + audit, "
                  "Agents):")
            print(f"  {args.items} workflows until both Agents hold all {through:8.3f} s")
            print(f"  ratio console deploy / floor         {road:8.2f}x  (target <= "
                  f"{TARGET_RATIO}x: {'met' if road <= TARGET_RATIO else 'MISSED'})")

            if not args.no_console_side:
                console_side(estate, args.items, Path(root))
            end_to_end, server_side = latency(estate, args.orders)
            p50, p95 = percentile(end_to_end, 0.5), percentile(end_to_end, 0.95)
            print(f"job start latency over {args.orders} orders (order added -> job process "
                  "started):")
            print(f"  client-measured  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max "
                  f"{max(end_to_end):6.1f} ms  (target p50 < {TARGET_P50_MS:.0f} ms: "
                  f"{'met' if p50 < TARGET_P50_MS else 'MISSED'})")
            print(f"  Controller-side  p50 {percentile(server_side, 0.5):6.1f} ms   p95 "
                  f"{percentile(server_side, 0.95):6.1f} ms  (order journaled -> started)")
            print(f"  mean {statistics.mean(end_to_end):.1f} ms")
        finally:
            estate.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
