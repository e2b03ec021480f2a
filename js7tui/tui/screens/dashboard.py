"""Section 1: the dashboard, what an administrator checks first after logging in.

Panels: the security level and session; each registered Controller with reachability, TLS
(mutual TLS, days left of its certificate), Agents and deployed items; certificates expiring
within 30 days; failed logins and refused deployments of the last 24 hours; the latest audit
entries; the sections for orientation. Enter on a row opens its screen (a Controller, a
certificate, an audit entry). A part the session may not see says "not permitted".

The summary is one store read (``js7tui.overview``); each Controller is probed in a worker of
its own, in parallel with a short timeout, so a dead Controller delays
no other row and no key. ``r`` refreshes, and so does a timer every 30 seconds while the
screen is shown (it stops when another section is shown and dies with the screen at logout).
"""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from js7tui.audit.log import AuditEntry
from js7tui.client.registry import ControllerRecord, ControllerStatus
from js7tui.identity.chain import LOGIN_REQUEST
from js7tui.overview import Events, Overview, Summary
from js7tui.permissions.names import CONTROLLER_VIEW, CONTROLLERS_VIEW
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.sections import SECTIONS
from js7tui.tui.widgets.lists import HouseTable, Row, fit_rows

REFRESH_SECONDS = 30.0
NOT_PERMITTED = "not permitted"
REASON_WIDTH = 48
PANEL_ROWS = 8
# Filters the audit section gets for "show me all of them" rows.
FAILED_LOGINS_FILTER = f"request:{LOGIN_REQUEST} refused since:-1d"
REFUSED_DEPLOYMENTS_FILTER = "cat:DEPLOYMENT refused since:-1d"


def _time(created: str) -> str:
    return created[:19].replace("T", " ")


def controller_cells(record: ControllerRecord, status: ControllerStatus | None,
                     permitted: bool) -> tuple[str, ...]:
    """A Controller row in words: reachability, TLS, Agents, deployed items."""
    if not permitted:
        return (record.id, NOT_PERMITTED, "-", "-", "-")
    if status is None:
        return (record.id, "checking...", "-", "-", "-")
    diagnosis = status.diagnosis
    if status.reachable:
        state = "reachable"
    elif diagnosis.reachable:      # it answered over TLS but refused the console
        state = _short(f"refused: {status.reason}")
    else:
        state = _short(f"unreachable: {status.reason}")
    tls = "-"
    if diagnosis.mutual_tls is not None or diagnosis.days_left is not None:
        mutual = {True: "mutual TLS on", False: "mutual TLS OFF", None: "TLS"}[
            diagnosis.mutual_tls]
        days = "" if diagnosis.days_left is None else f", {diagnosis.days_left} days left"
        tls = mutual + days
    if diagnosis.health is None:
        agents = "-"
    elif status.agents is None:
        agents = NOT_PERMITTED
    else:
        connected = sum(1 for a in status.agents if a.get("connected"))
        agents = f"{len(status.agents)} ({connected} connected)"
    items = "-" if status.items is None else str(status.items)
    return (record.id, state, tls, agents, items)


class DashboardScreen(SectionScreen):
    SECTION = "dashboard"
    HELP = ("The overview. **enter** opens the highlighted Controller, certificate or audit "
            "entry in its section; **tab** moves between panels; **r** refreshes (also every "
            "30 s).")
    DEFAULT_CSS = """
    DashboardScreen #dashboard { height: 1fr; }
    DashboardScreen HouseTable { height: 4; }
    DashboardScreen .panel-title { margin-top: 1; padding: 0 1; text-style: bold; }
    DashboardScreen #dashboard-head, DashboardScreen #dashboard-sections { padding: 0 1; }
    """

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.summary: Summary | None = None
        self.statuses: dict[str, ControllerStatus] = {}
        self.probing: set[str] = set()
        self.generation = 0
        self._timer: Timer | None = None
        self.reconciling = False
        self._reconciled_at = float("-inf")

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dashboard"):
            yield Static("reading...", id="dashboard-head")
            yield Static("Controllers", id="controllers-title", classes="panel-title")
            yield HouseTable(("Controller", "Reachability", "TLS", "Agents", "Items"),
                             id="dash-controllers", empty="no Controller registered")
            yield Static("Certificates expiring within 30 days", id="certs-title",
                         classes="panel-title")
            yield HouseTable(("Certificate", "Purpose", "Owner", "Expiry"),
                             id="dash-certs", empty="none")
            yield Static("Last 24 hours", id="events-title", classes="panel-title")
            yield HouseTable(("Time", "Event", "Account", "Why"), id="dash-events",
                             empty="no failed login, no refused deployment")
            yield Static("Latest audit entries", id="latest-title", classes="panel-title")
            yield HouseTable(("Time", "Account", "Request", "Outcome"), id="dash-latest",
                             empty="none")
            yield Static("", id="dashboard-sections", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#dash-controllers", HouseTable).focus()
        self._timer = self.set_interval(REFRESH_SECONDS, self.reload, name="dashboard-refresh")

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
        super().on_screen_resume()

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        self.generation += 1
        generation = self.generation
        self.run_service("reading the dashboard", Overview(self.ctx.console).summary,
                         session, then=lambda s: self._loaded(generation, s))

    def _may_probe(self, controller_id: str) -> bool:
        return self.ctx.can(CONTROLLERS_VIEW) or self.ctx.can(CONTROLLER_VIEW, controller_id)

    def _loaded(self, generation: int, summary: Summary) -> None:
        if generation != self.generation:
            return
        self.summary = summary
        self._head(summary)
        self._controllers(summary)
        self._certificates(summary)
        self._events(summary)
        self._latest(summary)
        self._sections()
        self._reconcile(summary)
        session = self.ctx.session
        for record in summary.controllers or ():
            if session is None or not self._may_probe(record.id) or record.id in self.probing:
                continue            # a probe still waiting for its timeout is not doubled
            self.probing.add(record.id)
            self.run_service(
                f"probing {record.id}", self.ctx.console.controllers.status, session,
                record.id, then=self._probed,
                failed=lambda _exc, cid=record.id: self.probing.discard(cid))

    def _reconcile(self, summary: Summary) -> None:
        """Open changes or Agents not settled: ask the Controllers (in a worker, at most once
        a refresh period), then read the summary again with what they said."""
        attention = summary.deployments
        session = self.ctx.session
        if (attention is None or not attention.needs_reconcile or self.reconciling
                or session is None or self.ctx.readonly
                or time.monotonic() - self._reconciled_at < REFRESH_SECONDS):
            return
        self.reconciling = True

        def done(_result: object) -> None:
            self.reconciling, self._reconciled_at = False, time.monotonic()
            self.reload()

        def failed(_exc: Exception) -> None:
            self.reconciling, self._reconciled_at = False, time.monotonic()

        self.run_service("asking the Controllers about open changes",
                         self.ctx.console.deployments.reconcile, session, then=done,
                         failed=failed)

    def _probed(self, status: ControllerStatus) -> None:
        """A probe's answer is the newest word on its Controller, whichever refresh asked."""
        self.probing.discard(status.controller_id)
        self.statuses[status.controller_id] = status
        if self.summary is not None:
            self._controllers(self.summary)

    def _head(self, summary: Summary) -> None:
        session = self.ctx.session
        services = ", ".join(session.services) if session else ""
        text = (f"Logged in as [b]{escape(summary.account)}[/b] via {escape(services)}; "
                f"security level [b]{escape(summary.security_level)}[/b].")
        if self.ctx.readonly:
            text += "  [b]READ-ONLY[/b]: every changing key is hidden."
        words = summary.deployments.words if summary.deployments is not None else ""
        if words:
            text += f"\n[b]Deployments[/b]: {escape(words)}."
        self.query_one("#dashboard-head", Static).update(text)

    def _panel(self, name: str, title: str, rows: list[Row] | None,
               permitted_title: str = "") -> None:
        """Fill one panel, or say "not permitted" in its title and hide its table."""
        table = self.query_one(f"#dash-{name}", HouseTable)
        label = self.query_one(f"#{name}-title", Static)
        table.display = rows is not None
        if rows is None:
            label.update(f"{title}: {NOT_PERMITTED}")
            return
        label.update(permitted_title or title)
        fit_rows(table, rows, PANEL_ROWS)

    def _controllers(self, summary: Summary) -> None:
        records = summary.controllers
        reachable = sum(1 for s in self.statuses.values() if s.reachable)
        self._panel("controllers", "Controllers", None if records is None else [
            Row(r.id, controller_cells(r, self.statuses.get(r.id), self._may_probe(r.id)))
            for r in records],
            f"Controllers ({len(records or ())} registered, {reachable} reachable)  "
            "enter: open")

    def _certificates(self, summary: Summary) -> None:
        expiring = summary.expiring
        title = "Certificates expiring within 30 days"
        self._panel("certs", title, None if expiring is None else [
            Row(e.record.serial or str(e.record.id),
                (e.record.name, e.record.purpose, e.record.owner or "-", e.words))
            for e in expiring], f"{title} ({len(expiring or ())})")

    def _events(self, summary: Summary) -> None:
        failed, refused = summary.failed_logins, summary.refused_deployments
        if failed is None or refused is None:
            self._panel("events", "Last 24 hours", None)
            return
        self._panel("events", "Last 24 hours", [
            *self._event_rows(failed, "failed login", FAILED_LOGINS_FILTER),
            *self._event_rows(refused, "refused deployment", REFUSED_DEPLOYMENTS_FILTER)],
            f"Last 24 hours: {_count(failed.count, 'failed login')}, "
            f"{_count(refused.count, 'refused deployment')}")

    def _event_rows(self, events: Events, kind: str, more_filter: str) -> list[Row]:
        rows = [Row(f"#{e.id}", (_time(e.created), kind, e.account, _why(e)))
                for e in events.newest]
        if events.count > len(events.newest):
            rows.append(Row(more_filter, ("", f"... {events.count - len(events.newest)} more",
                                          "", "enter: all of them in the audit log")))
        return rows

    def _latest(self, summary: Summary) -> None:
        latest = summary.latest
        self._panel("latest", "Latest audit entries", None if latest is None else [
            Row(f"#{e.id}", (_time(e.created), e.account, e.request, e.outcome.lower()))
            for e in latest])

    def _sections(self) -> None:
        parts = []
        for section in SECTIONS:
            if section.key and section.key != "1":
                mark = "" if self.ctx.can(section.permission) else f" ({NOT_PERMITTED})"
                parts.append(f"[b]{section.key}[/b] {escape(section.tab)}{mark}")
        self.query_one("#dashboard-sections", Static).update(
            "Sections: " + "  ".join(parts) + "  -  [b]:[/b] palette (Settings), [b]?[/b] keys")

    # -- opening ----------------------------------------------------------------------------
    @on(HouseTable.Opened)
    def _opened(self, message: HouseTable.Opened) -> None:
        message.stop()
        table = message.table.id
        app: Any = self.app
        if table == "dash-controllers":
            app.open_section("controllers", message.key)
        elif table == "dash-certs":
            app.open_section("certificates", message.key)
        elif table in ("dash-events", "dash-latest"):
            app.open_section("audit", message.key)


def _short(text: str, width: int = REASON_WIDTH) -> str:
    """A reason cut to fit a row (the Controllers section's test shows it whole)."""
    return text if len(text) <= width else text[:width - 3] + "..."


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _why(entry: AuditEntry) -> str:
    import json
    try:
        parameters = json.loads(entry.parameters or "{}")
    except ValueError:
        parameters = {}
    refused = parameters.get("refused") if isinstance(parameters, dict) else None
    return _short(str(refused or entry.request))
