"""Files that cannot be read as estate files: links out of the estate, FIFOs, devices, oversized files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.estate import yamlload

Run = Callable[..., tuple[int, str, str]]


def problems(out: str) -> list[str]:
    return [line for line in out.splitlines() if " [" in line]


def test_links_fifos_and_devices_are_refused(
    run_cli: Run, estate: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = estate({})
    (tmp_path / "secret.txt").write_text("kind: people\npeople: []\n")
    (root / "people").mkdir()
    (root / "people" / "outside.yaml").symlink_to(tmp_path / "secret.txt")
    (root / "people" / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(root / "people" / "pipe.yaml")
    (root / "people" / "folder.yaml").mkdir()
    (root / "people" / "inside.yaml").symlink_to(root / "calcheck.yaml")
    code, out, _ = run_cli("check", "--as-of", "2026-06-30")
    assert code == 1
    assert problems(out) == [
        "licenses/people/inside.yaml:1:1: error [estate-link] 'people/inside.yaml' is a symbolic link; it is not read",
        "licenses/people/outside.yaml:1:1: error [estate-link] 'people/outside.yaml' is a symbolic link; it is not read",
        "licenses/people/pipe.yaml:1:1: error [unreadable-file] cannot read file: not a regular file",
        "licenses/people/zero.yaml:1:1: error [estate-link] 'people/zero.yaml' is a symbolic link; it is not read",
    ]


def test_oversized_files_are_not_parsed(
    run_cli: Run, estate: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate({"people/big.yaml": "kind: people\npeople: []\n" + "# padding\n" * 20})
    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 100)
    code, out, _ = run_cli("check", "--as-of", "2026-06-30")
    assert code == 1
    assert problems(out) == [
        "licenses/people/big.yaml:1:1: error [file-too-large] file is 224 bytes; calcheck reads files up to 100 bytes"
    ]
