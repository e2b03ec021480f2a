"""``js7tui help``: the manual, generated from the parser (usage, description and options of
every command), so it is always that of the installed version and readable offline."""

from __future__ import annotations

import argparse

from js7tui.errors import ValidationError


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def _section(parser: argparse.ArgumentParser, words: list[str]) -> list[str]:
    """This command's full help, then each of its subcommands', depth first."""
    title = " ".join(["js7tui", *words])
    out = [title, "=" * len(title), "", parser.format_help().rstrip(), ""]
    for name, sub in _subcommands(parser).items():
        out += _section(sub, [*words, name])
    return out


def topics(root: argparse.ArgumentParser) -> dict[str, str]:
    return _summaries(root)


def manual(words: list[str], *, everything: bool = False,
           root: argparse.ArgumentParser | None = None) -> str:
    if root is None:
        from js7tui.cli.parser import build_parser
        root = build_parser()
    if everything:
        return "\n".join(_section(root, []))
    if not words:
        width = max(len(name) for name in topics(root))
        lines = ["js7tui help TOPIC [ACTION]: the manual of a command group (js7tui help --all:",
                 "everything; js7tui COMMAND --help: one command). Topics:", ""]
        lines += [f"  {name.ljust(width)}  {text}" for name, text in topics(root).items()]
        lines += ["", root.format_help().rstrip()]
        return "\n".join(lines)
    parser = root
    for index, word in enumerate(words):
        subs = _subcommands(parser)
        if word not in subs:
            where = " ".join(["js7tui", *words[:index]])
            raise ValidationError(f"no help topic '{' '.join(words[:index + 1])}'; "
                                  f"{where} has: {', '.join(subs) or 'no subcommands'}")
        parser = subs[word]
    return "\n".join(_section(parser, list(words)))
