"""``js7tui`` alone, ``js7tui tui [--readonly]`` and ``js7tui status``.

``js7tui`` alone opens the console when it runs on a terminal and the home exists; otherwise it
prints the home's status (what ``js7tui status`` prints), so scripts and pipes still get text.
Textual is imported only here, inside the command, never when the CLI module loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7tui.cli.context import CliContext
from js7tui.errors import ValidationError

if TYPE_CHECKING:
    import argparse

    from js7tui.console import Console


def on_terminal(ctx: CliContext) -> bool:
    return all(bool(getattr(stream, "isatty", lambda: False)())
               for stream in (ctx.stdin, ctx.stdout))


def cmd_tui(ctx: CliContext, args: argparse.Namespace) -> int:
    """The console's screens. Unless a command opened the console already (the demo), the
    app paints the login form first and opens the home in a worker; a home that cannot be
    opened ends the app and is reported here like any refusal."""
    if not on_terminal(ctx):
        raise ValidationError("the console needs a terminal (stdin and stdout); for scripts "
                              "use the commands, e.g. 'js7tui status'")
    readonly = bool(getattr(args, "readonly", False))
    from js7tui.tui.app import run_tui
    if ctx.console_if_open is not None:
        return run_tui(ctx.console_if_open, readonly=readonly, env=ctx.env)
    home = ctx.home
    home.require()
    from js7tui.home import check_home_modes
    check_home_modes(home, ctx.warn)  # before the screens take the terminal

    def open_home() -> Console:
        from js7tui.console import open_console
        return open_console(home)

    return run_tui(opener=open_home, readonly=readonly, env=ctx.env, home=home.root)


def cmd_default(ctx: CliContext, args: argparse.Namespace) -> int:
    if on_terminal(ctx) and ctx.home.exists():
        return cmd_tui(ctx, args)
    from js7tui.cli import system_cmds
    return system_cmds.cmd_status(ctx, args)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="open the console (the default on a terminal)")
    p.add_argument("--readonly", action="store_true",
                   help="hide and refuse every change (browse only)")
    p.set_defaults(func=cmd_tui)
    from js7tui.cli import system_cmds
    sub.add_parser("status", help="the home, its security level and who is logged in"
                   ).set_defaults(func=system_cmds.cmd_status)
