"""The system programs the tests start or call, each with the Debian package that holds it.

A test whose program is missing fails with one line naming the package (``scripts/test``, the
quick start's command 2, installs them all), not with a traceback from ``subprocess`` and not
with a skip that would let a fresh machine pass without the LDAP, OIDC or PKI tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PACKAGES = {
    "slapd": "slapd",
    "slapadd": "slapd",
    "ldapadd": "ldap-utils",
    "ldapsearch": "ldap-utils",
    "glewlwyd": "glewlwyd",
    "openssl": "openssl",
    "keytool": "default-jre-headless",
    "sqlite3": "sqlite3",
    "zip": "zip",
    "unzip": "unzip",
}


def find(tool: str) -> str | None:
    """The program's path (PATH, then /usr/sbin, where Debian puts slapd), or None."""
    found = shutil.which(tool)
    if found is None and Path(f"/usr/sbin/{tool}").exists():
        found = f"/usr/sbin/{tool}"
    return found


def missing_message(*tools: str) -> str:
    names = ", ".join(tools)
    packages = ", ".join(dict.fromkeys(PACKAGES.get(t, t) for t in tools))
    return (f"this test needs {names}, missing here: install the Debian package {packages} "
            f"(scripts/test installs every package the tests need)")


def require(*tools: str) -> None:
    """Fail the running test with one line when one of ``tools`` is missing."""
    missing = [t for t in tools if find(t) is None]
    if missing:
        pytest.fail(missing_message(*missing), pytrace=False)


def missing_tool(error: BaseException) -> str | None:
    """The known program a FileNotFoundError from subprocess is about, if any."""
    if not isinstance(error, FileNotFoundError) or not error.filename:
        return None
    name = os.path.basename(str(error.filename))
    return name if name in PACKAGES else None
