"""The console side of external signing, timed step by step for N workflows (default 1,000).

What it measures (``time.perf_counter``, one run each, on a throw-away home):
    import      N workflow files into one folder (one transaction, schema-checked)
    export      ``export --for-signing`` to zip and to tar.gz
    sign        every exported file signed in-process with ECDSA P-256 / SHA-256 (what
                ``openssl dgst -sha256 -sign`` produces), plus, for reference, the openssl CLI
                on the first 50 files (one process per file, as a signing script would run)
    read        the signed archive through the hardened reader and the entry sorting
    match       every archived object matched to the inventory (folders checked)

Why
    The issue's benchmark asks for export, sign and import-deploy of 1,000 workflows with the
    time per step; import-deploy's verification and the deployment itself build on the reader
    and matcher timed here and are added to benchmarks/deploy.py with them.

Run: ``python benchmarks/export_sign.py [--workflows N]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.config import ArchiveConfig, PasswordConfig
from js7tui.console import initialize
from js7tui.deployment import (
    ArchiveEntry,
    ArchiveFormat,
    match_inventory,
    read_archive,
    read_signed_archive,
    write_archive,
)
from js7tui.home import Home
from js7tui.identity.chain import LoginStatus
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import LoginRequest
from js7tui.inventory import ImportFile
from js7tui.security_level import SecurityLevel


def workflow(index: int) -> bytes:
    return json.dumps({
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "step"}],
        "jobs": {"step": {"agentPath": f"agent-{index % 4}",
                          "executable": {"TYPE": "ShellScriptExecutable",
                                         "script": f"#!/bin/sh\necho workflow {index}\n",
                                         "env": {"N": "$n"}},
                          "defaultArguments": {"n": f"'{index}'"}, "timeout": 300}},
    }).encode()


def timed(label: str, action, *, count: int):
    start = time.perf_counter()
    result = action()
    spent = time.perf_counter() - start
    print(f"{label:<44} {spent * 1000:9.1f} ms   {spent / count * 1e6:8.1f} us/workflow")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workflows", type=int, default=1000)
    n = parser.parse_args().workflows
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        hasher = PasswordHasher(PasswordConfig(argon2_time_cost=1, argon2_memory_kib=8,
                                               argon2_parallelism=1))
        console = initialize(Home(tmp / "home"), SecurityLevel.HIGH, clock=FrozenClock(),
                             hasher=hasher)
        console.accounts.change_password(account="root", old="root", new="benchmark-password")
        session = console.login.login(LoginRequest("root", "benchmark-password", "bench")).session
        assert session is not None and LoginStatus
        files = [ImportFile(f"w{i:05d}.workflow.json", workflow(i)) for i in range(n)]
        print(f"{n} workflows")
        timed("import (one transaction, schema-checked)", lambda: console.inventory.import_files(
            session, "/bench", files, meta=AuditMeta()), count=n)
        for fmt in ArchiveFormat:
            out = tmp / f"export.{fmt.value}"
            timed(f"export --for-signing ({fmt.value})",
                  lambda out=out: console.exports.for_signing(session, ["/bench"], out,
                                                              meta=AuditMeta()), count=n)
        key = ec.generate_private_key(ec.SECP256R1())
        exported = read_archive(tmp / "export.zip")
        objects = [e for e in exported if e.name != "meta_inf"]

        def sign_all() -> list[ArchiveEntry]:
            return [ArchiveEntry(e.name + ".sig", key.sign(e.data, ec.ECDSA(hashes.SHA256())))
                    for e in objects]
        signatures = timed("sign in-process (ECDSA P-256, SHA-256)", sign_all, count=n)
        key_file = tmp / "signing.key"
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        sample = objects[:50]
        for entry in sample:
            (tmp / Path(entry.name).name).write_bytes(entry.data)

        def openssl_cli() -> None:
            for entry in sample:
                name = tmp / Path(entry.name).name
                subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_file), "-out",
                                f"{name}.sig", str(name)], check=True)
        timed(f"sign with the openssl CLI (first {len(sample)})", openssl_cli, count=len(sample))
        signed = tmp / "signed.tar.gz"
        write_archive(signed, ArchiveFormat.TAR_GZ, [*exported, *signatures])
        archive = timed("read + sort the signed tar.gz (hardened)",
                        lambda: read_signed_archive(signed, ArchiveConfig()), count=n)
        timed("match every object to the inventory",
              lambda: match_inventory(console.inventory, session, archive), count=n)
        console.close()


if __name__ == "__main__":
    main()
