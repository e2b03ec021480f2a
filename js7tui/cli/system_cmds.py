"""init, locate, login, logout, whoami, passwd, settings, permissions, audit."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from js7tui import audit, remember, words
from js7tui.cli import cert_cmds
from js7tui.cli.context import CliContext, audit_meta
from js7tui.cli.factor_cmds import second_factor
from js7tui.cli.service_login import login_with_service
from js7tui.console import initialize
from js7tui.durations import parse_moment
from js7tui.errors import AuthenticationError, ValidationError
from js7tui.home import state_dir
from js7tui.identity import settings as identity_settings
from js7tui.identity.chain import LoginStatus
from js7tui.identity.providers.base import LoginRequest
from js7tui.permissions import catalogue
from js7tui.security_level import SecurityLevel


def login_source(ctx: CliContext) -> str:
    return remember.client_source(ctx.env, "cli")


# -- init / locate ------------------------------------------------------------------------
def cmd_init(ctx: CliContext, args: argparse.Namespace) -> int:
    level = SecurityLevel.parse(args.security_level)
    if args.exists_ok and ctx.home.exists():
        current = ctx.console.security_level
        if current.rank < level.rank:
            raise ValidationError(
                f"the home at {ctx.home.root} exists with security level {current.value}, "
                f"lower than the {level.value} asked for; it is not changed")
        ctx.say(f"the home at {ctx.home.root} exists (security level {current.value}); "
                "nothing changed")
        return 0
    ca_key_type = cert_cmds.init_ca_key_type(args)
    console = initialize(ctx.home, level, ca_key_type=ca_key_type)
    console.close()
    ctx.say(f"created a js7tui home at {ctx.home.root} with security level {level.value}")
    ctx.say(f"built-in Root and Issuing CA ({ca_key_type.value}) and the console's certificate "
            "created; keep the root key offline: js7tui cert export-root-key --out FILE"
            if ca_key_type else "no CA key in this console: js7tui cert ca import --root ... "
            "--intermediate ... (then cert csr / cert import)")
    ctx.say("identity service JOC-INITIAL holds the account 'root' with password 'root', which "
            "must be changed at the first login:")
    ctx.say("  js7tui                        (the console, on a terminal)")
    ctx.say("  js7tui login --account root   (the command line; then: js7tui passwd)")
    return 0


def cmd_status(ctx: CliContext, args: argparse.Namespace) -> int:
    """``js7tui status`` (and ``js7tui`` alone off a terminal): where things are, what next."""
    home = ctx.home
    if not home.exists():
        ctx.say(f"no js7tui home at {home.root} yet. Create one:")
        ctx.say("  js7tui init --security-level low|medium|high")
        return 0
    ctx.say(f"js7tui home {home.root}, security level {ctx.console.security_level.value}")
    _say_store_posture(ctx)
    saved = ctx.remembered()
    if saved and saved.get("token"):
        try:
            session = ctx.console.sessions.resume(saved["token"])
            ctx.say(f"logged in as {session.account} ({', '.join(session.services)})")
            if session.must_change_password:
                ctx.say(f"  first change the password: js7tui passwd --account {session.account}")
            ctx.say("  try: js7tui account list | js7tui role list | js7tui audit list")
            return 0
        except AuthenticationError as exc:
            ctx.say(f"not logged in ({exc})")
    else:
        ctx.say("not logged in")
    ctx.say("  open the console with: js7tui   (first login: root / root)")
    ctx.say("  or log in on the command line: js7tui login --account root")
    return 0


def _say_store_posture(ctx: CliContext) -> None:
    """The store against what its Controllers witnessed and run at (issue 16): every
    difference, and every Controller that did not answer, is said."""
    from js7tui.audit.posture import check_console
    findings, controllers = check_console(ctx.console)
    if not controllers:
        return
    for finding in findings:
        ctx.say(f"{getattr(finding, 'severity', 'warning')}: {finding}")
    if not findings:
        ctx.say(f"the store's security level and schema agree with its {controllers} "
                "Controller(s)")


def cmd_locate(ctx: CliContext, args: argparse.Namespace) -> int:
    home = ctx.home
    ctx.say(f"home      {home.root}{'' if home.exists() else '  (not created yet)'}")
    ctx.say(f"store     {home.db_path}")
    ctx.say(f"config    {home.config_path}")
    ctx.say(f"keys      {home.keys_dir}")
    ctx.say(f"logs      {home.log_dir}")
    ctx.say(f"state     {state_dir(ctx.env)}")
    if home.exists():
        ctx.say(f"session   {ctx.session_file()}")
        ctx.say(f"security  {ctx.console.security_level.value}")
    return 0


# -- login / logout / whoami / passwd -----------------------------------------------------
def cmd_login(ctx: CliContext, args: argparse.Namespace) -> int:
    if getattr(args, "identity_service", None):
        result = login_with_service(ctx, args, args.identity_service, login_source(ctx))
    else:
        account = args.account or ctx.ask("Account: ")
        password = ctx.password(from_stdin=args.password_stdin)
        result = ctx.console.login.login(LoginRequest(account, password, login_source(ctx)))
    if result.status is LoginStatus.SECOND_FACTOR_REQUIRED:
        result = second_factor(ctx, args, result, login_source(ctx))
    if result.status is not LoginStatus.AUTHENTICATED or not result.token:
        raise AuthenticationError(f"login not completed: {result.message}")
    account = result.session.account if result.session else ""
    remember = ctx.console.remember_me_enabled
    if args.print_token or not remember:
        if not remember:
            ctx.warn("remembering sessions is disabled (enable_remember_me); export the token:")
        ctx.say(f"export JS7TUI_SESSION={result.token}")
    else:
        path = ctx.remember(account, result.token)
        ctx.say(f"logged in as {account} via {', '.join(result.session.services)}; "  # type: ignore[union-attr]
                f"session kept in {path}")
    if result.session and result.session.must_change_password:
        ctx.warn(f"the password of '{account}' must be changed before anything else: "
                 f"js7tui passwd --account {account}")
    return 0


def cmd_logout(ctx: CliContext, args: argparse.Namespace) -> int:
    token = ctx.token()
    if not token:
        ctx.say("not logged in")
        return 0
    ended = ctx.console.sessions.logout(token)
    ctx.forget()
    ctx.say("logged out" if ended else "the session had already ended")
    return 0


def cmd_whoami(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session()
    idle_end = (None if session.idle_timeout < 0
                else session.last_used + timedelta(seconds=session.idle_timeout))
    expires = idle_end.isoformat(timespec="seconds") if idle_end else "never"
    ctx.say(f"account   {session.account}")
    ctx.say(f"services  {', '.join(session.services)}")
    ctx.say(f"security  {ctx.console.security_level.value}")
    ctx.say(f"expires   {expires} (idle timeout)")
    if session.valid_until is not None:
        ctx.say(f"recheck   {session.valid_until.isoformat(timespec='seconds')} (the identity "
                "provider confirms the session when it is used after this)")
    if session.must_change_password:
        ctx.say("state     must change password (js7tui passwd)")
    return 0


def cmd_passwd(ctx: CliContext, args: argparse.Namespace) -> int:
    account = args.account
    if not account:
        saved = ctx.remembered()
        account = saved.get("account") if saved else None
    if not account:
        account = ctx.ask("Account: ")
    old = ctx.password(from_stdin=args.password_stdin, prompt="Current password: ")
    new, repeated = ctx.new_password()
    ctx.console.accounts.change_password(account=account, old=old, new=new, repeated=repeated,
                                         service=args.identity_service,
                                         source=login_source(ctx))
    ctx.say(f"password of '{account}' changed")
    return 0


# -- settings -----------------------------------------------------------------------------
def cmd_settings_show(ctx: CliContext, args: argparse.Namespace) -> int:
    values = ctx.console.settings.show(ctx.session())
    rows = [[key, value, identity_settings.SPECS[key].description]
            for key, value in values.items()]
    rows.insert(0, ["security_level", ctx.console.security_level.value,
                    "Fixed at init; can never be lowered"])
    ctx.table(["Setting", "Value", "Meaning"], rows)
    return 0


def cmd_settings_set(ctx: CliContext, args: argparse.Namespace) -> int:
    spec = identity_settings.spec_for(args.key)
    value = args.value
    if spec.secret:
        if value is not None:
            raise ValidationError(f"{args.key} is a secret and is never taken from an argument; "
                                  "give it on standard input with --stdin, or be asked")
        value, repeated = ctx.new_password(from_stdin=args.stdin,
                                           prompt=f"New {args.key.replace('_', ' ')}: ")
        if repeated is not None and repeated != value:
            raise ValidationError("the two entries differ")
    elif value is None:
        raise ValidationError(f"give a value for {args.key}")
    shown = ctx.console.settings.set(ctx.session(), args.key, value, meta=audit_meta(args))
    ctx.say(f"{args.key} = {shown}")
    return 0


# -- permissions --------------------------------------------------------------------------
def cmd_permissions_tree(ctx: CliContext, args: argparse.Namespace) -> int:
    names = catalogue()
    start = names.canonical(args.under) if args.under else "sos:products"
    effective = None
    if args.account or args.mine:
        effective = ctx.console.permissions.effective(
            ctx.session(), args.account, args.identity_service)
    base_depth = names.nodes[start].depth
    for node in names.walk(start):
        indent = "  " * (node.depth - base_depth)
        mark = ""
        if effective is not None:
            mark = "[+] " if effective.is_permitted(node.name, args.controller) else "[ ] "
        if ctx.json_output:
            ctx.say(json.dumps({
                "permission": node.name, "description": node.description, "leaf": node.is_leaf,
                **({"granted": mark == "[+] "} if effective is not None else {})}))
        else:
            ctx.say(f"{mark}{indent}{node.label:<{max(1, 28 - len(indent))}} {node.description}"
                    if args.short else f"{mark}{indent}{node.name}  - {node.description}")
    return 0


def cmd_permissions_explain(ctx: CliContext, args: argparse.Namespace) -> int:
    explanation = ctx.console.permissions.explain(
        ctx.session(), args.permission, account=args.account, controller=args.controller,
        folder=args.folder, service=args.identity_service)
    verdict = words.verdict(explanation.allowed)
    who = args.account or "you"
    where = f" on Controller '{args.controller}'" if args.controller else ""
    infolder = f" in folder {explanation.folder}" if explanation.folder else ""
    ctx.say(f"{verdict}: {who}, {explanation.permission}{where}{infolder}")
    ctx.say(f"  permission: {explanation.reason}")
    for entry in explanation.overruled:
        ctx.say(f"  overruled:  {entry.describe()}")
    if explanation.folder_decision is not None:
        ctx.say(f"  folder:     {explanation.folder_decision.reason}")
    return 0


def cmd_permissions_effective(ctx: CliContext, args: argparse.Namespace) -> int:
    effective = ctx.console.permissions.effective(ctx.session(), args.account,
                                                  args.identity_service)
    rows = [["-" if e.excluded else "+", e.permission, e.controller or "(default)", e.role,
             e.service] for e in effective.entries]
    ctx.table(["", "Permission", "Section", "Role", "Service"], rows)
    if effective.folders:
        ctx.say("")
        ctx.table(["Folder", "Recursive", "Section", "Role"],
                  [[f.folder, f.recursive, f.controller or "(default)", f.role]
                   for f in effective.folders])
    return 0


# -- audit --------------------------------------------------------------------------------
def cmd_audit_list(ctx: CliContext, args: argparse.Namespace) -> int:
    now = ctx.console.clock.now()
    flt = audit.AuditFilter(
        account=args.account, categories=tuple(c.upper() for c in args.category or ()),
        controller_id=args.controller, object_type=args.object_type,
        path_contains=args.path, folders=tuple(args.folder or ()),
        comment_contains=args.comment_contains, ticket_link=args.ticket,
        outcome=("REFUSED" if args.refused else None),
        date_from=parse_moment(args.since, now) if args.since else None,
        date_to=parse_moment(args.until, now) if args.until else None,
    )
    entries = ctx.console.audit.list(ctx.session(), flt, limit=args.limit,
                                     before_id=args.before_id)
    ctx.table(
        ["Id", "Created", "Account", "Category", "Outcome", "Request", "Path", "Comment"],
        [[e.id, e.created[:19], e.account, e.category, e.outcome, e.request, e.path, e.comment]
         for e in entries],
        records=[{**e.content(), "hash": e.hash, "prevHash": e.prev_hash} for e in entries])
    return 0


def cmd_audit_show(ctx: CliContext, args: argparse.Namespace) -> int:
    entry = ctx.console.audit.detail(ctx.session(), args.id)
    for key, value in {**entry.content(), "prevHash": entry.prev_hash, "hash": entry.hash}.items():
        ctx.say(f"{key:<13} {'' if value is None else value}")
    return 0


def cmd_audit_verify(ctx: CliContext, args: argparse.Namespace) -> int:
    from pathlib import Path
    report = ctx.console.audit.verify(
        ctx.session(), checkpoints=[Path(p) for p in getattr(args, "checkpoint", [])],
        witnesses=not getattr(args, "offline", False))
    if report.ok:
        ctx.say(report.summary())
        return 0
    ctx.warn(report.summary())
    ctx.say(f"first broken entry: {report.broken_id}")
    return 8


def cmd_audit_witness(ctx: CliContext, args: argparse.Namespace) -> int:
    outcome = ctx.console.audit.publish_head(ctx.session())
    if not outcome:
        ctx.say("no Controller is registered: nothing witnesses the audit log")
        return 0
    for controller_id, text in outcome.items():
        ctx.say(f"{controller_id}: {text}")
    return 0 if all(t.startswith("witnessed") for t in outcome.values()) else 9


def cmd_audit_checkpoint(ctx: CliContext, args: argparse.Namespace) -> int:
    from pathlib import Path
    written = ctx.console.audit.checkpoint(ctx.session(), Path(args.output))
    ctx.say(f"checkpoint of entry {written['auditId']} (hash {written['hash']}) written to "
            f"{args.output}; keep it apart from this host, verify with "
            f"'js7tui audit verify --checkpoint {args.output}'")
    return 0
