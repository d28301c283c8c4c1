"""Files calcheck writes are replaced atomically: a crash mid-write leaves the old file intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from calcheck.core.atomic import write_text

WRITER = """
import sys
from pathlib import Path
from calcheck.core.atomic import write_text
Path(sys.argv[2]).write_text("started")
write_text(Path(sys.argv[1]), "new " * 40_000_000)
"""


def test_killed_writer_leaves_old_or_new_content_never_a_mix(tmp_path: Path) -> None:
    target = tmp_path / "register.yaml"
    old = "kind: assignments\nassignments: []  # keep this comment\n"
    outcomes = set()
    for delay in (0.0, 0.05, 0.2, 0.5):
        target.write_text(old)
        flag = tmp_path / "flag"
        flag.unlink(missing_ok=True)
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(flag)])
        while not flag.exists() and process.poll() is None:
            time.sleep(0.01)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        content = target.read_text()
        assert content == old or content == "new " * 40_000_000
        outcomes.add("old" if content == old else "new")
    assert "old" in outcomes  # at least one kill landed mid-write, and the old file survived it


def test_write_keeps_permissions_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("{}")
    os.chmod(target, 0o640)
    write_text(target, '{"ok": true}\n')
    assert target.read_text() == '{"ok": true}\n'
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_special_files_are_written_to_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    write_text(fifo, "through the pipe\n")
    assert reader.communicate(timeout=10)[0] == b"through the pipe\n"
    assert fifo.is_fifo()
