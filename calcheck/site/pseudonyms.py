"""Pseudonyms for the people of an estate: every way the site could name a person, replaced in any text.

A person is named by their id, their name, their e-mail address and its local part; any of these, in any case,
standing on its own in a text (not as part of a longer id or word) becomes the person's pseudonym, a stable
``person-`` and eight hex digits of the id's SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from calcheck.estate.model import Person

# A form stands on its own when no id character touches it: not a letter, digit, '_', '@' or '-' on either side,
# nor a '.' that continues into another letter or digit (so 'ann.lee.' at the end of a sentence still counts).
_BEFORE = r"(?<![\w@.-])"
_AFTER = r"(?![\w@-]|\.\w)"


def pseudonym(person_id: str) -> str:
    return f"person-{hashlib.sha256(person_id.encode()).hexdigest()[:8]}"


class Pseudonyms:
    """Replaces every form of every person's name in a text."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.by_id: dict[str, str] = {}
        self._forms: dict[str, str] = {}
        for person in people:
            alias = pseudonym(person.id)
            self.by_id[person.id] = alias
            local = person.email.split("@", 1)[0] if person.email else None
            for form in (person.id, person.name, person.email, local):
                if form and form.strip():
                    self._forms.setdefault(form.strip().lower(), alias)
        alternatives = "|".join(re.escape(form) for form in sorted(self._forms, key=len, reverse=True))
        self._pattern = re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}", re.IGNORECASE) if alternatives else None

    def replace(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._forms.get(m.group(0).lower(), "person"), text)
