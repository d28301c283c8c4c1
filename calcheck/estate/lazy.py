"""A dict that fills itself on first read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class LazyDict(dict[str, Any]):
    """A mapping worked out on first use (a record's key positions: most records never need them).

    Every read goes through a method here that fills the mapping first, so it behaves as the plain dict the
    libyaml loader gives (a test compares the two).
    """

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        super().__init__()
        self._make: Callable[[], dict[str, Any]] | None = make

    def _fill(self) -> LazyDict:
        make = self._make
        if make is not None:
            self._make = None
            dict.update(self, make())
        return self

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self._fill(), key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self._fill(), key, value)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self._fill(), key)

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self._fill())

    def __len__(self) -> int:
        return dict.__len__(self._fill())

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self._fill(), other._fill() if isinstance(other, LazyDict) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        return dict.__repr__(self._fill())

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self._fill(), key, default)

    def keys(self) -> Any:
        return dict.keys(self._fill())

    def values(self) -> Any:
        return dict.values(self._fill())

    def items(self) -> Any:
        return dict.items(self._fill())

    def __or__(self, other: Any) -> Any:
        return dict(dict.items(self._fill())) | other

    def __reduce__(self) -> Any:
        return (dict, (dict(dict.items(self._fill())),))

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self._fill()))
