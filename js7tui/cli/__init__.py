"""The ``js7tui`` command line: thin over the console's services.

Errors are printed to stderr as one sentence with a non-zero exit code (the error's class
decides which), never as a traceback.

``js7tui`` alone and ``js7tui tui [--readonly]`` (with ``--home DIR`` before them) are the
commands an administrator starts most, and they are timed from a cold start: they go straight
to the console without building the parser of every other command, whose modules import the
CA, the deployment code and the clients. Everything else goes through ``parser.run``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any


def bare_console(argv: Sequence[str]) -> SimpleNamespace | None:
    """The options of a bare console start (``[--home DIR] [tui [--readonly]]``), or None for
    anything else (which the full parser handles, with its help and errors). The options
    read like ``argparse``'s namespace, without importing ``argparse`` for them."""
    args = list(argv)
    home: str | None = None
    if args and args[0].startswith("--home="):
        home, args = args[0].split("=", 1)[1], args[1:]
    elif len(args) >= 2 and args[0] == "--home":
        home, args = args[1], args[2:]
    if home == "":
        return None
    if args == []:
        return SimpleNamespace(home=home, json=False, command=None, readonly=False)
    if args[0] == "tui" and args[1:] in ([], ["--readonly"]):
        return SimpleNamespace(home=home, json=False, command="tui",
                               readonly=args[1:] == ["--readonly"])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from js7tui.cli.context import default_context
    ctx = default_context()
    # Under the completion script argv is empty (the line is in $COMP_LINE): the parser's.
    bare = None if "_ARGCOMPLETE" in ctx.env else bare_console(argv)
    if bare is None:
        from js7tui.cli.parser import run
        return run(argv, ctx)
    from js7tui.cli import tui_cmds
    from js7tui.cli.guard import guarded
    ctx.home_option = bare.home
    return guarded(ctx, tui_cmds.cmd_tui if bare.command == "tui" else tui_cmds.cmd_default,
                   bare)


def __getattr__(name: str) -> Any:
    """``run``, ``build_parser`` and the parser helpers live in ``js7tui.cli.parser``."""
    if name in ("run", "build_parser", "_meta"):
        from js7tui.cli import parser
        return getattr(parser, name)
    raise AttributeError(name)
