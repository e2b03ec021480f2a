"""An order's job output: a model of its steps' lines and a Log view with follow mode.

``JobLog`` keeps, per step, its lines in the order they arrived (stdout and stderr), and the
byte offsets to ask the Controller from next (``console.orders.output``); a line is only shown
once complete, the rest waits for its end (or for the step's end). Output recorded before the
view opened shows stdout first, then stderr (the Agent captures them apart).
``lines(stream)`` renders the whole log for one stream (``both``, ``stdout``, ``stderr``);
``feed`` returns the lines to append, or None when a step header changed (draw again).

``JobLogView`` is Textual's ``Log`` (a line-API view: only the lines on screen are rendered)
with the pager keys; any scroll key posts ``ScrolledByHand`` so the screen stops following.
Which stream a line came from is shown in words (``err|``), never by colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Log

STREAMS = ("both", "stdout", "stderr")
RUNNING = ("ready", "started", "running")
ERR = "err| "


@dataclass
class StepLog:
    position: int
    job: str
    agent: str
    state: str
    return_code: int | None = None
    message: str = ""
    entries: list[tuple[str, str]] = field(default_factory=list)  # (stream, line)
    pending: dict[str, str] = field(default_factory=lambda: {"stdout": "", "stderr": ""})
    offsets: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def header(self) -> str:
        rc = "" if self.return_code is None else f", return code {self.return_code}"
        why = f" ({self.message})" if self.message and self.state not in RUNNING else ""
        return f"--- step {self.position + 1}: job {self.job} on {self.agent}: " \
               f"{self.state}{rc}{why} ---"

    def add(self, stream: str, text: str, offset: int) -> list[tuple[str, str]]:
        """Append a piece of output; returns the lines it completed."""
        self.offsets[stream] = offset
        buffered = self.pending[stream] + text
        *complete, rest = buffered.split("\n")
        self.pending[stream] = rest
        new = [(stream, line) for line in complete]
        self.entries.extend(new)
        return new

    def flush(self) -> list[tuple[str, str]]:
        """The step ended: its last lines without a newline are complete now."""
        new = [(s, self.pending[s]) for s in ("stdout", "stderr") if self.pending[s]]
        self.pending = {"stdout": "", "stderr": ""}
        self.entries.extend(new)
        return new


def show(entries: Iterable[tuple[str, str]], stream: str) -> list[str]:
    if stream == "both":
        return [ERR + line if s == "stderr" else line for s, line in entries]
    return [line for s, line in entries if s == stream]


class JobLog:
    """An order's steps and their output lines (no Textual, no Controller: fed by the
    screen from ``console.orders`` answers, or from fixed data in tests)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.workflow = ""
        self.state = ""
        self.steps: dict[int, StepLog] = {}

    def update_order(self, order: Any) -> bool:
        """Take the order's state and steps; True when a step header changed."""
        self.workflow, self.state = order.workflow_path, order.state
        changed = False
        for step in order.steps:
            entry = self.steps.get(step.position)
            if entry is None:
                self.steps[step.position] = StepLog(step.position, step.job_name, step.agent,
                                                    step.state, step.return_code, step.message)
                changed = True
            elif (entry.state, entry.return_code, entry.message) != (
                    step.state, step.return_code, step.message):
                entry.state, entry.return_code = step.state, step.return_code
                entry.message = step.message
                changed = True
        return changed

    @property
    def ended(self) -> bool:
        return self.state in ("finished", "failed", "cancelled")

    def feed(self, output: Any) -> list[tuple[str, str]] | None:
        """A piece from ``console.orders.output``: the new entries, or None when the step's
        header changed (draw again)."""
        step = self.steps.get(output.position)
        if step is None:
            self.steps[output.position] = step = StepLog(output.position, output.job_name,
                                                         output.agent, output.state)
            changed = True
        else:
            changed = step.state != output.state
            step.state = output.state
        self.state = output.order_state
        new = step.add("stdout", output.stdout, output.stdout_offset)
        new += step.add("stderr", output.stderr, output.stderr_offset)
        if not step.running and not output.stdout and not output.stderr:
            new += step.flush()  # ended, and nothing more to read: the last lines are whole
        return None if changed else new

    def wanted(self) -> dict[int, dict[str, int]]:
        """The steps whose output may grow, with the offsets to read from."""
        return {p: dict(s.offsets) for p, s in self.steps.items()
                if s.running or any(s.pending.values())}

    def lines(self, stream: str) -> list[str]:
        out: list[str] = []
        for position in sorted(self.steps):
            step = self.steps[position]
            out.append(step.header())
            out.extend(show(step.entries, stream))
        if not self.steps:
            out.append("(no step has started yet)")
        return out


class JobLogView(Log, inherit_bindings=False):
    """The log lines; scroll keys stop follow mode (``ScrolledByHand``)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("down,j", "scroll_lines(1)", "Down", show=False, id="joblog.down",
                tooltip="One line down"),
        Binding("up,k", "scroll_lines(-1)", "Up", show=False, id="joblog.up",
                tooltip="One line up"),
        Binding("pagedown,space", "scroll_pages(1)", "Page down", show=False,
                id="joblog.page_down", tooltip="One screen down"),
        Binding("pageup,b", "scroll_pages(-1)", "Page up", show=False, id="joblog.page_up",
                tooltip="One screen up"),
        Binding("g,home", "scroll_edge(0)", "Top", show=False, id="joblog.top",
                tooltip="The first line"),
        Binding("G,end", "scroll_edge(1)", "End", show=False, id="joblog.end",
                tooltip="The last line"),
    ]
    HELP = ("Job output. **j/k** line, **space/b** page, **g/G** top/end; any of them stops "
            "follow mode (**f** follows again).")

    class ScrolledByHand(Message):
        """A scroll key was pressed: the person reads, stop following."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(highlight=False, auto_scroll=False, **kwargs)

    def _by_hand(self) -> None:
        self.post_message(self.ScrolledByHand())

    def action_scroll_lines(self, count: int) -> None:
        self._by_hand()
        self.scroll_relative(y=count, animate=False)

    def action_scroll_pages(self, count: int) -> None:
        self._by_hand()
        self.scroll_relative(y=count * max(self.scrollable_content_region.height - 1, 1),
                             animate=False)

    def action_scroll_edge(self, end: int) -> None:
        self._by_hand()
        if end:
            self.scroll_end(animate=False)
        else:
            self.scroll_home(animate=False)
