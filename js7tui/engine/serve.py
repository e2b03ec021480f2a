"""Starting a Controller or Agent process from its configuration directory (the CLI's
``js7tui controller serve`` / ``js7tui agent serve``)."""

from __future__ import annotations

import asyncio
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
    asyncio.run(server.run())
