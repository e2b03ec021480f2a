"""The text QR code: the drawn characters stand for exactly segno's modules (read back here),
with the quiet zone, on dark and light backgrounds and in plain ASCII."""

from __future__ import annotations

import pytest
import segno

from js7tui.qr import qr_matrix, qr_text, render_matrix

URL = "https://idp.example.test/realms/scheduler/device?user_code=WDJB-MJHT"
UPPER, LOWER, FULL = "\u2580", "\u2584", "\u2588"


def read_back(text: str, dark_background: bool) -> list[list[bool]]:
    """The module matrix the half-block text shows."""
    rows: list[list[bool]] = []
    for line in text.splitlines():
        top = [ch in (UPPER, FULL) for ch in line]
        bottom = [ch in (LOWER, FULL) for ch in line]
        rows += [top, bottom]
    return [[inked != dark_background for inked in row] for row in rows]


def test_matrix_is_segnos_with_a_quiet_zone():
    symbol = segno.make(URL, error="l", micro=False)
    matrix = qr_matrix(URL, border=2)
    size = symbol.symbol_size(border=0)[0]
    assert len(matrix) == size + 4 and all(len(row) == size + 4 for row in matrix)
    assert not any(matrix[0]) and not any(matrix[1])                 # light quiet zone
    assert [row[2:-2] for row in matrix[2:-2]] == [[bool(b) for b in row]
                                                   for row in symbol.matrix]
    assert matrix[2][2:9] == [True] * 7                               # a finder pattern


@pytest.mark.parametrize("dark_background", [True, False])
def test_half_blocks_show_every_module(dark_background):
    matrix = qr_matrix(URL)
    text = qr_text(URL, dark_background=dark_background)
    lines = text.splitlines()
    assert len(lines) == (len(matrix) + 1) // 2
    assert {len(line) for line in lines} == {len(matrix)}
    shown = read_back(text, dark_background)
    assert shown[:len(matrix)] == matrix


def test_ascii_pairs():
    matrix = qr_matrix("ABC", border=1)
    text = render_matrix(matrix, dark_background=False, ascii_only=True)
    first = text.splitlines()[1]
    assert first.startswith("  ##############")             # border, then the 7-module finder
    assert set(text) <= {"#", " ", "\n"}


def test_nothing_to_encode():
    with pytest.raises(ValueError, match="nothing to encode"):
        qr_text("")
