"""The keys a screen offers, in the order an administrator needs them: the screen's own actions,
then the focused widget's, then the global ones.

``KeysFooter`` shows as many of them as fit the width, always ending with ``? Help`` and
``: Palette``; the rest are folded into ``?``. ``HelpScreen`` (``?``) lists every live key with
its description in a scrollable panel, in the same order. Both read the screen's live bindings,
so a key hidden by ``check_action`` (permissions, read-only) is hidden in both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.binding import ActiveBinding
    from textual.screen import Screen

# Always shown, at the footer's right end: the way to every other key.
PINNED = ("app.toggle_help", "app.command_palette")
SCREEN, WIDGET, GLOBAL = "This screen", "The focused widget", "Everywhere"


def _textual_screen_actions() -> frozenset[str]:
    from textual.binding import BindingsMap
    from textual.screen import Screen
    return frozenset(b.action for _k, b in BindingsMap(Screen.BINDINGS))


TEXTUAL_SCREEN_ACTIONS = _textual_screen_actions()


@dataclass(frozen=True)
class LiveKey:
    key: str            # the key as bound ("question_mark")
    display: str        # all its keys as shown ("?/f1"), for the help
    description: str
    tooltip: str
    action: str         # namespaced for the pinned check ("app.toggle_help")
    group: str          # SCREEN, WIDGET or GLOBAL
    enabled: bool
    shown: bool         # Binding.show: meant for the footer
    first: str = ""     # the first key as shown ("?"), for the footer


def live_keys(screen: Screen) -> list[LiveKey]:
    """The screen's live keys, its own first, then the focused widget's, then the app's; one
    entry per action (its keys joined), sections' digits left to the app's group."""
    app = screen.app
    by_action: dict[tuple[str, str], list[tuple[str, ActiveBinding]]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system:
            continue
        node = active.node
        group = SCREEN if node is screen else GLOBAL if node is app else WIDGET
        if group == SCREEN and binding.action in TEXTUAL_SCREEN_ACTIONS:
            group = GLOBAL      # Textual's own (tab, copy): not what this screen offers
        by_action.setdefault((group, binding.action), []).append((key, active))
    out: list[LiveKey] = []
    for (group, action), entries in by_action.items():
        key, active = entries[0]
        binding = active.binding
        display = "/".join(dict.fromkeys(app.get_key_display(b.binding) for _, b in entries))
        prefix = "app." if group == GLOBAL else ""
        out.append(LiveKey(key, display, binding.description or binding.action,
                           active.tooltip or binding.tooltip or "", prefix + action, group,
                           active.enabled, binding.show,
                           app.get_key_display(entries[0][1].binding)))
    order = {SCREEN: 0, WIDGET: 1, GLOBAL: 2}
    # stable: the bindings' own order, but reload (every section has it) after the rest
    return sorted(out, key=lambda k: (order[k.group], k.action == "reload"))


def footer_width(item: LiveKey) -> int:
    """Cells a FooterKey takes (not compact): " k " + "description " + 0 margin."""
    return len(item.first or item.display) + 2 + len(item.description) + 1


def fitting(items: Iterable[LiveKey], width: int) -> list[LiveKey]:
    """The footer's keys for ``width`` columns: the shown keys in order while they fit, then
    the pinned ones (help and palette), which always fit first."""
    items = list(items)
    pinned = [k for k in items if k.action in PINNED]
    budget = width - sum(footer_width(k) for k in pinned)
    chosen = []
    for item in items:
        if not item.shown or item.action in PINNED:
            continue
        cost = footer_width(item)
        if cost <= budget:
            chosen.append(item)
            budget -= cost
        else:
            break       # folded into ?: the rest are less important than this one
    return chosen + pinned


class KeysFooter(Footer):
    """A footer that fits its width: the least important keys are left to ``?``."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(show_command_palette=False, **kwargs)  # type: ignore[arg-type]
        self._fitted_width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.size.width or self.app.size.width
        self._fitted_width = width
        for item in fitting(live_keys(self.screen), width):
            yield FooterKey(item.key, item.first or item.display, item.description, item.action,
                            disabled=not item.enabled, tooltip=item.tooltip
                            ).data_bind(compact=Footer.compact)

    def on_resize(self) -> None:
        if self._bindings_ready and self.size.width != self._fitted_width:
            self.call_after_refresh(self.recompose)

    def footer_text(self) -> str:
        """What the footer says, as plain text (tests)."""
        return " ".join(f"{k.key_display} {k.description}".strip()
                        for k in self.query(FooterKey))


def _line(item: LiveKey) -> Table:
    """Key on the left, what it does on the right (the tooltip wraps under the words)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", width=10, no_wrap=True)
    grid.add_column(ratio=1)
    words = Text(item.description + ("" if item.enabled else "  (not now)"))
    if item.tooltip and item.tooltip != item.description:
        words.append("\n" + item.tooltip, style="dim")
    grid.add_row(Text(item.display, style="bold"), words)
    return grid


def _markdown_bold(text: str) -> str:
    """The screens' HELP texts mark keys as **k**; the panel draws rich markup."""
    import re
    return re.sub(r"\*\*(.+?)\*\*", r"[b]\1[/b]", text)


class HelpScreen(ModalScreen[None]):
    """``?``: every live key of the screen below, with what it does, scrollable."""

    DEFAULT_CSS = """
    HelpScreen { align: right top; }
    HelpScreen > Vertical { width: 64; max-width: 100%; height: 100%;
                            background: $panel; border-left: vkey $primary; padding: 0 1; }
    HelpScreen VerticalScroll { height: 1fr; }
    HelpScreen .help-group { text-style: bold; margin-top: 1; }
    HelpScreen .help-keys { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
        Binding("j,down", "scroll('down')", "Down", show=False),
        Binding("k,up", "scroll('up')", "Up", show=False),
        Binding("g,home", "scroll('home')", "Top", show=False),
        Binding("G,end", "scroll('end')", "Bottom", show=False),
        Binding("space,pagedown", "scroll('page_down')", "Page down", show=False),
        Binding("b,pageup", "scroll('page_up')", "Page up", show=False),
    ]

    def __init__(self, keys: list[LiveKey], title: str, note: str = "") -> None:
        super().__init__(id="help")
        self.keys = keys
        self.title_text = title
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Keys: {escape(self.title_text)}", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                if self.note:
                    yield Static(_markdown_bold(self.note), classes="help-note")
                group = ""
                for item in self.keys:
                    if item.group != group:
                        group = item.group
                        yield Static(group, classes="help-group")
                    line = Static(_line(item), classes="help-line")
                    line._live_key = f"{item.display}  {item.description}  {item.tooltip}"
                    yield line
            yield Static("[b]j/k[/b] scroll  [b]space/b[/b] page  "
                         "[b]esc[/b] or [b]?[/b] close", classes="help-keys")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home,
         "end": body.scroll_end, "page_down": body.scroll_page_down,
         "page_up": body.scroll_page_up}[where](animate=False)

    def text(self) -> str:
        """The panel as plain text (tests)."""
        out = []
        for item_or_group in self.query(".help-group, .help-line"):
            rendered = item_or_group.render()
            out.append(str(rendered) if not hasattr(item_or_group, "_live_key")
                       else item_or_group._live_key)  # type: ignore[attr-defined]
        return "\n".join(out)
