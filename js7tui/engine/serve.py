"""Starting a Controller or Agent process from its configuration directory (the CLI's
``js7tui controller serve`` / ``js7tui agent serve``)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

from js7tui.engine.config import load_component_config
from js7tui.engine.journal import open_journal


def serve(component: str, directory: Path, *, insecure_http: bool = False) -> None:
    """Run until SIGTERM/SIGINT. Configuration errors raise before anything listens."""
    from js7tui.engine.app import configure_logging

    config = load_component_config(directory, component, insecure_http=insecure_http)
    if component == "controller":
        from js7tui.controller.server import ControllerServer as Server
    else:
        from js7tui.agent.server import AgentServer as Server  # type: ignore[assignment]
    configure_logging(config)
    journal = open_journal(config.state_dir, f"js7tui.{component}",
                           synchronous=config.journal_sync)
    try:
        server = Server(config, journal, insecure_http=insecure_http)
    except BaseException:
        journal.close()
        raise
    try:
        asyncio.run(server.run())
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        from js7tui.errors import ValidationError
        reason = {errno.EADDRINUSE: "is in use (another server listens there)",
                  errno.EADDRNOTAVAIL: "cannot be used: no interface of this host has that "
                                       "address",
                  errno.EACCES: "needs privileges this user lacks (ports below 1024)"}
        raise ValidationError(f"port {config.port} on {config.host} {reason[exc.errno]}; "
                              f"change listen in {directory / 'config.toml'}") from None
