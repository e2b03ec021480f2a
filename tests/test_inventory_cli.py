"""``js7tui inventory`` and ``js7tui export --for-signing`` through the command line, with a
real editor subprocess (sed) standing in for $EDITOR."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from js7tui.deployment import read_archive
from tests.inventory_fixtures import jobresource, text, workflow
from tests.test_cli import Cli, logged_in_root, make_cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return make_cli(tmp_path)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    wf = tmp_path / "daily.workflow.json"
    wf.write_text(text(workflow()))
    jr = tmp_path / "mail.jobresource.json"
    jr.write_text(text(jobresource()))
    return wf, jr


def test_create_import_show_list_and_folders(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    wf, jr = _files(tmp_path)
    code, out, err = cli("inventory", "import", str(wf), str(jr), "--folder", "/ops",
                         "--comment", "first import")
    assert code == 0, err
    assert "imported workflow /ops/daily (revision 1)" in out
    code, out, _ = cli("inventory", "create", "workflow", "/ops/sub/copy", "--file", "-",
                       stdin=text(workflow()))
    assert code == 0 and "created workflow /ops/sub/copy" in out
    code, out, _ = cli("inventory", "show", "/ops/daily")
    assert json.loads(out)["path"] == "daily"
    code, out, _ = cli("--json", "inventory", "list", "/ops")
    assert sorted(json.loads(line)["path"] for line in out.splitlines()) == [
        "/ops/daily", "/ops/mail", "/ops/sub/copy"]
    code, out, _ = cli("inventory", "folders")
    assert "/ops/sub" in out and "permitted" in out
    bad = workflow()
    bad["jobs"]["hello"]["agentPath"] = "no spaces allowed"
    code, _, err = cli("inventory", "create", "workflow", "/x/bad", "-f", "-", stdin=text(bad))
    assert code == 2 and "/jobs/hello/agentPath" in err and "Traceback" not in err
    code, _, err = cli("inventory", "show", "/x/missing")
    assert code == 3 and "no workflow or job resource /x/missing" in err


def test_edit_with_editor(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    wf, _ = _files(tmp_path)
    assert cli("inventory", "import", str(wf), "--folder", "/ops")[0] == 0
    code, out, err = cli("inventory", "edit", "/ops/daily", EDITOR="sed -i s/hello/bye/g")
    assert code == 0, err
    assert "saved workflow /ops/daily (revision 2)" in out
    shown = json.loads(cli("inventory", "show", "/ops/daily")[1])
    assert "bye" in shown["jobs"] and shown["instructions"][0]["jobName"] == "bye"
    code, out, _ = cli("inventory", "edit", "/ops/daily", EDITOR="true")
    assert code == 0 and "unchanged" in out
    # A refused edit: nothing stored, the edit kept in a private file.
    code, _, err = cli("inventory", "edit", "/ops/daily",
                       VISUAL="sed -i s/60/-60/")
    assert code == 2
    assert "/jobs/bye/timeout" in err
    kept = Path(re.search(r"kept in (\S+)", err).group(1))
    assert kept.exists() and '"timeout": -60' in kept.read_text()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(cli("inventory", "show", "/ops/daily")[1])["jobs"]["bye"][
        "timeout"] == 60
    code, _, err = cli("inventory", "edit", "/ops/daily", EDITOR="false")
    assert code == 2 and "ended with status 1" in err


def test_rename_move_delete_folders_and_export(cli: Cli, tmp_path: Path) -> None:
    logged_in_root(cli)
    wf, jr = _files(tmp_path)
    assert cli("inventory", "import", str(wf), str(jr), "--folder", "/ops")[0] == 0
    assert cli("inventory", "rename", "/ops/daily", "hourly")[0] == 0
    assert cli("inventory", "move", "/ops/hourly", "/archive")[0] == 0
    assert cli("inventory", "folder-rename", "/archive", "/old/archive")[0] == 0
    code, _, err = cli("inventory", "folder-delete", "/old")
    assert code == 4 and "--recursive" in err
    assert cli("inventory", "folder-delete", "/old", "--recursive")[0] == 0
    assert cli("inventory", "delete", "/ops/mail", "--type", "jobresource")[0] == 0
    assert cli("inventory", "list")[1].strip() == "(none)"
    assert cli("inventory", "import", str(wf), str(jr), "--folder", "/ops")[0] == 0
    out_file = tmp_path / "to-sign.zip"
    code, out, err = cli("export", "--for-signing", "-o", str(out_file), "/ops")
    assert code == 0, err
    assert "exported 2 object(s)" in out and "import-deploy" in out
    assert sorted(e.name for e in read_archive(out_file)) == [
        "meta_inf", "ops/daily.workflow.json", "ops/mail.jobresource.json"]
    code, _, err = cli("export", "--for-signing", "-o", str(tmp_path / "x.rar"), "/ops")
    assert code == 2 and "*.zip or *.tar.gz" in err
    code, _, err = cli("export", "--for-signing", "-o", str(tmp_path / "x.zip"), "/nope/")
    assert code == 3 and "no folder /nope" in err
