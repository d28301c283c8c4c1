"""How licensing facts are written for people: display names, articles, plurals, lists, and what to do next."""

from __future__ import annotations

from collections.abc import Sequence

from calcheck.estate.model import Holding
from calcheck.licensing.access import Catalogue

_PLURALS = (("CAL", "CALs"), ("Suite", "Suites"), ("Connector", "Connectors"), ("License", "Licenses"))


def article(phrase: str) -> str:
    """'a' or 'an' before ``phrase`` (by its first letter, which suits the catalogue's names)."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 holding', '2 holdings'."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def cal_label(cat: Catalogue, cal_id: str, version: str | None, cal_type: str, count: int = 1) -> str:
    """The catalogue's display name of a CAL pool, e.g. 'Windows Server CAL 2025 (User)'; plural for many."""
    name = cat.name(cal_id)
    if count != 1:
        for one, many in _PLURALS:
            if name.endswith(one):
                name = name[: -len(one)] + many
                break
        else:
            name += "s"
    shown_version = f" {version}" if version else ""
    return f"{name}{shown_version} ({cal_type.capitalize()})"


def listing(items: Sequence[str], limit: int = 5) -> str:
    """'a', 'a and b', 'a, b and c', or the first ``limit`` and how many more."""
    items = list(items)
    if len(items) > limit:
        return f"{', '.join(items[:limit])} and {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def supply(
    cat: Catalogue, what: tuple[str, str | None, str], wanted: int, spare: list[tuple[Holding, int]], who: str
) -> str:
    """What an asset manager does about ``wanted`` missing CALs of ``what`` (cal, version, type), given the
    holdings with CALs unassigned: assign from the ones that have some (never a full one), and buy the rest."""
    cal, version, cal_type = what
    available = sum(n for _, n in spare)
    sources = ", ".join(f"{h.id} has {n} unassigned" for h, n in spare[:3])
    if available >= wanted:
        one = cal_label(cat, cal, version, cal_type)
        return f"assign {article(one)} to {who} ({sources})"
    missing = wanted - available
    label = cal_label(cat, cal, version, cal_type, missing)
    if available == 0:
        many = f" ({wanted} people and devices lack one)" if wanted > 1 else ""
        return f"buy {missing} {label}: no holding has one unassigned{many}"
    names = listing([h.id for h, _ in spare])
    return f"assign the {available} unassigned from {names}, then buy {missing} more {label} ({wanted} lack one)"
