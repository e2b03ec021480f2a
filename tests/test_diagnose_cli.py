"""``js7tui controller test ID``: the diagnosis for scripts (exit 9 at the first failed step),
and a bad CA file at registration said in words. No Controller needed: the one registered is
down."""

from __future__ import annotations

from pathlib import Path

from js7tui.demo import free_port
from tests.test_cli import Cli, cli, logged_in_root  # noqa: F401 (cli: the fixture)


def test_cli_test_stops_at_tcp_and_exits_9(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    logged_in_root(cli)
    port = free_port()
    code, _, err = cli("controller", "register", "down", "--url", f"https://127.0.0.1:{port}",
                       "--user", "console", "--password-stdin", stdin="hop-pw\n")
    assert code == 0, err
    code, out, err = cli("controller", "test", "down", "--timeout", "2")
    assert code == 9, err
    assert "URL: ok" in out and "DNS: ok" in out
    assert f"TCP: FAILED - nothing listens on 127.0.0.1 port {port}" in out
    assert "Controller 'down': TCP failed" in out
    bad = tmp_path / "ca.txt"
    bad.write_text("not a certificate\n")
    code, _, err = cli("controller", "register", "other", "--url", "https://127.0.0.1:1",
                       "--user", "console", "--ca", str(bad), "--password-stdin",
                       stdin="hop-pw\n")
    assert code != 0 and "holds no PEM certificate" in err
    code, _, err = cli("controller", "register", "other", "--url", "https://127.0.0.1:1",
                       "--user", "console", "--ca", str(tmp_path / "missing.pem"),
                       "--password-stdin", stdin="hop-pw\n")
    assert code != 0 and "does not exist" in err
