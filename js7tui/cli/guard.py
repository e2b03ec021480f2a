"""How every command ends: a refusal is one sentence on stderr with the exit code its class
decides, never a traceback; the console is closed whatever happens."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable

from js7tui.cli.context import CliContext
from js7tui.errors import Js7Error


def guarded(ctx: CliContext, func: Callable[[CliContext, argparse.Namespace], int | None],
            args: argparse.Namespace) -> int:
    try:
        return int(func(ctx, args) or 0)
    except Js7Error as exc:
        ctx.warn(str(exc))
        return exc.exit_code
    except sqlite3.OperationalError as exc:
        ctx.warn(f"the store cannot be used: {exc}")
        return 7
    except KeyboardInterrupt:
        ctx.warn("interrupted")
        return 130
    finally:
        ctx.close()
