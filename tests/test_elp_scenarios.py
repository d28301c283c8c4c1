"""Whole estates with their Effective License Position computed by hand.

Each scenario starts from the rule examples' base estate (alice and bob, both employees, reach a Windows
Server 2022 domain controller; holding WS22-U has 3 User CALs, assigned to both), changes a few files,
and states every pool as (owned, assigned, required, surplus, shortfall, reclaimable), the shortfall cost
and the rules that fire, as of 2026-06-30.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from calcheck.licensing import engine
from calcheck.licensing.rules.example import base_files, write_estate

AS_OF = dt.date(2026, 6, 30)
Row = tuple[int, int, int, int, int, int]


def holding(hid: str, cal: str, version: str | None, kind: str, qty: int, extra: str = "", price: float = 40) -> str:
    version_line = f'    version: "{version}"\n' if version else ""
    return (
        f"  - id: {hid}\n    cal: {cal}\n{version_line}    type: {kind}\n    quantity: {qty}\n    channel: volume\n"
        f"    agreement: EA-1\n    purchased: 2024-02-01\n    unit_price: {price}\n{extra}"
        "    proof: [{type: invoice, ref: INV-1}]\n"
    )


def holdings(*items: str) -> str:
    return "kind: holdings\nholdings:\n" + "".join(items)


def assignments(*rows: str) -> str:
    return "kind: assignments\nassignments:\n" + "".join(f"  - {{{row}}}\n" for row in rows)


def deployment(did: str, product: str, version: str, access: str, extra: str = "") -> str:
    return (
        f'  - id: {did}\n    name: {did}\n    product: {product}\n    version: "{version}"\n'
        f"    hosts: [SRV-1]\n{extra}    access: {access}\n"
    )


def deployments(*items: str) -> str:
    return "kind: deployments\ndeployments:\n" + "".join(items)


def people(*rows: str) -> str:
    return "kind: people\npeople:\n" + "".join(f"  - {{{row}}}\n" for row in rows)


ALICE = "id: alice, name: Alice, kind: employee, status: active"
BOB = "id: bob, name: Bob, kind: employee, status: active"
CAROL = "id: carol, name: Carol, kind: employee, status: active"
A1 = "id: A-1, holding: WS22-U, person: alice, since: 2024-03-01"
A2 = "id: A-2, holding: WS22-U, person: bob, since: 2024-03-01"
DC = deployment("dc", "windows-server", "2022", "{everyone: true}")
WS22 = holding("WS22-U", "windows-server", "2022", "user", 3)
SA = "    sa_until: 2027-01-31\n"


@dataclass
class Scenario:
    name: str
    changes: dict[str, str]
    pools: dict[str, Row]
    cost: float | None
    rules: set[str] = field(default_factory=set)


SCENARIOS = [
    Scenario("base", {"holdings/holdings.yaml": holdings(WS22)},
             {"Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0)}, 0.0),
    Scenario("server upgraded to 2025, CALs without SA",
             {"holdings/holdings.yaml": holdings(WS22),
              "deployments/deployments.yaml": deployments(deployment("dc", "windows-server", "2025", "{everyone: true}"))},
             {"Windows Server CAL 2022 (User)": (3, 2, 0, 3, 0, 0), "Windows Server CAL 2025 (User)": (0, 0, 2, 0, 2, 0)},
             80.0, {"cal-version"}),
    Scenario("server upgraded to 2025, SA active at its release",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 3, SA)),
              "deployments/deployments.yaml": deployments(deployment("dc", "windows-server", "2025", "{everyone: true}"))},
             {"Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0)}, 0.0),
    Scenario("over-allocated holding",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 2)),
              "people/people.yaml": people(ALICE, BOB, CAROL),
              "assignments/assignments.yaml": assignments(A1, A2, "id: A-3, holding: WS22-U, person: carol, since: 2024-03-01")},
             {"Windows Server CAL 2022 (User)": (2, 3, 3, 0, 1, 0)}, 40.0, {"over-allocation"}),
    Scenario("leaver's CAL still assigned, new starter without one",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 2)),
              "people/people.yaml": people(ALICE, "id: bob, name: Bob, kind: employee, status: departed, departed: 2026-05-31", CAROL)},
             {"Windows Server CAL 2022 (User)": (2, 2, 2, 0, 0, 1)}, 0.0, {"uncovered-access", "reclaimable", "headroom"}),
    Scenario("Core CAL Suite covers Windows Server and Exchange",
             {"holdings/holdings.yaml": holdings(holding("CORE", "core-cal-suite", None, "user", 2, SA, 190)),
              "deployments/deployments.yaml": deployments(DC, deployment("mail", "exchange-server", "2019", "{everyone: true}", '    os_version: "2022"\n')),
              "assignments/assignments.yaml": assignments("id: A-1, holding: CORE, person: alice, since: 2024-03-01",
                                                          "id: A-2, holding: CORE, person: bob, since: 2024-03-01")},
             {"Core CAL Suite (User)": (2, 2, 2, 0, 0, 0)}, 0.0, {"headroom"}),
    Scenario("Exchange SE: a suite with SA covers it, a 2019 CAL without SA does not",
             {"holdings/holdings.yaml": holdings(WS22, holding("CORE", "core-cal-suite", None, "user", 1, SA, 190),
                                                 holding("EXS19", "exchange-standard", "2019", "user", 1, price=76)),
              "deployments/deployments.yaml": deployments(DC, deployment("mail", "exchange-server", "SE", "{people: [alice, bob]}", '    os_version: "2022"\n')),
              "assignments/assignments.yaml": assignments(A1, A2, "id: A-3, holding: CORE, person: alice, since: 2024-03-01",
                                                          "id: A-4, holding: EXS19, person: bob, since: 2024-03-01")},
             {"Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0), "Exchange Server Standard CAL 2019 (User)": (1, 1, 0, 1, 0, 0),
              "Exchange Server Standard CAL SE (User)": (0, 0, 1, 0, 1, 0), "Core CAL Suite (User)": (1, 1, 1, 0, 0, 0)},
             76.0, {"cal-version", "headroom"}),
    Scenario("2012 CALs reach a 2012 R2 server",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2012", "user", 3)),
              "deployments/deployments.yaml": deployments(deployment("dc", "windows-server", "2012 R2", "{everyone: true}"))},
             {"Windows Server CAL 2012 (User)": (3, 2, 2, 1, 0, 0)}, 0.0),
    Scenario("external users through an External Connector",
             {"holdings/holdings.yaml": holdings(WS22, holding("EC-22", "external-connector", "2022", "server", 1, price=2300)),
              "people/people.yaml": people(ALICE, BOB, "id: partner, name: Partner, kind: external, status: active"),
              "deployments/deployments.yaml": deployments(DC, deployment("portal", "windows-server", "2022", "{people: [partner]}", "    external_connectors: [EC-22]\n")),
              "assignments/assignments.yaml": assignments(A1, A2, "id: A-3, holding: EC-22, device: SRV-1, since: 2024-03-01")},
             {"Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0)},
             0.0),
    Scenario("expired CSP subscription",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 3).replace(
                 "channel: volume", "channel: csp-subscription\n    subscription_until: 2026-01-31"))},
             {"Windows Server CAL 2022 (User)": (0, 0, 2, 0, 2, 0)}, 80.0, {"entitlement-expired"}),
    Scenario("per-device RDS: a workstation's Device CAL covers its user, a User CAL does not",
             {"holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1),
                                                 holding("RDS22-D", "rds", "2022", "device", 1, price=100),
                                                 holding("RDS22-U", "rds", "2022", "user", 1, price=110)),
              "people/people.yaml": people(ALICE + ", devices: [PC-1]", BOB),
              "deployments/deployments.yaml": deployments(DC, deployment("rds", "windows-server", "2022", "{people: [alice, bob]}",
                                                                        "    roles: [rds-session-host]\n    rds_licensing_mode: per-device\n")),
              "assignments/assignments.yaml": assignments(A1, A2, "id: A-3, holding: WS22-D, device: PC-1, since: 2024-03-01",
                                                          "id: A-4, holding: RDS22-D, device: PC-1, since: 2024-03-01",
                                                          "id: A-5, holding: RDS22-U, person: bob, since: 2024-03-01")},
             {"Windows Server CAL 2022 (Device)": (1, 1, 0, 1, 0, 0), "Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0),
              "Remote Desktop Services CAL 2022 (Device)": (1, 1, 2, 0, 1, 0), "Remote Desktop Services CAL 2022 (User)": (1, 1, 0, 1, 0, 0)},
             100.0, {"cal-type-mismatch", "headroom"}),
    Scenario("RDS session host upgraded to 2025, RDS CALs still 2022",
             {"holdings/holdings.yaml": holdings(holding("WS25-U", "windows-server", "2025", "user", 3),
                                                 holding("RDS22-U", "rds", "2022", "user", 2, price=110)),
              "deployments/deployments.yaml": deployments(deployment("rds", "windows-server", "2025", "{everyone: true}",
                                                                    "    roles: [rds-session-host]\n    rds_licensing_mode: per-user\n")),
              "assignments/assignments.yaml": assignments("id: A-1, holding: WS25-U, person: alice, since: 2024-03-01",
                                                          "id: A-2, holding: WS25-U, person: bob, since: 2024-03-01",
                                                          "id: A-3, holding: RDS22-U, person: alice, since: 2024-03-01",
                                                          "id: A-4, holding: RDS22-U, person: bob, since: 2024-03-01")},
             {"Windows Server CAL 2025 (User)": (3, 2, 2, 1, 0, 0), "Remote Desktop Services CAL 2022 (User)": (2, 2, 0, 2, 0, 0),
              "Remote Desktop Services CAL 2025 (User)": (0, 0, 2, 0, 2, 0)},
             220.0, {"cal-version", "headroom"}),
    Scenario("SA lapsed before the 2025 release",
             {"holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 3, "    sa_until: 2024-06-30\n")),
              "deployments/deployments.yaml": deployments(deployment("dc", "windows-server", "2025", "{everyone: true}"))},
             {"Windows Server CAL 2022 (User)": (3, 2, 0, 3, 0, 0), "Windows Server CAL 2025 (User)": (0, 0, 2, 0, 2, 0)},
             80.0, {"cal-version"}),
    Scenario("Subscription Edition CALs whose SA lapsed",
             {"holdings/holdings.yaml": holdings(WS22, holding("EXSE", "exchange-standard", "SE", "user", 2, "    sa_until: 2026-03-31\n", 90)),
              "deployments/deployments.yaml": deployments(DC, deployment("mail", "exchange-server", "SE", "{everyone: true}", '    os_version: "2022"\n')),
              "assignments/assignments.yaml": assignments(A1, A2, "id: A-3, holding: EXSE, person: alice, since: 2025-08-01",
                                                          "id: A-4, holding: EXSE, person: bob, since: 2025-08-01")},
             {"Windows Server CAL 2022 (User)": (3, 2, 2, 1, 0, 0), "Exchange Server Standard CAL SE (User)": (0, 0, 2, 0, 2, 0)},
             180.0, {"entitlement-expired"}),
]  # fmt: skip


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_hand_computed_position(scenario: Scenario, tmp_path: Path) -> None:
    root = write_estate({**base_files(), **scenario.changes}, tmp_path / "licenses")
    result = engine.check(root, AS_OF)
    position = result.context.position
    pools = {
        pool.label: (pool.owned, pool.assigned, pool.required, pool.surplus, pool.shortfall, pool.reclaimable)
        for pool in position.pools
    }
    assert pools == scenario.pools
    assert position.shortfall_cost == scenario.cost
    assert {f.rule for f in result.findings} == scenario.rules


def messages(name: str, tmp_path: Path) -> list[str]:
    scenario = next(s for s in SCENARIOS if s.name == name)
    root = write_estate({**base_files(), **scenario.changes}, tmp_path / "licenses")
    return [f"{f.rule}: {f.message}" for f in engine.check(root, AS_OF).findings if f.rule != "headroom"]


def test_lapsed_sa_is_named_in_the_finding(tmp_path: Path) -> None:
    assert messages("SA lapsed before the 2025 release", tmp_path) == [
        "cal-version: alice reaches dc and needs a Windows Server CAL 2025 (User) or newer, but a 2022 CAL is older than "
        "Windows Server 2025; SA ended 2024-06-30, before 2024-11-01",
        "cal-version: bob reaches dc and needs a Windows Server CAL 2025 (User) or newer, but a 2022 CAL is older than "
        "Windows Server 2025; SA ended 2024-06-30, before 2024-11-01",
    ]


def test_rds_cal_older_than_the_session_host(tmp_path: Path) -> None:
    assert messages("RDS session host upgraded to 2025, RDS CALs still 2022", tmp_path) == [
        "cal-version: alice reaches rds and needs a Remote Desktop Services CAL 2025 (User) or newer, but a 2022 CAL "
        "is older than Windows Server 2025",
        "cal-version: bob reaches rds and needs a Remote Desktop Services CAL 2025 (User) or newer, but a 2022 CAL "
        "is older than Windows Server 2025",
    ]


@pytest.mark.parametrize(
    ("signed", "contractor", "external"),
    [
        ("2023-05-01", "onsite: false, hours_per_week: 40", True),
        ("2023-05-01", "onsite: true, hours_per_week: 10", False),
        ("2025-02-01", "onsite: false, hours_per_week: 40", False),
        ("2025-02-01", "onsite: false, hours_per_week: 20", True),
        ("2025-02-01", "onsite: true, hours_per_week: 20", False),
    ],
)
def test_contractors_are_external_under_the_agreements_definition(
    signed: str, contractor: str, external: bool, tmp_path: Path
) -> None:
    changes = {
        "calcheck.yaml": f"kind: config\norganisation: X\nagreements:\n  - {{id: EA-1, type: enterprise-agreement, signed: {signed}}}\n",
        "people/people.yaml": people(
            ALICE, BOB, f"id: cid, name: Contractor, kind: contractor, status: active, {contractor}"
        ),
    }
    root = write_estate({**base_files(), **changes}, tmp_path / "licenses")
    result = engine.check(root, AS_OF)
    assert ("cid" in result.context.analysis.externals) is external
    rule = "external-users" if external else "uncovered-access"
    assert [f.rule for f in result.findings if f.records[:1] == ("cid",)] == [rule]
