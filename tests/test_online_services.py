"""Online Services subscriptions and CAL Suite Bridges: whole estates with their ELP computed by hand.

Each scenario starts from the rule examples' base estate and gives it alice, bob and carol (employees) who all
reach a Windows Server 2022 domain controller and an Exchange Server 2019 on Windows Server 2022, so each person
needs a Windows Server CAL 2022 and an Exchange Server Standard CAL 2019. Every pool is stated as (owned,
assigned, required, surplus, shortfall, reclaimable), with the shortfall cost and the rules that fire, as of
2026-06-30.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from calcheck.licensing import engine, explain
from calcheck.licensing.rules.example import base_files, write_estate

AS_OF = dt.date(2026, 6, 30)
Row = tuple[int, int, int, int, int, int]

PEOPLE = (
    "kind: people\npeople:\n"
    "  - {id: alice, name: Alice, kind: employee, status: active, department: Finance, cost_centre: CC-100}\n"
    "  - {id: bob, name: Bob, kind: employee, status: active, department: Finance, cost_centre: CC-100}\n"
    "  - {id: carol, name: Carol, kind: employee, status: active, department: Sales, cost_centre: CC-200}\n"
)
DEPLOYMENTS = (
    "kind: deployments\ndeployments:\n"
    '  - {id: dc, name: DC, product: windows-server, version: "2022", hosts: [SRV-1], access: {everyone: true}}\n'
    '  - {id: exch, name: Mail, product: exchange-server, version: "2019", os_version: "2022", hosts: [SRV-1],'
    " access: {everyone: true}}\n"
)


def online(hid: str, cal: str, qty: int, until: str = "2027-06-30", price: float = 30) -> str:
    return (
        f"  - {{id: {hid}, cal: {cal}, type: user, quantity: {qty}, channel: online-services, agreement: EA-1, "
        f"purchased: 2025-07-01, subscription_until: {until}, unit_price: {price}, currency: EUR, "
        f"proof: [{{type: invoice, ref: INV-{hid}}}]}}\n"
    )


def perpetual(hid: str, cal: str, version: str, qty: int, price: float) -> str:
    return (
        f'  - {{id: {hid}, cal: {cal}, version: "{version}", type: user, quantity: {qty}, channel: volume, '
        f"agreement: EA-1, purchased: 2024-02-01, unit_price: {price}, currency: EUR, "
        f"proof: [{{type: invoice, ref: INV-{hid}}}]}}\n"
    )


def holdings(*items: str) -> str:
    return "kind: holdings\nholdings:\n" + "".join(items)


def assignments(*pairs: tuple[str, str]) -> str:
    rows = "".join(
        f"  - {{id: A-{i}, holding: {h}, person: {p}, since: 2025-07-01}}\n" for i, (h, p) in enumerate(pairs, 1)
    )
    return "kind: assignments\nassignments:\n" + rows


WS = "Windows Server CAL 2022 (User)"
EXCH = "Exchange Server Standard CAL 2019 (User)"


@dataclass
class Scenario:
    name: str
    holdings: str
    assignments: str
    pools: dict[str, Row]
    cost: float | None
    rules: set[str] = field(default_factory=set)
    deployments: str = DEPLOYMENTS


SCENARIOS = [
    Scenario(
        "fully covered by Microsoft 365 E3",
        holdings(online("M365", "microsoft-365-e3", 4)),
        assignments(("M365", "alice"), ("M365", "bob"), ("M365", "carol")),
        {"Microsoft 365 E3 (User)": (4, 3, 3, 1, 0, 0)},
        0.0,
    ),
    Scenario(
        "Office 365 E3 without a Core CAL Bridge reaching Windows Server",
        holdings(online("O365", "office-365-e3", 3, price=20)),
        assignments(("O365", "alice"), ("O365", "bob"), ("O365", "carol")),
        {"Office 365 E3 (User)": (3, 3, 3, 0, 0, 0), WS: (0, 0, 3, 0, 3, 0)},
        None,  # nobody bought a Windows Server CAL, so there is no price for one
        {"uncovered-access"},
    ),
    Scenario(
        "Office 365 E3 with the Core CAL Suite Bridge for Office 365",
        holdings(online("O365", "office-365-e3", 3, price=20), online("BRIDGE", "core-cal-bridge-o365", 3, price=5)),
        assignments(
            ("O365", "alice"),
            ("BRIDGE", "alice"),
            ("O365", "bob"),
            ("BRIDGE", "bob"),
            ("O365", "carol"),
            ("BRIDGE", "carol"),
        ),
        {"Office 365 E3 (User)": (3, 3, 3, 0, 0, 0), "Core CAL Suite Bridge for Office 365 (User)": (3, 3, 3, 0, 0, 0)},
        0.0,
    ),
    Scenario(
        "a Bridge without its qualifying subscription",
        holdings(online("O365", "office-365-e3", 2, price=20), online("BRIDGE", "core-cal-bridge-o365", 3, price=5)),
        assignments(("O365", "alice"), ("BRIDGE", "alice"), ("O365", "bob"), ("BRIDGE", "bob"), ("BRIDGE", "carol")),
        {
            "Office 365 E3 (User)": (2, 2, 2, 0, 0, 0),
            "Core CAL Suite Bridge for Office 365 (User)": (3, 3, 2, 1, 0, 0),
            WS: (0, 0, 1, 0, 1, 0),
            EXCH: (0, 0, 1, 0, 1, 0),
        },
        None,
        {"bridge-without-subscription", "bridge-count", "uncovered-access"},
    ),
    Scenario(
        "an expired subscription",
        holdings(online("M365", "microsoft-365-e3", 3, until="2026-05-31")),
        assignments(("M365", "alice"), ("M365", "bob"), ("M365", "carol")),
        {"Microsoft 365 E3 (User)": (0, 0, 0, 0, 0, 0), WS: (0, 0, 3, 0, 3, 0), EXCH: (0, 0, 3, 0, 3, 0)},
        None,
        {"subscription-ended"},
    ),
    Scenario(
        "perpetual CALs and subscriptions in the same pools",
        holdings(
            perpetual("WS22", "windows-server", "2022", 3, 40),
            perpetual("EX19", "exchange-standard", "2019", 1, 70),
            online("M365", "microsoft-365-e3", 2),
        ),
        assignments(("WS22", "alice"), ("EX19", "alice"), ("M365", "bob"), ("M365", "carol")),
        {WS: (3, 1, 1, 2, 0, 0), EXCH: (1, 1, 1, 0, 0, 0), "Microsoft 365 E3 (User)": (2, 2, 2, 0, 0, 0)},
        0.0,
    ),
    Scenario(
        "a subscription one short of the people it should cover",
        holdings(online("M365", "microsoft-365-e3", 2, price=33.5)),
        assignments(("M365", "alice"), ("M365", "bob")),
        {"Microsoft 365 E3 (User)": (2, 2, 2, 0, 0, 0), WS: (0, 0, 1, 0, 1, 0), EXCH: (0, 0, 1, 0, 1, 0)},
        None,
        {"uncovered-access"},
    ),
    Scenario(
        "a Bridge whose qualifying subscription has ended",
        holdings(
            online("O365", "office-365-e3", 1, until="2026-05-31", price=20),
            online("BRIDGE", "core-cal-bridge-o365", 1, price=5),
        ),
        assignments(("O365", "alice"), ("BRIDGE", "alice")),
        {
            "Office 365 E3 (User)": (0, 0, 0, 0, 0, 0),
            "Core CAL Suite Bridge for Office 365 (User)": (1, 1, 0, 1, 0, 0),
            WS: (0, 0, 3, 0, 3, 0),
            EXCH: (0, 0, 3, 0, 3, 0),
        },
        None,
        {"subscription-ended", "bridge-without-subscription", "bridge-count", "uncovered-access"},
    ),
    Scenario(
        "EMS E3 with the Core CAL Suite Bridge for EMS",
        holdings(online("EMS", "ems-e3", 3, price=10), online("BRIDGE", "core-cal-bridge-ems", 3, price=8)),
        assignments(
            ("EMS", "alice"),
            ("BRIDGE", "alice"),
            ("EMS", "bob"),
            ("BRIDGE", "bob"),
            ("EMS", "carol"),
            ("BRIDGE", "carol"),
        ),
        {
            "Enterprise Mobility + Security E3 (User)": (3, 3, 3, 0, 0, 0),
            "Core CAL Suite Bridge for Enterprise Mobility + Security (User)": (3, 3, 3, 0, 0, 0),
        },
        0.0,
    ),
    Scenario(
        "the Bridge for Office 365 and Intune needs Intune as well",
        holdings(
            online("O365", "office-365-e1", 3, price=8),
            online("INTUNE", "intune", 2, price=6),
            online("BRIDGE", "core-cal-bridge-o365-intune", 3, price=4),
        ),
        assignments(
            ("O365", "alice"),
            ("INTUNE", "alice"),
            ("BRIDGE", "alice"),
            ("O365", "bob"),
            ("INTUNE", "bob"),
            ("BRIDGE", "bob"),
            ("O365", "carol"),
            ("BRIDGE", "carol"),
        ),
        {
            "Office 365 E1 (User)": (3, 3, 3, 0, 0, 0),
            "Microsoft Intune Plan 1 (User)": (2, 2, 0, 2, 0, 0),
            "Core CAL Suite Bridge for Office 365 and Microsoft Intune (User)": (3, 3, 2, 1, 0, 0),
            WS: (0, 0, 1, 0, 1, 0),
        },
        None,
        {"bridge-without-subscription"},
    ),
    Scenario(
        "Microsoft 365 F3 carries no Exchange Enterprise CAL",
        holdings(online("F3", "microsoft-365-f3", 3, price=8)),
        assignments(("F3", "alice"), ("F3", "bob"), ("F3", "carol")),
        {
            "Microsoft 365 F3 (User)": (3, 3, 3, 0, 0, 0),
            "Exchange Server Enterprise CAL 2019 (User)": (0, 0, 3, 0, 3, 0),
        },
        None,
        {"uncovered-access"},
        deployments=DEPLOYMENTS.replace(
            'os_version: "2022", hosts', 'os_version: "2022", features: [enterprise], hosts'
        ),
    ),
    Scenario(
        "renewal due within the window",
        holdings(online("M365", "microsoft-365-e3", 3, until="2026-08-31")),
        assignments(("M365", "alice"), ("M365", "bob"), ("M365", "carol")),
        {"Microsoft 365 E3 (User)": (3, 3, 3, 0, 0, 0)},
        0.0,
        {"subscription-renewal-due"},
    ),
]


def check(scenario: Scenario, tmp_path: Path) -> engine.CheckResult:
    files = {
        **base_files(),
        "people/people.yaml": PEOPLE,
        "deployments/deployments.yaml": scenario.deployments,
        "holdings/holdings.yaml": scenario.holdings,
        "assignments/assignments.yaml": scenario.assignments,
    }
    return engine.check(write_estate(files, tmp_path / "licenses"), AS_OF)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_position(scenario: Scenario, tmp_path: Path) -> None:
    result = check(scenario, tmp_path)
    position = result.context.position
    assert {p.label: tuple(p.counts()) for p in position.pools} == scenario.pools
    assert position.shortfall_cost == scenario.cost
    fired = {f.rule for f in result.findings} - {"headroom"}
    assert fired == scenario.rules


def scenario_named(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_the_pool_kinds_say_subscription_and_bridge(tmp_path: Path) -> None:
    position = check(scenario_named("Office 365 E3 with the Core CAL Suite Bridge for Office 365"), tmp_path)
    assert [(p.cal, p.kind) for p in position.context.position.pools] == [
        ("office-365-e3", "subscription"),
        ("core-cal-bridge-o365", "bridge"),
    ]


def test_the_hint_names_the_bridge(tmp_path: Path) -> None:
    result = check(scenario_named("Office 365 E3 without a Core CAL Bridge reaching Windows Server"), tmp_path)
    assert next((f.rule, f.message, f.hint) for f in result.findings if f.rule != "headroom") == (
        "uncovered-access",
        "person alice reaches dc, exch without a Windows Server CAL 2022 (User) or newer",
        "buy 3 Windows Server CALs 2022 (User): no holding has one unassigned (3 people and devices lack one); alice "
        "holds Office 365 E3: a Core CAL Suite Bridge for Office 365 would carry this CAL",
    )


def test_bridge_findings(tmp_path: Path) -> None:
    result = check(scenario_named("a Bridge without its qualifying subscription"), tmp_path)
    assert [(f.rule, f.line, f.column, f.message) for f in result.findings if f.rule != "headroom"] == [
        (
            "bridge-without-subscription",
            7,
            24,
            "A-5: Core CAL Suite Bridge for Office 365 assigned to carol, who holds no Office 365 E1, Office 365 E3 "
            "or Office 365 E5 in force",
        ),
        (
            "bridge-count",
            4,
            67,
            "Core CAL Suite Bridge for Office 365: 3 Bridge User SLs in force, but 2 qualifying subscriptions "
            "(Office 365 E1, Office 365 E3, Office 365 E5)",
        ),
        (
            "uncovered-access",
            5,
            10,
            "person carol reaches exch without an Exchange Server Standard CAL 2019 (User) or newer",
        ),
    ]


def test_an_ended_subscription_is_an_error_naming_its_users(tmp_path: Path) -> None:
    result = check(scenario_named("an expired subscription"), tmp_path)
    assert [(f.rule, f.severity.name, f.message) for f in result.findings if f.rule != "headroom"] == [
        (
            "subscription-ended",
            "ERROR",
            "M365: Microsoft 365 E3 ended on 2026-05-31, yet 3 assigned people need its CALs (alice, bob, carol)",
        )
    ]


def test_explain_names_the_equivalency(tmp_path: Path) -> None:
    result = check(scenario_named("fully covered by Microsoft 365 E3"), tmp_path)
    analysis = result.context.analysis
    text = explain.render_text(result.estate, analysis, explain.explain(result.estate, analysis, ("person", "bob")))
    assert (
        "  OK       Windows Server CAL 2022 (User) or newer for dc, exch: covered by Microsoft 365 E3 (CAL equivalency: Windows "
        "Server CAL, Exchange Server Standard CAL, Exchange Server Enterprise CAL, SharePoint Server Standard CAL, "
        "SharePoint Server Enterprise CAL, Skype for Business Server Standard CAL, Skype for Business Server "
        "Enterprise CAL, Active Directory Rights Management Services CAL; Product Terms, CAL and ML Equivalency "
        "Licenses), A-2 from M365 (suite)\n"
    ) in text
    document = json.loads(
        explain.render_json(result.estate, analysis, explain.explain(result.estate, analysis, ("person", "bob")))
    )
    assert [n["equivalency"][:45] for n in document["needs"]] == ["CAL equivalency: Windows Server CAL, Exchange"] * 2


def test_a_subscription_covers_a_subscription_edition_without_software_assurance(tmp_path: Path) -> None:
    scenario = scenario_named("fully covered by Microsoft 365 E3")
    files = {
        **base_files(),
        "people/people.yaml": PEOPLE,
        "deployments/deployments.yaml": DEPLOYMENTS.replace('version: "2019"', 'version: "SE"').replace(
            'version: "2022", hosts', 'version: "2025", hosts'
        ),
        "holdings/holdings.yaml": scenario.holdings,
        "assignments/assignments.yaml": scenario.assignments,
    }
    result = engine.check(write_estate(files, tmp_path / "licenses"), AS_OF)
    assert {p.label: tuple(p.counts()) for p in result.context.position.pools} == {
        "Microsoft 365 E3 (User)": (4, 3, 3, 1, 0, 0)
    }
    assert {f.rule for f in result.findings} <= {"headroom"}


CHARGEBACK = {
    "holdings/holdings.yaml": holdings(
        perpetual("WS22", "windows-server", "2022", 2, 40),
        perpetual("EX19", "exchange-standard", "2019", 1, 70),
        online("M365", "microsoft-365-e3", 1),
    ),
    "assignments/assignments.yaml": assignments(
        ("WS22", "alice"), ("EX19", "alice"), ("WS22", "bob"), ("M365", "carol")
    ),
}


def write_chargeback(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    files = {**base_files(), "people/people.yaml": PEOPLE, "deployments/deployments.yaml": DEPLOYMENTS}
    return write_estate({**files, **CHARGEBACK, **(extra or {})}, tmp_path / "licenses")


def test_report_by_cost_centre(tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    root = write_chargeback(tmp_path)
    code, out, _ = run_cli("report", str(root), "--as-of", "2026-06-30", "--by", "cost-centre")
    assert code == 0
    assert out == (
        "Position by cost centre: Example Ltd as of 2026-06-30\n"
        "Cost centre  Required  Assigned  Shortfall  Chargeback  Shortfall cost\n"
        "-----------  --------  --------  ---------  ----------  --------------\n"
        "CC-100              4         3          1  220.00 EUR       70.00 EUR\n"
        "CC-200              1         1          0   30.00 EUR        0.00 EUR\n"
        "-----------  --------  --------  ---------  ----------  --------------\n"
        "Total               5         4          1  250.00 EUR       70.00 EUR\n"
    )


@pytest.mark.parametrize("by", ["department", "cost-centre"])
def test_grouped_totals_equal_the_plain_report(
    by: str, tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    # Over-allocation too: three assignments of a pool of two, so a covered person carries a shortfall.
    extra = {
        "assignments/assignments.yaml": assignments(
            ("WS22", "alice"), ("EX19", "alice"), ("WS22", "bob"), ("WS22", "carol"), ("M365", "carol")
        )
    }
    root = write_chargeback(tmp_path, extra)
    plain = json.loads(run_cli("report", str(root), "--as-of", "2026-06-30", "--format", "json")[1])
    grouped = json.loads(run_cli("report", str(root), "--as-of", "2026-06-30", "--format", "json", "--by", by)[1])
    for name in ("required", "assigned", "shortfall", "shortfall_cost"):
        assert grouped["totals"][name] == plain["totals"][name]
        assert sum(g[name] for g in grouped["groups"]) == pytest.approx(plain["totals"][name])
    rows = list(
        csv.DictReader(
            io.StringIO(run_cli("report", str(root), "--as-of", "2026-06-30", "--format", "csv", "--by", by)[1])
        )
    )
    assert sum(int(r["shortfall"]) for r in rows) == plain["totals"]["shortfall"]
    assert sum(int(r["required"]) for r in rows) == plain["totals"]["required"]
    markdown = run_cli("report", str(root), "--as-of", "2026-06-30", "--format", "markdown", "--by", by)[1]
    total = (
        f"| Total | {plain['totals']['required']} | {plain['totals']['assigned']} | {plain['totals']['shortfall']} |"
    )
    assert total in markdown


def test_the_xlsx_export_has_a_sheet_per_grouping(tmp_path: Path) -> None:
    import openpyxl

    from calcheck.outputs import export

    result = engine.check(write_chargeback(tmp_path), AS_OF)
    files = export.bundle(result, "xlsx", None)
    book = openpyxl.load_workbook(io.BytesIO(files["calcheck-export.xlsx"]))
    assert book.sheetnames == ["elp", "assignments", "proofs", "by-department", "by-cost-centre"]
    assert [list(row) for row in book["by-cost-centre"].iter_rows(values_only=True)] == [
        [
            "group",
            "cal",
            "name",
            "version",
            "type",
            "required",
            "assigned",
            "shortfall",
            "unit_price",
            "chargeback",
            "shortfall_cost",
            "currency",
        ],
        ["CC-100", "windows-server", "Windows Server CAL", "2022", "user", 2, 2, 0, "40.00", "80.00", "0.00", "EUR"],
        [
            "CC-100",
            "exchange-standard",
            "Exchange Server Standard CAL",
            "2019",
            "user",
            2,
            1,
            1,
            "70.00",
            "140.00",
            "70.00",
            "EUR",
        ],
        ["CC-200", "microsoft-365-e3", "Microsoft 365 E3", None, "user", 1, 1, 0, "30.00", "30.00", "0.00", "EUR"],
    ]


def test_the_site_shows_subscriptions_and_the_position_by_group(tmp_path: Path) -> None:
    from calcheck.site.pages import SiteInput, render_site

    result = engine.check(write_chargeback(tmp_path), AS_OF)
    files = render_site(SiteInput(result))
    assert '<td>Microsoft 365 E3 (User)</td><td class="cc-keep">subscription</td>' in files["index.md"]
    assert ">M365</a>" in files["holdings.md"]
    page = files["by-group.md"]
    assert (
        '<table class="cc-data" id="by-cost-centre" style="min-width:24rem">\n<thead><tr><th>Cost centre</th>'
        '<th class="cc-num">Required</th><th class="cc-num">Assigned</th><th class="cc-num">Shortfall</th>'
        '<th class="cc-num">Chargeback</th><th class="cc-num">Shortfall cost</th></tr></thead>\n<tbody>'
        '<tr><td>CC-100</td><td class="cc-num">4</td><td class="cc-num">3</td><td class="cc-num">1</td>'
        '<td class="cc-num">220.00 EUR</td><td class="cc-num">70.00 EUR</td></tr>'
        '<tr><td>CC-200</td><td class="cc-num">1</td><td class="cc-num">1</td><td class="cc-num">0</td>'
        '<td class="cc-num">30.00 EUR</td><td class="cc-num">0.00 EUR</td></tr></tbody>\n'
        '<tfoot><tr class="cc-total"><td>Total</td><td class="cc-num">5</td><td class="cc-num">4</td>'
        '<td class="cc-num">1</td><td class="cc-num">250.00 EUR</td><td class="cc-num">70.00 EUR</td></tr></tfoot>'
    ) in page
    assert '<tr><td>Finance</td><td class="cc-num">4</td><td class="cc-num">3</td><td class="cc-num">1</td>' in page


def test_an_estate_adds_an_education_plan_and_imports_it(
    tmp_path: Path, run_cli: Callable[..., tuple[int, str, str]]
) -> None:
    extension = (
        "kind: catalogue\ncals:\n"
        "  - {id: microsoft-365-a3, name: Microsoft 365 A3 for faculty, kind: suite, offering: subscription,"
        " contains: [windows-server, exchange-standard], skus: [M365EDU_A3_FACULTY]}\n"
        "  - {id: bridge-a3, name: Some Bridge, kind: suite, offering: bridge, contains: [adrms],"
        " qualifying: [microsoft-365-a9]}\n"
    )
    root = write_chargeback(
        tmp_path,
        {
            "catalogue/education.yaml": extension,
            "holdings/holdings.yaml": holdings(online("A3", "microsoft-365-a3", 3)),
            "assignments/assignments.yaml": assignments(("A3", "alice")),
        },
    )
    export = tmp_path / "users.csv"
    export.write_text(
        "User principal name,Licenses\nbob,M365EDU_A3_FACULTY\ncarol,Microsoft 365 A3 for faculty\n", encoding="utf-8"
    )
    code, out, _ = run_cli(
        "import", "subscriptions", str(export), "--path", str(root), "--on", "2026-06-30", "--partial"
    )
    assert code == 0
    assert "2 users matched: 2 assignments added, 0 kept, 0 ended" in out
    result = engine.check(root, AS_OF)
    assert {p.label: tuple(p.counts()) for p in result.context.position.pools} == {
        "Microsoft 365 A3 for faculty (User)": (3, 3, 3, 0, 0, 0)
    }
    assert [(f.rule, f.message) for f in result.findings if f.severity.name == "ERROR"] == [
        ("unknown-reference", "bridge-a3: unknown cal 'microsoft-365-a9'")
    ]
