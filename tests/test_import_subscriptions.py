"""Importing Online Services assignments from the Microsoft 365 admin center and Entra ID (Graph) exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from calcheck.licensing import engine

SAMPLES = Path(__file__).resolve().parent / "samples"
Run = Callable[..., tuple[int, str, str]]

PEOPLE = """\
kind: people
people:
  - {id: alice, name: Alice Martin, kind: employee, status: active, email: alice@example.com, department: Finance}
  - {id: bob, name: Bob Okafor, kind: employee, status: active, email: bob@example.com, department: Finance}
  - {id: carol, name: Carol Diaz, kind: employee, status: active, email: carol@example.com, department: Sales}
  - {id: dave, name: Dave Ng, kind: employee, status: active, department: Sales}
  - {id: erin, name: Erin Walsh, kind: employee, status: active, email: erin@example.com, department: IT}
"""


def online(hid: str, cal: str) -> str:
    return (
        f"  - {{id: {hid}, cal: {cal}, type: user, quantity: 10, channel: online-services, purchased: 2025-07-01, "
        f"subscription_until: 2027-06-30, proof: [{{type: invoice, ref: INV-{hid}}}]}}\n"
    )


HOLDINGS = (
    "kind: holdings\nholdings:\n"
    + online("M365-E3", "microsoft-365-e3")
    + online("O365-E3", "office-365-e3")
    + online("EMS-E3", "ems-e3")
)
ASSIGNMENTS = """\
kind: assignments
assignments:
  - {id: A-0001, holding: M365-E3, person: bob, since: 2025-07-01}
  - {id: A-0002, holding: O365-E3, person: erin, since: 2025-07-01}
"""
DEPLOYMENTS = """\
kind: deployments
deployments:
  - {id: dc, name: DC, product: windows-server, version: "2022", access: {everyone: true}}
"""
SUMMARY = (
    "5 users matched: 3 assignments added, 1 kept, 1 ended; 1 users with subscriptions are not in the estate\n"
    "  not in the estate: partner_fabrikam.example#EXT#@example.onmicrosoft.com\n"
    "2 products not in the catalogue (not counted as CAL rights):\n"
)
NEW_FILE = """\
kind: assignments
assignments:
  - {id: A-0003, holding: M365-E3, person: alice, since: 2026-06-30}
  - {id: A-0004, holding: EMS-E3, person: carol, since: 2026-06-30}
  - {id: A-0005, holding: O365-E3, person: carol, since: 2026-06-30}
"""


@pytest.fixture
def tenant(estate: Callable[[dict[str, str]], Path]) -> Path:
    return estate(
        {
            "people/people.yaml": PEOPLE,
            "holdings/online.yaml": HOLDINGS,
            "assignments/assignments.yaml": ASSIGNMENTS,
            "deployments/deployments.yaml": DEPLOYMENTS,
        }
    )


@pytest.mark.parametrize(
    ("sample", "unknown"),
    [
        ("m365-admin-users.csv", ["  Microsoft Power Automate Free: 1 user", "  Microsoft Teams Exploratory: 1 user"]),
        (
            "entra-assigned-licenses.json",
            ["  710779e8-3d4a-4c88-adb9-386c958d1fdf: 1 user", "  f30db892-07e9-47e9-837c-80727f46fd3d: 1 user"],
        ),
    ],
)
def test_import_from_each_sample(sample: str, unknown: list[str], tenant: Path, run_cli: Run) -> None:
    code, out, _ = run_cli(
        "import", "subscriptions", str(SAMPLES / sample), "--path", str(tenant), "--on", "2026-06-30"
    )
    assert code == 0
    assert out.endswith(SUMMARY + "\n".join(unknown) + "\n")
    assert (tenant / "assignments" / "online-services.yaml").read_text(encoding="utf-8") == NEW_FILE
    assert (tenant / "assignments" / "assignments.yaml").read_text(encoding="utf-8") == ASSIGNMENTS.replace(
        "person: erin, since: 2025-07-01}", "person: erin, since: 2025-07-01, until: 2026-06-29}"
    )
    result = engine.check(tenant, dt.date(2026, 6, 30))
    pools = {p.label: tuple(p.counts()) for p in result.context.position.pools}
    assert pools == {
        "Microsoft 365 E3 (User)": (10, 2, 2, 8, 0, 0),
        "Office 365 E3 (User)": (10, 1, 0, 10, 0, 0),
        # dave and erin need a Windows Server CAL: a spare EMS E3 would cover them (assign it), so no shortfall
        "Enterprise Mobility + Security E3 (User)": (10, 1, 3, 7, 0, 0),
    }
    # importing the same export again changes nothing
    code, out, _ = run_cli(
        "import", "subscriptions", str(SAMPLES / sample), "--path", str(tenant), "--on", "2026-06-30"
    )
    assert code == 0
    assert out.startswith("5 users matched: 0 assignments added, 4 kept, 0 ended;")


def test_both_samples_map_to_the_same_assignments(tenant: Path, run_cli: Run) -> None:
    outputs = [
        run_cli("import", "subscriptions", str(SAMPLES / s), "--path", str(tenant), "--on", "2026-06-30", "--dry-run")
        for s in ("m365-admin-users.csv", "entra-assigned-licenses.json")
    ]
    diffs = [out.split("5 users matched")[0] for _, out, _ in outputs]
    assert diffs[0] == diffs[1]
    assert "+  - {id: A-0005, holding: O365-E3, person: carol, since: 2026-06-30}" in diffs[0]
    assert not (tenant / "assignments" / "online-services.yaml").exists()


def test_partial_keeps_unlisted_assignments(tenant: Path, run_cli: Run) -> None:
    code, out, _ = run_cli(
        "import", "subscriptions", str(SAMPLES / "m365-admin-users.csv"), "--path", str(tenant), "--on", "2026-06-30",
        "--partial",
    )  # fmt: skip
    assert code == 0 and "3 assignments added, 1 kept, 0 ended" in out


def test_a_subscription_without_a_holding_refuses_the_import(
    estate: Callable[[dict[str, str]], Path], run_cli: Run
) -> None:
    root = estate({"people/people.yaml": PEOPLE, "holdings/online.yaml": "kind: holdings\nholdings:\n" + online(
        "M365-E3", "microsoft-365-e3"
    )})  # fmt: skip
    sample = SAMPLES / "m365-admin-users.csv"
    code, out, _ = run_cli("import", "subscriptions", str(sample), "--path", str(root), "--on", "2026-06-30")
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{sample}:4:1: error [import] 1 user(s) hold Enterprise Mobility + Security E3, but the estate has no "
        "holding of it in force on 2026-06-30",
        "    hint: add a holding (cal: ems-e3, channel: online-services, subscription_until: ...) first",
    ]
    assert out.endswith("import refused: nothing was changed\n")


def test_graph_rest_response_and_tenant_prefixed_skus(tenant: Path, tmp_path: Path, run_cli: Run) -> None:
    graph = tmp_path / "users.json"
    graph.write_text(
        '{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",\n "value": [\n'
        '  {"userPrincipalName": "alice@example.com", "assignedLicenses": [{"skuPartNumber": "SPE_E3"}]},\n'
        '  {"userPrincipalName": "carol@example.com"}\n ]}\n',
        encoding="utf-8",
    )
    code, out, _ = run_cli("import", "subscriptions", str(graph), "--path", str(tenant), "--on", "2026-06-30")
    assert code == 1
    assert out.splitlines()[0] == (f"{graph}:4:3: error [import] a user without userPrincipalName or assignedLicenses")
    legacy = tmp_path / "legacy.csv"
    legacy.write_text(
        "User principal name,Licenses\nalice@example.com,contoso:SPE_E3\nbob@example.com,contoso:SPE_E3\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(
        "import", "subscriptions", str(legacy), "--path", str(tenant), "--on", "2026-06-30", "--partial", "--dry-run"
    )
    assert code == 0
    assert "2 users matched: 1 assignments added, 1 kept, 0 ended; 0 users with subscriptions" in out


def test_broken_exports_are_findings(tenant: Path, tmp_path: Path, run_cli: Run) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"userPrincipalName": "alice@example.com",\n', encoding="utf-8")
    code, out, _ = run_cli(
        "import", "subscriptions", str(broken), "--path", str(tenant), "--source", "graph", "--on", "2026-06-30"
    )
    assert code == 1 and out.startswith(f"{broken}:3:1: error [import] not JSON: Expecting property name")
    wrong = tmp_path / "users.csv"
    wrong.write_text("Display name,Department\nAlice,Finance\n", encoding="utf-8")
    code, out, _ = run_cli("import", "subscriptions", str(wrong), "--path", str(tenant), "--on", "2026-06-30")
    assert code == 1 and "missing column(s) 'User principal name' and 'Licenses'" in out
    code, _, err = run_cli("import", "people", str(wrong), "--path", str(tenant), "--source", "graph")
    assert code == 2 and "--source graph is for 'import subscriptions'" in err


def test_unlicensed_users_no_teams_plans_and_hostile_json(tenant: Path, tmp_path: Path, run_cli: Run) -> None:
    export = tmp_path / "users.csv"
    export.write_text(
        "User principal name,Licenses\n"
        "alice@example.com,Microsoft 365 E3 (no Teams)+Microsoft Teams Enterprise\n"
        "dave@example.com,Unlicensed\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(
        "import", "subscriptions", str(export), "--path", str(tenant), "--on", "2026-06-30", "--partial", "--dry-run"
    )
    assert code == 0
    assert out.endswith(
        "2 users matched: 1 assignments added, 0 kept, 0 ended; 0 users with subscriptions are not in the estate\n"
        "1 products not in the catalogue (not counted as CAL rights):\n"
        "  Microsoft Teams Enterprise: 1 user\n"
        "dry run: nothing written\n"
    )
    assert "+  - {id: A-0003, holding: M365-E3, person: alice, since:" in out
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, out, _ = run_cli("import", "subscriptions", str(deep), "--path", str(tenant), "--on", "2026-06-30")
    assert code == 1 and "nested too deeply" in out
