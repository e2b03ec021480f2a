"""Fixtures for the OIDC tests: one private glewlwyd per test session, a live clock, services.

The clock is the real one (tokens carry real times and the provider counts real seconds between
polls) with an offset the tests can move forward to reach a token's end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from tests.oidc.glewlwyd import CLIENTS, Glewlwyd


@dataclass
class LiveClock:
    """Wall-clock time plus an offset; ``sleep`` really waits."""

    offset: timedelta = timedelta(0)
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            time.sleep(seconds)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture(scope="session")
def glewlwyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Glewlwyd]:
    server = Glewlwyd(tmp_path_factory.mktemp("glewlwyd"))
    try:
        server.start()
        server.configure()
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> LiveClock:
    return LiveClock()


def oidc_settings(server: Glewlwyd, plugin: str = "oidc", **overrides: object) -> dict:
    settings: dict[str, object] = {
        "issuer_url": server.issuer(plugin), "client_id": "console",
        "client_secret": CLIENTS["console"], "ca_file": str(server.ca_file),
        "scopes": ["scheduler"],
    }
    settings.update(overrides)
    return {k: v for k, v in settings.items() if v is not None}


def add_oidc_service(console: Console, admin: Session, server: Glewlwyd, *,
                     name: str = "IDP", type_name: str = "OIDC", plugin: str = "oidc",
                     first: bool = True, **overrides: object) -> str:
    """An OIDC(-JOC) service for glewlwyd's ``plugin``, placed first in the login order."""
    console.identity_services.create(admin, name, type_name,
                                     settings=oidc_settings(server, plugin, **overrides),
                                     meta=AuditMeta())
    if first:
        console.identity_services.reorder(admin, [name])
    return name
