"""Log lines an operator can grep: one line per event, ``key=value`` fields.

``event=`` names what happened (``login``, ``request``, ``tls-reload``, ``start``, ``stop``...),
then the fields that apply: ``status=`` (``ok``, ``refused``, ``failed`` or the HTTP status),
``peer=`` (the client's address), ``user=``, ``dn=``, ``path=``, and ``msg=`` with the sentence a
person reads. A value with a space, quote, ``=`` or control character is double-quoted with
``\\"``, ``\\\\`` and ``\\n`` escaped, so every event stays on one line::

    event=login status=refused user=console peer=10.0.0.5 dn="CN=console,O=js7tui" msg="..."
    grep 'event=login status=refused' logs/server.log      journalctl -u js7-controller -g ...

Under systemd (stderr is the journal: ``$JOURNAL_STREAM`` names stderr's device and inode)
the lines go to stderr without a timestamp, with the syslog priority prefix journald reads
(``<4>`` for a warning); otherwise to the log file (and stderr) with a timestamp.
"""

from __future__ import annotations

import logging
import os
import re

_BARE = re.compile(r"[A-Za-z0-9_./:@+,\-\[\]]+")


def _quote(value: str) -> str:
    if _BARE.fullmatch(value):
        return value
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def fields(event: str, /, **values: object) -> str:
    """``event=EVENT key=value ...``; None and empty values are left out."""
    parts = [f"event={_quote(event)}"]
    for key, value in values.items():
        if value is None or value == "":
            continue
        parts.append(f"{key}={_quote(str(value))}")
    return " ".join(parts)


def journal_stream(environ: os._Environ[str] | dict[str, str] | None = None,
                   fd: int = 2) -> bool:
    """Whether ``fd`` (stderr) is connected to the journal: systemd sets ``JOURNAL_STREAM`` to
    ``DEVICE:INODE`` of the stream it gave the service (systemd.exec(5)); a child whose stderr
    was redirected elsewhere inherits the variable but not the stream, hence the comparison."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        info = os.fstat(fd)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == (int(device), int(inode))


_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<PRIORITY>LEVEL message`` on one line (journald adds the time, unit and pid)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 4)
        return f"<{priority}>{record.levelname} " + text.replace("\n", "\\n")


class OneLineFormatter(logging.Formatter):
    """The file's format: a timestamp, then the event, tracebacks kept on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")
