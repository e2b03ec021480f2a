"""Two-factor logins beside the JOC login alone (issue 20).

Measures, on a fresh home with the production argon2id cost (t=3, 64 MiB, p=4):

* ``argon2``: one PasswordHasher.verify (the password check itself);
* ``JOC``: a whole JOC login (argon2, throttle, session, history);
* ``JOC + CERTIFICATE``: the first step (password, waiting login, challenge) and
  ``continue_login`` (challenge taken, chain verified with cryptography.x509.verification, CRL,
  SSHSIG verified, binding), with the client's signature (a key file) timed apart;
* ``JOC + FIDO``: the same with fido2's Fido2Server and the software CTAP2 authenticator of the
  tests behind fido2's Fido2Client (its work, standing in for the touch, timed apart).

The second factor's own cost is (first step + continue) - JOC alone, the client's part left
out; the target is at most 2x the argon2 check.

Run: ``python benchmarks/second_factor.py [--rounds N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.audit import AuditMeta
from js7tui.clock import SystemClock
from js7tui.config import PasswordConfig
from js7tui.console import initialize
from js7tui.home import Home
from js7tui.identity.factors import fido_client
from js7tui.identity.factors.client import certificate_evidence
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import LoginRequest
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.security_level import SecurityLevel
from tests.factor_support import key_pem, pem
from tests.soft_fido import SoftCtapDevice

PASSWORD = "a-good-password-42"


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(rounds: int, hasher: PasswordHasher | None = None) -> dict[str, float]:
    """Medians (ms): argon2, JOC alone, and per variant the first step, the client's proof and
    continue_login."""
    with tempfile.TemporaryDirectory() as tmp:
        console = initialize(Home(Path(tmp) / "home"), SecurityLevel.LOW, clock=SystemClock(),
                             hasher=hasher)
        console.accounts.change_password(account="root", old="root", new=PASSWORD)
        root = console.login.login(LoginRequest("root", PASSWORD, "bench")).session
        assert root is not None
        console.certificates.create_ca(root, KeyType.EC_P256)
        console.identity_services.create(root, "CERT", "CERTIFICATE", second_factor=True)
        console.identity_services.create(root, "KEY", "FIDO", second_factor=True)
        # one JOC service per variant: the same account kind, the same argon2 hash cost
        for service, second in (("JOC-CERT", "CERT"), ("JOC-FIDO", "KEY")):
            console.identity_services.create(root, service, "JOC", auth_scheme="TWO-FACTOR",
                                             second_factor_service=second)
            console.roles.create(root, "reader", service=service)
        for name, service in (("plain", "JOC-INITIAL"), ("cert", "JOC-CERT"),
                              ("fido", "JOC-FIDO")):
            console.accounts.create(root, name, password=PASSWORD, service=service,
                                    roles=["api_user" if service == "JOC-INITIAL" else "reader"],
                                    meta=AuditMeta())
        password = PASSWORD
        issued = console.certificates.issue(root, IssueRequest("user", "cert"))
        crt, key = pem(issued.cert, *issued.chain), key_pem(issued.key)
        console.second_factors.bind_certificate(root, "CERT", "cert", crt)
        device = SoftCtapDevice()
        prompt = console.second_factors.registration_challenge("KEY", "fido")
        console.second_factors.register("KEY", "fido", fido_client.registration(prompt, device),
                                        session=root)
        hasher = console.hasher
        stored = hasher.hash(password)

        argon, plain = [], []
        for _ in range(rounds):
            t = time.perf_counter()
            hasher.verify(stored, password)
            argon.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert console.login.login(LoginRequest("plain", password, "bench")).session
            plain.append(time.perf_counter() - t)

        figures: dict[str, tuple[list[float], list[float], list[float]]] = {}
        for service, account in (("JOC-CERT", "cert"), ("JOC-FIDO", "fido")):
            firsts, clients, seconds = [], [], []
            for _ in range(rounds):
                t = time.perf_counter()
                result = console.login.login(LoginRequest(account, password, "bench",
                                                          service=service))
                firsts.append(time.perf_counter() - t)
                t = time.perf_counter()
                if account == "cert":
                    evidence = certificate_evidence(result.interaction, certificate=crt, key=key)
                else:
                    evidence = fido_client.assertion(result.interaction, device)
                clients.append(time.perf_counter() - t)
                t = time.perf_counter()
                done = console.login.continue_login(result.pending or "", evidence)
                seconds.append(time.perf_counter() - t)
                assert done.session is not None
            figures[service] = (firsts, clients, seconds)

        out = {"argon2": ms(argon), "joc": ms(plain)}
        for service, (firsts, clients, seconds) in figures.items():
            out[f"{service} first"] = ms(firsts)
            out[f"{service} client"] = ms(clients)
            out[f"{service} continue"] = ms(seconds)
        console.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    real = measure(args.rounds)
    # The second factor's own cost does not depend on the password hash; measured again with a
    # test-sized argon2 (about 1 ms), so that the subtraction is not lost in argon2's noise.
    cheap = measure(args.rounds * 4, PasswordHasher(PasswordConfig(
        argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)))
    a = real["argon2"]
    print(f"rounds {args.rounds} (production argon2) and {args.rounds * 4} (test-sized argon2); "
          "medians in ms")
    print(f"argon2id verify (t=3, 64 MiB, p=4)   {a:8.1f}")
    print(f"JOC login alone                      {real['joc']:8.1f}")
    for service, label in (("JOC-CERT", "JOC + CERTIFICATE"), ("JOC-FIDO", "JOC + FIDO")):
        total = real[f"{service} first"] + real[f"{service} continue"]
        own = cheap[f"{service} first"] + cheap[f"{service} continue"] - cheap["joc"]
        print(f"{label:<36} {total:8.1f}  (password step {real[f'{service} first']:.1f}, "
              f"second step {real[f'{service} continue']:.1f}; the client's proof "
              f"{real[f'{service} client']:.2f} apart)")
        print(f"  the second factor's own cost       {own:8.1f}  = {own / a:.3f}x the argon2 "
              f"check ({'within' if own <= 2 * a else 'OVER'} the 2x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
