"""The house list: a DataTable with the keys administrators know from k9s and lazygit.

j/k and arrows move, g/G jump to the first/last row, enter opens (posts ``HouseTable.Opened``),
``/`` asks for a filter (a ``!`` prefix inverts it), ``!`` inverts the current filter, escape
clears it. Rows are given whole with ``set_rows``; the table keeps them and shows the ones the
filter lets through, keeping the cursor on the same row where it can. Meant for lists of up to
a few thousand rows (the audit log uses a virtual view instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str | Text, ...]

    def text(self) -> str:
        return " ".join(str(cell) for cell in self.cells).lower()


class FilterInput(Input):
    """The one-line filter under a list; enter keeps the filter, escape clears it."""

    BINDINGS = [
        Binding("escape", "clear", "Clear filter", id="filter.clear",
                tooltip="Remove the filter and go back to the list"),
    ]
    HELP = "Type to filter the list (`!` first inverts). **enter** keeps it, **esc** clears."

    def __init__(self, table: HouseTable, value: str) -> None:
        super().__init__(value=value, placeholder="filter (! inverts)", classes="list-filter",
                         id=f"{table.id}-filter" if table.id else None)
        self.table = table

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.table.filter_text = event.value

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.table.focus()
        if not event.value:
            self.remove()

    def action_clear(self) -> None:
        self.table.filter_text = ""
        self.table.focus()
        self.remove()


class HouseTable(DataTable):
    """A DataTable with j/k, g/G, ``/`` filter, ``!`` invert and enter to open."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="list.down",
                tooltip="Next row"),
        Binding("k", "cursor_up", "Up", show=False, id="list.up", tooltip="Previous row"),
        Binding("g", "first", "First", show=False, id="list.first", tooltip="First row"),
        Binding("G", "last", "Last", show=False, id="list.last", tooltip="Last row"),
        Binding("slash", "filter", "Filter", id="list.filter",
                tooltip="Filter the rows by text; '!' first shows the rows that do not match"),
        Binding("exclamation_mark", "invert", "Invert", show=False, id="list.invert",
                tooltip="Invert the filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="list.clear",
                tooltip="Remove the filter"),
    ]
    HELP = ("A list. **j/k** move, **g/G** first/last, **enter** opens, **/** filters "
            "(**!** inverts), **esc** clears the filter.")

    class Opened(Message):
        """Enter on a row."""

        def __init__(self, table: HouseTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> HouseTable:
            return self.table

    def __init__(self, columns: Sequence[str], *, id: str | None = None,
                 empty: str = "(nothing here)") -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._columns = tuple(columns)
        self._rows: list[Row] = []
        self._filter = ""
        self.empty_text = empty

    def on_mount(self) -> None:
        self.add_columns(*self._columns)

    # -- rows -----------------------------------------------------------------------------
    def set_rows(self, rows: Iterable[Row]) -> None:
        current = self.current_key
        self._rows = list(rows)
        self._render_rows(current)

    def update_rows(self, rows: Iterable[Row]) -> None:
        """``set_rows`` for a live list read again: when the same rows come back in the same
        order (no filter), only the cells that changed are redrawn, which keeps a list of a
        thousand rows refreshed every second cheap."""
        rows = list(rows)
        if rows == self._rows:
            return      # nothing changed: nothing redrawn (a poll at rest writes no byte)
        if self._filter or not rows or [r.key for r in rows] != [r.key for r in self._rows]:
            self.set_rows(rows)
            return
        columns = [column.key for column in self.ordered_columns]
        for old, new in zip(self._rows, rows, strict=True):
            for column, before, after in zip(columns, old.cells, new.cells, strict=False):
                if before != after:  # measuring every row again only when it must grow
                    wider = Text(str(after)).cell_len > self.columns[column].content_width
                    self.update_cell(new.key, column, after, update_width=wider)
        self._rows = rows

    @property
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key.value is None else str(key.value)

    @property
    def visible_keys(self) -> list[str]:
        return [row.key for row in self._visible()]

    def _visible(self) -> list[Row]:
        text = self._filter.strip()
        if not text or text == "!":
            return list(self._rows)
        invert = text.startswith("!")
        needle = text[1:].lower() if invert else text.lower()
        return [row for row in self._rows if (needle in row.text()) != invert]

    def _render_rows(self, keep: str | None = None) -> None:
        self.clear()
        visible = self._visible()
        for row in visible:
            self.add_row(*row.cells, key=row.key)
        if keep is not None:
            keys = [row.key for row in visible]
            if keep in keys:
                self.move_cursor(row=keys.index(keep))
        self.border_subtitle = (f"filter: {self._filter}  ({len(visible)}/{len(self._rows)})"
                                if self._filter else "")
        if not visible:
            self.border_subtitle = (self.border_subtitle + "  " if self._filter else "") + \
                self.empty_text

    # -- filter ---------------------------------------------------------------------------
    @property
    def filter_text(self) -> str:
        return self._filter

    @filter_text.setter
    def filter_text(self, value: str) -> None:
        self._filter = value
        self._render_rows(self.current_key)

    def action_filter(self) -> None:
        existing = self.parent.query(FilterInput) if self.parent else []
        for widget in existing:
            if widget.table is self:
                widget.focus()
                return
        if self.parent is not None:
            box = FilterInput(self, self._filter)
            self.parent.mount(box, after=self)
            box.focus()

    def action_invert(self) -> None:
        text = self._filter
        self.filter_text = text[1:] if text.startswith("!") else f"!{text}"
        for widget in self.parent.query(FilterInput) if self.parent else []:
            if widget.table is self:
                widget.value = self._filter

    def action_clear_filter(self) -> None:
        if self._filter:
            self.filter_text = ""
        for widget in self.parent.query(FilterInput) if self.parent else []:
            if widget.table is self:
                widget.remove()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("invert", "clear_filter"):
            return bool(self._filter)
        return True

    # -- moving and opening ---------------------------------------------------------------
    def action_first(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_select_cursor(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Opened(self, key))


def fit_rows(table: HouseTable, rows: Sequence[Row], most: int = 8) -> None:
    """Show ``rows`` in a table that takes only the height they need (header, border, at
    most ``most`` rows; more scroll inside it), plus a line for the horizontal scrollbar when
    the columns are wider than the screen (80 columns). For pages with several tables."""
    table.set_rows(rows)
    height = min(max(len(rows), 1), most) + 3

    def adjust() -> None:
        wide = table.virtual_size.width > table.scrollable_content_region.width
        table.styles.height = height + (1 if wide else 0)
    table.styles.height = height
    table.call_after_refresh(adjust)
