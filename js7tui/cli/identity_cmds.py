"""account, role, identity-service, session and login-history commands."""

from __future__ import annotations

import argparse

from js7tui.cli.context import CliContext, audit_meta
from js7tui.errors import ValidationError
from js7tui.identity.accounts import AccountView
from js7tui.identity.roles import RoleView
from js7tui.identity.service_settings import SettingView
from js7tui.identity.types import SINGLE_FACTOR, TWO_FACTOR


def _account_line(view: AccountView) -> str:
    return (f"account '{view.name}' in {view.service}: roles {', '.join(view.roles) or '-'}; "
            f"{view.state}")


def _account_row(view: AccountView) -> list[object]:
    return [view.name, list(view.roles), view.state, view.email]


# -- accounts -----------------------------------------------------------------------------
def _chosen_password(ctx: CliContext, args: argparse.Namespace) -> str | None:
    """A password the administrator chooses for an account, or None for the initial one."""
    if not (args.password_stdin or args.password_prompt):
        return None
    password, repeated = ctx.new_password(from_stdin=args.password_stdin,
                                          prompt=f"Password for {args.name}: ")
    if repeated is not None and repeated != password:
        raise ValidationError("the two entries differ")
    return password


def cmd_account(ctx: CliContext, args: argparse.Namespace) -> int:
    accounts = ctx.console.accounts
    session = ctx.session()
    # block, unblock and blocked act in every identity service: they have no --identity-service
    service = getattr(args, "identity_service", None)
    meta = audit_meta(args)
    action = args.account_action
    if action == "list":
        views = accounts.list(session, service)
        ctx.table(["Account", "Roles", "State", "Email"], [_account_row(v) for v in views])
        return 0
    if action == "show":
        view = accounts.show(session, args.name, service)
        for key, value in (("account", view.name), ("service", view.service),
                           ("roles", ", ".join(view.roles) or "-"), ("state", view.state),
                           ("email", view.email or "-"),
                           ("blocked", view.block_comment if view.blocked else "no")):
            ctx.say(f"{key:<8} {value}")
        return 0
    if action == "create":
        view = accounts.create(session, args.name, service=service,
                               password=_chosen_password(ctx, args), roles=args.role or [],
                               email=args.email, meta=meta)
        ctx.say("created " + _account_line(view))
        return 0
    if action == "copy":
        view = accounts.copy(session, args.source, args.name, service=service,
                             password=_chosen_password(ctx, args), meta=meta)
        ctx.say("created " + _account_line(view))
        return 0
    if action == "reset-password":
        view = accounts.reset_password(session, args.name, service=service,
                                       password=_chosen_password(ctx, args), meta=meta)
        ctx.say(_account_line(view))
        return 0
    if action == "rename":
        view = accounts.rename(session, args.name, args.new_name, service=service, meta=meta)
        ctx.say("renamed: " + _account_line(view))
        return 0
    if action == "delete":
        accounts.delete(session, args.names, service=service, meta=meta)
        ctx.say(f"deleted {', '.join(args.names)}")
        return 0
    if action == "email":
        view = accounts.set_email(session, args.name, args.email or None, service=service,
                                  meta=meta)
        ctx.say(_account_line(view))
        return 0
    simple = {
        "force-change": lambda: accounts.force_password_change(session, args.name,
                                                               service=service, meta=meta),
        "enable": lambda: accounts.set_disabled(session, args.name, False, service=service,
                                                meta=meta),
        "disable": lambda: accounts.set_disabled(session, args.name, True, service=service,
                                                 meta=meta),
    }
    if action in simple:
        ctx.say(_account_line(simple[action]()))
        return 0
    if action == "block":
        accounts.block(session, args.name, args.reason, meta=meta)
        ctx.say(f"account '{args.name}' blocked in every identity service; its sessions ended")
        return 0
    if action == "unblock":
        accounts.unblock(session, args.name, meta=meta)
        ctx.say(f"account '{args.name}' unblocked")
        return 0
    if action == "blocked":
        ctx.table(["Account", "Comment", "Since", "Blocked by"],
                  [list(row) for row in accounts.blocked(session)])
        return 0
    if action == "roles":
        if args.set is not None:
            view = accounts.set_roles(session, args.name, args.set, service=service, meta=meta)
        elif args.add:
            view = accounts.add_roles(session, args.name, args.add, service=service, meta=meta)
        elif args.remove:
            view = accounts.remove_roles(session, args.name, args.remove, service=service,
                                         meta=meta)
        else:
            view = accounts.show(session, args.name, service)
        ctx.say(_account_line(view))
        return 0
    raise ValidationError(f"unknown account action {action}")


# -- roles --------------------------------------------------------------------------------
def _print_role(ctx: CliContext, view: RoleView) -> None:
    ctx.say(f"role '{view.name}' in {view.service} (position {view.ordering + 1})")
    ctx.say(f"  accounts: {', '.join(view.accounts) or '-'}")
    for entry in view.permissions:
        section = f"  [{entry.controller}]" if entry.controller else ""
        ctx.say(f"  {'-' if entry.excluded else '+'} {entry.permission}{section}")
    for folder in view.folders:
        section = f"  [{folder.controller}]" if folder.controller else ""
        ctx.say(f"  folder {folder.folder} ({'recursive' if folder.recursive else 'only'})"
                f"{section}")


def _warn_unregistered(ctx: CliContext, controller: str) -> None:
    """A role section may name a Controller registered later, but a typo should not pass
    unnoticed: say so when no Controller with that id is registered."""
    if not ctx.console.controllers.is_registered(controller):
        ctx.warn(f"warning: no Controller '{controller}' is registered (js7tui controller "
                 "list); the entry applies once one is registered with that id")


def cmd_role(ctx: CliContext, args: argparse.Namespace) -> int:
    roles = ctx.console.roles
    session = ctx.session()
    service = args.identity_service
    meta = audit_meta(args)
    action = args.role_action
    if action == "list":
        views = roles.list(session, service)
        ctx.table(["Role", "Position", "Entries", "Folders", "Controllers", "Accounts"],
                  [[v.name, v.ordering + 1, len(v.permissions), len(v.folders), list(v.controllers),
                    list(v.accounts)] for v in views])
        return 0
    if action == "show":
        _print_role(ctx, roles.show(session, args.name, service))
        return 0
    if action == "create":
        _print_role(ctx, roles.create(session, args.name, service=service, empty=args.empty,
                                      meta=meta))
        return 0
    if action == "rename":
        _print_role(ctx, roles.rename(session, args.name, args.new_name, service=service,
                                      meta=meta))
        return 0
    if action == "delete":
        roles.delete(session, args.names, service=service, meta=meta)
        ctx.say(f"deleted role(s) {', '.join(args.names)}")
        return 0
    if action == "order":
        views = roles.reorder(session, args.names, service=service, meta=meta)
        ctx.say("order: " + ", ".join(v.name for v in views))
        return 0
    if getattr(args, "controller", None) and action in ("grant", "deny", "folder-add"):
        _warn_unregistered(ctx, args.controller)
    if action in ("grant", "deny", "revoke"):
        view = None
        for permission in args.permissions:
            if action == "revoke":
                view = roles.remove_permission(session, args.role, permission,
                                               controller=args.controller, service=service,
                                               meta=meta)
            else:
                view = roles.set_permission(session, args.role, permission,
                                            excluded=(action == "deny"),
                                            controller=args.controller, service=service,
                                            meta=meta)
        if view is not None:
            _print_role(ctx, view)
        return 0
    if action == "folder-add":
        _print_role(ctx, roles.add_folder(session, args.role, args.folder,
                                          recursive=not args.no_recursive,
                                          controller=args.controller, service=service,
                                          meta=meta))
        return 0
    if action == "folder-remove":
        _print_role(ctx, roles.remove_folder(session, args.role, args.folder,
                                             controller=args.controller, service=service,
                                             meta=meta))
        return 0
    raise ValidationError(f"unknown role action {action}")


# -- identity services --------------------------------------------------------------------
def cmd_identity_service(ctx: CliContext, args: argparse.Namespace) -> int:
    admin = ctx.console.identity_services
    session = ctx.session()
    meta = audit_meta(args)
    action = args.service_action

    def show_list() -> None:
        ctx.table(["Position", "Service", "Type", "Required", "Disabled", "Scheme",
                   "Second factor"],
                  [[s.ordering + 1, s.name, s.type, "required" if s.required else "optional",
                    s.disabled, s.auth_scheme,
                    s.second_factor_service or ("(serves as one)" if s.second_factor else "-")]
                   for s in admin.list(session)])

    if action == "list":
        show_list()
        return 0
    if action == "show":
        record = admin.show(session, args.name)
        for key, value in record.__dict__.items():
            ctx.say(f"{key:<22} {value}")
        return 0
    if action == "create":
        admin.create(session, args.name, args.type, required=args.required,
                     disabled=args.disabled,
                     auth_scheme=TWO_FACTOR if args.two_factor else SINGLE_FACTOR,
                     second_factor_service=args.two_factor,
                     second_factor=args.second_factor_only, meta=meta)
    elif action == "settings":
        _show_settings(ctx, admin.settings(session, args.name))
        return 0
    elif action == "set":
        changes = _setting_changes(ctx, args)
        scheme = None
        if args.two_factor:
            scheme = TWO_FACTOR
        elif args.single_factor:
            scheme = SINGLE_FACTOR
        flags = (args.required, args.disabled, scheme, args.second_factor_only)
        if changes:
            views = admin.set_settings(session, args.name, changes, meta=meta)
            if all(flag is None for flag in flags):
                _show_settings(ctx, views)
                return 0
        admin.update(session, args.name, required=args.required, disabled=args.disabled,
                     auth_scheme=scheme,
                     second_factor_service=(args.two_factor if args.two_factor
                                            else ("" if args.single_factor else None)),
                     second_factor=args.second_factor_only, meta=meta)
    elif action == "rename":
        admin.rename(session, args.name, args.new_name, meta=meta)
    elif action == "delete":
        admin.delete(session, args.name, meta=meta)
    elif action == "order":
        admin.reorder(session, args.names, meta=meta)
    elif action == "move":
        admin.move(session, args.name, -1 if args.direction == "up" else 1, meta=meta)
    else:
        raise ValidationError(f"unknown identity-service action {action}")
    show_list()
    return 0


def _setting_changes(ctx: CliContext, args: argparse.Namespace) -> dict[str, object | None]:
    changes: dict[str, object | None] = {}
    for item in args.setting:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--setting expects KEY=VALUE, got '{item}'")
        changes[key.strip()] = value
    for key in args.unset:
        changes[key.strip()] = None
    for key in args.secret:
        changes[key.strip()] = ctx.secret(key.strip())
    return changes


def _show_settings(ctx: CliContext, views: list[SettingView]) -> None:
    ctx.table(["Setting", "Value", "Kind", "Description"],
              [[v.spec.key, v.shown, v.spec.kind.value, v.spec.description] for v in views])


# -- sessions and login history -----------------------------------------------------------
def cmd_session(ctx: CliContext, args: argparse.Namespace) -> int:
    admin = ctx.console.sessions
    session = ctx.session()
    if args.session_action == "list":
        rows = []
        for info in admin.list(session):
            mine = " (this)" if info.id == session.id else ""
            rows.append([f"{info.id}{mine}", info.account, list(info.services), info.source,
                         info.last_used.isoformat(timespec="seconds"),
                         info.expires_at.isoformat(timespec="seconds") if info.expires_at
                         else "never"])
        ctx.table(["Id", "Account", "Services", "Source", "Last used", "Expires"], rows)
        return 0
    if not args.ids and not args.account:
        raise ValidationError("name session ids or --account")
    ended = admin.cancel(session, args.ids, account=args.account, meta=audit_meta(args))
    ctx.say(f"{ended} session(s) ended")
    return 0


def cmd_login_history(ctx: CliContext, args: argparse.Namespace) -> int:
    attempts = ctx.console.sessions.login_history(
        ctx.session(), account=args.account, failed_only=args.failed, limit=args.limit,
        before_id=args.before_id)
    ctx.table(["Id", "Time", "Account", "Source", "Success", "Message", "Services"],
              [[a.id, a.created.isoformat(timespec="seconds"), a.account, a.source, a.success,
                a.message, [f"{name}: {text}" for name, text in a.details]] for a in attempts])
    return 0
