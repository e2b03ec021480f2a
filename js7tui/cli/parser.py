"""The parser of every ``js7tui`` command and ``run``, which dispatches to the command
modules (``js7tui.cli.main`` imports this only when the command is not the bare console)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from js7tui import __version__
from js7tui.cli import (
    approval_cmds,
    cert_cmds,
    demo_cmds,
    deploy_cmds,
    engine_cmds,
    factor_cmds,
    inventory_cmds,
    order_cmds,
    tui_cmds,
)
from js7tui.cli import identity_cmds as ident
from js7tui.cli import system_cmds as system
from js7tui.cli.context import CliContext
from js7tui.cli.guard import closed_stdout, guarded

EPILOG = ("Passwords are never read from arguments: use --password-stdin, JS7TUI_PASSWORD / "
          "JS7TUI_NEW_PASSWORD, or the prompt.")


# Values that look like relative times or negative numbers (-1d, -30m, -2h, -5): argparse takes
# a "-1d" after "--since" for an unknown option ("expected one argument") unless it matches
# this pattern. No option of ours is spelled like a number, so nothing is shadowed.
_NEGATIVE_VALUE = re.compile(r"^-\d+[smhdw]?$|^-\d*\.\d+$")


_INT_LIMIT = 2**63 - 1  # SQLite's INTEGER; a larger id would end in OverflowError


def _store_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not -_INT_LIMIT <= value <= _INT_LIMIT:
        raise argparse.ArgumentTypeError(f"{text} is out of range (at most {_INT_LIMIT})")
    return value


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE  # every subparser is a _Parser too
        self.register("type", int, _store_int)  # type=int: a number the store can hold

    def error(self, message: str) -> None:  # exit 2 with usage, like argparse, on our stderr
        self.print_usage(sys.stderr)
        print(f"js7tui: {message}", file=sys.stderr)
        raise SystemExit(2)


def _meta(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("audit")
    group.add_argument("--comment", help="reason for the change (audit log)")
    group.add_argument("--ticket-link", help="ticket the change belongs to (audit log)")
    group.add_argument("--time-spent", type=int, metavar="MIN", help="minutes spent (audit log)")
    group.add_argument("--approver", metavar="ACCOUNT",
                       help="when the change is sent for approval (four eyes): the approver you "
                            "prefer (any approver may still act)")


def _svc(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--identity-service", "-s", metavar="NAME",
                        help="identity service (default: the one you logged in with)")


def _sub(parent: argparse._SubParsersAction, name: str, help: str, *, meta: bool = False,
         service: bool = True, **kwargs: object) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=help, description=help, **kwargs)  # type: ignore[arg-type]
    if service:
        _svc(parser)
    if meta:
        _meta(parser)
    return parser


def _password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the account's password from standard input")
    parser.add_argument("--password-prompt", action="store_true", help="ask for the password")


def _account_parsers(sub: argparse._SubParsersAction) -> None:
    account = sub.add_parser("account", help="accounts of an identity service")
    account.set_defaults(func=ident.cmd_account)
    acts = account.add_subparsers(dest="account_action", required=True, metavar="ACTION")
    _sub(acts, "list", "list accounts with roles and state")
    _sub(acts, "show", "one account").add_argument("name")
    p = _sub(acts, "create", "create an account (initial password unless one is given)",
             meta=True)
    p.add_argument("name")
    p.add_argument("--role", "-r", action="append", help="role to assign (repeatable)")
    p.add_argument("--email")
    _password_options(p)
    p = _sub(acts, "copy", "new account with the roles of another", meta=True)
    p.add_argument("source")
    p.add_argument("name")
    _password_options(p)
    p = _sub(acts, "rename", "rename an account (its sessions end)", meta=True)
    p.add_argument("name")
    p.add_argument("new_name")
    p = _sub(acts, "delete", "delete accounts", meta=True)
    p.add_argument("names", nargs="+")
    p = _sub(acts, "email", "set or clear (empty) the e-mail address", meta=True)
    p.add_argument("name")
    p.add_argument("email")
    p = _sub(acts, "reset-password", "reset to the initial password, or to a given one (a "
             "VAULT-JOC-ACTIVE service needs one); forces a change", meta=True)
    p.add_argument("name")
    _password_options(p)
    for name, text in (("force-change", "force a password change at the next login"),
                       ("enable", "enable a disabled account"),
                       ("disable", "disable an account (its sessions end)")):
        _sub(acts, name, text, meta=True).add_argument("name")
    p = _sub(acts, "block", "block an account name in every identity service", meta=True,
             service=False)
    p.add_argument("name")
    p.add_argument("--reason", required=True, help="why (kept in the blocklist)")
    _sub(acts, "unblock", "remove an account from the blocklist", meta=True,
         service=False).add_argument("name")
    _sub(acts, "blocked", "list blocked accounts", service=False)
    p = _sub(acts, "roles", "show or change an account's roles", meta=True)
    p.add_argument("name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--set", nargs="*", metavar="ROLE", help="exactly these roles")
    group.add_argument("--add", nargs="+", metavar="ROLE")
    group.add_argument("--remove", nargs="+", metavar="ROLE")


def _role_parsers(sub: argparse._SubParsersAction) -> None:
    role = sub.add_parser("role", help="roles, their permissions and folders")
    role.set_defaults(func=ident.cmd_role)
    acts = role.add_subparsers(dest="role_action", required=True, metavar="ACTION")
    _sub(acts, "list", "list roles")
    _sub(acts, "show", "a role's entries, folders and accounts").add_argument("name")
    p = _sub(acts, "create", "create a role (with sos:products:controller:view)", meta=True)
    p.add_argument("name")
    p.add_argument("--empty", action="store_true", help="without any permission")
    p = _sub(acts, "rename", "rename a role", meta=True)
    p.add_argument("name")
    p.add_argument("new_name")
    _sub(acts, "delete", "delete roles", meta=True).add_argument("names", nargs="+")
    _sub(acts, "order", "put these roles first, in this order",
         meta=True).add_argument("names", nargs="+")
    for name, text in (("grant", "grant permissions (and everything below them)"),
                       ("deny", "deny permissions: beats every grant of every role"),
                       ("revoke", "remove a grant or denial entry")):
        p = _sub(acts, name, text, meta=True)
        p.add_argument("role")
        p.add_argument("permissions", nargs="+", metavar="PERMISSION")
        p.add_argument("--controller", "-c", default="", metavar="ID",
                       help="the Controller's section (default: the default section)")
    p = _sub(acts, "folder-add", "restrict the role to a folder (any entry restricts)",
             meta=True)
    p.add_argument("role")
    p.add_argument("folder")
    p.add_argument("--no-recursive", action="store_true", help="this folder only")
    p.add_argument("--controller", "-c", default="", metavar="ID")
    p = _sub(acts, "folder-remove", "remove a folder entry", meta=True)
    p.add_argument("role")
    p.add_argument("folder")
    p.add_argument("--controller", "-c", default="", metavar="ID")


def _service_parsers(sub: argparse._SubParsersAction) -> None:
    svc = sub.add_parser("identity-service", help="identity services and their order")
    svc.set_defaults(func=ident.cmd_identity_service)
    acts = svc.add_subparsers(dest="service_action", required=True, metavar="ACTION")
    _sub(acts, "list", "services in login order", service=False)
    _sub(acts, "show", "one service", service=False).add_argument("name")
    p = _sub(acts, "create", "add a service at the end of the order", meta=True, service=False)
    p.add_argument("name")
    p.add_argument("--type", required=True, help="JOC, LDAP, OIDC, CERTIFICATE, FIDO, ...")
    p.add_argument("--required", action="store_true", help="must succeed at every login")
    p.add_argument("--disabled", action="store_true")
    p.add_argument("--two-factor", metavar="SERVICE", help="TWO-FACTOR with this second factor")
    p.add_argument("--second-factor-only", action="store_true",
                   help="serves only as a second factor (CERTIFICATE, FIDO)")
    p = _sub(acts, "set", "change required/disabled/scheme and type settings", meta=True,
             service=False)
    p.add_argument("name")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--required", dest="required", action="store_const", const=True)
    g.add_argument("--optional", dest="required", action="store_const", const=False)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--disabled", dest="disabled", action="store_const", const=True)
    g.add_argument("--enabled", dest="disabled", action="store_const", const=False)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--two-factor", metavar="SERVICE")
    g.add_argument("--single-factor", action="store_true")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--second-factor-only", dest="second_factor_only", action="store_const",
                   const=True)
    g.add_argument("--not-second-factor-only", dest="second_factor_only", action="store_const",
                   const=False)
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting of the service's type (repeatable); see 'settings NAME'")
    p.add_argument("--unset", action="append", default=[], metavar="KEY",
                   help="return a setting to its default (repeatable)")
    p.add_argument("--secret", action="append", default=[], metavar="KEY",
                   help="a secret setting, read from standard input or asked for (never "
                        "from the command line)")
    _sub(acts, "settings", "the settings of a service's type, with descriptions",
         service=False).add_argument("name")
    p = _sub(acts, "rename", "rename a service", meta=True, service=False)
    p.add_argument("name")
    p.add_argument("new_name")
    _sub(acts, "delete", "delete a service with its accounts and roles", meta=True,
         service=False).add_argument("name")
    _sub(acts, "order", "put these services first, in this order", meta=True,
         service=False).add_argument("names", nargs="+")
    p = _sub(acts, "move", "move a service up or down", meta=True, service=False)
    p.add_argument("name")
    p.add_argument("direction", choices=["up", "down"])


def _system_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a new home (once)")
    p.add_argument("--security-level", required=True, choices=["low", "medium", "high"],
                   type=str.lower, help="fixed for ever; can never be lowered")
    p.add_argument("--exists-ok", action="store_true",
                   help="succeed without change if the home exists at this level or higher")
    cert_cmds.add_init_options(p)
    p.set_defaults(func=system.cmd_init)
    sub.add_parser("locate", help="print where the home, config and session live").set_defaults(
        func=system.cmd_locate)
    p = sub.add_parser("login", help="log in and keep the session (0600 file)",
                       epilog=EPILOG)
    p.add_argument("--account", "-a")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--print-token", action="store_true",
                   help="print the token for JS7TUI_SESSION instead of keeping it in a file")
    p.add_argument("--identity-service", "-s", metavar="NAME",
                   help="log in with this service only (OIDC: device flow, no account needed)")
    p.add_argument("--no-qr", action="store_true", help="device flow: no QR code")
    factor_cmds.add_login_options(p)
    p.set_defaults(func=system.cmd_login)
    sub.add_parser("logout", help="end the session and delete its file").set_defaults(
        func=system.cmd_logout)
    sub.add_parser("whoami", help="the current session").set_defaults(func=system.cmd_whoami)
    p = sub.add_parser("passwd", help="change a password with the current one", epilog=EPILOG)
    p.add_argument("--account", "-a")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the current password from standard input")
    _svc(p)
    p.set_defaults(func=system.cmd_passwd)

    settings = sub.add_parser("settings", help="global settings")
    acts = settings.add_subparsers(dest="settings_action", required=True, metavar="ACTION")
    acts.add_parser("show", help="every setting").set_defaults(func=system.cmd_settings_show)
    p = acts.add_parser("set", help="change a setting")
    p.add_argument("key")
    p.add_argument("value", nargs="?")
    p.add_argument("--stdin", action="store_true", help="read a secret value from stdin")
    _meta(p)
    p.set_defaults(func=system.cmd_settings_set)

    perms = sub.add_parser("permissions", help="the permission catalogue and decisions")
    acts = perms.add_subparsers(dest="permissions_action", required=True, metavar="ACTION")
    p = acts.add_parser("tree", help="the whole permission tree with descriptions")
    p.add_argument("--under", metavar="PERMISSION", help="only this branch")
    p.add_argument("--short", action="store_true", help="last segment only, indented")
    p.add_argument("--account", help="mark what this account is granted [+]")
    p.add_argument("--mine", action="store_true", help="mark what you are granted [+]")
    p.add_argument("--controller", "-c", default="", metavar="ID")
    _svc(p)
    p.set_defaults(func=system.cmd_permissions_tree)
    p = acts.add_parser("explain", help="why an account may or may not do something")
    p.add_argument("permission")
    p.add_argument("--account", help="default: you")
    p.add_argument("--controller", "-c", default="", metavar="ID")
    p.add_argument("--folder", "-f")
    _svc(p)
    p.set_defaults(func=system.cmd_permissions_explain)
    p = acts.add_parser("effective", help="merged entries and folders of an account")
    p.add_argument("--account", help="default: you")
    _svc(p)
    p.set_defaults(func=system.cmd_permissions_effective)

    aud = sub.add_parser("audit", help="the tamper-evident audit log")
    acts = aud.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    p = acts.add_parser("list", help="entries, newest first")
    p.add_argument("--account")
    p.add_argument("--category", action="append", help="e.g. IDENTITY (repeatable)")
    p.add_argument("--controller")
    p.add_argument("--object-type")
    p.add_argument("--path", help="path contains")
    p.add_argument("--folder", action="append")
    p.add_argument("--comment-contains")
    p.add_argument("--ticket")
    p.add_argument("--refused", action="store_true", help="only refused security events")
    p.add_argument("--since", help="ISO date or relative (-1d, -2h)")
    p.add_argument("--until", help="ISO date or relative")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--before-id", type=int, help="page: entries older than this id")
    p.set_defaults(func=system.cmd_audit_list)
    p = acts.add_parser("show", help="one entry with its parameters and hashes")
    p.add_argument("id", type=int)
    p.set_defaults(func=system.cmd_audit_show)
    p = acts.add_parser("verify", help="check the hash chain against the Controllers' "
                        "witnesses (and checkpoint files); non-zero exit if broken")
    p.add_argument("--checkpoint", action="append", default=[], metavar="FILE",
                   help="a signed checkpoint file (audit checkpoint); repeatable")
    p.add_argument("--offline", action="store_true",
                   help="do not ask the Controllers for their witnesses")
    p.set_defaults(func=system.cmd_audit_verify)
    acts.add_parser("witness", help="send the audit chain's head to every registered "
                    "Controller now (e.g. from a timer)").set_defaults(
        func=system.cmd_audit_witness)
    p = acts.add_parser("checkpoint", help="write the audit chain's head, signed with the "
                        "console's certificate key, for air-gapped custody")
    p.add_argument("output", help="the checkpoint file to write (0600)")
    p.set_defaults(func=system.cmd_audit_checkpoint)

    sess = sub.add_parser("session", help="active sessions")
    acts = sess.add_subparsers(dest="session_action", required=True, metavar="ACTION")
    acts.add_parser("list", help="live sessions").set_defaults(func=ident.cmd_session)
    p = acts.add_parser("cancel", help="end sessions by id or account")
    p.add_argument("ids", nargs="*", type=int)
    p.add_argument("--account")
    _meta(p)
    p.set_defaults(func=ident.cmd_session)

    p = sub.add_parser("login-history", help="login attempts, newest first")
    p.add_argument("--account")
    p.add_argument("--failed", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--before-id", type=int)
    p.set_defaults(func=ident.cmd_login_history)


def _component_parsers(sub: argparse._SubParsersAction) -> None:
    """``js7tui controller ...`` / ``js7tui agent ...``: commands run on those hosts."""
    for component in ("controller", "agent"):
        group = sub.add_parser(component, help=f"commands for a {component} host" + (
            "; the Controllers this console talks to" if component == "controller" else ""))
        acts = group.add_subparsers(dest=f"{component}_action", required=True,
                                    metavar="ACTION")
        cert_cmds.add_import_bundle_parser(acts, component)
        if component == "agent":
            from js7tui.cli import encipherment_cmds
            encipherment_cmds.add_agent_import(acts)
        engine_cmds.add_actions(acts, component)
        from js7tui.cli import ops_cmds
        ops_cmds.add_systemd_parser(acts, component)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="js7tui", description="Security administration console for "
                     "JS7-style job scheduling.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"js7tui {__version__}")
    parser.add_argument("--home", metavar="DIR",
                        help="the console's home (default: $JS7TUI_HOME, else XDG data dir)")
    parser.add_argument("--json", action="store_true", help="lists as JSON lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _system_parsers(sub)
    _account_parsers(sub)
    _role_parsers(sub)
    _service_parsers(sub)
    inventory_cmds.register(sub, _meta)
    deploy_cmds.register(sub, _meta)
    order_cmds.register(sub, _meta)
    approval_cmds.register(sub, _meta)
    cert_cmds.add_cert_parsers(sub)
    from js7tui.cli import encipherment_cmds
    encipherment_cmds.register(sub, _meta)
    factor_cmds.add_parsers(sub, _meta)
    _component_parsers(sub)
    cert_cmds.add_doctor_parser(sub)
    tui_cmds.add_parsers(sub)
    demo_cmds.add_parser(sub)
    from js7tui.cli import ops_cmds
    ops_cmds.add_parsers(sub)
    return parser


def run(argv: Sequence[str], ctx: CliContext) -> int:
    parser = build_parser()
    from js7tui.cli.completion import autocomplete
    autocomplete(parser)  # only under the completion script (_ARGCOMPLETE set); exits there
    try:
        args = parser.parse_args(list(argv))
    except BrokenPipeError:  # `js7tui --help | head -1`
        return closed_stdout(ctx.stdout)
    ctx.home_option = args.home
    ctx.json_output = args.json
    func = getattr(args, "func", None) or tui_cmds.cmd_default
    return guarded(ctx, func, args)
