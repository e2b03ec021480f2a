"""Text from users, made safe twice: names are checked where they are stored (NFC, nothing
invisible or direction-changing), and anything shown on a terminal is escaped where it is
printed (a name or path holding ``ESC [2J`` must not clear the administrator's screen).

Refused in names (Unicode general categories): ``Cc`` control, ``Cf`` format (zero-width
space U+200B, joiners, the bidirectional embeddings and overrides U+202A-U+202E and isolates
U+2066-U+2069, the byte-order mark), ``Co`` private use, ``Cs`` surrogates, ``Cn`` unassigned,
``Zl``/``Zp`` line and paragraph separators, every space but U+0020, and the characters that
draw as nothing (Hangul fillers, the braille blank). So ``root`` followed by U+200B is refused,
not a second account that lists as ``root``.
"""

from __future__ import annotations

import unicodedata

_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
# Letters and symbols that render as blank space.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f"}


def unsafe_character(text: str) -> str | None:
    """A description of the first character a name must not hold, or None."""
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Zs" and ch != " ":
            return f"a special space ({_codepoint(ch)})"
        if category in _REFUSED_CATEGORIES or ch in _INVISIBLE:
            kind = {"Cc": "a control character", "Cf": "an invisible or "
                    "bidirectional-control character", "Co": "a private-use character",
                    "Cs": "a surrogate", "Cn": "an unassigned character"}.get(
                        category, "an invisible character")
            return f"{kind} ({_codepoint(ch)})"
    return None


def _codepoint(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def for_terminal(text: str) -> str:
    """``text`` with every control, format and separator character (but newline and tab)
    written as an escape (``\\x1b``, ``\\u202e``), so that printing it changes nothing on the
    terminal but the text."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\t" or ch.isprintable() or (ch == " "):
            out.append(ch)
        elif unicodedata.category(ch) == "Zs":
            out.append(ch)  # a space is harmless on a terminal (it is refused in names)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
