"""js7tui.text: what names may hold, and how user text reaches a terminal."""

from __future__ import annotations

import pytest

from js7tui.errors import ValidationError
from js7tui.identity.records import check_name
from js7tui.permissions.folders import normalize_folder
from js7tui.text import for_terminal, unsafe_character


@pytest.mark.parametrize("text", ["root\u200b", "a\u202eb", "\u2066x", "x\ufeff", "a\x1bb",
                                  "a\u2028b", "a\u00a0b", "\u3164", "a\ue000b", "a\U000e0001"])
def test_unsafe_characters_are_named(text: str) -> None:
    found = unsafe_character(text)
    assert found is not None and "U+" in found


@pytest.mark.parametrize("text", ["root", "Zoë", "Jürgen Müller", "管理者", "o'brien", "a-b_c.d"])
def test_ordinary_names_pass(text: str) -> None:
    assert unsafe_character(text) is None
    assert check_name("account", text) == text


def test_names_are_stored_composed() -> None:
    assert check_name("role", "Zoe\u0308") == "Zo\u00eb"
    assert normalize_folder("/Zoe\u0308/x") == "/Zo\u00eb/x"
    with pytest.raises(ValidationError, match="U\\+202E"):
        normalize_folder("/a\u202eb")


def test_for_terminal_escapes_controls_and_keeps_text() -> None:
    assert for_terminal("plain é 管理") == "plain é 管理"
    assert for_terminal("clear\x1b[2Jscreen") == "clear\\x1b[2Jscreen"
    assert for_terminal("rtl\u202eoverride") == "rtl\\u202eoverride"
    assert for_terminal("two\nlines\tok") == "two\nlines\tok"
    assert "\x07" not in for_terminal("title\x1b]0;x\x07")
