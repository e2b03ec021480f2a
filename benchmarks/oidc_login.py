"""What an OIDC login costs, beside what the provider itself costs.

What it measures
    1. ID-token validation per second (ES256, the provider's key cached): signature by ``kid``,
       ``iss``, ``aud``, ``exp``/``iat`` with joserfc - the part of every login and refresh
       that is ours alone.
    2. The wall-clock time of one console login through an OIDC service with the password
       grant (discovery cached, token request, ID-token check, group mapping, session, login
       history), against the bare token request the same grant needs (httpx, same TLS trust),
       in the same run.
    3. How long the private glewlwyd of the tests takes to start and to be configured.

Why
    The device flow is paced by the person and the provider's interval; what the console adds
    is the token check and the store. It should be small beside the provider's own answer.

How
    A private glewlwyd (Debian's package, the tests' fixture: tests/oidc/glewlwyd.py) on
    127.0.0.1 with TLS; a throw-away home with one OIDC service. Each case runs ``--warmup``
    times untimed, then ``--runs`` times timed with ``time.perf_counter``, interleaved run by
    run. Medians are printed.

Run: ``python benchmarks/oidc_login.py [--runs N] [--warmup N]`` (needs glewlwyd)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from js7tui.audit import AuditMeta
from js7tui.clock import SystemClock
from js7tui.config import PasswordConfig
from js7tui.console import initialize
from js7tui.home import Home
from js7tui.identity.chain import LoginStatus
from js7tui.identity.oidc.discovery import MetadataCache
from js7tui.identity.oidc.http import OidcHttp
from js7tui.identity.oidc.id_token import validate_id_token
from js7tui.identity.oidc.keys import KeyCache
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import LoginRequest
from js7tui.security_level import SecurityLevel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.oidc.glewlwyd import CLIENTS, USERS, Glewlwyd

ROOT_PASSWORD = "benchmark-root-password"


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        server = Glewlwyd(directory / "glewlwyd")
        started = time.perf_counter()
        server.start()
        ready = time.perf_counter()
        server.configure()
        configured = time.perf_counter()
        try:
            run(server, directory, args)
        finally:
            server.stop()
        print(f"glewlwyd: start {((ready - started) * 1000):.0f} ms, configuration over its "
              f"admin API {((configured - ready) * 1000):.0f} ms")


def run(server: Glewlwyd, directory: Path, args: argparse.Namespace) -> None:
    clock = SystemClock()
    # ID-token validation alone.
    http = OidcHttp(str(server.ca_file))
    metadata = MetadataCache().get(http, server.issuer(), clock.now())
    keys = KeyCache()
    token = server.tokens("alice")["id_token"]

    def lookup(kid, alg):
        return keys.key_for(http, metadata.jwks_uri, kid, alg, clock.now())

    validate_id_token(token, issuer=metadata.issuer, client_id="console", keys=lookup,
                      now=clock.now())
    count, begin = 0, time.perf_counter()
    while time.perf_counter() - begin < 2.0:
        validate_id_token(token, issuer=metadata.issuer, client_id="console", keys=lookup,
                          now=clock.now())
        count += 1
    print(f"ID-token validation (ES256, key cached): {count / (time.perf_counter() - begin):,.0f}"
          " per second")

    # A whole login through the chain beside the bare token request.
    hasher = PasswordHasher(PasswordConfig(argon2_time_cost=1, argon2_memory_kib=8,
                                           argon2_parallelism=1))
    console = initialize(Home(directory / "home"), SecurityLevel.LOW, clock=clock,
                         hasher=hasher)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    root = console.login.login(LoginRequest("root", ROOT_PASSWORD, "bench")).session
    console.identity_services.create(root, "IDP", "OIDC", meta=AuditMeta(), settings={
        "issuer_url": server.issuer(), "client_id": "console",
        "client_secret": CLIENTS["console"], "ca_file": str(server.ca_file),
        "scopes": ["scheduler"], "password_grant": True,
        "group_roles": {"scheduler-admins": ["administrator"]}})
    console.roles.create(root, "administrator", service="IDP", meta=AuditMeta())
    password = USERS["alice"]["password"]

    tokens: list[str] = []

    def login() -> None:
        result = console.login.login(LoginRequest("alice", password, "bench", service="IDP"))
        assert result.status is LoginStatus.AUTHENTICATED
        tokens.append(result.token or "")

    def logout() -> None:
        console.sessions.logout(tokens.pop())    # revokes refresh and access token

    def bare() -> None:
        httpx.post(f"{server.issuer()}/token", verify=server.tls,
                   auth=("console", CLIENTS["console"]),
                   data={"grant_type": "password", "username": "alice", "password": password,
                         "scope": "openid scheduler"}).raise_for_status()

    cases = {"console login (password grant)": login, "console logout (2 revocations)": logout,
             "bare token request (httpx)": bare}
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for index in range(args.warmup + args.runs):
        for name, case in cases.items():
            begin = time.perf_counter()
            case()
            if index >= args.warmup:
                timings[name].append(time.perf_counter() - begin)
    for name, values in timings.items():
        print(f"{name}: median {median_ms(values)} over {len(values)} runs")
    console.close()


if __name__ == "__main__":
    main()
