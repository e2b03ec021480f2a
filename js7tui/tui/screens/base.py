"""The base of every section screen: header, footer, permission gating, workers, comments.

Habits (Harlequin's worker discipline, Posting's bindings):

* Service calls run in ``@work(thread=True)`` workers (``run_service``, for the store and the
  Controllers alike) that post ``ServiceDone``; the handler on the UI thread updates widgets.
  Workers never wait for each other: there is no lock around service calls (the store gives
  each thread its own connection). Nothing blocks the event loop; tests wait on the workers.
* ``ACTION_PERMISSIONS`` maps each action to the permission it needs; ``check_action`` hides
  the action (and its key in the footer, help and palette) when the session lacks it, and hides
  every action listed in ``MUTATING`` in read-only mode. The service layer still checks.
* ``change(what, fn, ...)`` asks for the audit comment when needed (``CommentModal``), then runs
  ``fn(session, ..., meta=meta)`` in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from js7tui.errors import Js7Error, SessionRequired
from js7tui.text import for_terminal
from js7tui.tui.context import TuiContext

if TYPE_CHECKING:
    from js7tui.audit import AuditMeta
    from js7tui.tui.widgets.header import SessionHeader

log = logging.getLogger("js7tui.tui")


class ServiceDone(Message):
    """A worker's service call finished: ``result`` or ``error`` (a sentence to show)."""

    def __init__(self, what: str, result: Any = None, error: Exception | None = None,
                 then: Callable[[Any], None] | None = None,
                 failed: Callable[[Exception], None] | None = None) -> None:
        super().__init__()
        self.what = what
        self.result = result
        self.error = error
        self.then = then
        self.failed = failed


class ServiceScreen(Screen):
    """A screen that calls the console's services through workers."""

    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {}
    MUTATING: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ctx: TuiContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx

    # -- permission gating ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and self.ctx.readonly:
            return False
        if action in self.ACTION_PERMISSIONS:
            needed = self.ACTION_PERMISSIONS[action]
            if action in self.MUTATING:
                return self.ctx.may_change(needed)
            return self.ctx.can(needed)
        return True

    # -- workers --------------------------------------------------------------------------
    def run_service(self, what: str, fn: Callable[..., Any], *args: Any,
                    then: Callable[[Any], None] | None = None,
                    failed: Callable[[Exception], None] | None = None, **kwargs: Any) -> None:
        """Call ``fn(*args, **kwargs)`` in a worker; ``then(result)`` runs on the UI thread.

        The one way a screen calls a service, whether it reads the store or waits for a
        Controller: workers run side by side (each thread has its own store connection), so
        a Controller that does not answer delays only its own call."""
        self._service_worker(what, fn, args, kwargs, then, failed)

    @work(thread=True, group="service")
    def _service_worker(self, what: str, fn: Callable[..., Any], args: tuple[Any, ...],
                        kwargs: dict[str, Any], then: Callable[[Any], None] | None,
                        failed: Callable[[Exception], None] | None) -> None:
        try:
            result = fn(*args, **kwargs)
        except Js7Error as exc:
            self.post_message(ServiceDone(what, error=exc, failed=failed))
        except Exception as exc:  # never let a worker take the console down
            log.exception("%s failed", what)
            self.post_message(ServiceDone(what, error=exc, failed=failed))
        else:
            self.post_message(ServiceDone(what, result=result, then=then))

    def on_service_done(self, message: ServiceDone) -> None:
        message.stop()
        if message.error is None:
            if message.then is not None:
                message.then(message.result)
            return
        error = message.error
        from js7tui.approval.rules import SentForApproval
        if isinstance(error, SentForApproval):
            # a requestor's change under four eyes: not done, and not refused either
            self.notify(escape(str(error)), title="Sent for approval", timeout=8)
            if isinstance(self, SectionScreen):
                self.reload()
            return
        if isinstance(error, SessionRequired):
            self.app.session_ended(str(error))  # type: ignore[attr-defined]
            return
        text = str(error) if isinstance(error, Js7Error) else \
            f"{type(error).__name__}: {error}"
        self.show_error(f"{message.what}: {text}" if message.what else text)
        if message.failed is not None:
            message.failed(error)

    def show_error(self, text: str) -> None:
        self.notify(escape(for_terminal(text)), title="Refused", severity="error", timeout=8)

    def show_done(self, text: str) -> None:
        self.notify(escape(for_terminal(text)), timeout=4)

    def ask_name(self, title: str, label: str, then: Callable[[str], None], *,
                 value: str = "", note: str = "") -> None:
        """A one-field form for a (new) name; ``then(name)`` with the name stripped."""
        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                then(values["name"].strip())
        from js7tui.tui.widgets.modals import Field, FormModal
        self.app.push_screen(FormModal(title, [Field("name", label, value=value, required=True)],
                                       note=note), done)

    # -- changes with audit comments ------------------------------------------------------
    def change(self, what: str, fn: Callable[..., Any], *args: Any,
               then: Callable[[Any], None] | None = None,
               cancelled: Callable[[], None] | None = None, **kwargs: Any) -> None:
        """Ask for the audit comment when needed, then call ``fn(session, *args, meta=...)``;
        ``cancelled`` runs when the person backs out of the comment."""
        session = self.ctx.session
        if session is None:
            return
        self.ask_meta(what, lambda meta: self.run_service(what, fn, session, *args, meta=meta,
                                                          then=then, **kwargs),
                      cancelled=cancelled)

    def ask_meta(self, what: str, then: Callable[[AuditMeta], None], *,
                 cancelled: Callable[[], None] | None = None) -> None:
        """The audit comment for a change (asked when forced or chosen, else empty), then
        ``then(meta)``; for changes that are more than one service call (an export)."""
        def go(meta: AuditMeta | None) -> None:
            if meta is None:
                self.notify("cancelled; nothing was changed", timeout=3)
                if cancelled is not None:
                    cancelled()
                return
            then(meta)

        if self.ctx.wants_comment():
            from js7tui.tui.widgets.modals import CommentModal
            self.app.push_screen(
                CommentModal(what, required=self.ctx.comments_required(),
                             choices=self.ctx.predefined_comments()), go)
        else:
            from js7tui.audit import AuditMeta
            go(AuditMeta())


STYLES = Path(__file__).resolve().parent.parent / "styles"


class SectionScreen(ServiceScreen):
    """A section's base screen: header with tabs and session, body, footer with live keys."""

    SECTION: ClassVar[str] = ""
    # The sections' stylesheets join the app's when the first section opens (which re-parses
    # the stylesheet anyway), so the login form paints without parsing them.
    CSS_PATH: ClassVar = [STYLES / "sections.tcss", STYLES / "roles_audit.tcss"]
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("r", "reload", "Reload", id="section.reload",
                tooltip="Read the section again from the store"),
    ]

    def compose(self) -> ComposeResult:
        # imported here: the login screen (a ServiceScreen too) paints before these load
        from js7tui.tui.widgets.header import SessionHeader
        from js7tui.tui.widgets.keys import KeysFooter
        yield SessionHeader(self.ctx, self.SECTION)
        yield from self.compose_body()
        yield KeysFooter()

    @property
    def header(self) -> SessionHeader:
        from js7tui.tui.widgets.header import SessionHeader
        return self.query_one(SessionHeader)

    def compose_body(self) -> ComposeResult:
        yield Static("")

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.header.refresh_session()
        self.reload()

    def reload(self) -> None:
        """Read the section's data again (in a worker)."""

    def action_reload(self) -> None:
        self.reload()
