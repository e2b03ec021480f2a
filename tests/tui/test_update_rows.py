"""HouseTable.update_rows: a live list read again redraws only what changed, and a cell that
grows still shows whole."""

from __future__ import annotations

from textual.app import App, ComposeResult

from js7tui.tui.widgets.lists import HouseTable, Row


class One(App):
    def compose(self) -> ComposeResult:
        yield HouseTable(("Order", "State"))


def rows(*states: str) -> list[Row]:
    return [Row(f"o-{i}", (f"o-{i}", state)) for i, state in enumerate(states)]


async def test_update_rows_patches_cells_and_falls_back_to_set_rows() -> None:
    app = One()
    async with app.run_test() as pilot:
        table = app.query_one(HouseTable)
        table.set_rows(rows("running", "running"))
        table.move_cursor(row=1)
        await pilot.pause()
        table.update_rows(rows("running", "cancelling"))
        await pilot.pause()
        assert table.get_row("o-1") == ["o-1", "cancelling"]
        assert table.columns[table.ordered_columns[1].key].content_width >= len("cancelling")
        assert table.current_key == "o-1"
        table.update_rows(rows("new", "running", "cancelled"))  # another order: all again
        await pilot.pause()
        assert table.visible_keys == ["o-0", "o-1", "o-2"]
        table.filter_text = "cancel"
        table.update_rows(rows("new", "cancelled", "cancelled"))
        await pilot.pause()
        assert table.visible_keys == ["o-1", "o-2"]
