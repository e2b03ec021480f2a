"""``js7tui controller serve`` / ``js7tui agent serve`` (run a server from its config directory;
aiohttp is imported only when a server starts, never by the console) and the console's
registry of Controllers: ``controller register|list|health|test|remove``."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7tui.cli.context import CliContext, audit_meta, hidden_input
from js7tui.client.registry import read_ca_file
from js7tui.errors import ValidationError

HOP_PASSWORD_ENV = "JS7TUI_HOP_PASSWORD"


def cmd_serve(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.engine.serve import serve

    serve(args.component, Path(args.config), insecure_http=args.insecure_http)
    return 0


def _hop_password(ctx: CliContext, args: argparse.Namespace) -> str:
    """--password-stdin, else $JS7TUI_HOP_PASSWORD, else a prompt (never an argument)."""
    if args.password_stdin:
        return ctx.password(from_stdin=True)
    if ctx.env.get(HOP_PASSWORD_ENV):
        return ctx.env[HOP_PASSWORD_ENV]
    if getattr(ctx.stdin, "isatty", lambda: False)():
        return hidden_input(f"Password of the hop user '{args.user}': ")
    raise ValidationError(f"no hop password given: use --password-stdin or set "
                          f"{HOP_PASSWORD_ENV}")


def cmd_register(ctx: CliContext, args: argparse.Namespace) -> int:
    ca = read_ca_file(args.ca or "")
    record = ctx.console.controllers.register(
        ctx.session(), args.id, args.url, args.user, _hop_password(ctx, args), ca_pem=ca,
        client_name=args.client, meta=audit_meta(args))
    ctx.say(f"registered Controller '{record.id}' at {record.url} (hop user {record.hop_user})")
    return 0


def cmd_list(ctx: CliContext, args: argparse.Namespace) -> int:
    records = ctx.console.controllers.list(ctx.session())
    ctx.table(["id", "url", "hop user", "client certificate", "ca"],
              [[r.id, r.url, r.hop_user, r.client_name, "own" if r.ca_pem else "console CA"]
               for r in records])
    return 0


def cmd_remove(ctx: CliContext, args: argparse.Namespace) -> int:
    ctx.console.controllers.remove(ctx.session(), args.id, meta=audit_meta(args))
    ctx.say(f"removed Controller '{args.id}'")
    return 0


def cmd_health(ctx: CliContext, args: argparse.Namespace) -> int:
    with ctx.console.controllers.connect(ctx.session(), args.id) as client:
        health = client.health()
    ctx.say(f"Controller {health['id']} at {health['url']}: up, pid {health['pid']}, "
            f"{health['items']} item(s) deployed")
    rows = [[a["name"], a["url"], "connected" if a["connected"] else "not connected",
             a["lastError"] or "-"] for a in health["agents"]]
    ctx.table(["agent", "url", "state", "last error"], rows, records=health["agents"])
    return 0


def cmd_test(ctx: CliContext, args: argparse.Namespace) -> int:
    """The connection step by step (``ControllerService.diagnose``); exit 9 when a step
    fails, so scripts and monitoring can use it."""
    diagnosis = ctx.console.controllers.diagnose(ctx.session(), args.id,
                                                 timeout=args.timeout)
    for step in diagnosis.steps:
        ctx.say(step.line())
    ctx.say(f"Controller '{args.id}': {diagnosis.summary}")
    return 0 if diagnosis.ok else 9


def _meta(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("audit")
    group.add_argument("--comment", help="reason for the change (audit log)")
    group.add_argument("--ticket-link", help="ticket the change belongs to (audit log)")
    group.add_argument("--time-spent", type=int, metavar="MIN", help="minutes spent (audit log)")


def _serve_parser(actions: argparse._SubParsersAction, component: str) -> None:
    title = component.capitalize()
    p = actions.add_parser("serve", help=f"run the {title} server from its config directory",
                           description=f"Run the {title} server configured in DIR "
                           "(config.toml, bundle.toml, trusted-x509-keys/) until SIGTERM.")
    p.add_argument("--config", required=True, metavar="DIR", help="configuration directory")
    p.add_argument("--insecure-http", action="store_true",
                   help="plain HTTP without client certificates (logs a warning at every start;"
                   " for isolated tests only)")
    p.set_defaults(func=cmd_serve, component=component)


def add_actions(actions: argparse._SubParsersAction, component: str) -> None:
    """The actions of ``js7tui controller`` / ``js7tui agent`` that this module serves."""
    _serve_parser(actions, component)
    if component != "controller":
        return
    p = actions.add_parser("register", help="register a Controller with this console (its hop "
                           "password is kept sealed)")
    p.add_argument("id", help="the Controller id")
    p.add_argument("--url", required=True, help="https://host:port")
    p.add_argument("--user", required=True, help="the console's hop user on that Controller")
    p.add_argument("--password-stdin", action="store_true",
                   help=f"read the hop password from stdin (else ${HOP_PASSWORD_ENV} or a "
                   "prompt)")
    p.add_argument("--ca", metavar="FILE", help="PEM CA of the Controller's HTTPS certificate "
                   "(default: this console's CA)")
    p.add_argument("--client", default="console", metavar="NAME",
                   help="which console client certificate to present (default: console)")
    _meta(p)
    p.set_defaults(func=cmd_register)
    actions.add_parser("list", help="the Controllers registered with this console"
                       ).set_defaults(func=cmd_list)
    p = actions.add_parser("health", help="ask a registered Controller how it and its Agents "
                           "are (over HTTPS with the console's certificate)")
    p.add_argument("id")
    p.set_defaults(func=cmd_health)
    p = actions.add_parser("test", help="test the connection step by step: DNS, TCP, TLS, the "
                           "server certificate, DN, login (exit 9 at the first failure)")
    p.add_argument("id")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                   help="for each network step (default 5)")
    p.set_defaults(func=cmd_test)
    p = actions.add_parser("remove", help="forget a registered Controller")
    p.add_argument("id")
    _meta(p)
    p.set_defaults(func=cmd_remove)
