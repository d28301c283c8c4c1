"""The README's command-line synopsis, generated from the argument parser so that the two cannot drift."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Iterator

WIDTH = 118


def synopsis(parser: argparse.ArgumentParser) -> str:
    """One entry per command (and per action of a command with actions), wrapped under its name."""
    lines: list[str] = []
    for name, sub in _commands(parser, "calcheck"):
        wrapped = textwrap.wrap(
            " ".join(token.replace(" ", "\0") for token in _tokens(sub)),  # a line breaks between tokens only
            WIDTH,
            initial_indent=f"{name} ",
            subsequent_indent=" " * (len(name) + 1),
            break_on_hyphens=False,
            break_long_words=False,
        )
        lines += [line.replace("\0", " ") for line in wrapped]
    return "\n".join([*lines, "calcheck --version"]) + "\n"


def _commands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                yield from _commands(sub, f"{prefix} {name}") if nested else [(f"{prefix} {name}", sub)]


def _tokens(parser: argparse.ArgumentParser) -> list[str]:
    grouped = {id(a): group for group in parser._mutually_exclusive_groups for a in group._group_actions}
    tokens: list[str] = []
    done: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or id(action) in done:
            continue
        group = grouped.get(id(action))
        if group is None:
            tokens.append(_token(action))
            continue
        members = group._group_actions
        done.update(id(a) for a in members)
        inner = " | ".join(_token(a, bare=True) for a in members)
        tokens.append(f"({inner})" if group.required else f"[{inner}]")
    return tokens


def _token(action: argparse.Action, bare: bool = False) -> str:
    if not action.option_strings:
        text = _value(action)
        if action.nargs in ("+", "*"):
            text += "..."
        return f"[{text}]" if action.nargs in ("?", "*") else text
    option = max(action.option_strings, key=len)
    text = option if action.nargs == 0 else f"{option} {_value(action)}"
    return text if bare or action.required else f"[{text}]"


def _value(action: argparse.Action) -> str:
    if action.choices is not None and action.metavar is None:
        return "|".join(str(choice) for choice in action.choices)
    if isinstance(action.metavar, str):
        return action.metavar
    return action.dest.upper()
