"""The job log model: lines only when whole, streams apart, a step's end flushes its last line,
and what a follower appends equals what a fresh read shows."""

from __future__ import annotations

from types import SimpleNamespace

from js7tui.tui.widgets.job_log import JobLog, show


def piece(position: int, state: str, stdout: str = "", stderr: str = "", *, at: tuple[int, int],
          order_state: str = "running") -> SimpleNamespace:
    return SimpleNamespace(position=position, job_name="job", agent="agent-1", state=state,
                           order_state=order_state, stdout=stdout, stderr=stderr,
                           stdout_offset=at[0], stderr_offset=at[1])


def test_lines_arrive_whole_and_the_end_flushes() -> None:
    log = JobLog("o-1")
    assert log.feed(piece(0, "running", "one\ntw", at=(6, 0))) is None  # a new step: draw
    assert log.lines("both") == ["--- step 1: job job on agent-1: running ---", "one"]
    assert log.wanted() == {0: {"stdout": 6, "stderr": 0}}
    assert log.feed(piece(0, "running", "o\n", "bad\n", at=(8, 4))) == [
        ("stdout", "two"), ("stderr", "bad")]
    assert log.feed(piece(0, "running", "three", at=(13, 4))) == []
    assert log.feed(piece(0, "succeeded", at=(13, 4), order_state="finished")) is None
    assert log.lines("both")[1:] == ["one", "two", "err| bad", "three"]
    assert log.wanted() == {} and log.ended
    assert show(log.steps[0].entries, "stderr") == ["bad"]
    assert log.lines("stdout")[1:] == ["one", "two", "three"]
