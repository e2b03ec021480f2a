"""Login time through an LDAP identity service, beside OpenLDAP's own ``ldapwhoami``.

What it measures
    The wall-clock time of one console login of ``alice`` through an LDAP service (connect,
    TLS, bind, groups read and mapped to roles, then the session, login history and failure
    counter written to the store), and of the provider alone (no store), against the time of
    ``ldapwhoami`` doing connect, TLS, bind and the Who-am-I operation against the same server,
    in the same run.

Why
    A login should cost what the directory costs, not more: the target is our login within
    1.5x of ldapwhoami. ldapwhoami is a C program; its time includes starting a process, which
    the line "ldapwhoami -VV" (the same program printing its version and exiting) shows, so the
    reader can see how much of it is the directory and how much is process start.

How
    A private slapd (Debian's package, the same fixture the tests use: tests/ldap_server.py)
    on 127.0.0.1 with TLS and the memberof overlay; a throw-away console home with one LDAP
    service first in the order. Each case runs ``--warmup`` times untimed, then ``--runs``
    times timed with ``time.perf_counter``; the cases are interleaved run by run so that a
    slow moment of the machine hits all of them alike. Medians are printed, with the ratio
    ours / ldapwhoami per transport.

Run: ``python benchmarks/ldap_login.py [--runs N] [--warmup N]`` (needs slapd and ldap-utils)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from js7tui.clock import SystemClock
from js7tui.config import PasswordConfig
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity import records
from js7tui.identity.chain import LoginStatus
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import Authenticated, LoginRequest, ProviderContext
from js7tui.identity.providers.ldap.provider import LdapProvider
from js7tui.security_level import SecurityLevel

# The slapd fixture of the tests (not an installed package: found from the repository root).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ldap_server import ADMINS, OPERATORS, PASSWORDS, PEOPLE, Slapd, user_dn

ROOT_PASSWORD = "benchmark-root-password"


def console_with_ldap(home: Path, server: Slapd) -> Console:
    # Production-cost argon2 only matters for root's own logins here; keep set-up quick.
    hasher = PasswordHasher(PasswordConfig(argon2_time_cost=1, argon2_memory_kib=8,
                                           argon2_parallelism=1))
    console = initialize(Home(home), SecurityLevel.LOW, clock=SystemClock(), hasher=hasher)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    root = console.login.login(LoginRequest("root", ROOT_PASSWORD, "benchmark")).session
    assert root is not None
    for name, url, protocol in (("DIR-STARTTLS", server.ldap_url, "STARTTLS"),
                                ("DIR-SSL", server.ldaps_url, "SSL")):
        console.identity_services.create(root, name, "LDAP", settings={
            "server_urls": [url], "protocol": protocol, "ca_file": str(server.ca_file),
            "user_dn_template": f"uid={{0}},{PEOPLE}",
            "group_roles": {ADMINS: ["administrator"], OPERATORS: ["it_operator"]}})
        for role in ("administrator", "it_operator"):
            console.roles.create(root, role, service=name)
    return console


def use_only(console: Console, name: str) -> None:
    """Put ``name`` first, so the login stops there (optional services: first success wins)."""
    root = console.login.login(LoginRequest("root", ROOT_PASSWORD, "benchmark")).session
    assert root is not None
    console.identity_services.reorder(root, [name])


def timed(cases: dict[str, Callable[[], None]], runs: int, warmup: int) -> dict[str, list[float]]:
    for _ in range(warmup):
        for case in cases.values():
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="js7tui-ldap-bench-"))
    with Slapd(work / "slapd") as server:
        console = console_with_ldap(work / "home", server)
        env = {**os.environ, "LDAPTLS_CACERT": str(server.ca_file), "LDAPTLS_REQCERT": "demand"}
        dn, password = user_dn("alice"), PASSWORDS["alice"]

        def whoami(*extra: str) -> Callable[[], None]:
            argv = ["ldapwhoami", "-x", *extra, "-D", dn, "-w", password]
            def run() -> None:
                subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
            return run

        def console_login(service: str) -> Callable[[], None]:
            def run() -> None:
                result = console.login.login(LoginRequest("alice", password, "benchmark"))
                assert result.status is LoginStatus.AUTHENTICATED
                assert result.session and result.session.services == (service,)
            return run

        provider = LdapProvider(roles_from_directory=True)

        def provider_only(service: str) -> Callable[[], None]:
            record = records.service(console.store.conn, service)
            context = ProviderContext(console.store.conn, console.hasher, console.clock,
                                      console.secrets)
            def run() -> None:
                outcome = provider.authenticate(record, LoginRequest("alice", password),
                                                context)
                assert isinstance(outcome, Authenticated), outcome
            return run

        results: dict[str, dict[str, list[float]]] = {}
        for transport, service, url, flags in (
                ("STARTTLS", "DIR-STARTTLS", server.ldap_url, ("-ZZ",)),
                ("SSL (ldaps)", "DIR-SSL", server.ldaps_url, ())):
            use_only(console, service)
            results[transport] = timed({
                "ldapwhoami": whoami("-H", url, *flags),
                "our login (chain + store)": console_login(service),
                "our provider (bind + groups)": provider_only(service),
            }, args.runs, args.warmup)
        start = timed({"ldapwhoami -VV (process start only)": lambda: subprocess.run(
            ["ldapwhoami", "-VV"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)}, args.runs, args.warmup)
        console.close()

    print(f"LDAP login of alice against a private slapd on 127.0.0.1 "
          f"({args.runs} runs each, after {args.warmup} warm-up runs; medians)")
    print(f"{'transport':<13} {'case':<36} {'median ms':>10} {'min ms':>8} {'ratio':>7}")
    for transport, cases in results.items():
        base = statistics.median(cases["ldapwhoami"])
        for name, values in cases.items():
            median = statistics.median(values)
            print(f"{transport:<13} {name:<36} {median * 1000:>10.2f} "
                  f"{min(values) * 1000:>8.2f} {median / base:>6.2f}x")
    for name, values in start.items():
        print(f"{'-':<13} {name:<36} {statistics.median(values) * 1000:>10.2f} "
              f"{min(values) * 1000:>8.2f}")
    worst = max(statistics.median(c["our login (chain + store)"]) /
                statistics.median(c["ldapwhoami"]) for c in results.values())
    print(f"worst ratio of our login to ldapwhoami: {worst:.2f}x (target: within 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
