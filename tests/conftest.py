"""Shared fixtures: a throw-away home per test, a frozen clock, a cheap argon2 hasher.

The cheap hasher is still real argon2id (argon2-cffi), with test-sized cost parameters so that
hundreds of logins stay fast; production cost comes from the home's config.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.config import PasswordConfig
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.chain import LoginStatus
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import LoginRequest
from js7tui.identity.sessions import Session
from js7tui.security_level import SecurityLevel
from tests.ldap_server import ldap_server  # noqa: F401  (session fixture: a private slapd)
from tests.openbao import openbao  # noqa: F401  (session fixture: a real OpenBao server)
from tests.system_tools import missing_message, missing_tool, require

ROOT_PASSWORD = "root-password-1234"


# A program a test runs (openssl, keytool, slapd...) missing from this machine: one line naming
# its Debian package instead of a FileNotFoundError traceback.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    try:
        return (yield)
    except FileNotFoundError as error:
        _fail_if_tool_missing(error)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    try:
        return (yield)
    except FileNotFoundError as error:
        _fail_if_tool_missing(error)
        raise


def _fail_if_tool_missing(error: FileNotFoundError) -> None:
    tool = missing_tool(error)
    if tool is not None:
        pytest.fail(missing_message(tool), pytrace=False)


@pytest.fixture
def need_openssl() -> None:
    require("openssl")


@pytest.fixture
def need_keytool() -> None:
    require("keytool")


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(PasswordConfig(argon2_time_cost=1, argon2_memory_kib=8,
                                         argon2_parallelism=1))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


@pytest.fixture
def console(home: Home, clock: FrozenClock) -> Iterator[Console]:
    """A fresh LOW-level home, root still on its initial password 'root'."""
    c = initialize(home, SecurityLevel.LOW, clock=clock, hasher=cheap_hasher())
    yield c
    c.close()


def login(console: Console, account: str, password: str, source: str = "test") -> Session:
    result = console.login.login(LoginRequest(account, password, source))
    assert result.status is LoginStatus.AUTHENTICATED, result
    assert result.session is not None
    return result.session


@pytest.fixture
def root(console: Console) -> Session:
    """root logged in after the forced password change (password ROOT_PASSWORD)."""
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    return login(console, "root", ROOT_PASSWORD)


def make_account(console: Console, admin: Session, name: str, roles: list[str],
                 password: str = "a-good-password-42") -> Session:
    """Create an account with ``roles`` and a chosen password, and log it in."""
    console.accounts.create(admin, name, password=password, roles=roles, meta=AuditMeta())
    return login(console, name, password)
