"""Logging to the home's log file (0600), never to the terminal the console draws on.

Only events and reasons are logged: account names, sources, refusals. Never a password, token
or key; the messages come from the same code paths that feed the audit log's redacted fields.
"""

from __future__ import annotations

import logging
from pathlib import Path

from js7tui.config import Config
from js7tui.home import Home, make_private_dirs

LOGGER = "js7tui"


def configure(home: Home, config: Config) -> logging.Handler | None:
    """Attach one file handler for this process (idempotent)."""
    logger = logging.getLogger(LOGGER)
    for handler in logger.handlers:
        if getattr(handler, "_js7tui", False):
            return handler
    configured = Path(config.log.file)
    target = configured if configured.is_absolute() else home.log_dir / configured
    make_private_dirs(target.parent)
    if not target.exists():
        target.touch(mode=0o600)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._js7tui = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(config.log.level.upper())
    logger.propagate = False
    return handler
