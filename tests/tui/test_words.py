"""The console's words: plurals, one verdict vocabulary, the key screen names its key."""

from __future__ import annotations

from js7tui import words
from js7tui.tui.screens.signing_profile import _console_words


def test_plurals_and_verdicts() -> None:
    assert words.plural(1, "order") == "1 order"
    assert words.plural(1504, "order") == "1,504 orders"
    assert words.plural(0, "entry", "entries") == "0 entries"
    assert (words.verdict(True), words.verdict(False)) == ("ALLOWED", "NOT ALLOWED")


def test_the_key_screen_names_g_not_the_cli() -> None:
    said = _console_words("this installation has no signing key yet (security level LOW: one "
                          "key, held by the default profile account); create it with 'js7tui "
                          "signing-key generate'")
    assert "js7tui" not in said and "g (then y to confirm)" in said
