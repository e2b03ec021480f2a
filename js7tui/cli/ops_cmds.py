"""Running js7tui for real: ``js7tui controller|agent systemd-unit`` (a hardened unit),
``js7tui completion bash|zsh`` (the completion script) and ``js7tui help [TOPIC]`` (the manual,
generated from the parser, offline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from js7tui.cli.context import CliContext


def cmd_systemd_unit(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.engine.config import load_component_config
    from js7tui.engine.systemd import DEFAULT_USERS, hidden_by_sandbox, render_unit

    config = load_component_config(Path(args.config), args.component)
    ctx.say(render_unit(config, user=args.user, group=args.group,
                        read_write=tuple(Path(p) for p in args.read_write)).rstrip("\n"))
    user = args.user or DEFAULT_USERS[args.component]
    for what, path in (("js7tui", Path(sys.executable).absolute()),
                       ("the configuration", config.directory)):
        hidden = hidden_by_sandbox(path)
        if hidden:
            print(f"js7tui: note: {what} is under {hidden}, which the unit hides from the "
                  "service (ProtectHome=, PrivateTmp=): install under /opt and configure under "
                  "/etc or /srv", file=sys.stderr)
    for path in [config.state_dir] + ([config.jobs.work_dir] if config.jobs else []):
        if not path.is_dir():
            print(f"js7tui: note: {path} does not exist yet; the unit needs it: install -d "
                  f"-m 0700 -o {user} -g {args.group or user} {path}", file=sys.stderr)
    return 0


def add_systemd_parser(actions: argparse._SubParsersAction, component: str) -> None:
    title = component.capitalize()
    p = actions.add_parser(
        "systemd-unit", help=f"print a hardened systemd unit that runs this {title}",
        description=f"Print a systemd service unit for the {title} configured in DIR: its own "
        "system user, a read-only file system except the state directory, no new privileges, "
        "restart on failure, 'systemctl reload' re-reading the TLS files (SIGHUP), logs to the "
        "journal. ExecStart runs this interpreter, so generate it with the js7tui installed "
        "for the service.")
    p.add_argument("--config", required=True, metavar="DIR", help="configuration directory")
    p.add_argument("--user", metavar="USER",
                   help=f"the system user it runs as (default: js7-{component})")
    p.add_argument("--group", metavar="GROUP", help="its group (default: the user's name)")
    p.add_argument("--read-write", action="append", default=[], metavar="PATH",
                   help="another writable path (repeatable), e.g. where an Agent's jobs write")
    p.set_defaults(func=cmd_systemd_unit, component=component)


def cmd_completion(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.cli.completion import script

    ctx.say(script(args.shell).rstrip("\n"))
    return 0


def cmd_help(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.cli.manual import manual

    try:
        ctx.say(manual(args.topic, everything=args.all).rstrip("\n"))
        ctx.stdout.flush()
    except BrokenPipeError:  # | head, or less quit early: not an error of the manual's
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "completion", help="print the shell completion script (bash or zsh)",
        description="Print the completion script for bash or zsh. Completes commands, "
        "options, and the names of accounts, roles, identity services, Controllers and "
        "inventory paths from the home's store (read directly, no login). bash: "
        "eval \"$(js7tui completion bash)\" in ~/.bashrc; zsh: eval \"$(js7tui completion "
        "zsh)\" in ~/.zshrc (after compinit).")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(func=cmd_completion)
    p = sub.add_parser("help", help="the manual: a command group's commands and options",
                       description="The manual, generated from the command line's own "
                       "definitions: 'js7tui help' lists the topics, 'js7tui help TOPIC "
                       "[ACTION]' shows every command of that group with its options, "
                       "'js7tui help --all' everything.")
    p.add_argument("topic", nargs="*", metavar="TOPIC", help="a command, e.g. account, "
                   "controller, or 'controller serve'")
    p.add_argument("--all", action="store_true", help="every command")
    p.set_defaults(func=cmd_help)
