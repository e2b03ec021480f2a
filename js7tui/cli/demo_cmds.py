"""``js7tui demo``: a home (created if needed), one Controller and one Agent as child
processes on loopback, registered in the console's store; runs until interrupted."""

from __future__ import annotations

import argparse

from js7tui.cli import tui_cmds
from js7tui.cli.context import CliContext
from js7tui.console import initialize
from js7tui.demo import (
    AGENT_NAME,
    CONTROLLER_ID,
    created_by_demo,
    demo_layout,
    mark_created,
    prepare_demo,
    running_demo,
    wait_until_interrupted,
)
from js7tui.pki.keys import DEFAULT_KEY_TYPE
from js7tui.security_level import SecurityLevel


def cmd_demo(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.demo_home:
        ctx.home_option = args.demo_home
    home, layout = ctx.home, demo_layout(ctx.home)
    if not home.exists():
        initialize(home, SecurityLevel.LOW, ca_key_type=DEFAULT_KEY_TYPE).close()
        mark_created(layout)
        ctx.say(f"created a js7tui home at {home.root} (security level LOW) with its CA")
    console = ctx.console
    session = None if created_by_demo(layout) or layout.complete else ctx.session()
    if prepare_demo(console, layout, session):
        ctx.say(f"issued the Controller's and the Agent's certificates and wrote their "
                f"configurations under {layout.root}")
    with running_demo(layout) as children:
        agent, controller = children
        ctx.say(f"Agent      {AGENT_NAME:16} {agent.url:28} {layout.agent}")
        ctx.say(f"Controller {CONTROLLER_ID:16} {controller.url:28} {layout.controller}")
        ctx.say(f"registered in the console's store as '{CONTROLLER_ID}' (js7tui controller "
                "list); logs under each directory's logs/")
        if not args.no_tui and tui_cmds.on_terminal(ctx):
            # the console, until it is left (or its terminal closes: SIGHUP, SIGTERM)
            code = tui_cmds.cmd_tui(ctx, args)
        else:
            if not args.no_tui:
                ctx.say("(no terminal for the console's screens; running without them)")
            ctx.say("running until interrupted (Ctrl+C); both servers stop then")
            code = wait_until_interrupted(children)
        ended = [c for c in children if c.process.poll() is not None]
        if ended:
            code = code or 1
            ctx.warn(", ".join(f"the {c.component} stopped by itself (exit "
                               f"{c.process.returncode}; see {c.output})" for c in ended))
    ctx.say("stopped the Controller and the Agent")
    return code


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a Controller and an Agent here, registered in the "
                       "console (creates the home if needed)")
    p.add_argument("--home", dest="demo_home", metavar="DIR",
                   help="the console's home (default: the global --home, $JS7TUI_HOME, ...)")
    p.add_argument("--no-tui", action="store_true",
                   help="do not open the console's screens; just run until interrupted")
    p.set_defaults(func=cmd_demo)
