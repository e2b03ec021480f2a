"""``signing-key``, ``deploy``, ``revoke``, ``deployment`` and ``import-deploy``: thin over the
signing key and deployment services.

Exit codes of a deployment: 0 done on every Controller and every Agent that runs its items; 9
refused or not applied somewhere (the reason is printed and kept in the history); 10 not known
yet (a Controller's answer was lost, or an Agent has not taken the items yet): ``js7tui
deployment reconcile`` asks the Controllers and prints what they hold."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from js7tui.cli.context import CliContext, audit_meta
from js7tui.deployment.keys import SigningIdentity
from js7tui.deployment.service import Deployment
from js7tui.errors import ValidationError
from js7tui.pki.keys import KeyType

FAILED_EXIT = 9
OPEN_EXIT = 10


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None


def _identity(ctx: CliContext, identity: SigningIdentity, verb: str) -> None:
    ctx.say(f"{verb} the signing certificate of '{identity.account}': {identity.subject} "
            f"(valid until {identity.cert.not_valid_after_utc.isoformat()})")


def cmd_signing_key(ctx: CliContext, args: argparse.Namespace) -> int:
    keys = ctx.console.signing_keys
    session = ctx.session()
    action = args.key_action
    if action == "show":
        found = keys.show(session, args.account)
        ctx.table(["Account", "Subject", "Origin", "Key held", "Not after"],
                  [[found.account, found.subject, found.origin, found.origin != "REGISTERED",
                    found.cert.not_valid_after_utc.isoformat()]])
        return 0
    meta = audit_meta(args)
    if action == "generate":
        kind = KeyType.parse(args.key_type) if args.key_type else None
        _identity(ctx, keys.generate(session, account=args.account, key_type=kind, meta=meta),
                  "generated key and")
    elif action == "import":
        _identity(ctx, keys.import_key(session, _read(args.key), _read(args.cert),
                                       account=args.account, meta=meta), "imported key and")
    elif action == "register":
        _identity(ctx, keys.register(session, _read(args.cert), account=args.account,
                                     meta=meta), "registered")
    else:
        raise ValidationError(f"unknown signing-key action {action}")
    return 0


def _targets_table(ctx: CliContext, result: Deployment) -> None:
    rows = []
    for t in result.targets:
        rows.append([t.controller_id, "", t.word, "" if t.done else t.summary])
        rows += [[t.controller_id, a.agent, a.state, a.message] for a in t.agents]
    ctx.table(["Controller", "Agent", "State", "Reason"], rows)


def _exit(result: Deployment) -> int:
    if result.ok:
        return 0
    return FAILED_EXIT if result.refused else OPEN_EXIT


def _report(ctx: CliContext, result: Deployment) -> int:
    ctx.say(f"commit {result.commit_id}: {result.operation.lower()} of {len(result.objects)} "
            f"object(s)" + (f", signed by {result.signer}" if result.signer else ""))
    _targets_table(ctx, result)
    return _exit(result)


def cmd_deploy(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.deployments
    method = service.revoke if args.command == "revoke" else service.deploy
    return _report(ctx, method(ctx.session(), args.paths, args.controller,
                               recursive=not args.no_recursive, meta=audit_meta(args)))


def cmd_import_deploy(ctx: CliContext, args: argparse.Namespace) -> int:
    return _report(ctx, ctx.console.deployments.import_deploy(
        ctx.session(), Path(args.archive), args.controller, meta=audit_meta(args)))


def cmd_deployment(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.deployments
    if args.deployment_action == "show":
        found = service.show(ctx.session(), args.commit_id)
        ctx.say(f"commit {found.commit_id}  {found.operation.lower()} by {found.account} at "
                f"{found.created}" + (f", signed by {found.signer}" if found.signer else "")
                + (f", audit entry {found.audit_id}" if found.audit_id else ""))
        ctx.table(["Type", "Path", "Version"], [list(o) for o in found.objects])
        _targets_table(ctx, found)
        return 0
    if args.deployment_action == "reconcile":
        return _reconcile(ctx, args)
    if args.deployment_action == "expiring":
        return _expiring(ctx, args)
    if args.deployment_action == "resign":
        done = service.resign(ctx.session(), within_days=args.within,
                              controller_id=args.controller, meta=audit_meta(args))
        if not done:
            ctx.say("nothing to sign again: no deployed item's signer expires that soon")
            return 0
        codes = [_report(ctx, d) for d in done]
        return max(codes)
    rows = service.history(ctx.session(), controller_id=args.controller, limit=args.limit)
    ctx.table(["Commit", "Operation", "Account", "Objects", "Controllers", "Created"],
              [[d.commit_id, d.operation.lower(), d.account, len(d.objects),
                [f"{t.controller_id}:{t.word}" for t in d.targets], d.created]
               for d in rows])
    return 0


def _expiring(ctx: CliContext, args: argparse.Namespace) -> int:
    """Deployed items whose signer expires soon; exit 1 when there are any."""
    found = ctx.console.deployments.expiring(ctx.session(), args.within)
    if not found:
        ctx.say("no deployed item's signing certificate expires within "
                f"{args.within if args.within is not None else 'the warning period'} days")
        return 0
    ctx.table(["Controller", "Type", "Path", "Version", "Signer", "Not after", "When"],
              [[e.controller_id, e.object_type.lower(), e.path, e.version_id, e.signer,
                e.not_after[:19], e.left] for e in found])
    if ctx.console.security_level.value == "HIGH":
        paths = " ".join(sorted({e.path for e in found}))
        ctx.say(f"at HIGH: export them, sign outside and import-deploy: js7tui inventory "
                f"export --for-signing --output FILE {paths}")
    else:
        ctx.say("they keep running where they are attached; 'js7tui deployment resign' signs "
                "them again with the key in force (renew it first if it is the same)")
    return 1


def _reconcile(ctx: CliContext, args: argparse.Namespace) -> int:
    """Settle every open change (deployments and orders) by asking the Controllers, then
    read the Agents' states again; exit 10 while something is still open."""
    reconciled, refreshed = ctx.console.deployments.reconcile(ctx.session(), args.controller)
    if not reconciled and not refreshed:
        ctx.say("nothing to reconcile: every change has its outcome")
        return 0
    if reconciled:
        ctx.table(["Change", "Kind", "Reference", "Controller", "Was", "Now", "Found"],
                  [[r.intent.id, r.intent.kind.lower(), r.intent.reference, r.target,
                    r.before.value.lower(),
                    r.after.state.value.lower() if r.after else "still " + r.before.value.lower(),
                    r.after.message if r.after else r.problem] for r in reconciled])
    for deployment in refreshed:
        ctx.say(f"commit {deployment.commit_id}: the Agents' states read again")
        _targets_table(ctx, deployment)
    still_open = any(r.after is None for r in reconciled) or any(
        not t.settled for d in refreshed for t in d.targets)
    return OPEN_EXIT if still_open else 0


def register(sub: argparse._SubParsersAction,
             meta: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the signing-key and deployment commands to the command line."""
    keys = sub.add_parser("signing-key", help="your signing key or certificate (by security "
                                              "level)")
    keys.set_defaults(func=cmd_signing_key)
    acts = keys.add_subparsers(dest="key_action", required=True, metavar="ACTION")

    def add(name: str, text: str) -> argparse.ArgumentParser:
        parser = acts.add_parser(name, help=text, description=text)
        parser.add_argument("--account", help="another account's (needs accounts:manage); "
                                              "at LOW always the installation's")
        if name != "show":
            meta(parser)
        return parser

    add("show", "the signing certificate in force for you")
    add("generate", "a new key and certificate from the console's CA (LOW, MEDIUM)"
        ).add_argument("--key-type", help="rsa-2048, ec-p256, ... (default: the CA's)")
    p = add("import", "your own key and certificate (LOW, MEDIUM; refused at HIGH)")
    p.add_argument("--key", required=True, metavar="FILE", help="PEM private key")
    p.add_argument("--cert", required=True, metavar="FILE",
                   help="PEM certificate, then its intermediates and root")
    add("register", "a certificate only; its key stays outside (every level, the HIGH way)"
        ).add_argument("cert", metavar="FILE",
                       help="PEM certificate, then its intermediates and root")

    for name, text in (("deploy", "sign objects (or folders) and deploy them (LOW, MEDIUM)"),
                       ("revoke", "remove objects (or folders) from Controllers")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("paths", nargs="+", metavar="PATH")
        p.add_argument("--controller", "-c", action="append", required=True, metavar="ID",
                       help="target Controller (repeat for several)")
        p.add_argument("--no-recursive", action="store_true", help="folders: not below")
        meta(p)
        p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("import-deploy", help="deploy an archive signed outside",
                       description="Verify every signature of ARCHIVE (export --for-signing, "
                                   "signed with openssl) against your registered signing "
                                   "certificate and its chain, then deploy the exact signed "
                                   "bytes; nothing is deployed unless everything verifies.")
    p.add_argument("archive", metavar="ARCHIVE")
    p.add_argument("--controller", "-c", required=True, metavar="ID")
    meta(p)
    p.set_defaults(func=cmd_import_deploy)

    history = sub.add_parser("deployment", help="the deployment history")
    history.set_defaults(func=cmd_deployment)
    acts = history.add_subparsers(dest="deployment_action", required=True, metavar="ACTION")
    p = acts.add_parser("list", help="deployments, newest first")
    p.add_argument("--controller", "-c", metavar="ID")
    p.add_argument("--limit", type=int, default=50)
    acts.add_parser("show", help="one deployment: objects, versions, states").add_argument(
        "commit_id")
    p = acts.add_parser(
        "reconcile", help="ask the Controllers what they hold for changes whose outcome is "
                          "unknown or interrupted, and the Agents' states again",
        description="Every deploy, revoke, import-deploy and order change is recorded and "
                    "audited before it is sent. One whose answer was lost (UNKNOWN) or whose "
                    "sender was interrupted (SENDING) is settled here by asking the Controller:"
                    " ACCEPTED if it holds the change, NOT_APPLIED if not. Exit 10 while a "
                    "Controller cannot be asked.")
    p.add_argument("--controller", "-c", metavar="ID", help="only this Controller")
    p = acts.add_parser(
        "expiring", help="deployed items whose signing certificate expires soon",
        description="A deployed item keeps running after its signer's certificate expires "
                    "(each engine checked the certificate when it took the item), but no "
                    "engine takes it anew after that day. Lists them, soonest first; exit 1 "
                    "when there are any.")
    p.add_argument("--within", type=int, metavar="DAYS",
                   help="default: [controllers] expiry_warning_days (30)")
    p = acts.add_parser(
        "resign", help="sign the expiring items again and deploy them (LOW, MEDIUM)",
        description="One new commit per Controller, signed with the key in force (renew it "
                    "first when it is the expiring one). At HIGH use 'deployment expiring', "
                    "which prints the export command.")
    p.add_argument("--within", type=int, metavar="DAYS")
    p.add_argument("--controller", "-c", metavar="ID")
    meta(p)
