"""The licence terms of issue 14, each as a whole estate with its position and findings worked out by hand.

Every scenario starts from the rule examples' base estate (alice and bob, employees, reach a Windows Server 2022
domain controller; holding WS22-U has 3 User CALs at 40, assigned to both), changes a few files, and states every
pool as (owned, assigned, required, surplus, shortfall, reclaimable), the shortfall cost and the findings as
(rule, first record), as of 2026-06-30.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from calcheck.licensing import engine
from calcheck.licensing.explain import explain, render_text
from calcheck.licensing.rules.example import base_files, write_estate
from tests.conftest import ROOT

AS_OF = dt.date(2026, 6, 30)
Row = tuple[int, int, int, int, int, int]
PROOF = "proof: [{type: invoice, ref: INV-1}]"


def holding(hid: str, cal: str, version: str | None, kind: str, qty: int, extra: str = "", price: float = 40) -> str:
    shown = f'version: "{version}", ' if version else ""
    return (
        f"  - {{id: {hid}, cal: {cal}, {shown}type: {kind}, quantity: {qty}, channel: volume, agreement: EA-1, "
        f"purchased: 2024-02-01, unit_price: {price}, {extra}{PROOF}}}\n"
    )


def holdings(*items: str) -> str:
    return "kind: holdings\nholdings:\n" + "".join(items)


def rows(kind: str, *items: str) -> str:
    return f"kind: {kind}\n{kind}:\n" + "".join(f"  - {{{item}}}\n" for item in items)


def dep(did: str, product: str, version: str, access: str, extra: str = "") -> str:
    return f'id: {did}, name: {did}, product: {product}, version: "{version}", hosts: [SRV-1], {extra}access: {access}'


ALICE = "id: alice, name: Alice, kind: employee, status: active"
BOB = "id: bob, name: Bob, kind: employee, status: active"
A1 = "id: A-1, holding: WS22-U, person: alice, since: 2024-03-01"
A2 = "id: A-2, holding: WS22-U, person: bob, since: 2024-03-01"
DC = dep("dc", "windows-server", "2022", "{everyone: true}")
WS22 = holding("WS22-U", "windows-server", "2022", "user", 3)
DEVICES = ("id: PC-1, kind: workstation, status: active", "id: SRV-1, kind: server, status: active")
KIOSK_PEOPLE = rows(
    "people",
    ALICE,
    BOB,
    *(f"id: w{i}, name: Worker {i}, kind: employee, status: active, devices: [KIOSK-1]" for i in (1, 2, 3)),
)
KIOSK_DEVICES = rows("devices", *DEVICES, "id: KIOSK-1, kind: kiosk, status: active")
PARTNER = "id: partner, name: Partner, kind: external, status: active"
EC22 = holding("EC-22", "external-connector", "2022", "server", 1, price=2300)
EC_ON_SRV1 = "id: A-3, holding: EC-22, device: SRV-1, since: 2024-03-01"
USER_WS22 = "Windows Server CAL 2022 (User)"
DEVICE_WS22 = "Windows Server CAL 2022 (Device)"


@dataclass
class Scenario:
    name: str
    changes: dict[str, str]
    pools: dict[str, Row]
    cost: float | None
    findings: list[tuple[str, str]]


SCENARIOS = [
    # 1. User and Device CALs
    Scenario("shift workers reach the server only through a kiosk with a Device CAL",
             {"people/people.yaml": KIOSK_PEOPLE, "devices/devices.yaml": KIOSK_DEVICES,
              "holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-D, device: KIOSK-1, since: 2024-03-01")},
             {DEVICE_WS22: (1, 1, 1, 0, 0, 0), USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0,
             [("headroom", "WS22-D")]),
    Scenario("shift workers reach the server through a kiosk without a Device CAL: one is missing, not three",
             {"people/people.yaml": KIOSK_PEOPLE, "devices/devices.yaml": KIOSK_DEVICES},
             {DEVICE_WS22: (0, 0, 1, 0, 1, 0), USER_WS22: (3, 2, 2, 1, 0, 0)}, None,
             [("uncovered-access", "KIOSK-1")]),
    Scenario("a User CAL holder also using an unlicensed device is covered",
             {"people/people.yaml": rows("people", ALICE + ", devices: [PC-1, PC-2]", BOB),
              "devices/devices.yaml": rows("devices", *DEVICES, "id: PC-2, kind: workstation, status: active")},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, []),
    Scenario("one Device CAL among two devices does not cover their user",
             {"people/people.yaml": rows("people", ALICE, BOB, "id: carol, name: Carol, kind: employee, "
                                         "status: active, devices: [PC-1, PC-2]"),
              "devices/devices.yaml": rows("devices", *DEVICES, "id: PC-2, kind: workstation, status: active"),
              "holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-D, device: PC-1, since: 2024-03-01")},
             {DEVICE_WS22: (1, 1, 0, 1, 0, 0), USER_WS22: (3, 2, 3, 0, 0, 0)}, 0.0,
             [("headroom", "WS22-D"), ("uncovered-access", "carol")]),
    Scenario("a listed device whose only user holds a User CAL needs no Device CAL",
             {"people/people.yaml": rows("people", ALICE + ", devices: [PC-1]", BOB),
              "deployments/deployments.yaml": rows("deployments", dep("dc", "windows-server", "2022",
                                                                      "{people: [alice, bob], devices: [PC-1]}"))},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, []),
    Scenario("a listed device nobody is recorded as using needs its own Device CAL",
             {"deployments/deployments.yaml": rows("deployments", dep("dc", "windows-server", "2022",
                                                                      "{everyone: true, devices: [PC-1]}"))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), DEVICE_WS22: (0, 0, 1, 0, 1, 0)}, None,
             [("uncovered-access", "PC-1")]),
    # 2. External users, per product
    Scenario("an external Exchange user needs no Exchange CAL; the Windows Server under it is covered by the EC",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "mail", "exchange-server", "2019", "{people: [partner]}",
                  'os_version: "2022", external_connectors: [EC-22], ')),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0)},
             0.0, []),
    Scenario("an external Exchange user without a connector lacks only the Windows Server CAL",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "mail", "exchange-server", "2019", "{people: [partner]}", 'os_version: "2022", '))},
             {USER_WS22: (3, 2, 3, 0, 0, 0)}, 0.0, [("external-users", "partner")]),
    Scenario("Exchange's additional functionality needs base and additive CALs, external or not",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "archive", "exchange-server", "2019", "{people: [partner]}",
                  'os_version: "2022", features: [enterprise], external_connectors: [EC-22], ')),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0),
              "Exchange Server Standard CAL 2019 (User)": (0, 0, 1, 0, 1, 0),
              "Exchange Server Enterprise CAL 2019 (User)": (0, 0, 1, 0, 1, 0)},
             None, [("external-users", "partner"), ("external-users", "partner")]),
    Scenario("an external user of SQL Server (Server+CAL) needs a SQL Server CAL; no connector stands in",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "erp", "sql-server", "2022", "{people: [partner]}",
                  'edition: Standard, os_version: "2022", external_connectors: [EC-22], ')),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0),
              "SQL Server CAL 2022 (User)": (0, 0, 1, 0, 1, 0)}, None, [("external-users", "partner")]),
    # 3. Editions and licensing models
    Scenario("SQL Server Standard licensed per core needs no SQL Server CALs",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "erp", "sql-server", "2022", "{people: [alice, bob]}",
                 'edition: Standard, licensing_model: per-core, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, []),
    Scenario("SQL Server Enterprise needs no SQL Server CALs",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "erp", "sql-server", "2022", "{people: [alice, bob]}", 'edition: enterprise, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, []),
    Scenario("SQL Server Standard, Server+CAL, needs a SQL Server CAL per user",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "erp", "sql-server", "2022", "{people: [alice, bob]}", 'edition: Standard, os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("SQL-U", "sql-server", "2022", "user", 1, price=200)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: SQL-U, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SQL Server CAL 2022 (User)": (1, 1, 2, 0, 1, 0)}, 200.0,
             [("headroom", "SQL-U"), ("uncovered-access", "bob")]),
    Scenario("an unknown edition is a finding, and CALs stay required",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "erp", "sql-server", "2022", "{people: [alice]}", 'edition: Enterprize, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SQL Server CAL 2022 (User)": (0, 0, 1, 0, 1, 0)}, None,
             [("edition", "erp"), ("uncovered-access", "alice")]),
    Scenario("Windows Server Essentials needs no CALs",
             {"deployments/deployments.yaml": rows("deployments", dep(
                 "dc", "windows-server", "2022", "{everyone: true}", "edition: Essentials, ")),
              "assignments/assignments.yaml": "kind: assignments\nassignments: []\n"},
             {USER_WS22: (3, 0, 0, 3, 0, 0)}, 0.0, []),
    Scenario("Windows Server Essentials reached by 26 users is over its limit",
             {"deployments/deployments.yaml": rows("deployments", dep(
                 "dc", "windows-server", "2022", "{everyone: true}", "edition: Essentials, ")),
              "people/people.yaml": rows("people", *(f"id: u{i:02d}, name: U{i}, kind: employee, status: active"
                                                    for i in range(26))),
              "assignments/assignments.yaml": "kind: assignments\nassignments: []\n"},
             {USER_WS22: (3, 0, 0, 3, 0, 0)}, 0.0, [("essentials-limits", "dc")]),
    # 4. Server-to-server
    Scenario("a server reaching a server needs no CAL",
             {"deployments/deployments.yaml": rows("deployments", dep(
                 "dc", "windows-server", "2022", "{everyone: true, devices: [SRV-1]}"))},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, []),
    # 5. Subscription Edition fall-back
    Scenario("SharePoint SE CALs whose SA lapsed still cover SharePoint 2019",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "intranet", "sharepoint-server", "2019", "{people: [alice]}", 'os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("SPSE", "sharepoint-standard", "SE", "user", 1,
                                                               "sa_until: 2026-01-31, ", 90)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: SPSE, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SharePoint Server Standard CAL 2019 (User)": (1, 1, 1, 0, 0, 0)},
             0.0, [("headroom", "SPSE")]),
    Scenario("SharePoint SE CALs whose SA lapsed do not cover SharePoint SE",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "intranet", "sharepoint-server", "SE", "{people: [alice]}", 'os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("SPSE", "sharepoint-standard", "SE", "user", 1,
                                                               "sa_until: 2026-01-31, ", 90)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: SPSE, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SharePoint Server Standard CAL 2019 (User)": (1, 1, 0, 1, 0, 0),
              "SharePoint Server Standard CAL SE (User)": (0, 0, 1, 0, 1, 0)},
             90.0, [("cal-version", "alice"), ("headroom", "SPSE")]),
    Scenario("Project Server 2019 CALs with SA active when SE was made available (2021-11) cover Project Server SE",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "pm", "project-server", "SE", "{people: [alice]}", 'os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("PS19", "project-server", "2019", "user", 1,
                                                               "sa_until: 2027-01-31, ", 60).replace(
                                                                   "2024-02-01", "2021-02-01")),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: PS19, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Project Server CAL 2019 (User)": (1, 1, 1, 0, 0, 0)},
             0.0, [("headroom", "PS19")]),
    Scenario("SA active on 2012-10-28, when SharePoint 2013 was made available, grants 2013 to a 2010 CAL",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "intranet", "sharepoint-server", "2013", "{people: [alice]}", 'os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("SP10", "sharepoint-standard", "2010", "user", 1,
                                                               "sa_until: 2012-11-15, ", 50).replace(
                                                                   "2024-02-01", "2011-02-01")),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: SP10, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SharePoint Server Standard CAL 2010 (User)": (1, 1, 1, 0, 0, 0)},
             0.0, [("headroom", "SP10")]),
    Scenario("a Project Server 2016 CAL with SA when SE was made available (2021-11) keeps SE's fall-back, 2019",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "pm", "project-server", "2019", "{people: [alice]}", 'os_version: "2022", ')),
              "holdings/holdings.yaml": holdings(WS22, holding("PS16", "project-server", "2016", "user", 1,
                                                               "sa_until: 2021-12-31, ", 60).replace(
                                                                   "2024-02-01", "2019-01-01")),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: PS16, person: alice, since: 2024-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Project Server CAL 2016 (User)": (1, 1, 1, 0, 0, 0)},
             0.0, [("headroom", "PS16")]),
    # 6. External Connector version against the Windows Server underneath
    Scenario("a 2022 External Connector does not cover Exchange running on Windows Server 2025",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "mail", "exchange-server", "2019", "{people: [partner]}",
                  'os_version: "2025", external_connectors: [EC-22], ')),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 0, 1, 0, 0),
              "Windows Server CAL 2025 (User)": (0, 0, 1, 0, 1, 0)}, 40.0, [("external-users", "partner")]),
    # 7. RD Licensing server per session host
    Scenario("RDS 2025 CALs cannot serve a host whose licensing server runs 2022",
             {"deployments/deployments.yaml": rows(
                 "deployments", DC,
                 dep("lic-2022", "windows-server", "2022", "{}", "roles: [rd-licensing], "),
                 dep("lic-2025", "windows-server", "2025", "{}", "roles: [rd-licensing], "),
                 dep("rds", "windows-server", "2022", "{people: [alice]}",
                     "roles: [rds-session-host], rds_licensing_mode: per-user, rds_licensing_server: lic-2022, ")),
              "holdings/holdings.yaml": holdings(WS22, holding("RDS25", "rds", "2025", "user", 1, price=110)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: RDS25, person: alice, since: 2025-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Remote Desktop Services CAL 2022 (User)": (0, 0, 1, 0, 1, 0),
              "Remote Desktop Services CAL 2025 (User)": (1, 1, 0, 1, 0, 0)}, 110.0,
             [("headroom", "RDS25"), ("rds-licensing-server-version", "alice")]),
    Scenario("RDS 2025 CALs serve a host whose licensing server runs 2025",
             {"deployments/deployments.yaml": rows(
                 "deployments", DC,
                 dep("lic-2022", "windows-server", "2022", "{}", "roles: [rd-licensing], "),
                 dep("lic-2025", "windows-server", "2025", "{}", "roles: [rd-licensing], "),
                 dep("rds", "windows-server", "2022", "{people: [alice]}",
                     "roles: [rds-session-host], rds_licensing_mode: per-user, rds_licensing_server: lic-2025, ")),
              "holdings/holdings.yaml": holdings(WS22, holding("RDS25", "rds", "2025", "user", 1, price=110)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: RDS25, person: alice, since: 2025-03-01")},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Remote Desktop Services CAL 2025 (User)": (1, 1, 1, 0, 0, 0)}, 0.0,
             [("headroom", "RDS25")]),
    # 8. Administrators
    Scenario("an exempt administrator needs no RDS CAL for Remote Desktop for Administration",
             {"deployments/deployments.yaml": rows("deployments", DC, dep(
                 "rds", "windows-server", "2022", "{people: [alice, bob]}",
                 "roles: [rds-session-host], rds_licensing_mode: per-user, exemptions: {administrators: [alice]}, "))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Remote Desktop Services CAL 2022 (User)": (0, 0, 1, 0, 1, 0)}, None,
             [("uncovered-access", "bob")]),
    # 9. Reassignment exceptions
    Scenario("a device retired in working order frees its CAL only 90 days after it was assigned",
             {"devices/devices.yaml": rows("devices", "id: PC-1, kind: workstation, status: retired, "
                                           "retired: 2026-06-15", DEVICES[1]),
              "holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-D, device: PC-1, since: 2026-05-01")},
             {DEVICE_WS22: (1, 1, 0, 1, 0, 0), USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0,
             [("headroom", "WS22-D"), ("reclaimable", "A-3")]),
    Scenario("a failed device frees its CAL at once",
             {"devices/devices.yaml": rows("devices", "id: PC-1, kind: workstation, status: failed, "
                                           "retired: 2026-06-15", DEVICES[1]),
              "holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-D, device: PC-1, since: 2026-05-01")},
             {DEVICE_WS22: (1, 1, 0, 1, 0, 1), USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0,
             [("headroom", "WS22-D"), ("reclaimable", "A-3")]),
    # 10. Temporary cover
    Scenario("while bob is on leave his CAL covers carol, and bob needs none",
             {"people/people.yaml": rows("people", ALICE, "id: bob, name: Bob, kind: employee, status: on-leave",
                                         "id: carol, name: Carol, kind: employee, status: active"),
              "holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 2)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-U, person: carol, since: 2026-06-01, "
                                                   "until: 2026-07-31, temporary: true, replaces: A-2")},
             {USER_WS22: (2, 2, 2, 0, 0, 0)}, 0.0, [("headroom", "WS22-U")]),
    # 11. External-user definition per agreement
    Scenario("a contractor without hours under a 2025 agreement is a finding and needs a CAL",
             {"calcheck.yaml": "kind: config\norganisation: X\nagreements:\n"
                               "  - {id: EA-1, type: enterprise-agreement, signed: 2025-01-01}\n",
              "people/people.yaml": rows("people", ALICE, BOB, "id: cid, name: C, kind: contractor, status: active")},
             {USER_WS22: (3, 2, 3, 0, 0, 0)}, 0.0, [("external-undetermined", "cid"), ("uncovered-access", "cid")]),
    Scenario("a remote 40-hour contractor is external under a 2023 connector's agreement, not under a 2025 one",
             {"calcheck.yaml": "kind: config\norganisation: X\nagreements:\n"
                               "  - {id: EA-1, type: enterprise-agreement, signed: 2025-01-01}\n"
                               "  - {id: EA-OLD, type: enterprise-agreement, signed: 2023-01-01}\n",
              "people/people.yaml": rows("people", ALICE, BOB, "id: cid, name: C, kind: contractor, status: active, "
                                         "onsite: false, hours_per_week: 40"),
              "deployments/deployments.yaml": rows("deployments", dep(
                  "dc", "windows-server", "2022", "{people: [alice, bob, cid]}", "external_connectors: [EC-22], ")),
              "holdings/holdings.yaml": holdings(WS22, EC22.replace("agreement: EA-1", "agreement: EA-OLD")),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0)},
             0.0, []),
    Scenario("the same contractor and connector under the 2025 agreement: internal, so a CAL",
             {"calcheck.yaml": "kind: config\norganisation: X\nagreements:\n"
                               "  - {id: EA-1, type: enterprise-agreement, signed: 2025-01-01}\n",
              "people/people.yaml": rows("people", ALICE, BOB, "id: cid, name: C, kind: contractor, status: active, "
                                         "onsite: false, hours_per_week: 40"),
              "deployments/deployments.yaml": rows("deployments", dep(
                  "dc", "windows-server", "2022", "{people: [alice, bob, cid]}", "external_connectors: [EC-22], ")),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 3, 0, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 0, 1, 0, 0)},
             0.0, [("uncovered-access", "cid")]),
    # 13. Service accounts and multiplexing
    Scenario("people behind a front end need CALs as if direct; the service account needs none",
             {"people/people.yaml": rows("people", ALICE, BOB, "id: svc, name: S, kind: service-account, "
                                         "status: active"),
              "deployments/deployments.yaml": rows(
                  "deployments", DC,
                  dep("portal", "windows-server", "2022", "{people: [alice, bob]}", "roles: [web], "),
                  dep("erp", "sql-server", "2022", "{people: [svc], via: [portal]}",
                      'edition: Standard, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SQL Server CAL 2022 (User)": (0, 0, 2, 0, 2, 0)}, None,
             [("uncovered-access", "alice"), ("uncovered-access", "bob")]),
    Scenario("a deployment reached only by a service account has its people missing",
             {"people/people.yaml": rows("people", ALICE, BOB, "id: svc, name: S, kind: service-account, "
                                         "status: active"),
              "deployments/deployments.yaml": rows(
                  "deployments", DC, dep("erp", "sql-server", "2022", "{people: [svc]}",
                                         'edition: Standard, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0)}, 0.0, [("multiplexing", "erp")]),
    # An auditor's pass over the computation
    Scenario("an External Connector assigned to the host covers external users of every deployment on it",
             {"people/people.yaml": rows("people", ALICE, BOB, PARTNER),
              "deployments/deployments.yaml": rows("deployments", dep(
                  "dc", "windows-server", "2022", "{people: [alice, bob, partner]}"), dep(
                  "mail", "exchange-server", "2019", "{people: [partner]}",
                  'os_version: "2022", external_connectors: [EC-22], ')),
              "holdings/holdings.yaml": holdings(WS22, EC22),
              "assignments/assignments.yaml": rows("assignments", A1, A2, EC_ON_SRV1)},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Windows Server External Connector 2022 (Server)": (1, 1, 1, 0, 0, 0)},
             0.0, []),
    Scenario("an application server reaching SQL Server needs a SQL Server CAL: it is not licensed to run SQL Server",
             {"devices/devices.yaml": rows("devices", *DEVICES, "id: APP-1, kind: server, status: active"),
              "deployments/deployments.yaml": rows(
                  "deployments", DC,
                  dep("app", "windows-server", "2022", "{people: [alice, bob]}").replace("[SRV-1]", "[APP-1]"),
                  dep("erp", "sql-server", "2022", "{devices: [APP-1]}", 'edition: Standard, os_version: "2022", '))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "SQL Server CAL 2022 (Device)": (0, 0, 1, 0, 1, 0)}, None,
             [("uncovered-access", "APP-1")]),
    Scenario("a server that runs no deployment of the product is not shown to be licensed for it: it needs a CAL",
             {"devices/devices.yaml": rows("devices", *DEVICES, "id: SRV-2, kind: server, status: active"),
              "deployments/deployments.yaml": rows(
                  "deployments", dep("dc", "windows-server", "2022", "{everyone: true, devices: [SRV-2]}"))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), DEVICE_WS22: (0, 0, 1, 0, 1, 0)}, None,
             [("uncovered-access", "SRV-2")]),
    Scenario("an RDS host licensed per device needs an RDS Device CAL on each device, never one on their user",
             {"people/people.yaml": rows("people", ALICE + ", devices: [PC-1, PC-2]", BOB),
              "devices/devices.yaml": rows("devices", *DEVICES, "id: PC-2, kind: workstation, status: active"),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "rdsh", "windows-server", "2022", "{people: [alice]}",
                  "roles: [rds-session-host], rds_licensing_mode: per-device, "))},
             {USER_WS22: (3, 2, 2, 1, 0, 0), "Remote Desktop Services CAL 2022 (Device)": (0, 0, 2, 0, 2, 0)}, None,
             [("uncovered-access", "PC-1"), ("uncovered-access", "PC-2")]),
    Scenario("an RDS host licensed per user needs an RDS User CAL for each kiosk worker, never one on the kiosk",
             {"people/people.yaml": KIOSK_PEOPLE, "devices/devices.yaml": KIOSK_DEVICES,
              "holdings/holdings.yaml": holdings(WS22, holding("WS22-D", "windows-server", "2022", "device", 1)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-D, device: KIOSK-1, since: 2024-03-01"),
              "deployments/deployments.yaml": rows("deployments", DC, dep(
                  "rdsh", "windows-server", "2022", "{people: [w1, w2, w3]}",
                  "roles: [rds-session-host], rds_licensing_mode: per-user, "))},
             {DEVICE_WS22: (1, 1, 1, 0, 0, 0), USER_WS22: (3, 2, 2, 1, 0, 0),
              "Remote Desktop Services CAL 2022 (User)": (0, 0, 3, 0, 3, 0)}, None,
             [("headroom", "WS22-D"), ("uncovered-access", "w1"), ("uncovered-access", "w2"),
              ("uncovered-access", "w3")]),
    Scenario("while bob is on leave, the device listed on the server he used needs a Device CAL, not bob a User CAL",
             {"people/people.yaml": rows("people", ALICE, "id: bob, name: Bob, kind: employee, status: on-leave, "
                                         "devices: [PC-1]", "id: carol, name: Carol, kind: employee, status: active"),
              "deployments/deployments.yaml": rows("deployments", dep("dc", "windows-server", "2022",
                                                                      "{everyone: true, devices: [PC-1]}")),
              "holdings/holdings.yaml": holdings(holding("WS22-U", "windows-server", "2022", "user", 2)),
              "assignments/assignments.yaml": rows("assignments", A1, A2,
                                                   "id: A-3, holding: WS22-U, person: carol, since: 2026-06-01, "
                                                   "until: 2026-07-31, temporary: true, replaces: A-2")},
             {USER_WS22: (2, 2, 2, 0, 0, 0), DEVICE_WS22: (0, 0, 1, 0, 1, 0)}, 40.0,
             [("headroom", "WS22-U"), ("uncovered-access", "PC-1")]),
]  # fmt: skip


def check(scenario: Scenario, tmp_path: Path, as_of: dt.date = AS_OF) -> engine.CheckResult:
    root = write_estate({**base_files(), **scenario.changes}, tmp_path / "licenses")
    return engine.check(root, as_of)


def position(result: engine.CheckResult) -> dict[str, Row]:
    return {p.label: tuple(p.counts()) for p in result.context.position.pools}  # type: ignore[misc]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_hand_computed_position(scenario: Scenario, tmp_path: Path) -> None:
    result = check(scenario, tmp_path)
    assert position(result) == scenario.pools
    assert result.context.position.shortfall_cost == scenario.cost
    assert sorted((f.rule, f.records[0] if f.records else "") for f in result.findings) == scenario.findings


def scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name.startswith(name))


def messages(name: str, tmp_path: Path) -> list[str]:
    return [
        f"{f.rule}: {f.message} | {f.hint}" for f in check(scenario(name), tmp_path).findings if f.rule != "headroom"
    ]


def test_the_kiosk_is_missing_one_device_cal_and_the_hint_says_so(tmp_path: Path) -> None:
    assert messages("shift workers reach the server through a kiosk without", tmp_path) == [
        "uncovered-access: device KIOSK-1 reaches dc without a Windows Server CAL 2022 (Device) or newer (used by "
        "w1, w2 and w3, who hold no User CAL for it) | buy 1 Windows Server CAL 2022 (Device): no holding has one "
        "unassigned (cheaper than User CALs for w1, w2 and w3)"
    ]


def test_explain_counts_the_kiosk_once_and_its_workers_not_at_all(tmp_path: Path) -> None:
    result = check(scenario("shift workers reach the server only through a kiosk"), tmp_path)
    analysis = result.context.analysis
    kiosk = render_text(result.estate, analysis, explain(result.estate, analysis, ("device", "KIOSK-1")))
    assert "  Windows Server CAL 2022 (Device): A-3 from WS22-D (for dc, also for w1, w2 and w3)\n" in kiosk
    worker = render_text(result.estate, analysis, explain(result.estate, analysis, ("person", "w1")))
    assert (
        "  OK       Windows Server CAL 2022 (User) or newer for dc: covered by the Device CALs of KIOSK-1 (A-3)\n"
        in (worker)
    )
    assert "counted in the licence position: nothing\n" in worker


def test_external_exchange_user_is_never_offered_a_windows_connector_for_exchange(tmp_path: Path) -> None:
    found = messages("an external Exchange user without a connector", tmp_path)
    assert found == [
        "external-users: person partner reaches mail without a Windows Server CAL 2022 (User) or newer | assign a "
        "Windows Server External Connector to every host of mail (SRV-1), or assign a Windows Server CAL 2022 (User) "
        "to partner (WS22-U has 1 unassigned)"
    ]
    sql = messages("an external user of SQL Server", tmp_path / "sql")
    assert sql == [
        "external-users: person partner reaches erp without a SQL Server CAL 2022 (User) or newer | buy 1 SQL Server "
        "CAL 2022 (User): no holding has one unassigned; no External Connector covers SQL Server CAL"
    ]


def test_hint_assigns_what_is_unassigned_and_buys_the_rest(tmp_path: Path) -> None:
    people = [ALICE, BOB, *(f"id: p{i}, name: P{i}, kind: employee, status: active" for i in range(4))]
    changes = {"people/people.yaml": rows("people", *people)}
    result = check(Scenario("six", changes, {}, None, []), tmp_path)
    hints = sorted({f.hint for f in result.findings if f.rule == "uncovered-access"})
    assert hints == [
        "assign the 1 unassigned from WS22-U, then buy 3 more Windows Server CALs 2022 (User) (4 lack one)"
    ]


def test_reclaiming_a_retired_device_says_from_when(tmp_path: Path) -> None:
    found = messages("a device retired in working order", tmp_path)
    assert found == [
        "reclaimable: A-3: the Windows Server CAL from WS22-D is not reclaimable before 2026-07-30: device PC-1 was "
        "retired on 2026-06-15 in working order, and was assigned on 2026-05-01 | retiring a working device is no "
        "exception to the 90-day rule: reassign the CAL from that date, or record the device as failed or lost if "
        "it is"
    ]


def test_temporary_cover_ends_and_the_cal_is_back_with_the_absent_person(tmp_path: Path) -> None:
    later = check(scenario("while bob is on leave"), tmp_path, dt.date(2026, 8, 15))
    assert position(later) == {USER_WS22: (2, 2, 3, 0, 1, 0)}
    assert [(f.rule, f.records[0]) for f in later.findings if f.rule != "headroom"] == [
        ("temporary-expired", "A-3"),
        ("uncovered-access", "carol"),
    ]
    back = render_text(
        later.estate, later.context.analysis, explain(later.estate, later.context.analysis, ("person", "bob"))
    )
    assert "covered by A-2 from WS22-U" in back


def test_transfer_temporary_records_cover_without_force(
    run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    people = tmp_path / "licenses" / "people" / "engineering.yaml"
    people.write_text(
        people.read_text() + "  - {id: cover.worker, name: Cover Worker, kind: employee, status: active, "
        "department: Engineering, groups: [build-farm]}\n"
    )
    register = tmp_path / "licenses" / "assignments" / "engineering.yaml"
    before = register.read_text()
    code, out, _ = run_cli("transfer", "A-0038", "--to-person", "cover.worker", "--on", "2026-12-01", "--temporary",
                           "--until", "2027-01-31", "--reason", "temporary-cover", "--as-of", "2026-12-01")  # fmt: skip
    assert code == 0, out
    assert register.read_text() == before + (
        "  - {id: A-0163, holding: EA-WS25-USER, person: cover.worker, since: 2026-12-01, until: 2027-01-31, "
        "temporary: true, replaces: A-0038, reason: temporary-cover}\n"
    )
    assert out.splitlines()[-1] == (
        "EA-WS25-USER: A-0038 (mona.fischer) covers person cover.worker from 2026-12-01 until 2027-01-31"
    )
    during = engine.check(tmp_path / "licenses", dt.date(2026, 12, 15))
    mona = explain(during.estate, during.context.analysis, ("person", "mona.fischer"))
    assert {(e.need.deployment.id, e.reason) for e in mona.exemptions if e.need.cal == "windows-server"} == {
        (dep, "on leave: the CAL of A-0038 is with cover.worker until 2027-01-31 (temporary cover)")
        for dep in ("build-farm", "dc-files", "exchange")
    }
    assert [(f.rule, f.records) for f in during.findings if f.severity.label == "error"] == [
        ("uncovered-access", ("cover.worker", "exchange"))  # the cover was given the Windows Server CAL only
    ]
    after = engine.check(tmp_path / "licenses", dt.date(2027, 2, 15))
    mona = explain(after.estate, after.context.analysis, ("person", "mona.fischer"))
    assert {c.covered_by.assignment.id for c in mona.coverages if c.covered_by and c.need.cal == "windows-server"} == {
        "A-0038"
    }


def git(repo: Path, *args: str, date: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana Admin", "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Admin", "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)


def commit(repo: Path, message: str, date: str) -> None:
    git(repo, "add", "-A", date=date)
    git(repo, "commit", "-q", "-m", message, date=date)


def test_ids_are_never_reused(
    run_cli: Callable[..., tuple[int, str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", date="2026-01-05T09:00:00+00:00")
    people = rows("people", ALICE, BOB, "id: carol, name: Carol, kind: employee, status: active")
    estate = write_estate({**base_files(), "people/people.yaml": people}, root / "licenses")
    register = estate / "assignments" / "assignments.yaml"
    commit(root, "Initial estate", "2026-01-05T09:00:00+00:00")
    register.write_text(rows("assignments", A1))  # bob's assignment removed, as 'unassign --remove' does
    commit(root, "Remove A-2", "2026-02-02T09:00:00+00:00")
    monkeypatch.chdir(root)
    code, out, _ = run_cli("assign", "WS22-U", "--person", "carol", "--since", "2026-02-03", "--as-of", "2026-02-03")
    assert code == 0, out
    assert register.read_text() == rows("assignments", A1, "id: A-3, holding: WS22-U, person: carol, since: 2026-02-03")
    code, _, err = run_cli("assign", "WS22-U", "--person", "bob", "--id", "A-2", "--as-of", "2026-02-03")
    assert code == 2 and "assignment id 'A-2' was used before; ids are never reused" in err
    register.write_text(rows("assignments", A1, "id: A-2, holding: WS22-U, person: carol, since: 2026-02-03"))
    commit(root, "Give carol a CAL under an old id", "2026-02-03T09:00:00+00:00")
    result = run_cli("check", "--as-of", "2026-02-03")[1]
    assert [line for line in result.splitlines() if "[id-reused]" in line] == [
        "licenses/assignments/assignments.yaml:4:10: error [id-reused] A-2 was WS22-U to bob until it was removed; "
        "commit " + result.split("commit ")[1][:7] + " (2026-02-03) gave the id to WS22-U to carol"
    ]


def test_a_per_device_rds_host_names_no_user_cal_as_an_alternative(tmp_path: Path) -> None:
    assert messages("an RDS host licensed per device", tmp_path) == [
        f"uncovered-access: device {pc} reaches rdsh without a Remote Desktop Services CAL 2022 (Device) or newer (used "
        "by alice) | buy 2 Remote Desktop Services CALs 2022 (Device): no holding has one unassigned (2 people and "
        "devices lack one)"
        for pc in ("PC-1", "PC-2")
    ]
