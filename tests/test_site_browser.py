"""The built site as its readers see it: a real headless Chromium (Debian's package), driven by Playwright.

Three sites are built once per module and served under a project sub-path (as GitHub Pages serves a project's
site): the bundled estate with a short git history, the bundled estate full of hostile, bidirectional and very
long strings, and a generated estate of 5,000 people and 10,000 assignments. One browser serves every test.
"""

from __future__ import annotations

import csv as csvlib
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from calcheck.cli import main
from calcheck.licensing.rules import REGISTRY
from tests.conftest import AS_OF, ROOT
from tests.test_site import hostile_estate

# Shown in the README; written by test_dashboard_matches_the_report.
SCREENSHOT = ROOT / "site" / "screenshots" / "dashboard.png"
PREFIX = "/calcheck-site"  # GitHub Pages serves a project's site under /<repository>/
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
RLO = "\u202e"
GIT_ENV = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "Dana",
           "GIT_COMMITTER_EMAIL": "d@x", "PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site below PREFIX only, and its 404 page (with status 404) for anything missing."""

    def log_message(self, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if not path.startswith(PREFIX + "/"):
            self.send_error(404)
            return None
        self.path = path[len(PREFIX) :]
        if not Path(self.translate_path(self.path)).is_file():
            body = (Path(self.directory) / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        return super().send_head()


@dataclass
class Site:
    html: Path
    base: str  # the site's address, ending in PREFIX
    report: dict[str, Any]  # `calcheck report --format json` of the same estate and date
    findings: list[dict[str, Any]]  # `calcheck check --format json` findings

    def pages(self, per_folder: int = 0) -> list[str]:
        """Every page; with ``per_folder``, only that many of each folder of record pages (holdings, ...)."""
        pages = sorted(p.relative_to(self.html).as_posix() for p in self.html.rglob("*.html"))
        if not per_folder:
            return pages
        taken: Counter[str] = Counter()
        chosen = []
        for path in pages:
            folder = path.split("/", 1)[0] if path.startswith(("holdings/", "deployments/")) else ""
            taken[folder] += 1
            if not folder or taken[folder] <= per_folder:
                chosen.append(path)
        return chosen


def _git(cwd: Path, *args: str, date: str = "2026-01-05T09:00:00+00:00") -> None:
    env = {**GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content, (path, old)
    path.write_text(content.replace(old, new, count), encoding="utf-8")


def _json(output: Path, *argv: str) -> dict[str, Any]:
    main([*argv, "--format", "json", "--output", str(output)])
    return dict(json.loads(output.read_text(encoding="utf-8")))


def _serve(html: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    finally:
        server.shutdown()
        server.server_close()


def _build(root: Path) -> Iterator[Site]:
    estate = str(root / "licenses")
    assert main(["site", "build", estate, "--config", str(root / "site" / "mkdocs.yml"), "--as-of", AS_OF]) == 0
    report = _json(root / "report.json", "report", estate, "--as-of", AS_OF)
    check = _json(root / "check.json", "check", estate, "--as-of", AS_OF)
    html = root / "site" / "_build" / "html"
    for base in _serve(html):
        yield Site(html, base, report, check["findings"])


def _project(root: Path) -> Path:
    shutil.copytree(ROOT / "site", root / "site", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "licenses", root / "licenses")
    return root


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The bundled estate in git: short of 7 CALs in January, bought in March, an audit note in June."""
    root = _project(tmp_path_factory.mktemp("bundled"))
    config = root / "licenses" / "calcheck.yaml"
    _replace(config, "publish_proofs: false", "publish_proofs: true")
    holdings = root / "licenses" / "holdings" / "windows-server.yaml"
    _git(root, "init", "-q", "-b", "main")
    _replace(holdings, "quantity: 40", "quantity: 25")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Initial estate", date="2026-01-10T09:00:00+00:00")
    _replace(holdings, "quantity: 25", "quantity: 40")
    _git(root, "commit", "-q", "-am", "Buy 15 Windows Server CALs", date="2026-03-02T09:00:00+00:00")
    _replace(root / "licenses" / "audits" / "2026.yaml", "reclaim scheduled.", "reclaim scheduled for December.")
    _git(root, "commit", "-q", "-am", "Audit note", date="2026-06-20T09:00:00+00:00")
    yield from _build(root)


REPOSITORY = "https://example.org/fabrikam/licences"  # the hostile site's commits link there
LONG_NAME = "Maximiliana-" + "x" * 188  # 200 characters, no space to break at
LONG_SCOPE = "All CALs " + "y" * 1989 + " " + RLO  # 2,000 characters, the most the schema allows
LONG_SUBJECT = "Reassign " + "z" * 4991  # a 5,000-character commit subject


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Script, HTML, bidirectional overrides and very long strings in every kind of field; 7 CALs short."""
    root = _project(tmp_path_factory.mktemp("hostile"))
    hostile_estate(root)
    licenses = root / "licenses"
    _replace(licenses / "calcheck.yaml", "  publish_proofs: false",
             f"  publish_proofs: false\n  repository_url: {REPOSITORY}")  # fmt: skip
    _replace(licenses / "people" / "finance.yaml", "name: Bob Okafor", f"name: {LONG_NAME}")
    _replace(licenses / "people" / "hr.yaml", "department: HR", f"department: 'HR {RLO}evil{RLO} 12345'")
    _replace(licenses / "holdings" / "windows-server.yaml", "quantity: 40", "quantity: 25")
    _replace(licenses / "holdings" / "suites.yaml", "owner: IT licensing", f"owner: 'Owner {RLO}above the 95%'")
    audits = licenses / "audits" / "2026.yaml"
    _replace(audits, "scope: All Windows Server", f"scope: '{LONG_SCOPE}' # All Windows Server")
    _replace(audits, "notes: One retired kiosk", f"notes: '\u2067isolate\u2069 {RLO}override' # One retired kiosk")
    (licenses / "waivers" / "active.yaml").write_text(
        "kind: waivers\nwaivers:\n  - id: W-1\n    rule: headroom\n    owner: IT\n"
        f"    reason: 'Pending {RLO}purchase order {'w' * 600}'\n    expires: 2027-01-31\n",
        encoding="utf-8",
    )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", LONG_SUBJECT + f" {RLO}", date="2026-02-01T09:00:00+00:00")
    yield from _build(root)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """5,000 people, 2,000 devices, 10,000 assignments, 50 holdings, 20 deployments (no history)."""
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "tests" / "benchmarks"))
    root = tmp_path_factory.mktemp("generated")
    shutil.copytree(ROOT / "site", root / "site", ignore=shutil.ignore_patterns("_build"))
    generate.estate(root, 10_000, 5_000, 2_000, 50, 20)
    yield from _build(root)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("browser-home")
    folders = {name: str(home) for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    with sync_playwright() as driver:  # Chromium keeps crash reports and settings in the home folder
        instance = driver.chromium.launch(executable_path=path, args=FLAGS, env={**os.environ, **folders})
        yield instance
        instance.close()


class Watch:
    """Everything a page did that a test wants to see: requests, failures, console errors, dialogs."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", self._failed)
        page.on("response", lambda response: self.failed.append(response.url) if response.status >= 400 else None)
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def _failed(self, request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":  # not a failure: the test moved on before an image arrived
            self.failed.append(request.url)

    def outside(self, base: str) -> list[str]:
        return [url for url in self.requests if not url.startswith((base + "/", "data:", "about:"))]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_function("!document.querySelector('table.cc-data:not([data-ready]), div.cc-table:empty')")


# For every table on the page: cells cut off by the window or by a box that hides its overflow.
CLIPPED = """() => {
  const out = [];
  const width = document.documentElement.clientWidth;
  for (const table of document.querySelectorAll('article table')) {
    let edge = width;
    for (let box = table.parentElement; box; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') { edge = Math.min(edge, box.getBoundingClientRect().left + box.clientWidth); }
    }
    const head = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
    const body = table.tBodies.length && table.tBodies[0].rows.length ? Array.from(table.tBodies[0].rows[0].cells) : [];
    for (const cell of head.concat(body)) {
      const right = cell.getBoundingClientRect().right;
      if (right > edge + 1) { out.push((table.id || table.className) + ': ' + cell.textContent.slice(0, 40) + ' ' + right + ' > ' + edge); }
    }
  }
  return out;
}"""


def _check_layout(page: Any, site: Site, per_folder: int = 0) -> None:
    failures = []
    for path in site.pages(per_folder):
        page.set_viewport_size({"width": 1366, "height": 900})
        _open(page, f"{site.base}/{path}")
        failures += [f"{path} at 1366: {clip}" for clip in page.evaluate(CLIPPED)]
        page.set_viewport_size({"width": 390, "height": 844})
        sideways = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if sideways > 0:
            failures.append(f"{path} at 390: the page scrolls {sideways} px sideways")
    assert failures == []


def test_every_table_fits_the_bundled_site(page: Any, bundled: Site) -> None:
    watch = Watch(page)
    _check_layout(page, bundled)
    assert watch.errors == [] and watch.failed == [] and watch.outside(bundled.base) == []


def test_every_table_fits_with_hostile_and_long_strings(page: Any, hostile: Site) -> None:
    watch = Watch(page)
    _check_layout(page, hostile)
    assert watch.dialogs == [] and watch.errors == [] and watch.failed == [] and watch.outside(hostile.base) == []


def test_every_table_fits_the_generated_site(page: Any, generated: Site) -> None:
    watch = Watch(page)
    _check_layout(page, generated, per_folder=3)  # the other 47 holding and 17 deployment pages are alike
    assert watch.errors == [] and watch.failed == [] and watch.outside(generated.base) == []


def _numbers(page: Any) -> dict[str, str]:
    keys = ("Owned", "Assigned", "Required", "Shortfall", "Reclaimable", "Cost of shortfall", "Errors")
    return {k: page.locator(f'dd[data-key="{k}"]').inner_text() for k in keys}


def _expected(site: Site) -> dict[str, str]:
    totals = site.report["totals"]
    return {
        "Owned": str(totals["owned"]), "Assigned": str(totals["assigned"]), "Required": str(totals["required"]),
        "Shortfall": str(totals["shortfall"]), "Reclaimable": str(totals["reclaimable"]),
        "Cost of shortfall": f"{totals['shortfall_cost']:,.2f} {site.report['currency']}",
        "Errors": str(totals["errors"]),
    }  # fmt: skip


def test_dashboard_matches_the_report(page: Any, bundled: Site, generated: Site) -> None:
    for site in (generated, bundled):
        watch = Watch(page)
        _open(page, f"{site.base}/index.html")
        assert _numbers(page) == _expected(site)
        pools = site.report["pools"]
        assert page.locator("#elp tbody tr").count() == len(pools)
        footer = page.locator("#elp tfoot td").all_inner_texts()
        assert footer[3:9] == [str(site.report["totals"][k]) for k in
                               ("owned", "assigned", "required", "surplus", "shortfall", "reclaimable")]  # fmt: skip
        assert watch.errors == [] and watch.outside(site.base) == []
    assert page.locator("#verdict").inner_text() == "COMPLIANT"
    assert page.locator("#reasons").count() == 0
    shot = page.screenshot(full_page=True)
    if not SCREENSHOT.is_file() or SCREENSHOT.read_bytes() != shot:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(shot)
    assert len(shot) > 20_000


def test_a_not_compliant_verdict_says_why(page: Any, hostile: Site) -> None:
    _open(page, f"{hostile.base}/index.html")
    assert page.locator("#verdict").inner_text() == "NOT COMPLIANT"
    reasons = page.locator("#reasons li").all_inner_texts()
    assert len(reasons) == 2
    assert reasons[0].startswith("7 CALs short (cost 269.50 EUR) in 1 pool: Windows Server CAL 2022 (User) by 7")
    errors = Counter(f["rule"] for f in hostile.findings if f["severity"] == "error")
    assert reasons[1].startswith(f"{sum(errors.values())} error finding")
    for rule, count in errors.items():
        assert f"{rule} {count}" in reasons[1]
    short = page.locator("#reasons li").first.locator("a")
    target = short.get_attribute("href")
    assert target is not None and "cc-short" in (page.locator(f"tr{target}").get_attribute("class") or "")
    background = page.locator(f"tr{target} td").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(253, 236, 234)"
    page.locator("#reasons li").nth(1).locator("a").first.click()
    page.wait_for_selector("table#findings[data-ready]")
    rule = sorted(errors.items(), key=lambda item: (-item[1], item[0]))[0][0]
    assert page.locator("table#findings tbody tr").count() == errors[rule]


def test_trend_chart_tells_the_truth(page: Any, bundled: Site) -> None:
    svg = (bundled.html / "charts" / "position.svg").read_text()
    lines = re.findall(r'<polyline [^>]*points="([^"]+)"', svg)
    assert len(lines) == 4  # owned, assigned, required; the shortfall on its own panel
    xs = [float(point.split(",")[0]) for point in lines[0].split()]
    days = [10, 61, 171, 334]  # 2026-01-10, 03-02, 06-20 and the build date 11-30, as days of the year
    spans = [(xs[i + 1] - xs[i]) / (days[i + 1] - days[i]) for i in range(3)]
    assert max(spans) - min(spans) < 0.01  # spaced by real time
    shortfall = [float(point.split(",")[1]) for point in lines[3].split()]
    assert max(shortfall) - min(shortfall) >= 0.5 * 70  # 7 short fills most of its own 70 px panel
    _open(page, f"{bundled.base}/charts/position.svg")
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('text')).filter(t => /^\\d{4}-\\d\\d-\\d\\d$/.test(t.textContent))"
        ".map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.x + b.width]; })"
    )
    assert [label for label, *_ in boxes] == ["2026-01-10", "2026-03-02", "2026-06-20", "2026-11-30"]
    assert all(left >= 0 and right <= 900 for _, left, right in boxes)
    assert all(boxes[i][2] < boxes[i + 1][1] for i in range(len(boxes) - 1))
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, f"{bundled.base}/index.html")
    chart = page.locator(".cc-chart img").first
    assert chart.evaluate("img => img.currentSrc").endswith("charts/position-narrow.svg")
    shown = chart.evaluate("img => img.getBoundingClientRect().width / img.naturalWidth")
    assert 12 * shown >= 9.5  # the labels' font size on the phone, in CSS pixels
    _open(page, f"{bundled.base}/holdings/EA-WS22-USER.html")
    assert page.locator(".cc-chart img[src*='charts/pool-windows-server']").count() == 1


def test_findings_filter_sort_group_and_page(page: Any, generated: Site) -> None:
    watch = Watch(page)
    _open(page, f"{generated.base}/findings.html")
    total = len(generated.findings)
    assert total > 500
    rows = page.locator("table#findings tbody tr")
    assert rows.count() == 50
    assert page.evaluate("document.documentElement.scrollHeight") < 20_000
    status = page.locator(".cc-status").first
    assert status.inner_text() == f"Rows 1-50 of {total}"
    page.get_by_role("button", name="Next").first.click()
    assert status.inner_text() == f"Rows 51-100 of {total}"
    errors = [f for f in generated.findings if f["severity"] == "error"]
    page.get_by_label("Filter by Severity").select_option("error")
    assert status.inner_text() == f"Rows 1-50 of {len(errors)} (of {total})"
    assert rows.first.get_attribute("class") == "cc-sev-error"
    assert rows.first.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 236, 234)"
    by_rule = Counter(f["rule"] for f in errors)
    rule, count = by_rule.most_common(1)[0]
    page.get_by_label("Filter by Rule").select_option(rule)
    assert status.inner_text().endswith(f"of {count} (of {total})")
    badge = rows.first.locator("td").first.locator("span.cc-badge.cc-badge-error")  # drawn as the page drew them
    assert badge.inner_text() == "error"
    to_rule = rows.first.locator("td").nth(1).locator("span.cc-nowrap a")
    assert (to_rule.inner_text(), to_rule.get_attribute("href")) == (rule, f"reference/rules.html#{rule}")
    files = Counter(f["path"] for f in errors if f["rule"] == rule)
    path, in_file = files.most_common(1)[0]
    page.get_by_label("Filter by File").select_option(path)
    assert status.inner_text().endswith(f"of {in_file} (of {total})")
    first = next(f for f in errors if f["rule"] == rule and f["path"] == path)
    page.fill("input.cc-filter", first["message"][:40])
    assert rows.count() >= 1 and first["message"][:40] in rows.first.inner_text()
    page.fill("input.cc-filter", "")
    line = page.locator("table#findings th").nth(3)
    line.locator("button").focus()
    page.keyboard.press("Enter")
    assert line.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Enter")
    assert line.get_attribute("aria-sort") == "descending"
    lines = [int(t.split(":")[0]) for t in page.locator("table#findings tbody tr td:nth-child(4)").all_inner_texts()]
    assert lines == sorted(lines, reverse=True)
    grouped = {r.split("\t")[0]: int(r.split("\t")[-1]) for r in page.locator("#by-rule tbody tr").all_inner_texts()}
    assert grouped == dict(Counter(f["rule"] for f in generated.findings))
    rows.first.locator("td").nth(1).locator("a").click()
    page.wait_for_url(re.compile(r".*/reference/rules\.html#.+"))
    assert page.locator(f"[id='{page.url.rsplit('#', 1)[1]}']").count() == 1
    assert watch.errors == [] and watch.outside(generated.base) == []


def test_people_and_devices_page_beyond_500_rows(page: Any, generated: Site) -> None:
    watch = Watch(page)
    _open(page, f"{generated.base}/people.html")
    status = page.locator(".cc-status")
    assert status.inner_text() == "Rows 1-50 of 5000"
    page.get_by_label("Rows per page").select_option("500")
    for _ in range(9):
        page.get_by_role("button", name="Next").click()
    assert status.inner_text() == "Rows 4501-5000 of 5000"
    assert page.locator("div.cc-table tbody tr").count() == 500
    assert page.get_by_role("button", name="Next").is_disabled()
    person = page.locator("div.cc-table th").first
    person.locator("button").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert person.get_attribute("aria-sort") == "descending"
    indicator = person.locator("button").evaluate("b => getComputedStyle(b, '::after').content")
    assert indicator == '" \u25bc"'
    assert page.locator("div.cc-table tbody tr").first.inner_text().startswith("u004999")
    page.fill("input.cc-filter", "user 4321")  # by name, any case
    assert page.locator("div.cc-table tbody tr").all_inner_texts()[0].startswith("u004321\tUser 4321\t")
    assert status.inner_text() == "Rows 1-1 of 1 (of 5000)"
    _open(page, f"{generated.base}/devices.html")
    assert page.locator(".cc-status").inner_text() == "Rows 1-50 of 2000"
    assert watch.errors == [] and watch.outside(generated.base) == []


def test_without_javascript_the_page_says_what_it_would_show(browser: Any, generated: Site) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{generated.base}/people.html")
    note = page.locator(".cc-noscript")
    assert note.is_visible()
    assert "This table lists 5000 people" in note.inner_text()
    href = note.locator("a").get_attribute("href")
    assert href == "data/people.csv"
    csv = page.request.get(f"{generated.base}/people.html".rsplit("/", 1)[0] + f"/{href}").text()
    lines = csv.splitlines()
    assert lines[0] == "Person,Name,Kind,Status,Department,CALs held" and len(lines) == 5001
    assert lines[1].startswith("u000000,User 0,contractor,departed,D000,")
    page.goto(f"{generated.base}/findings.html")
    note = page.locator(".cc-noscript").first
    assert f"This table lists {len(generated.findings)} findings" in note.inner_text()
    assert note.locator("a").get_attribute("href") == "data/findings.csv"
    csv = page.request.get(f"{generated.base}/data/findings.csv").text()
    assert csv.splitlines()[0] == "Severity,Rule,File,Line,Finding,What to do,Source"
    assert sum(1 for _ in csvlib.reader(io.StringIO(csv))) == len(generated.findings) + 1
    context.close()


def test_bidi_controls_are_shown_escaped_and_values_isolated(page: Any, hostile: Site) -> None:
    assert [f for f in hostile.findings if f["rule"] == "schema"] == []  # every payload is valid data
    leaks = [p.relative_to(hostile.html).as_posix() for p in hostile.html.rglob("*")
             if p.suffix in (".html", ".js", ".json", ".svg", ".csv") and BIDI.search(p.read_text(errors="replace"))]  # fmt: skip
    assert leaks == []
    watch = Watch(page)
    for path, marker in (("holdings/EA-CORE-USER.html", "above the 95%"),
                         ("audits.html", "override"), ("waivers.html", "purchase order"),
                         ("history.html", "Reassign"), ("people.html", "evil")):  # fmt: skip
        _open(page, f"{hostile.base}/{path}")
        if path == "people.html":
            page.fill("input.cc-filter", "evil")
        text = page.locator("article").inner_text()
        assert BIDI.search(text) is None, path
        assert marker in text, path
        assert "\\u202e" in text, path
        isolated = page.evaluate(
            """(marker) => {
              const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
              const out = [];
              for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (!node.textContent.includes('\\\\u202e')) { continue; }
                let e = node.parentElement;
                while (e && !['isolate', 'isolate-override', 'plaintext'].includes(getComputedStyle(e).unicodeBidi)) { e = e.parentElement; }
                out.push(e ? e.tagName : 'none');
              }
              return out;
            }""",
            marker,
        )
        assert "none" not in isolated, path
    assert watch.dialogs == [] and watch.errors == [] and watch.outside(hostile.base) == []


def test_hostile_data_runs_no_script(page: Any, hostile: Site) -> None:
    watch = Watch(page)
    for path in ("index.html", "people.html", "findings.html", "holdings.html", "holdings/EA-WS22-USER.html",
                 "audits.html", "deployments.html"):  # fmt: skip
        _open(page, f"{hostile.base}/{path}")
    _open(page, f"{hostile.base}/people.html")
    page.fill("input.cc-filter", "script")
    assert '<script>alert("x")</script>' in page.locator("div.cc-table tbody").inner_text()
    assert watch.dialogs == [] and watch.errors == [] and watch.outside(hostile.base) == []


def test_proof_documents_keep_their_extension_and_type(page: Any, bundled: Site) -> None:
    _open(page, f"{bundled.base}/holdings/EA-WS22-USER.html")
    link = page.locator("a", has_text="proofs/invoice-INV-2024-0815.pdf")
    href = link.get_attribute("href")
    assert href is not None and re.fullmatch(r"\.\./proofs/invoice-INV-2024-0815-[0-9a-f]{8}\.pdf", href)
    response = page.request.get(f"{bundled.base}/holdings/{href}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body() == (ROOT / "licenses" / "proofs" / "invoice-INV-2024-0815.pdf").read_bytes()


def test_every_part_of_the_estate_has_a_page(page: Any, bundled: Site) -> None:
    watch = Watch(page)
    _open(page, f"{bundled.base}/holdings.html")
    purchased = page.locator("table#holdings th", has_text="Purchased").locator("button")
    purchased.click()
    purchased.click()
    dates = page.locator("table#holdings tbody tr td:nth-child(8)").all_inner_texts()
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == 3  # dates sort as dates
    _open(page, f"{bundled.base}/agreements.html")
    rows = page.locator("table#agreements tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["EA-7391042", "CSP-FAB-2025"]
    assert "EA-WS22-USER" in rows[0]
    _open(page, f"{bundled.base}/deployments.html")
    deployments = page.locator("table#deployments tbody tr")
    assert deployments.count() == len(list((bundled.html / "deployments").glob("*.html"))) > 0
    deployments.first.locator("a").first.click()
    page.wait_for_selector("div.cc-table table[data-ready]")
    assert page.locator("h2", has_text="CALs it requires").count() == 1
    assert page.locator("div.cc-table tbody tr").count() > 0
    _open(page, f"{bundled.base}/audits.html")
    assert "reclaim scheduled for December" in page.locator("table#audits").inner_text()
    _open(page, f"{bundled.base}/waivers.html")
    assert "No waiver is recorded" in page.locator("article").inner_text()
    _open(page, f"{bundled.base}/holdings/EA-WS22-USER.html")
    history = page.locator("table.cc-data", has=page.locator("th", has_text="What changed"))
    changes = history.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert len(changes) == 2 and changes[-1].startswith("33 assignments added\n")  # summarised, not 33 sentences
    assert "quantity 25 -> 40" in changes[0]
    assert watch.errors == [] and watch.failed == []


def test_the_change_history_is_drawn_from_its_data(page: Any, bundled: Site) -> None:
    """The history page's table comes from its data file: newest commit first, each abbreviated to seven characters
    (the whole id in its title is not needed: the CSV holds it), each event of a commit on a line of its own."""
    root = bundled.html.parents[2]
    shas = subprocess.run(["git", "log", "--format=%H"], cwd=root, capture_output=True, text=True, check=True)
    watch = Watch(page)
    _open(page, f"{bundled.base}/history.html")
    rows = page.locator("table#history tbody tr")
    assert rows.count() == 3
    assert page.locator("table#history tbody td:nth-child(2) code").all_inner_texts() == [
        sha[:7] for sha in shas.stdout.split()
    ]
    assert page.locator("table#history tbody td:nth-child(4)").all_inner_texts() == [
        "Audit note", "Buy 15 Windows Server CALs", "Initial estate"]  # fmt: skip
    first = rows.last.locator("td").nth(4)
    lines = first.inner_text().split("\n")
    assert len(lines) == 14 and lines[0] == "162 assignments added" and first.locator("br").count() == 13
    assert page.locator("select[aria-label='Filter by Author'] option").all_inner_texts() == [
        "Every author",
        "Dana (3)",
    ]
    page.fill("input.cc-filter", "Buy 15")
    assert page.locator("table#history tbody tr").all_inner_texts()[0].startswith("2026-03-02\t")
    assert rows.count() == 1
    csv = page.request.get(f"{bundled.base}/data/history.csv").text()
    assert [row[1] for row in csvlib.reader(io.StringIO(csv))][1:] == shas.stdout.split()
    assert watch.errors == [] and watch.failed == []


def test_a_commit_links_to_the_repository_under_its_abbreviated_id(page: Any, hostile: Site) -> None:
    """With ``site.repository_url`` set, the history's commit cell is a link to the whole commit, shown by the
    first seven characters of its id; the commit's hostile subject stays text."""
    root = hostile.html.parents[2]
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    full = sha.stdout.strip()
    watch = Watch(page)
    _open(page, f"{hostile.base}/history.html")
    links = page.locator("table#history tbody td:nth-child(2) a")
    assert links.all_inner_texts() == [full[:7]]
    assert links.first.get_attribute("href") == f"{REPOSITORY}/commit/{full}"
    assert page.locator("table#history tbody td:nth-child(2) code").count() == 0
    subject = page.locator("table#history tbody td:nth-child(4)")
    assert subject.inner_text().startswith(LONG_SUBJECT[:50]) and subject.locator("*").count() == 0
    assert watch.dialogs == [] and watch.errors == [] and watch.outside(hostile.base) == []


def test_rules_have_real_headings_and_the_data_model_links_every_schema(page: Any, bundled: Site) -> None:
    _open(page, f"{bundled.base}/reference/rules.html")
    ids = page.locator("article h2").evaluate_all("hs => hs.map(h => h.id)")
    assert ids == list(REGISTRY)
    toc = page.locator(".md-sidebar--secondary nav.md-nav--secondary a.md-nav__link").evaluate_all(
        "as => as.map(a => a.hash)"
    )
    assert toc == [f"#{rule}" for rule in REGISTRY]
    _open(page, f"{bundled.base}/reference/data-model.html")
    links = page.locator("article a[href$='.schema.json']").evaluate_all("as => as.map(a => a.href)")
    schemas = sorted(p.name for p in (ROOT / "schemas").glob("*.schema.json"))
    assert sorted({link.rsplit("/", 1)[-1] for link in links}) == schemas
    for link in set(links):
        assert page.request.get(link).status == 200, link


def test_under_a_sub_path_the_404_page_works(page: Any, bundled: Site) -> None:
    watch = Watch(page)
    for missing in ("no-such-page.html", "holdings/REMOVED-HOLDING.html", "a/b/c/d.html"):
        response = page.goto(f"{bundled.base}/{missing}", wait_until="load")
        assert response is not None and response.status == 404
        assert page.locator("h1").inner_text() == "Page not found"
        page.wait_for_function("getComputedStyle(document.querySelector('.md-header')).position === 'sticky'")
        page.locator("article a", has_text="dashboard").click()
        page.wait_for_load_state("load")
        assert page.url == f"{bundled.base}/index.html", missing
    assert watch.outside(bundled.base) == []
    assert [e for e in watch.errors if "status of 404" not in e] == []


def test_opened_from_file_the_search_works_without_errors(page: Any, bundled: Site) -> None:
    watch = Watch(page)
    for path in ("index.html", "people.html", "holdings/EA-WS22-USER.html", "reference/rules.html"):
        page.goto((bundled.html / path).as_uri(), wait_until="load")
        assert page.locator("input.md-search__input").is_visible(), path
    page.goto((bundled.html / "people.html").as_uri(), wait_until="load")
    assert page.locator(".cc-status").inner_text() == "Rows 1-50 of 66"
    page.fill("input.cc-filter", "IVANOVA ulla")  # a name, in any order and case
    assert page.locator("div.cc-table tbody tr").all_inner_texts() == [
        "ulla.ivanova\tUlla Ivanova\temployee\tdeparted\tSales\tEA-EXS19-USER, EA-WS22-USER"
    ]
    page.goto((bundled.html / "findings.html").as_uri(), wait_until="load")  # drawn from its data file too
    page.wait_for_selector("table#findings[data-ready]")
    shown = len(bundled.findings)
    assert page.locator(".cc-status").first.inner_text() == f"Rows 1-{min(shown, 50)} of {shown}"
    assert page.locator("table#findings tbody tr td span.cc-badge").count() == min(shown, 50)
    page.goto((bundled.html / "index.html").as_uri(), wait_until="load")
    page.locator("input.md-search__input").click()
    page.keyboard.type("EA-WS22-USER")  # a holding (the tables' own search boxes find people and findings)
    page.wait_for_selector(".md-search-result__item", timeout=10_000)
    assert "EA-WS22-USER" in page.locator(".md-search-result").inner_text()
    assert watch.errors == []
    assert [url for url in watch.requests if not url.startswith(("file://", "data:", "about:"))] == []
