"""A section screen that talks to Controllers and refreshes itself while it is shown.

Calls to a Controller run in thread workers like every service call, but without holding the
TUI's lock while the Controller answers: ``run_service(..., network=True)`` passes the lock as
the service's ``guard`` (held around its store parts only), so a slow Controller never stalls
another screen's store reads. ``start_polling`` runs ``poll`` every ``interval`` seconds while
the screen is shown (stopped when another screen covers it, when it is left, and when the
session ends: the app removes the screen), and never starts a poll while one is in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from textual import work
from textual.timer import Timer

from js7tui.errors import Js7Error
from js7tui.tui.screens.base import SectionScreen, ServiceDone

log = logging.getLogger("js7tui.tui")


class LiveScreen(SectionScreen):
    POLL_INTERVAL = 1.0

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self._timer: Timer | None = None
        self.polling = False  # a poll is in flight

    # -- network calls --------------------------------------------------------------------
    def run_service(self, what: str, fn: Callable[..., Any], *args: Any,
                    then: Callable[[Any], None] | None = None,
                    failed: Callable[[Exception], None] | None = None,
                    network: bool = False, **kwargs: Any) -> None:
        if not network:
            super().run_service(what, fn, *args, then=then, failed=failed, **kwargs)
            return
        self._network_worker(what, fn, args, {**kwargs, "guard": self.ctx.store_lock}, then,
                             failed)

    @work(thread=True, group="network")
    def _network_worker(self, what: str, fn: Callable[..., Any], args: tuple[Any, ...],
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

    def on_screen_suspend(self) -> None:
        self.stop_polling()

    def on_unmount(self) -> None:
        self.stop_polling()
