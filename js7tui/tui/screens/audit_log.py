"""Section 5: the audit log viewer.

Every entry, newest first, in a virtual line view paged from the store (a million entries open
as fast as ten); a one-line filter (``/``: ``account:alice cat:identity since:-1d``); a detail
pane with the parameters of the entry under the cursor; ``v`` verifies the hash chain and
puts the cursor on the first broken entry; ``x`` exports the filtered view to CSV or JSON lines.

The view is a snapshot (the cursor stays put while others write); while the screen is shown it
counts, every few seconds and whenever it is shown again, the entries written after the
snapshot that match the filter, and the status line says "N new (r shows them)". The chain line
says which entries the verification covered.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, Static

from js7tui.audit import filter_text
from js7tui.audit.export import ExportWriter, format_for, open_private
from js7tui.audit.log import AuditEntry, AuditMeta
from js7tui.audit.pager import PageRequest
from js7tui.audit.query import AuditFilter, AuditKey
from js7tui.audit.service import PendingCount
from js7tui.audit.verify import ChainReport
from js7tui.errors import Js7Error, SessionRequired, ValidationError
from js7tui.permissions.names import AUDITLOG_VIEW
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.audit_view import COLUMNS, AuditLogView, AuditSource, clean
from js7tui.tui.widgets.modals import Field, FormModal
from js7tui.tui.widgets.quiet import update_quietly
from js7tui.words import plural

EXPORT_PAGE = 1000
NEW_ENTRIES_SECONDS = 5.0


class VerifyProgress(Message):
    def __init__(self, checked: int) -> None:
        super().__init__()
        self.checked = checked


class FilterLine(Input):
    """The one-line filter; enter applies it, escape closes it (keeping the filter)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="audit.filter.close",
                tooltip="Back to the list (the filter stays as applied)"),
    ]
    HELP = "Filter words: " + escape(filter_text.HELP) + ". **enter** applies, **esc** closes."

    def action_close(self) -> None:
        self.display = False
        self.screen.query_one(AuditLogView).focus()


class AuditLogScreen(SectionScreen):
    SECTION = "audit"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("slash", "filter", "Filter", id="audit.filter",
                tooltip="Filter by account, category, object, folder, comment, dates "
                        "(relative: since:-1d)"),
        Binding("escape", "clear_filter", "Clear filter", id="audit.clear_filter",
                tooltip="Show every entry again"),
        Binding("enter", "toggle_detail", "Detail", id="audit.detail",
                tooltip="Show or hide the detail pane (all fields and parameters)"),
        Binding("v", "verify", "Verify", id="audit.verify",
                tooltip="Check the hash chain; the cursor goes to the first broken entry"),
        Binding("x", "export", "Export", id="audit.export",
                tooltip="Write the filtered entries to a CSV or JSON-lines file"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "verify": AUDITLOG_VIEW, "export": AUDITLOG_VIEW, "filter": AUDITLOG_VIEW,
    }

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.filter = AuditFilter()
        self.filter_source = ""
        self.report: ChainReport | None = None
        self.verifying: int | None = None  # entries checked so far while verifying
        self._opened_once = False
        self.new_entries = 0      # written after the snapshot, matching the filter

    # -- layout -----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static("", id="audit-status")
        yield Static(COLUMNS, id="audit-columns", classes="dim")
        yield AuditLogView(self._source(), id="audit-view")
        yield Static("", id="audit-detail", classes="detail")
        line = FilterLine(placeholder=filter_text.HELP, id="audit-filter")
        line.display = False
        yield line

    def _source(self) -> AuditSource:
        ctx, audit = self.ctx, self.ctx.console.audit

        def newest() -> AuditKey | None:
            return audit.newest_key(ctx.session)

        def page(flt: AuditFilter, request: PageRequest) -> list[AuditEntry]:
            return audit.page(ctx.session, flt, **request.arguments())

        def counter(flt: AuditFilter, older_than: AuditKey | None) -> PendingCount:
            # Authorized now; the counting itself runs later on its own connection.
            return audit.prepare_count(ctx.session, flt, older_than=older_than)

        return AuditSource(newest, page, counter)

    @property
    def view(self) -> AuditLogView:
        return self.query_one(AuditLogView)

    def on_mount(self) -> None:
        self.view.focus()
        self.set_interval(NEW_ENTRIES_SECONDS, self.count_new, name="audit-new-entries")

    # -- entries written after the snapshot -------------------------------------------------
    def count_new(self) -> None:
        """Count (in a worker) what was written after the snapshot; only while shown."""
        pager = self.view.pager
        session = self.ctx.session
        if not self.is_current or session is None or pager is None:
            return
        ceiling = pager.ceiling
        newest = None if ceiling is None else AuditKey(ceiling.created, ceiling.id - 1)
        audit, flt = self.ctx.console.audit, self.filter

        def count() -> int:
            try:
                return audit.prepare_count(session, flt, newer_than=newest).run()
            except SessionRequired:
                raise
            except Js7Error:
                return self.new_entries    # a refused count says nothing every 5 s
        self.run_service("", count, then=self._counted_new)

    def _counted_new(self, count: int) -> None:
        if count != self.new_entries:
            self.new_entries = count
            self._status()

    def on_screen_resume(self, event: Any) -> None:
        # Coming back from a modal keeps the cursor where it was: only the first visit (and
        # 'r') opens a fresh snapshot.
        if self._opened_once:
            event.prevent_default()
            self.header.refresh_session()
            self.count_new()
        self._opened_once = True

    def reload(self) -> None:
        """A fresh snapshot with the current filter (new entries appear at the top)."""
        if self.ctx.session is not None:
            self.new_entries = 0
            self.view.open(self.filter)

    # -- status and detail ------------------------------------------------------------------
    def _status(self) -> None:
        view = self.view
        total = view.total
        if view.pager is None:
            count = "reading..."
        elif total is None:
            count = f"{view.pager.known_rows - view.page_size:,}+ entries (counting...)"
        else:
            count = plural(total, "entry", "entries") if total else "no entries match"
        shown = f"filter: {self.filter_source}" if self.filter_source else "no filter"
        chain = ""
        if self.verifying is not None:
            chain = f"  verifying: {self.verifying:,} entries checked"
        elif self.report is not None:
            report = self.report
            covered = (f"entries up to {report.head_id} ({report.checked:,} checked)"
                       if report.checked else "no entries")
            chain = (f"  chain: intact, {covered}" if report.ok
                     else f"  chain: BROKEN at entry {report.broken_id}, {covered}")
        new = (f"  |  {self.new_entries:,} new (r shows them)" if self.new_entries else "")
        # the least important last: the line ends with an ellipsis where it is cut
        update_quietly(self.query_one("#audit-status", Static),
                       escape(f"{count}{new}  |{chain}  |  {shown}  |  newest first"
                              if chain else f"{count}{new}  |  {shown}  |  newest first"))

    def on_audit_log_view_opened(self, message: AuditLogView.Opened) -> None:
        self._status()

    def on_audit_log_view_counted(self, message: AuditLogView.Counted) -> None:
        self._status()

    def on_audit_log_view_highlighted(self, message: AuditLogView.Highlighted) -> None:
        detail = self.query_one("#audit-detail", Static)
        entry = message.entry
        update_quietly(detail, describe(entry) if entry is not None else
                       ("" if self.view.total == 0 else "loading..."))

    def on_audit_log_view_load_failed(self, message: AuditLogView.LoadFailed) -> None:
        from js7tui.tui.screens.base import ServiceDone
        self.post_message(ServiceDone("reading the audit log", error=message.error))

    # -- filter -----------------------------------------------------------------------------
    def action_filter(self) -> None:
        line = self.query_one(FilterLine)
        line.display = True
        line.value = self.filter_source
        line.focus()

    @on(Input.Submitted, "#audit-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply_filter(event.value)

    def apply_filter(self, text: str) -> bool:
        try:
            flt = filter_text.parse(text, self.ctx.console.clock.now())
        except ValidationError as exc:
            self.show_error(str(exc))
            return False
        self.filter, self.filter_source = flt, text.strip()
        line = self.query_one(FilterLine)
        line.display = False
        self.view.focus()
        self.view.open(flt)
        self._status()
        return True

    def action_clear_filter(self) -> None:
        self.query_one(FilterLine).value = ""
        self.apply_filter("")

    def action_toggle_detail(self) -> None:
        detail = self.query_one("#audit-detail", Static)
        detail.display = not detail.display

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.filter_source)
        return super().check_action(action, parameters)

    # -- verify -----------------------------------------------------------------------------
    def action_verify(self) -> None:
        self.notify("verifying the hash chain...", timeout=3)
        self._verify_worker()

    @work(thread=True, exclusive=True, group="audit-verify")
    def _verify_worker(self) -> None:
        from js7tui.tui.screens.base import ServiceDone
        ctx = self.ctx
        try:
            # Authorized first; the walk runs on its own read-only connection.
            walk = ctx.console.audit.prepare_verify(ctx.session)
            report = walk(lambda checked: self.post_message(VerifyProgress(checked)))
        except Exception as exc:
            self.post_message(ServiceDone("verifying the audit log", error=exc))
            return
        self.post_message(ServiceDone("verifying the audit log", result=report,
                                      then=self._verified))

    def on_verify_progress(self, message: VerifyProgress) -> None:
        self.verifying = message.checked
        self._status()

    def _verified(self, report: ChainReport) -> None:
        self.verifying = None
        self.report = report
        self._status()
        if report.ok:
            self.show_done(report.summary())
            return
        self.notify(escape(report.summary()), title="Audit log", severity="error", timeout=15)
        if report.broken_id is not None:
            self.view.marked_id = report.broken_id
            self.run_service("finding the broken entry", self._key_of, report.broken_id,
                             then=self._show_broken)

    def _key_of(self, entry_id: int) -> AuditKey | None:
        entry = self.ctx.console.audit.detail(self.ctx.session, entry_id)
        return AuditKey.of(entry)

    def _show_broken(self, key: AuditKey | None) -> None:
        if key is None:
            return
        self.filter, self.filter_source = AuditFilter(), ""
        self.view.open(self.filter, jump_to=key)

    def select_item(self, item: str) -> None:
        """Opened from the dashboard: ``#123`` puts the cursor on that entry (no filter);
        anything else is a filter line (``account:alice refused since:-1d``)."""
        if item.startswith("#") and item[1:].isdigit():
            self.run_service("finding the entry", self._key_of, int(item[1:]),
                             then=self._show_broken)
        else:
            self.apply_filter(item)

    # -- export -----------------------------------------------------------------------------
    def action_export(self) -> None:
        stamp = self.ctx.console.clock.now().strftime("%Y%m%d-%H%M%S")
        fields = [
            Field("path", "File", value=f"audit-{stamp}.csv", required=True,
                  help="a new file (never overwritten); relative to the current directory"),
            Field("format", "Format", kind="choice", value="auto",
                  choices=["auto", "csv", "jsonl"],
                  help="auto: CSV for a .csv file name, JSON lines otherwise"),
        ]
        note = "The entries of the current view: " + (self.filter_source or "no filter")
        self.app.push_screen(FormModal("Export the audit log", fields, note=escape(note)),
                             self._export_chosen)

    def _export_chosen(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        path = Path(str(values["path"])).expanduser()
        try:
            chosen = str(values.get("format") or "")
            fmt = format_for(path, "" if chosen == "auto" else chosen)
        except ValidationError as exc:
            self.show_error(str(exc))
            return
        ceiling = self.view.pager.ceiling if self.view.pager else None

        def start(meta: AuditMeta) -> None:
            self.notify(f"exporting to {escape(str(path))}...", timeout=3)
            self._export_worker(path, fmt, self.filter, self.filter_source, ceiling, meta)

        self.ask_meta("export the audit log", start)

    @work(thread=True, group="audit-export")
    def _export_worker(self, path: Path, fmt: str, flt: AuditFilter, source: str,
                       ceiling: AuditKey | None, meta: AuditMeta) -> None:
        from js7tui.tui.screens.base import ServiceDone
        ctx = self.ctx
        created = False
        try:
            with open_private(path) as out:
                created = True
                writer = ExportWriter(out, fmt)
                older = ceiling
                while True:
                    # Page by page: never the whole log in memory.
                    batch = ctx.console.audit.page(ctx.session, flt, limit=EXPORT_PAGE,
                                                   older_than=older)
                    writer.write(batch)
                    if len(batch) < EXPORT_PAGE:
                        break
                    older = AuditKey.of(batch[-1])
            ctx.console.audit.record_export(ctx.session, filter_text=source, fmt=fmt,
                                            entries=writer.written, path=str(path.resolve()),
                                            meta=meta)
        except (Js7Error, OSError) as exc:
            if created:
                # A partial export, or one the audit log does not show, is not kept.
                path.unlink(missing_ok=True)
            self.post_message(ServiceDone("export", error=exc))
            return
        self.post_message(ServiceDone(
            "export", result=f"exported {writer.written:,} entries to {path} ({fmt})",
            then=self.show_done))


def describe(entry: AuditEntry) -> str:
    """The detail pane: every field, then the parameters pretty-printed."""
    try:
        parameters = json.dumps(json.loads(entry.parameters), ensure_ascii=False)
    except ValueError:
        parameters = entry.parameters
    when = datetime.fromisoformat(entry.created).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"entry {entry.id}  {when}  {entry.outcome}  account {entry.account}",
        f"request {entry.request}  category {entry.category}"
        + (f"  controller {entry.controller_id}" if entry.controller_id else ""),
    ]
    if entry.path or entry.object_type or entry.folder:
        lines.append(f"object {entry.object_type or '-'} {entry.path or '-'}"
                     f"  folder {entry.folder or '-'}")
    if entry.comment or entry.ticket_link or entry.time_spent is not None:
        lines.append(f"comment {clean(entry.comment) or '-'}  ticket {entry.ticket_link or '-'}"
                     f"  time spent {entry.time_spent if entry.time_spent is not None else '-'}")
    lines.append(f"hash {entry.hash[:16]}...  previous {entry.prev_hash[:16]}...")
    lines.append("parameters " + parameters)
    return escape("\n".join(lines))
