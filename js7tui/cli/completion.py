"""Shell completion for bash and zsh with argcomplete: ``js7tui completion bash|zsh`` prints
the script (argcomplete's), which on TAB runs ``js7tui`` with ``_ARGCOMPLETE`` set; ``run``
then completes from the real parser (subcommands, options, choices) and, for arguments that
name something, from the home's store: accounts, roles, identity services, Controllers and
inventory paths.

Why argcomplete (not shtab): names come from the store, so completion has to run Python
anyway; argcomplete completes from the same parser that parses, so a new option completes
without a regenerated script, and zsh gets the same completions natively.

The names are read straight from the store file, read-only, without a session
(``js7tui.store_names``, which says why that is fine).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from typing import Any

from js7tui.store_names import store_names

SHELLS = ("bash", "zsh")


def _completer(*kinds: str) -> Callable[..., Iterable[str]]:
    def complete(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
        home = getattr(parsed_args, "home", None)
        service = getattr(parsed_args, "identity_service", None)
        names: list[str] = []
        for kind in kinds:
            names += store_names(kind, home, service if kind in ("accounts", "roles") else None)
        return [name for name in names if name.startswith(prefix)]
    return complete


def _kinds(path: tuple[str, ...], dest: str) -> tuple[str, ...]:
    """What an argument names, from where it is (``("account", "show")``) and its dest."""
    group, action = (*path, "", "")[:2]
    if dest == "account":
        return ("accounts",)
    if dest in ("role", "set", "add", "remove") and group in ("account", "role"):
        return ("roles",)
    if dest in ("identity_service", "two_factor"):
        return ("services",)
    if dest == "controller":
        return ("controllers",)
    if dest in ("name", "names", "source"):
        if action == "create" or (action == "copy" and dest == "name"):
            return ()
        return {"account": ("accounts",), "role": ("roles",),
                "identity-service": ("services",)}.get(group, ())
    if group == "controller" and dest == "id" and action != "register":
        return ("controllers",)
    if dest == "path":
        return ("objects",)
    if dest == "paths":
        return ("objects",) if group == "inventory" else ("objects", "folders")
    if dest in ("folder",):
        return ("folders",)
    return ()


def attach_completers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give every argument that names something in the store its completer."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                attach_completers(sub, (*path, name))
            continue
        kinds = _kinds(path, action.dest)
        if kinds:
            action.completer = _completer(*kinds)  # type: ignore[attr-defined]


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Under the completion script (``_ARGCOMPLETE`` set): print the completions and exit."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    attach_completers(parser)
    argcomplete.autocomplete(parser)


def script(shell: str) -> str:
    import argcomplete

    return argcomplete.shellcode(["js7tui"], shell=shell)
