"""QR codes drawn with text, for a terminal that has no images (the device-flow login).

Why here and domain-free: the CLI prints the code and the TUI shows it in a panel; both take the
same text from :func:`qr_text`, so the code a phone scans is the same wherever it is drawn. The
QR encoding itself is ``segno`` (pure Python, maintained); only the drawing is ours.

Two pixels of the symbol share one character cell ("half blocks"), so a version-3 code for a
typical verification URL takes 33 columns by 17 lines with its quiet zone. ``dark_background``
(the usual terminal) draws the *light* modules as blocks, so that the code appears dark on light
as scanners expect; ``ascii_only=True`` uses ``##`` pairs for terminals without Unicode blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

_HALF_BLOCKS = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584",
                (True, True): "\u2588"}


def qr_matrix(data: str, *, border: int = 2) -> list[list[bool]]:
    """The symbol's modules (True = dark) with ``border`` light modules around it."""
    if not data:
        raise ValueError("nothing to encode in a QR code")
    import segno  # imported on first use: drawing a code is rare, starting is not

    symbol = segno.make(data, error="l", micro=False)
    return [[bool(bit) for bit in row] for row in symbol.matrix_iter(scale=1, border=border)]


def render_matrix(matrix: Sequence[Sequence[bool]], *, dark_background: bool = True,
                  ascii_only: bool = False) -> str:
    """Text lines for ``matrix``: half blocks (two rows per line) or ``##`` pairs."""
    def ink(dark: bool) -> bool:
        return dark != dark_background   # which modules are drawn as blocks

    if ascii_only:
        return "\n".join("".join("##" if ink(m) else "  " for m in row).rstrip()
                         for row in matrix)
    lines = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [not dark_background] * len(upper)
        lines.append("".join(_HALF_BLOCKS[ink(a), ink(b)] for a, b in zip(upper, lower,
                                                                           strict=True)))
    return "\n".join(lines)


def qr_text(data: str, *, border: int = 2, dark_background: bool = True,
            ascii_only: bool = False) -> str:
    """A QR code of ``data`` as text lines ready to print or show in a widget."""
    return render_matrix(qr_matrix(data, border=border), dark_background=dark_background,
                         ascii_only=ascii_only)
