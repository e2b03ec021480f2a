"""``order``: add, cancel, list and show orders on a registered Controller, thin over the order
service (the console's Orders section does the same with keys).

Adding and cancelling go the remote-change road: the intent is audited before the Controller is
asked; exit 9 when the Controller refused or nothing was sent, 10 when its answer was lost
(``js7tui deployment reconcile`` asks it what it holds)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from js7tui.cli.context import CliContext, audit_meta
from js7tui.errors import ValidationError


def _arguments(given: list[str] | None) -> dict[str, str]:
    """Each ``--arg KEY=VALUE`` as given (the value may hold spaces and '=')."""
    out: dict[str, str] = {}
    for text in given or []:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"--arg '{text}' is not KEY=VALUE")
        out[key.strip()] = value
    return out


def cmd_order(ctx: CliContext, args: argparse.Namespace) -> int:
    orders = ctx.console.orders
    session = ctx.session()
    action = args.order_action
    if action == "add":
        added = orders.add(session, args.controller, args.workflow, order_id=args.id or "",
                           arguments=_arguments(args.arg),
                           meta=audit_meta(args))
        ctx.say(f"added order {added} to workflow {args.workflow} on {args.controller}")
        return 0
    if action == "cancel":
        states = orders.cancel(session, args.controller, args.order_ids, meta=audit_meta(args))
        ctx.table(["Order", "State"], [[i, s] for i, s in states.items()])
        return 0
    if action == "show":
        order = orders.show(session, args.controller, args.order_id)
        ctx.say(f"order {order.id}  {order.state}  workflow {order.workflow_path} "
                f"version {order.version_id}" + (f"  ({order.message})" if order.message else ""))
        ctx.table(["Position", "Job", "Agent", "State", "Return code"],
                  [[s.position, s.job_name, s.agent, s.state,
                    "" if s.return_code is None else s.return_code] for s in order.steps])
        return 0
    listed = orders.list(session, args.controller, state=args.state)
    ctx.table(["Order", "Workflow", "State", "Created"],
              [[o.id, o.workflow_path, o.state, o.created[:19]] for o in listed])
    return 0


def register(sub: argparse._SubParsersAction,
             meta: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``order`` to the command line."""
    parser = sub.add_parser("order", help="orders on a Controller: add, cancel, list, show")
    parser.set_defaults(func=cmd_order)
    acts = parser.add_subparsers(dest="order_action", required=True, metavar="ACTION")

    def add(name: str, text: str) -> argparse.ArgumentParser:
        p = acts.add_parser(name, help=text, description=text)
        p.add_argument("--controller", "-c", required=True, metavar="ID")
        return p

    p = add("add", "add an order to a deployed workflow (audited before it is sent)")
    p.add_argument("workflow", metavar="WORKFLOW", help="the deployed workflow's name")
    p.add_argument("--id", metavar="ORDER_ID", help="default: the workflow's name and a "
                                                     "random suffix")
    p.add_argument("--arg", action="append", metavar="KEY=VALUE",
                   help="an order argument (repeat); never a secret: arguments are sent and "
                        "journaled as given")
    meta(p)
    p = add("cancel", "cancel orders (a running job is killed)")
    p.add_argument("order_ids", nargs="+", metavar="ORDER_ID")
    meta(p)
    add("list", "the Controller's orders, newest first").add_argument(
        "--state", help="only orders in this state (ready, running, finished, failed, ...)")
    add("show", "one order with its steps").add_argument("order_id", metavar="ORDER_ID")
