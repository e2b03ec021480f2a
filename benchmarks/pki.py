"""What the certificate authority costs: CA creation, issuing, bundles, import, TLS handshakes.

Prints median wall-clock figures (no assertions; tests never assert timings). Run with
``python benchmarks/pki.py [ROUNDS]`` from the repository root.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.clock import FrozenClock
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.material import (
    client_material,
    ssl_client_context,
    ssl_server_context,
)
from js7tui.pki.profiles import Purpose
from tests.pki_support import handshake, make_console, root_session


def median_ms(rounds: int, action: Callable[[int], object]) -> float:
    times = []
    for index in range(rounds):
        start = time.perf_counter()
        action(index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="js7tui-pki-bench-"))
    clock = FrozenClock(current=datetime.now(UTC))
    for key_type in (KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_3072):
        runs = rounds if key_type is not KeyType.RSA_3072 else max(1, rounds // 5)
        ms = median_ms(runs, lambda i, k=key_type: make_console(
            folder / f"init-{k.value}-{i}", clock, k).close())
        print(f"init with CA + console certificate, {key_type.value:9}: {ms:8.1f} ms "
              f"(median of {runs}; whole home, test-cost argon2)")
    console = make_console(folder / "home", clock)
    admin = root_session(console)
    ms = median_ms(rounds, lambda i: console.certificates.issue(
        admin, IssueRequest(Purpose.AGENT, f"agent{i}"), hold_key=True))
    print(f"issue one agent certificate (ec-p256, audited):  {ms:8.1f} ms")
    console.certificates.bundle(admin, "controller", "primary", password="bench-password")
    bundles: list[bytes] = []
    ms = median_ms(rounds, lambda i: bundles.append(console.certificates.bundle(
        admin, "agent", f"b{i}", controller="primary", password="bench-password").data))
    print(f"agent bundle (issue + 2 PKCS#12 + CRL + zip):    {ms:8.1f} ms, "
          f"{len(bundles[0]):,} bytes")
    for index, data in enumerate(bundles):
        (folder / f"b{index}.zip").write_bytes(data)
    ms = median_ms(rounds, lambda i: import_bundle(
        folder / f"b{i}.zip", folder / f"agent-{i}", component="agent",
        password=b"bench-password"))
    print(f"import-bundle on the target (all checks, write): {ms:8.1f} ms")
    material = client_material(console.store.conn)
    ms = median_ms(rounds, lambda i: ssl_client_context(material))
    print(f"ssl_client_context from the store (memfd):       {ms:8.1f} ms")
    controller_bundle = folder / "primary.zip"
    controller_bundle.write_bytes(console.certificates.bundle(
        admin, "controller", "primary2", password="bench-password").data)
    tls = import_bundle(controller_bundle, folder / "primary", component="controller",
                        password=b"bench-password").directory / "tls"
    server = ssl_server_context(tls / "https-cert.pem", tls / "https-key.pem", tls / "ca.pem",
                                tls / "crl.pem")
    client = ssl_client_context(material)
    ms = median_ms(rounds, lambda i: handshake(server, client))
    print(f"mTLS handshake + echo with CRL check (loopback): {ms:8.1f} ms")
    console.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
