"""Pseudonyms for the people of an estate: every way the site could name a person, replaced in any text.

A person is named by their id, their name, their e-mail address and its local part (of four characters or more);
any of these, in any case and spacing, standing on its own in a text (not as part of a longer id or word) becomes
the person's pseudonym, a stable ``person-`` and eight hex digits of the id's SHA-256. The text is read once, token
by token, looking each run of up to a few tokens up in a table: fast for tens of thousands of people.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from calcheck.estate.model import Person

# Texts are cut into tokens: runs of letters, digits, '_', '@' and '-', joined by single dots ('ann.lee' is one
# token, the dot ending 'ann.lee.' is not part of it). A form stands on its own when it spans whole tokens.
_TOKEN = re.compile(r"[\w@-]+(?:\.[\w@-]+)*")


def _key(text: str) -> str:
    """A form as looked up: lower case, each run of white space one space."""
    return " ".join(text.split()).lower()


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
            local = local if local and len(local) >= 4 else None  # 'a' or 'ops' would hide ordinary words
            for form in (person.id, person.name, person.email, local):
                if form and form.strip():
                    self._forms.setdefault(_key(form), alias)
        self._width = max((len(_TOKEN.findall(form)) for form in self._forms), default=0)

    def replace(self, text: str) -> str:
        """``text`` with every form that spans whole tokens replaced (the longest first, left to right)."""
        if not self._forms:
            return text
        tokens = list(_TOKEN.finditer(text))
        out: list[str] = []
        done = 0  # text before this offset is in ``out``
        index = 0
        while index < len(tokens):
            start = tokens[index].start()
            for last in range(min(len(tokens), index + self._width) - 1, index - 1, -1):
                alias = self._forms.get(_key(text[start : tokens[last].end()]))
                if alias is not None:
                    out += [text[done:start], alias]
                    done, index = tokens[last].end(), last + 1
                    break
            else:
                index += 1
        return "".join([*out, text[done:]])
