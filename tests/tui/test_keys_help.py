"""Help that teaches: in every section, at 80x24 and 100x30, the footer is not cut and ends
with ``?`` and ``:``; ``?`` lists the screen's own keys first, each with its description, in a
panel that scrolls; ``:`` and ctrl+p both open the palette."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from js7tui.console import Console
from js7tui.tui.app import make_app
from js7tui.tui.sections import SECTIONS
from js7tui.tui.widgets.keys import SCREEN, HelpScreen, KeysFooter, live_keys
from tests.conftest import ROOT_PASSWORD
from tests.tui.conftest import login, settle

SIZES = [(80, 24), (100, 30)]
KEYED = [s for s in SECTIONS if s.key]


def _fits(footer: KeysFooter, width: int) -> tuple[bool, str]:
    from textual.widgets._footer import FooterKey
    keys = list(footer.query(FooterKey))
    used = sum(len(k.key_display) + 2 + len(k.description) + 1 for k in keys)
    right = max((k.region.right for k in keys), default=0)
    return used <= width and right <= width, footer.footer_text()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_section_footer_fits_and_help_lists_the_screen_first(
        console: Console, env: dict[str, str], size: tuple[int, int]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    seen = {}
    async with app.run_test(size=size) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        for section in [*KEYED, next(s for s in SECTIONS if not s.key)]:
            await app.switch_mode(section.mode)
            await settle(pilot)
            footer = app.screen.query_one(KeysFooter)
            ok, text = _fits(footer, size[0])
            seen[section.mode] = text
            print(size, section.mode, repr(text))
            assert ok, f"{section.mode} at {size}: {text!r}"
            assert text.endswith("? Help : Palette"), f"{section.mode}: {text!r}"
            own = [k for k in live_keys(app.screen) if k.group == SCREEN]
            await pilot.press("question_mark")
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            assert help_screen.keys[0].group == SCREEN
            assert help_screen.keys[:len(own)] == own
            shown = help_screen.text()
            assert shown.startswith(SCREEN)
            for key in own:
                assert key.description in shown
            await pilot.press("question_mark")
            assert not isinstance(app.screen, HelpScreen)
    assert seen


async def test_inventory_help_names_n_and_k_first_and_scrolls(console: Console,
                                                              env: dict[str, str]) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        first = [k.display for k in help_screen.keys if k.group == SCREEN]
        assert "n" in first and "k" in first
        body = help_screen.query_one("#help-body")
        assert body.max_scroll_y > 0
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0


@pytest.mark.parametrize("key", ["colon", "ctrl+p"])
async def test_colon_and_ctrl_p_open_the_palette(console: Console, env: dict[str, str],
                                                 key: str) -> None:
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)


async def test_the_login_footer_shows_help_and_palette(console: Console,
                                                       env: dict[str, str]) -> None:
    app = make_app(console, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = app.screen.query_one(KeysFooter).footer_text()
        assert text.endswith("f1 Help ^p Palette")          # in a text field ? and : type


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_pushed_screens_footers_fit(console: Console, env: dict[str, str],
                                          size: tuple[int, int]) -> None:
    """The permission tree and the 'why' view: their own keys, then ? and :, never cut."""
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    app = make_app(console, env=env)
    async with app.run_test(size=size) as pilot:
        await login(pilot, "root", ROOT_PASSWORD)
        await pilot.press("8")
        await settle(pilot)
        for opener in ("enter", "w"):
            await pilot.press(opener)
            await settle(pilot)
            footer = app.screen.query_one(KeysFooter)
            ok, text = _fits(footer, size[0])
            print(size, type(app.screen).__name__, repr(text))
            # in a text field ? and : are typed: f1 and ctrl+p instead
            assert ok and text.endswith(("? Help : Palette", "f1 Help ^p Palette")), text
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            assert app.screen.keys[0].group == SCREEN
            await pilot.press("escape", "escape")
            await settle(pilot)
