"""Stopping the real servers the test fixtures start (slapd, glewlwyd, ...), by their PID."""

from __future__ import annotations

import signal
import subprocess


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM to this process only; SIGKILL if it has not ended within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
