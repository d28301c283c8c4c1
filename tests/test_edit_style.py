"""A record an edit adds takes the style of its neighbours: block or flow, their key order and their quoting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.edits.recordstyle import order_like
from calcheck.licensing.rules.example import base_files, write_estate
from tests.test_git import PEOPLE, commit, git

Run = Callable[..., tuple[int, str, str]]
DAY = "2026-11-30"
BLOCK = """\
# yaml-language-server: $schema=../../schemas/assignments.schema.json
kind: assignments
assignments:
  # the front desk
  - holding: WS22-U
    id: 'A-1'
    person: alice
    since: "2024-03-01"
  - holding: WS22-U
    id: 'A-2'
    person: bob
    since: "2024-03-01"
"""
FLOW = """\
kind: assignments
assignments:
  - {holding: 'WS22-U', id: A-3, device: PC-1, since: '2024-03-01'}
"""


@pytest.fixture
def styled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    files = {**base_files(), "people/people.yaml": PEOPLE, "assignments/assignments.yaml": BLOCK}
    files["assignments/devices.yaml"] = FLOW
    files["holdings/holdings.yaml"] = files["holdings/holdings.yaml"].replace("quantity: 3", "quantity: 6")
    estate = write_estate(files, root / "licenses")
    commit(root, "Initial estate", "2024-03-01T09:00:00+00:00")
    monkeypatch.chdir(root)
    return estate


def test_assign_appends_a_block_record_to_a_block_file(styled: Path, run_cli: Run) -> None:
    code, _, err = run_cli("assign", "WS22-U", "--person", "carol", "--since", DAY, "--reason", "new-assignment",
                             "--file", "licenses/assignments/assignments.yaml", "--as-of", DAY)  # fmt: skip
    assert (code, err) == (0, "")
    assert (styled / "assignments" / "assignments.yaml").read_text() == BLOCK + (
        "  - holding: WS22-U\n    id: 'A-4'\n    person: carol\n    since: \"2026-11-30\"\n    reason: new-assignment\n"
    )


def test_assign_appends_a_line_like_the_lines_of_a_register(styled: Path, run_cli: Run) -> None:
    code, _, err = run_cli("assign", "WS22-U", "--device", "SRV-1", "--since", DAY, "--until", "2026-12-30",
                           "--temporary", "--reason", "hardware-failure", "--as-of", DAY, "--force")  # fmt: skip
    assert (code, err) == (0, "")
    assert (styled / "assignments" / "devices.yaml").read_text() == FLOW + (
        "  - {holding: 'WS22-U', id: A-4, device: SRV-1, since: '2026-11-30', until: '2026-12-30', temporary: true, "
        "reason: hardware-failure}\n"
    )


def test_transfer_in_a_block_file_keeps_its_style(styled: Path, run_cli: Run) -> None:
    code, _, err = run_cli(
        "transfer", "A-2", "--to-person", "carol", "--on", DAY, "--reason", "departure", "--as-of", DAY, "--force"
    )  # fmt: skip (bob still needs a CAL)
    assert (code, err) == (0, "")
    ended = BLOCK.replace("    person: bob\n    since: \"2024-03-01\"\n", "    person: bob\n    since: \"2024-03-01\"\n"
                          "    until: \"2026-11-29\"\n")  # fmt: skip
    assert (styled / "assignments" / "assignments.yaml").read_text() == ended + (
        "  - holding: WS22-U\n"
        "    id: 'A-4'\n"
        "    person: carol\n"
        '    since: "2026-11-30"\n'
        "    replaces: A-2\n"
        "    reason: departure\n"
    )


def test_an_import_appends_records_in_the_files_style(styled: Path, run_cli: Run) -> None:
    devices = styled / "devices" / "devices.yaml"
    devices.write_text("kind: devices\ndevices:\n  - id: PC-1\n    kind: workstation\n    status: active\n"
                       "  - id: SRV-1\n    kind: server\n    status: active\n")  # fmt: skip
    commit(styled.parent, "Devices in block style", "2024-03-02T09:00:00+00:00")
    export = styled.parent / "intune.csv"
    export.write_text("Device name,Serial number,OS\nPC-1,S1,Windows\nPC-2,S2,Windows\n")
    code, out, err = run_cli("import", "devices", str(export), "--file-to", str(devices), "--on", DAY, "--force")
    assert (code, err) == (0, ""), out
    assert devices.read_text().endswith(
        "  - id: SRV-1\n    kind: server\n    status: active\n"
        "  - id: PC-2\n    name: PC-2\n    kind: workstation\n    status: active\n    serial: S2\n"
    )


@pytest.mark.parametrize(
    ("model", "keys", "expected"),
    [
        (["holding", "id", "person", "since"], ["id", "holding", "person", "since", "reason"],
         ["holding", "id", "person", "since", "reason"]),
        (["since", "id"], ["id", "holding", "person", "since", "until"], ["since", "until", "id", "holding", "person"]),
        ([], ["id", "holding"], ["id", "holding"]),
        (["note", "id"], ["holding", "id"], ["holding", "id"]),
    ],
)  # fmt: skip
def test_order_like(model: list[str], keys: list[str], expected: list[str]) -> None:
    assert order_like(model, keys) == expected


REGISTERS = {
    "plain": "kind: assignments\nassignments:\n  - {id: A-1, holding: WS22-U, person: alice, since: 2024-03-01}\n",
    "reordered": "kind: assignments\nassignments:\n  - {holding: WS22-U, since: 2024-03-01, id: A-1, person: alice}\n",
    "quoted": FLOW,
    "mixed": "kind: assignments\nassignments:\n"
    "  - {id: \"A-1\", holding: WS22-U, person: alice, since: \"2024-03-01\", note: \"desk 4\"}\n"
    "  - {since: 2024-03-01, person: bob, holding: 'WS22-U', id: A-2}\n",
    "comments": "# a register\nkind: assignments\nassignments:\n  # team a\n"
    "  - {id: A-1, holding: 'WS22-U', person: alice, since: '2024-03-01'}  # the first\n",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REGISTERS))
def test_a_styled_line_equals_the_styled_round_trip(tmp_path: Path, name: str) -> None:
    """The line appended as text (to a register of plain records) is exactly what the round trip writes."""
    from calcheck.edits import operations
    from calcheck.licensing import engine

    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, tmp_path / "licenses")
    register = estate / "assignments" / "assignments.yaml"
    register.write_text(REGISTERS[name])
    result = engine.check(estate, dt.date(2026, 11, 30))
    arguments = (estate, result, "WS22-U", ("person", "carol"), dt.date(2026, 11, 30), dt.date(2026, 12, 30), True,
                 "temporary-cover", "cover: #2")  # fmt: skip
    as_text = operations.plan_assign(*arguments, file=register, identifier="A-9")
    round_trip = operations.plan_assign(*arguments, file=register, identifier="A-9", as_text=False)
    assert as_text.after == round_trip.after
    assert as_text.after.startswith(REGISTERS[name])
    line_edit = as_text.edited is not None and as_text.edited.data is None
    assert line_edit == (name in ("plain", "reordered"))  # quoted values: the fast lane declines, the round trip runs


LAST_LINES = {
    "plain": "  - {id: A-9, holding: WS22-U, person: carol, since: 2026-11-30, reason: new-assignment}",
    "reordered": "  - {holding: WS22-U, since: 2026-11-30, reason: new-assignment, id: A-9, person: carol}",
    # the neighbour's device stands for the person; dates quoted like its date, other text plain like most of its text
    "quoted": "  - {holding: 'WS22-U', id: A-9, person: carol, since: '2026-11-30', reason: new-assignment}",
    "mixed": "  - {since: 2026-11-30, reason: new-assignment, person: carol, holding: 'WS22-U', id: A-9}",
    "comments": "  - {id: A-9, holding: 'WS22-U', person: carol, since: '2026-11-30', reason: new-assignment}",
}


@pytest.mark.parametrize("name", sorted(REGISTERS))
def test_the_new_line_of_each_register(tmp_path: Path, name: str) -> None:
    from calcheck.edits import operations
    from calcheck.licensing import engine

    estate = write_estate({**base_files(), "people/people.yaml": PEOPLE}, tmp_path / "licenses")
    register = estate / "assignments" / "assignments.yaml"
    register.write_text(REGISTERS[name])
    result = engine.check(estate, dt.date(2026, 11, 30))
    change = operations.plan_assign(estate, result, "WS22-U", ("person", "carol"), dt.date(2026, 11, 30),
                                    reason="new-assignment", file=register, identifier="A-9")  # fmt: skip
    assert change.after == REGISTERS[name] + LAST_LINES[name] + "\n"


def test_a_file_saved_with_a_byte_order_mark_and_crlf_keeps_both(styled: Path, run_cli: Run) -> None:
    """Windows editors write a byte-order mark and CR LF line endings: an edit keeps them and changes nothing else."""
    register = styled / "assignments" / "assignments.yaml"
    register.write_bytes(b"\xef\xbb\xbf" + BLOCK.replace("\n", "\r\n").encode())
    code, _, err = run_cli("assign", "WS22-U", "--person", "carol", "--since", DAY, "--reason", "new-assignment",
                           "--file", "licenses/assignments/assignments.yaml", "--as-of", DAY)  # fmt: skip
    assert (code, err) == (0, "")
    added = (
        "  - holding: WS22-U\n    id: 'A-4'\n    person: carol\n    since: \"2026-11-30\"\n    reason: new-assignment\n"
    )
    assert register.read_bytes() == b"\xef\xbb\xbf" + (BLOCK + added).replace("\n", "\r\n").encode()
    assert "A-4" in run_cli("explain", "carol", "--as-of", DAY)[1]
