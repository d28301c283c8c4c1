"""Adversarial inputs for the performance work of issue 16: each fast path gives the plain path's answer."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import site_history

Run = Callable[..., tuple[int, str, str]]
EXPORT = "SamAccountName,Name,Department,Enabled\nalice,Alice,Sales,True\n"


@pytest.mark.parametrize("name", ["Alice", "&n Alice"])  # edited as text, and by the round trip (an anchor)
@pytest.mark.parametrize("odd", ["[x]", "{x: 1}"])
def test_an_import_into_a_file_with_a_record_whose_id_is_not_text_does_not_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Run, name: str, odd: str
) -> None:
    """A record whose id is a list or mapping is the check's to report; the import edits the file's other records."""
    text = (
        "kind: people\npeople:\n"
        f"  - {{id: alice, name: {name}, kind: employee, status: active}}\n"
        f"  - {{id: {odd}, name: Odd, kind: employee, status: active}}\n"
    )
    estate = write_estate({**base_files(), "people/people.yaml": text}, tmp_path / "licenses")
    export = tmp_path / "ad.csv"
    export.write_text(EXPORT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("import", "people", str(export), "--on", "2026-11-30", "--partial", "--force")
    assert (code, err) == (0, ""), out
    assert (estate / "people" / "people.yaml").read_text(encoding="utf-8") == text.replace(
        "status: active}\n", "status: active, department: Sales}\n", 1
    )


def test_two_estates_in_one_repository_each_have_their_own_trend(tmp_path: Path) -> None:
    """The site's trend cache is kept per repository: a point is the position of one estate at one commit."""
    from calcheck.site import build
    from tests.test_history_cache import commit, git

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    small = write_estate(base_files(), root / "a" / "licenses")
    large = write_estate(base_files(), root / "b" / "licenses")
    holdings = large / "holdings" / "holdings.yaml"
    holdings.write_text(holdings.read_text().replace("quantity: 3", "quantity: 7"))
    commit(root, "Two estates", "2026-01-05T09:00:00+00:00")

    def points(estate: Path) -> list[object]:
        return [p.to_json() for p in build.trend(estate, site_history(estate))]

    expected = points(large)
    shutil.rmtree(root / ".git" / "calcheck")
    assert points(small) != expected  # the estates differ
    assert points(large) == expected  # not the other estate's points at the same commit


def test_trend_points_of_other_code_are_not_reused(tmp_path: Path) -> None:
    """A point is keyed by calcheck's code as well as its version: an editable install's change of rules must not
    keep showing the points the old code computed (here, an entry under the key without the code's digest)."""
    import json

    from calcheck import __version__
    from calcheck.site import build
    from tests.test_history_cache import commit, git

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate(base_files(), root / "licenses")
    commit(root, "Estate", "2026-01-05T09:00:00+00:00")
    entries = site_history(estate)
    expected = [p.to_json() for p in build.trend(estate, entries)]
    store = root / ".git" / "calcheck" / "trend.json"
    known = json.loads(store.read_text())
    from calcheck.estate.results import code_digest

    assert all(key.split(":")[1] == code_digest().hex()[:16] for key in known)
    forged = {key: {**value, "totals": [999, 999, 999, 999]} for key, value in known.items()}
    store.write_text(json.dumps(forged))
    assert [p.to_json()["totals"] for p in build.trend(estate, entries)] == [[999] * 4]  # the key is what counts
    store.write_text(json.dumps({f"{__version__}:{key.split(':', 2)[2]}": value for key, value in forged.items()}))
    assert [p.to_json() for p in build.trend(estate, entries)] == expected


def test_an_edit_that_removes_an_uncommitted_reused_id_no_longer_sees_the_reuse(tmp_path: Path) -> None:
    """The edit's history is put back to HEAD before the edit's files are applied: the work tree's changes are not
    counted twice, nor kept when the edit undoes them (here: an id reused in the work tree, removed by the edit)."""
    import datetime as dt

    from calcheck.git.timeline import EditHistory
    from tests.test_history_cache import commit, git

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    estate = write_estate(base_files(), root / "licenses")
    register = estate / "assignments" / "assignments.yaml"
    commit(root, "Estate", "2026-01-05T09:00:00+00:00")
    text = register.read_text()
    register.write_text(text.replace("  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01}\n", ""))
    commit(root, "A-2 ends", "2026-02-05T09:00:00+00:00")
    register.write_text(text.replace("person: bob", "person: carol"))  # A-2 given again, to someone else
    edit = EditHistory(estate, dt.date(2026, 6, 1), {})
    assert [r.assignment for r in edit.now.reused] == ["A-2"]
    without = text.replace("  - {id: A-2, holding: WS22-U, person: bob, since: 2024-03-01}\n", "").encode()
    assert edit.after({"assignments/assignments.yaml": without}).reused == []
    assert [r.assignment for r in edit.after({"assignments/assignments.yaml": register.read_bytes()}).reused] == ["A-2"]
