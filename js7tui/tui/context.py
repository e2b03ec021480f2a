"""What every screen is handed: the console's services, the session, read-only mode.

Screens never keep their own session copy: ``TuiContext.session`` is the one the app logged in,
refreshed by every service call (``Operations`` updates the object in place), so what a screen
hides with ``check_action`` follows what the service layer would refuse.

The console may still be opening when the app starts: ``js7tui`` paints the login form first and
opens the home in a worker (``open_home``); ``console`` waits for it. Tests and the demo hand an
opened console.

Services are called directly, from any thread: the store gives each thread its own SQLite
connection (WAL: readers never wait for a writer), so there is no lock around service calls
and a worker waiting for a Controller holds up nothing else. The few store reads made here on
the UI thread (the comment setting, remember me) are single small reads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from js7tui import remember

if TYPE_CHECKING:
    from js7tui.console import Console
    from js7tui.identity.sessions import Session

CONTROLLER_PERMISSIONS = "sos:products:controller:"


@dataclass
class TuiContext:
    opened: Console | None = None   # an opened console (tests, the demo), or None with ``opener``
    readonly: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # Ask for an audit comment on every change even when the setting does not force it.
    ask_comments: bool = False
    _session: Session | None = field(default=None, repr=False)
    _remembered: bool = False
    last_activity: datetime | None = None
    _level: str | None = field(default=None, repr=False)
    # Serialises opening and closing the home (``open_home``, ``close_opened``), nothing else.
    _open_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # How to open the home when ``opened`` is None (called once, by ``open_home``).
    opener: Callable[[], Console] | None = field(default=None, repr=False)
    _console: Future[Console] = field(default_factory=Future, repr=False)
    # The home's directory before it opens (the CLI knows it): where the console's
    # remembered session is looked up for the first frame.
    home_hint: Path | None = None

    def __post_init__(self) -> None:
        if self.opened is not None:
            self._console.set_result(self.opened)
        elif self.opener is None:
            raise ValueError("a TuiContext needs an opened console or an opener")

    # -- the console ----------------------------------------------------------------------
    @property
    def console(self) -> Console:
        """The home's console, waiting while ``open_home`` opens it; an error opening the home
        is raised here."""
        return self._console.result()

    @property
    def console_ready(self) -> bool:
        """Opened (or failed to open): ``console`` answers without waiting."""
        return self._console.done()

    def open_home(self) -> Console:
        """Open the home with ``opener`` unless it is open already (a worker calls this after
        the first frame). An error is kept for ``console`` and raised."""
        with self._open_lock:
            if not self._console.done() and self.opener is not None:
                try:
                    self._console.set_result(self.opener())
                except BaseException as exc:
                    self._console.set_exception(exc)
        return self._console.result()

    def close_opened(self) -> None:
        """Close a console this context opened itself (with ``opener``); an opening under
        way (it holds ``_open_lock``) finishes first."""
        if self.opener is None:
            return
        with self._open_lock:
            if self._console.done() and self._console.exception() is None:
                self._console.result().close()

    # -- session --------------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def source(self) -> str:
        return remember.client_source(self.env, "tui")

    @property
    def home_root(self) -> Path | None:
        """The home's directory: known before the home opens (``home_hint``, from the CLI), so
        the first frame can tell whether a remembered session will be resumed."""
        if self.opened is not None:
            return self.opened.home.root if self.opened.home else None
        if self.home_hint is not None:
            return self.home_hint
        if self.console_ready and self._console.exception() is None:
            home = self.console.home
            return home.root if home else None
        return None

    def sign_in(self, session: Session, *, keep: bool = False) -> None:
        """Adopt a logged-in session; ``keep`` writes it to the console's remember-me file
        (the CLI's file is never touched: each client logs out on its own)."""
        self._session = session
        self.touch()
        if keep and session.token and self.remember_me_enabled:
            self._write_remembered(session)
            self._remembered = True

    def _write_remembered(self, session: Session) -> None:
        home = self.home_root
        if home is not None and session.token:
            remember.remember_console(self.env, home, self.console.installation_id,
                                      account=session.account, token=session.token)

    def _forget_remembered(self) -> None:
        home = self.home_root
        if home is not None:
            remember.forget_console(self.env, home)

    def sign_out(self) -> None:
        """Invalidate this console's token in the store and forget it locally (logout, idle
        timeout); a session of the CLI (``js7tui login``) goes on."""
        session, self._session = self._session, None
        if session is not None and session.token:
            self.console.sessions.logout(session.token)
        if self._remembered:
            self._forget_remembered()
        self._remembered = False
        self.last_activity = None

    def drop_session(self) -> None:
        """The store already ended the session (cancelled, blocked...): forget it here."""
        self._session = None
        if self._remembered:
            self._forget_remembered()
        self._remembered = False

    @property
    def remember_me_enabled(self) -> bool:
        return self.console.remember_me_enabled

    def remembered_session(self) -> remember.Remembered | None:
        """The console's remembered session for this home (no store read: the first frame
        asks, before the home opens)."""
        home = self.home_root
        if home is None:
            return None
        return remember.console_remembered(self.env, home)

    def resume_remembered(self) -> Session | None:
        """The console's remembered session if its token is still valid and remember me is
        on (a new start then skips the form); otherwise the file is forgotten."""
        saved = self.remembered_session()
        if saved is None:
            return None
        if (not self.remember_me_enabled
                or (saved.installation and saved.installation != self.console.installation_id)):
            self._forget_remembered()
            return None
        try:
            session = self.console.sessions.resume(saved.token)
        except Exception:
            self._forget_remembered()
            return None
        self._remembered = True
        return session

    @property
    def security_level(self) -> str:
        """The home's security level (waits for the home to open)."""
        if self._level is None:
            self._level = self.console.security_level.value
        return self._level

    # -- permissions ----------------------------------------------------------------------
    def can(self, permission: str | None, controller: str = "") -> bool:
        """May the session see/do this? (No session, or a pending password change: no.)

        A Controller permission asked without a Controller (a section's gate, a key shown
        before a Controller is chosen) is granted when some Controller's section grants it:
        an operator whose roles grant ``controller:orders:view`` on one Controller only opens
        the Orders section. The services still check per Controller."""
        session = self._session
        if session is None or session.must_change_password:
            return False
        if permission is None or session.can(permission, controller):
            return True
        if controller or not permission.startswith(CONTROLLER_PERMISSIONS):
            return False
        return any(session.can(permission, c) for c in session.permissions.controllers())

    def may_change(self, permission: str | None, controller: str = "") -> bool:
        """For mutating actions: permitted, and the console is not read-only."""
        return not self.readonly and self.can(permission, controller)

    # -- audit comments -------------------------------------------------------------------
    def comments_required(self) -> bool:
        return self.console.comments_required

    def wants_comment(self) -> bool:
        """Ask for a comment before a change: forced by the setting, or chosen by the user."""
        return self.ask_comments or self.comments_required()

    def predefined_comments(self) -> list[str]:
        return self.console.comment_choices

    # -- activity and idle timeout --------------------------------------------------------
    def touch(self) -> None:
        self.last_activity = self.console.clock.now()

    def idle_left(self) -> float | None:
        """Seconds until the idle timeout ends the session; None when it never does."""
        session = self._session
        if session is None or session.idle_timeout < 0 or self.last_activity is None:
            return None
        idle = (self.console.clock.now() - self.last_activity).total_seconds()
        return session.idle_timeout - idle
