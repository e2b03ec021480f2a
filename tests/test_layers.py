"""House rules that keep the layers apart (Harlequin's habit: check sys.modules in a subprocess)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "js7tui"


def loaded(setup: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` (or a submodule of one) a fresh interpreter has loaded after
    running ``setup``."""
    code = (f"import sys\n{setup}\n"
            f"wanted = {modules!r}\n"
            "print(','.join(w for w in wanted"
            " if any(m == w or m.startswith(w + '.') for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    return out.split(",") if out else []


def test_domain_and_cli_do_not_import_textual_or_servers() -> None:
    setup = (
        "import js7tui.console, js7tui.cli, js7tui.permissions.service, js7tui.doctor,"
        " js7tui.inventory, js7tui.deployment, js7tui.deployment.keys, js7tui.deployment.service,"
        " js7tui.identity.providers.ldap.provider,"
        " js7tui.identity.providers.vault, js7tui.pki.bundle_import, js7tui.pki.material,"
        " js7tui.pki.health, js7tui.signing, js7tui.client, js7tui.client.registry,"
        " js7tui.client.diagnose, js7tui.overview,"
        " js7tui.engine.shapes, js7tui.engine.config, js7tui.engine.items, js7tui.engine.auth,"
        " js7tui.engine.tls, js7tui.engine.serve, js7tui.demo,"
        " js7tui.identity.providers.oidc, js7tui.identity.oidc.device, js7tui.qr"
    )
    bad = loaded(setup, ("textual", "aiohttp"))
    assert bad == [], f"imported by the domain layer or CLI: {bad}"


def test_cli_and_tui_never_touch_sql() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for folder in ("cli", "tui") for path in (PACKAGE / folder).rglob("*.py")
        if re.search(r"\.execute\(|SELECT |INSERT |UPDATE |DELETE FROM|\.conn\b",
                     path.read_text())
    ]
    assert offenders == []


def test_cli_imports_textual_only_when_the_console_opens() -> None:
    """``js7tui --help`` and every command but ``tui`` run without loading Textual."""
    setup = ("import js7tui.cli; from js7tui.cli import build_parser;"
             " build_parser().format_help(); import js7tui.tui, js7tui.remember")
    assert loaded(setup, ("textual",)) == []


def test_no_textual_import_outside_tui() -> None:
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts[:1]
        and re.search(r"^\s*(from|import) textual", path.read_text(), re.M)
    ]
    assert offenders == []


def test_aiohttp_only_in_the_servers() -> None:
    """aiohttp serves; it lives in the engine's app base, the two servers, and the one-time
    loopback WebAuthn page of a FIDO login over SSH (a server of its own, started by the CLI
    and the console, never imported by the identity domain modules)."""
    allowed = {"engine/app.py", "controller", "agent", "identity/factors/fido_page.py"}
    offenders = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if re.search(r"^\s*(from|import) aiohttp", path.read_text(), re.M)
        and str(path.relative_to(PACKAGE)) not in allowed
        and path.relative_to(PACKAGE).parts[0] not in allowed
    ]
    assert offenders == []


def test_pki_imports_no_surface() -> None:
    """The PKI is domain code: the CLI and TUI use it, never the other way round."""
    offenders = [
        str(path.relative_to(PACKAGE)) for path in (PACKAGE / "pki").rglob("*.py")
        if re.search(r"^\s*(from|import) (js7tui\.(cli|tui)|textual|aiohttp)", path.read_text(),
                     re.M)
    ]
    assert offenders == []


def test_the_cli_starts_without_loading_the_ldap_client() -> None:
    """ldap3 costs about 0.2 s to import; only a login through an LDAP service loads it."""
    setup = ("import js7tui.cli, js7tui.console;"
             " from js7tui.identity.providers import default_registry;"
             " default_registry().schema('LDAP').keys()")
    assert loaded(setup, ("ldap3",)) == []


def test_starting_the_console_loads_no_provider_or_network_library() -> None:
    """Cold start matters (benchmarks/tui.py): HTTP, JOSE, JSON-schema, QR and LDAP libraries
    load when a provider, the inventory or a Controller is first used, not at start."""
    setup = ("import js7tui.cli, js7tui.console; from js7tui.tui import app;"
             " from js7tui.identity.providers import default_registry; default_registry()")
    assert loaded(setup, ("httpx", "joserfc", "jsonschema", "segno", "ldap3")) == []


def test_the_login_form_paints_before_the_home_and_the_identity_chain_load() -> None:
    """What the bare ``js7tui`` imports before its first frame: the CLI's fast path, the app
    and its login screen, built over an opener — not the console, its store and
    configuration, the identity chain, the CA, the deployment code, ``cryptography`` or
    ``argon2`` (a worker opens the home and loads those after painting), nor the full
    parser."""
    setup = ("from js7tui.cli import bare_console; bare_console([]);"
             " import js7tui.cli.context, js7tui.cli.tui_cmds, js7tui.cli.guard;"
             " from js7tui.tui.app import make_app; make_app(opener=lambda: None, env={})")
    heavy = ("js7tui.console", "js7tui.store", "js7tui.config", "sqlite3", "tomllib",
             "argparse", "json", "js7tui.permissions.evaluator", "js7tui.tui.widgets.header",
             "textual.widgets._footer", "cryptography", "argon2", "js7tui.identity.chain",
             "js7tui.identity.sessions", "js7tui.pki", "js7tui.deployment", "js7tui.audit",
             "js7tui.operations", "js7tui.cli.parser")
    assert loaded(setup, heavy) == []


def test_the_servers_do_not_load_the_consoles_client() -> None:
    """The Controller and the Agent read engine answers with ``js7tui.engine.answers``; the
    console's client package (httpx client, registry, diagnosis) is the console's only."""
    setup = ("import js7tui.controller.server, js7tui.controller.agents,"
             " js7tui.controller.journal, js7tui.agent.server, js7tui.agent.executor,"
             " js7tui.engine.serve, js7tui.engine.app, js7tui.engine.answers")
    assert loaded(setup, ("js7tui.client",)) == []


def test_engine_and_servers_never_import_the_client() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for folder in ("engine", "controller", "agent") for path in (PACKAGE / folder).rglob("*.py")
        if re.search(r"^\s*(from|import) js7tui\.client", path.read_text(), re.M)
    ]
    assert offenders == []
