"""Every subcommand of the parser, run once with minimal arguments against a real home, in
process through ``run`` (what ``main`` calls): each ends with an exit code and, when it
refuses, one sentence; none raises (a traceback) and none is stopped by argparse (which would
mean the walk never reached the command). Commands that need a server or a terminal refuse
with a sentence here; what they do when they can is tested elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7tui.cli.parser import build_parser
from tests.test_cli import Cli, logged_in_root, make_cli

# Run at the end, in this order: they end the session or need none.
LAST = ("logout", "demo")


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
           ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    found = []
    for name, child in subs[0].choices.items():
        found += leaves(child, (*path, name))
    return found


def value(action: argparse.Action, tmp: Path) -> list[str]:
    """A minimal value for a positional or a required option: a missing input file, a free
    output file, a name that exists nowhere, the first choice."""
    if action.nargs == 0:
        return []
    if action.choices:
        return [str(next(iter(action.choices)))]
    dest = action.dest
    if action.type is int:
        text = "1"
    elif dest in ("out", "output", "out_cert", "out_key"):
        text = str(tmp / f"new-{dest}.out")
    elif dest in ("config",):
        text = str(tmp / "no-such-config-dir")
    elif dest in ("file", "files", "csr", "cert", "root", "intermediate", "archive") or (
            dest == "key" and action.option_strings):
        text = str(tmp / f"no-such-{dest}.pem")
    elif dest == "url":
        text = "https://127.0.0.1:9"
    elif dest in ("path", "paths", "folder", "new_folder"):
        text = "/walk/nothing"
    elif dest == "email":
        text = "walk@example.com"
    else:
        text = "walkname"
    return [text]


def argv_for(path: tuple[str, ...], parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    argv = list(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            if action.nargs not in ("?", "*"):
                argv += value(action, tmp)
        elif action.required:
            argv += [action.option_strings[0], *value(action, tmp)]
    return argv


def test_every_subcommand_runs_and_ends_with_an_exit_code(tmp_path: Path) -> None:
    cli = make_cli(tmp_path)
    logged_in_root(cli)
    commands = leaves(build_parser())
    assert len(commands) > 100
    commands.sort(key=lambda item: LAST.index(item[0][0]) + 1 if item[0][0] in LAST else 0)
    work = tmp_path / "walk"
    work.mkdir()
    seen = []
    for path, parser in commands:
        scratch = work / "-".join(path)  # each command its own free output files
        scratch.mkdir()
        argv = argv_for(path, parser, scratch)
        env = {"EDITOR": "false", "VISUAL": ""}
        if path[0] == "demo":
            env["JS7TUI_SESSION"] = "not-a-session"  # refused before any server starts
        try:
            code, _out, err = Cli.__call__(cli, *argv, **env)
        except SystemExit as exc:  # argparse refused our arguments: the walk is wrong
            raise AssertionError(f"argparse stopped {argv}: exit {exc.code}") from None
        assert "Traceback" not in err, (argv, err)
        assert isinstance(code, int) and 0 <= code < 256, (argv, code)
        if code not in (0, 1):
            lines = err.strip().splitlines()
            assert lines and all(line.startswith("js7tui: ") for line in lines), (argv, err)
        seen.append(" ".join(path))
    assert {"account block", "audit show", "controller serve", "agent serve", "doctor",
            "tui", "demo", "cert issue"} <= set(seen)
