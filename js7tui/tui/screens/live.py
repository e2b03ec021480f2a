"""A section screen that talks to Controllers and refreshes itself while it is shown.

Calls to a Controller run in thread workers like every service call (``run_service``); no lock
is held while the Controller answers, so a slow Controller never stalls another screen's store
reads. ``start_polling`` runs ``poll`` every ``interval`` seconds while the screen is shown
(stopped when another screen covers it, when it is left, and when the session ends: the app
removes the screen), and never starts a poll while one is in flight.
"""

from __future__ import annotations

from typing import Any

from textual.timer import Timer

from js7tui.tui.screens.base import SectionScreen


class LiveScreen(SectionScreen):
    POLL_INTERVAL = 1.0

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self._timer: Timer | None = None
        self.polling = False  # a poll is in flight

    # -- polling --------------------------------------------------------------------------
    def start_polling(self, interval: float | None = None) -> None:
        self.stop_polling()
        self._timer = self.set_interval(interval or self.POLL_INTERVAL, self._tick,
                                        name=f"{type(self).__name__}-poll")

    def stop_polling(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @property
    def is_polling(self) -> bool:
        return self._timer is not None

    def _tick(self) -> None:
        if self.polling or self.ctx.session is None or not self.is_current:
            return
        self.poll()

    def poll(self) -> None:
        """One refresh; call ``poll_done()`` when its answer (or error) was handled."""

    def poll_done(self) -> None:
        self.polling = False

    def poll_failed(self, error: Exception) -> None:
        """A refused or failed refresh stops the refreshing: no error (and no audited
        refusal) every second; ``r`` or showing the screen again starts over."""
        self.polling = False
        self.stop_polling()

    def on_screen_suspend(self) -> None:
        self.stop_polling()

    def on_unmount(self) -> None:
        self.stop_polling()
