"""Directory imports from real export formats: applied completely or not at all."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing import engine
from tests.conftest import ROOT

Run = Callable[..., tuple[int, str, str]]
SAMPLES = ROOT / "tests" / "samples"
ON = "2026-12-01"


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "licenses"


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def people(root: Path) -> dict[str, object]:
    return engine.check(root, dt.date(2026, 12, 1)).estate.index("people")


def test_active_directory_export(copy: Path, run_cli: Run) -> None:
    # the new starter reaches servers before anyone assigns them CALs: a worse position, accepted
    code, out, _ = run_cli("import", "people", str(SAMPLES / "ad-users.csv"), "--on", ON, "--partial",
                           "--accept-shortfall")  # fmt: skip
    assert code == 0
    assert "1 added, 1 updated, 1 departed; 4 CALs became reclaimable" in out.splitlines()
    found = people(copy)
    assert found["bob.okafor"].status == "departed" and found["bob.okafor"].departed == dt.date(2026, 12, 1)  # type: ignore[attr-defined]
    assert found["carol.schulz"].department == "Treasury"  # type: ignore[attr-defined]
    assert found["new.starter"].email == "new.starter@fabrikam.example"  # type: ignore[attr-defined]
    assert (
        "  A-0005: the Windows Server CAL from EA-WS22-USER is reclaimable: person bob.okafor left on 2026-12-01" in out
    )


def test_entra_export_adds_guests_as_externals(copy: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("import", "people", str(SAMPLES / "entra-users.csv"), "--on", ON, "--partial")
    assert code == 0 and "1 added, 0 updated, 1 departed;" in out
    found = people(copy)
    assert found["dan.novak"].status == "departed"  # type: ignore[attr-defined]
    guest = found["guest.auditor_reyes.example-ext"]
    assert (guest.kind, guest.name) == ("external", "Reyes Auditor")  # type: ignore[attr-defined]


def test_intune_export_retires_devices_it_no_longer_lists(copy: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("import", "devices", str(SAMPLES / "intune-devices.csv"), "--on", ON)
    assert code == 0 and "1 added, 0 updated, 8 retired; 11 CALs became reclaimable" in out
    devices = engine.check(copy, dt.date(2026, 12, 1)).estate.index("devices")
    assert devices["PHONE-0042"].kind == "mobile"
    retired = sorted(d.id for d in devices.values() if d.retired == dt.date(2026, 12, 1))
    assert retired == ["LOANER-01", "SCAN-01", "SCAN-02", "SCAN-03", "SCAN-04", "WS-FIN-03", "WS-FIN-04", "WS-FIN-05"]
    assert devices["KIOSK-01"].status == "active"  # kiosks and servers are not judged by an Intune export


def test_a_mapping_for_other_sources(copy: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("import", "people", str(SAMPLES / "hr-system.csv"), "--mapping",
                           str(SAMPLES / "hr-system-mapping.yaml"), "--on", ON, "--partial")  # fmt: skip
    assert code == 0 and "0 added, 0 updated, 1 departed; 2 CALs became reclaimable" in out
    assert people(copy)["zoe.silva"].status == "departed"  # type: ignore[attr-defined]


def test_bad_rows_change_nothing(copy: Path, run_cli: Run) -> None:
    before = snapshot(copy)
    code, out, _ = run_cli("import", "people", str(SAMPLES / "ad-users-broken.csv"), "--on", ON)
    assert code == 1
    sample = str(SAMPLES / "ad-users-broken.csv")
    assert [line for line in out.splitlines() if ": error [import]" in line] == [
        f"{sample}:3:1: error [import] enabled is 'maybe', not true or false",
        f"{sample}:4:1: error [import] 'alice.martin' appears twice (first on line 2)",
        f"{sample}:5:1: error [import] row has no usable id ('')",
    ]
    assert out.splitlines()[-1] == "import refused: nothing was changed"
    assert snapshot(copy) == before


def test_a_partial_export_is_not_taken_for_mass_departure(copy: Path, run_cli: Run) -> None:
    before = snapshot(copy)
    code, out, _ = run_cli("import", "people", str(SAMPLES / "ad-users.csv"), "--on", ON)
    assert code == 1 and "the export would mark 56 of 61 active people as gone" in out
    assert snapshot(copy) == before


def test_missing_columns(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "bad.csv"
    export.write_text("Enabled,Department\nTrue,Finance\n")
    code, out, _ = run_cli("import", "people", str(export), "--source", "ad")
    assert code == 1 and f"{export}:1:1: error [import] missing column(s) for id, name" in out


def test_a_utf16_export_with_accented_names(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "unicode.csv"
    text = (SAMPLES / "ad-users.csv").read_text(encoding="utf-8")
    text = text.replace('"new.starter"', '"josé.núñez"').replace('"New Starter"', '"José Núñez"')
    export.write_bytes(text.replace("\n", "\r\n").encode("utf-16"))  # Export-Csv -Encoding Unicode
    code, out, _ = run_cli("import", "people", str(export), "--on", ON, "--partial", "--accept-shortfall")
    assert code == 0, out
    assert people(copy)["jose.nunez"].name == "José Núñez"  # type: ignore[attr-defined]


def test_an_export_in_another_encoding_is_refused_not_garbled(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    export = tmp_path / "ansi.csv"
    export.write_bytes("SamAccountName,Name,Enabled\r\njose,José Núñez,True\r\n".encode("cp1252"))
    before = snapshot(copy)
    code, out, _ = run_cli("import", "people", str(export), "--on", ON, "--partial")
    assert code == 1
    assert f"{export}:2:9: error [import] not UTF-8 text" in out.splitlines()
    assert snapshot(copy) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--mapping", "missing.yaml"), "calcheck: error: missing.yaml: no such file"),
        (("--file-to", "/tmp/elsewhere.yaml"), "calcheck: error: /tmp/elsewhere.yaml: not inside the estate"),
        (("--file-to", "licenses/people/new.txt"), "calcheck: error: licenses/people/new.txt: new records go to"),
    ],
)
def test_bad_import_options_are_usage_errors(copy: Path, run_cli: Run, extra: tuple[str, str], message: str) -> None:
    code, out, err = run_cli("import", "people", str(SAMPLES / "ad-users.csv"), "--partial", *extra)
    assert (code, out) == (2, "")
    assert err.startswith(message)


def test_new_records_carry_the_modeline_service_accounts_are_recognised_and_skipped_accounts_counted(
    copy: Path, run_cli: Run, tmp_path: Path
) -> None:
    export = tmp_path / "ad.csv"
    export.write_text(
        '"SamAccountName","Name","Enabled","ObjectClass","ServicePrincipalName","Department"\n'
        '"svc-backup","Backup service","True","user","",""\n'
        '"sqlagent","SQL agent","True","msDS-GroupManagedServiceAccount","",""\n'
        '"web.pool","Web pool","True","user","HTTP/web.fabrikam.example",""\n'
        '"jane.new","Jane New","True","user","Microsoft.ActiveDirectory.Management.ADPropertyValueCollection","Sales"\n'
        '"old.account","Old Account","False","user","",""\n',
        encoding="utf-8",
    )
    mapping = tmp_path / "conventions.yaml"
    mapping.write_text("service_accounts: [svc-*, '*$']\n", encoding="utf-8")
    code, out, _ = run_cli("import", "people", str(export), "--on", ON, "--partial", "--dry-run", "--accept-shortfall")
    assert code == 0 and "+  - {id: svc-backup, name: Backup service, kind: employee, status: active}" in out
    code, out, _ = run_cli(
        "import", "people", str(export), "--on", ON, "--partial", "--mapping", str(mapping), "--accept-shortfall"
    )
    assert code == 0
    assert (
        "4 added, 0 updated, 0 departed, 1 disabled and not in the estate (skipped); 0 CALs became reclaimable" in out
    )
    imported = (copy / "people" / "imported.yaml").read_text().splitlines()
    assert imported[0] == "# yaml-language-server: $schema=../../schemas/people.schema.json"
    kinds = {k: v.kind for k, v in people(copy).items() if k in {"svc-backup", "sqlagent", "web.pool", "jane.new"}}  # type: ignore[attr-defined]
    assert kinds == {"svc-backup": "service-account", "sqlagent": "service-account", "web.pool": "service-account",
                     "jane.new": "employee"}  # fmt: skip
    assert "old.account" not in people(copy)


def test_a_mapping_with_bad_conventions_is_a_usage_error(copy: Path, run_cli: Run, tmp_path: Path) -> None:
    mapping = tmp_path / "conventions.yaml"
    mapping.write_text("service_accounts: svc-*\n", encoding="utf-8")
    code, _, err = run_cli("import", "people", str(SAMPLES / "ad-users.csv"), "--mapping", str(mapping))
    assert code == 2 and "service_accounts: expected a list of account name patterns" in err


def test_an_import_asked_again_is_its_kept_decision_and_a_changed_export_or_mapping_is_not(
    copy: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An import's decision (diffs, counts, position, refusal, files) is kept by the digest of everything it reads,
    the export and the mapping included: asked again, as after its dry run, it is shown and written from it (a
    forged entry shows it is read), as a planning anew (``--no-cache``, in a copy) shows and writes it. Another
    export, mapping or option is a miss."""
    from calcheck.estate.cache import read_entry, write_entry

    monkeypatch.setenv("CALCHECK_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "cache" / "results"
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.yaml"
    shutil.copy(SAMPLES / "ad-users.csv", export)
    twin = tmp_path / "twin"
    shutil.copytree(copy, twin / "licenses")

    def kept() -> list[Path]:
        return sorted(results.rglob("*.json")) if results.exists() else []

    def anew(*args: str) -> tuple[tuple[int, str, str], dict[str, bytes]]:
        monkeypatch.chdir(twin)
        try:
            return run_cli(*args, "--no-cache"), snapshot(twin / "licenses")
        finally:
            shutil.rmtree(twin / "licenses")
            shutil.copytree(copy, twin / "licenses")
            monkeypatch.chdir(tmp_path)

    def dry(*args: str) -> tuple[int, str, str]:
        entries = len(kept())
        fresh, _ = anew(*args, "--dry-run")
        assert run_cli(*args, "--dry-run") == fresh and len(kept()) == entries + 1
        assert run_cli(*args, "--dry-run") == fresh and len(kept()) == entries + 1
        return fresh

    people_import = ("import", "people", str(export), "--on", ON, "--partial")
    refused = dry(*people_import)
    assert refused[0] == 1 and "import refused: it would make the licence position worse" in refused[1]
    accepted = dry(*people_import, "--accept-shortfall")
    assert accepted[0] == 0 and "1 added, 1 updated, 1 departed; 4 CALs became reclaimable" in accepted[1]
    entry = max(kept(), key=lambda path: path.stat().st_mtime_ns)
    body = read_entry(entry)
    assert body is not None
    write_entry(entry, body.replace(b"1 added, 1 updated", b"9 added, 1 updated"))
    assert "9 added, 1 updated" in run_cli(*people_import, "--accept-shortfall", "--dry-run")[1]  # believed
    write_entry(entry, body)

    shutil.copy(SAMPLES / "ad-users-broken.csv", export)  # the same name, another export: a miss (refused)
    assert dry(*people_import)[0] == 1
    shutil.copy(SAMPLES / "hr-system.csv", export)
    shutil.copy(SAMPLES / "hr-system-mapping.yaml", mapping)
    assert dry(*people_import, "--mapping", str(mapping))[0] == 0
    mapping.write_text(mapping.read_text() + "\n# reviewed\n")
    dry(*people_import, "--mapping", str(mapping))

    shutil.copy(SAMPLES / "ad-users.csv", export)  # written from the decision its dry run kept, as planned anew
    entries = len(kept())
    fresh, written = anew(*people_import, "--accept-shortfall")
    assert run_cli(*people_import, "--accept-shortfall") == fresh and fresh[0] == 0 and len(kept()) == entries
    assert snapshot(copy) == written != snapshot(twin / "licenses")
