"""``js7tui controller serve`` and ``js7tui agent serve``: run a server from its config
directory (aiohttp is imported only when a server starts, never by the console)."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7tui.cli.context import CliContext


def cmd_serve(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.engine.serve import serve

    serve(args.component, Path(args.config), insecure_http=args.insecure_http)
    return 0


def add_serve_parser(actions: argparse._SubParsersAction, component: str) -> None:
    title = component.capitalize()
    p = actions.add_parser("serve", help=f"run the {title} server from its config directory",
                           description=f"Run the {title} server configured in DIR "
                           "(config.toml, bundle.toml, trusted-x509-keys/) until SIGTERM.")
    p.add_argument("--config", required=True, metavar="DIR", help="configuration directory")
    p.add_argument("--insecure-http", action="store_true",
                   help="plain HTTP without client certificates (logs a warning at every start;"
                   " for isolated tests only)")
    p.set_defaults(func=cmd_serve, component=component)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    for component in ("controller", "agent"):
        parser = sub.add_parser(component, help=f"the {component.capitalize()} server"
                                + (" and the Controllers this console knows"
                                   if component == "controller" else ""))
        actions = parser.add_subparsers(dest=f"{component}_action", required=True,
                                        metavar="ACTION")
        add_serve_parser(actions, component)
