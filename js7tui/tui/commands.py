"""The command palette (``:`` or ctrl+p): every section the session may open and every action
the current screen offers right now (the same live bindings the footer and ``?`` show, so a
hidden action is hidden here too)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from js7tui.tui.sections import SECTIONS


class _ListedCommands(Provider):
    """A provider over a short list of (text, help, callable), fuzzy-matched."""

    def _commands(self) -> list[tuple[str, str, object]]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for text, help_text, command in self._commands():
            yield DiscoveryHit(text, command, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._commands():
            score = matcher.match(f"{text} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(text), command,  # type: ignore[arg-type]
                          text=text, help=help_text)


class SectionCommands(_ListedCommands):
    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        ctx = app.ctx  # type: ignore[attr-defined]
        if ctx.session is None or ctx.session.must_change_password:
            return []
        return [(f"{s.key} {s.title}".strip(), s.description, partial(app.action_section, s.mode))
                for s in SECTIONS if ctx.can(s.permission)]


class ActionCommands(_ListedCommands):
    """The screen's live bindings that have a description (mutating keys hidden by
    ``check_action`` are not listed)."""

    def _commands(self) -> list[tuple[str, str, object]]:
        seen: set[str] = set()
        out = []
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description or binding.system:
                continue
            if binding.action in seen or binding.action.startswith("section("):
                continue
            seen.add(binding.action)
            label = f"{binding.description}  ({binding.key_display or key})"
            out.append((label, binding.tooltip or "",
                        partial(active.node.run_action, binding.action)))
        return out
