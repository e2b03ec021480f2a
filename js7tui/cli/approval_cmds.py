"""``approval``: four-eyes requests (issue 22) from the command line: list, show (what exactly
will happen, with its diff), approve (needs a comment), reject (needs a reason), withdraw, and
execute (the requestor runs the approved, frozen operation once).

A requestor's change itself (``deploy``, ``role grant``, ...) ends with "sent for approval as
request N" and exit 11: nothing was changed yet."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from js7tui.cli.context import CliContext, audit_meta


def cmd_approval(ctx: CliContext, args: argparse.Namespace) -> int:
    approvals = ctx.console.approvals
    session = ctx.session()
    action = args.approval_action
    now = ctx.console.clock.now()
    if action == "list":
        listed = approvals.list(session, mine=args.mine, for_me=args.for_me,
                                open_only=not args.all)
        ctx.table(["Id", "State", "Requestor", "Approver", "Expires", "Title"],
                  [[r.id, r.state(now), r.requestor,
                    r.approver or (f"({r.preferred_approver}?)" if r.preferred_approver else "-"),
                    r.expires[:16], r.title] for r in listed])
        return 0
    if action == "show":
        r = approvals.show(session, args.id)
        ctx.say(f"request {r.id}  {r.state(now)}  ({r.kind}: {r.operation})")
        ctx.say(f"requestor: {r.requestor}   reason: {r.reason or '-'}"
                + (f"   preferred approver: {r.preferred_approver}"
                   if r.preferred_approver else ""))
        ctx.say(f"created {r.created[:19]}   expires {r.expires[:19]}   digest {r.digest}")
        for decision in r.decisions:
            signed = ", signed" if decision["signature"] else ""
            ctx.say(f"{decision['decision'].lower()} by {decision['approver']} at "
                    f"{decision['decided'][:19]}{signed}: {decision['comment']}")
        ctx.say("")
        for line in r.lines:
            ctx.say(line)
        return 0
    if action == "approve":
        r = approvals.approve(session, args.id, args.comment or "")
        ctx.say(f"approved request {r.id}; its requestor ({r.requestor}) executes it with "
                f"'js7tui approval execute {r.id}'")
        return 0
    if action == "reject":
        r = approvals.reject(session, args.id, args.comment or "")
        ctx.say(f"rejected request {r.id}")
        return 0
    if action == "withdraw":
        r = approvals.withdraw(session, args.id, meta=audit_meta(args))
        ctx.say(f"withdrew request {r.id}")
        return 0
    _, summary = approvals.run_approved(session, args.id)
    ctx.say(f"executed request {args.id}: {summary}")
    return 0


def register(sub: argparse._SubParsersAction,
             meta: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``approval`` to the command line."""
    parser = sub.add_parser("approval", help="four-eyes approval requests: list, show, "
                                             "approve, reject, withdraw, execute")
    parser.set_defaults(func=cmd_approval)
    acts = parser.add_subparsers(dest="approval_action", required=True, metavar="ACTION")
    p = acts.add_parser("list", help="open requests I may see (mine, and others' for me)",
                        description="open requests I may see, newest first")
    p.add_argument("--mine", action="store_true", help="only my requests (as requestor)")
    p.add_argument("--for-me", action="store_true",
                   help="only others' pending requests (as approver)")
    p.add_argument("--all", action="store_true", help="also decided, executed, expired ones")

    def one(name: str, text: str) -> argparse.ArgumentParser:
        q = acts.add_parser(name, help=text, description=text)
        q.add_argument("id", type=int, metavar="ID")
        return q

    one("show", "what exactly will happen: the frozen operation, with its diff")
    one("approve", "approve a request of another account (needs --comment)").add_argument(
        "--comment", required=True, help="what you checked (audit log)")
    one("reject", "reject a request (needs --comment, the reason)").add_argument(
        "--comment", required=True, help="why (audit log)")
    meta(one("withdraw", "withdraw my request"))
    one("execute", "run my approved request once (the frozen operation)")
