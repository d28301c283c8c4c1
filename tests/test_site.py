"""The compliance site: pages from the estate, real MkDocs and Zensical builds, hostile data kept inert."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from calcheck.licensing import engine
from calcheck.site.pages import SiteInput, render_site
from tests.conftest import AS_OF, ROOT

Run = Callable[..., tuple[int, str, str]]
HOSTILE = '<script>alert("x")</script> [click](javascript:alert(1)) <img src=x onerror=alert(2)> **bold** `code`'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's site configuration and bundled estate, outside any git repository."""
    shutil.copytree(ROOT / "site", tmp_path / "site", ignore=shutil.ignore_patterns("_build"))
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    return tmp_path


def dashboard_numbers(html: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-key="([^"]+)">([^<]*)</dd>', html))


def report_totals(run_cli: Run, estate: Path) -> dict[str, str]:
    document = json.loads(run_cli("report", str(estate), "--as-of", AS_OF, "--format", "json", "--no-history")[1])
    totals = document["totals"]
    cost = totals["shortfall_cost"]
    return {
        "Owned": str(totals["owned"]), "Assigned": str(totals["assigned"]), "Required": str(totals["required"]),
        "Shortfall": str(totals["shortfall"]), "Reclaimable": str(totals["reclaimable"]),
        "Cost of shortfall": f"{cost:,.2f} {document['currency']}", "Errors": str(totals["errors"]),
    }  # fmt: skip


def test_site_builds_strict_with_mkdocs_and_matches_the_report(project: Path, run_cli: Run) -> None:
    code, out, err = run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)
    assert (code, err) == (0, "")
    assert out.startswith("site built in ")
    html = project / "site" / "_build" / "html"
    numbers = dashboard_numbers((html / "index.html").read_text())
    expected = report_totals(run_cli, project / "licenses")
    assert {k: numbers[k] for k in expected} == expected
    assert 'id="verdict">COMPLIANT<' in (html / "index.html").read_text()
    for page in ("holdings.html", "people.html", "devices.html", "findings.html", "history.html",
                 "reference/rules.html", "reference/data-model.html", "guide/leavers.html",
                 "holdings/EA-WS22-USER.html", "schemas/holdings.schema.json", "charts/position.svg"):  # fmt: skip
        assert (html / page).is_file(), page
    assert not (project / "site" / "site").exists()


def test_zensical_builds_the_same_generated_site(project: Path, run_cli: Run) -> None:
    from calcheck.site import build

    run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)
    mkdocs_numbers = dashboard_numbers((project / "site" / "_build" / "html" / "index.html").read_text())
    shutil.rmtree(project / "site" / "_build" / "html")
    build.run_engine("zensical", build.SitePaths.of(project / "site" / "mkdocs.yml"))
    zensical_numbers = dashboard_numbers((project / "site" / "_build" / "html" / "index.html").read_text())
    assert zensical_numbers == mkdocs_numbers
    assert mkdocs_numbers["Owned"] == "187"


def test_numbers_on_pages_equal_the_position() -> None:
    result = engine.check(ROOT / "licenses", __import__("datetime").date(2026, 11, 30))
    files = render_site(SiteInput(result))
    position = result.context.position
    numbers = dashboard_numbers(files["index.md"])
    assert numbers["Shortfall"] == str(position.total("shortfall"))
    assert numbers["Required"] == str(position.total("required"))
    people = files["data/people.js"]
    assert '"alice.martin","Alice Martin","employee","active","Finance","CSP-RDS22-USER, EA-EXE19-USER' in people


def test_the_findings_are_data_the_script_draws_with_their_badges_and_rule_links() -> None:
    """Every finding (and waived finding) is a row of its data file and its CSV, with what the script needs to draw
    the severity's badge and the rule's link; the page holds neither the rows nor a table of them."""
    from calcheck.licensing.rules import REGISTRY

    result = engine.check(ROOT / "licenses", __import__("datetime").date(2026, 11, 30))
    assert result.findings and not result.waived
    files = render_site(SiteInput(result))
    for name, findings in (("findings", result.findings), ("waived", result.waived)):
        prefix = f'window.calcheckData = window.calcheckData || {{}};\nwindow.calcheckData["{name}"] = '
        script = files[f"data/{name}.js"]
        assert script.startswith(prefix) and script.endswith(";\n")
        data = json.loads(script[len(prefix) : -2])
        assert data["rows"] == [
            [f.severity.label, f.rule, f.path, f"{f.line}:{f.column}", f.message, f.hint,
             REGISTRY[f.rule].source if f.rule in REGISTRY else ""]
            for f in findings
        ]  # fmt: skip
        assert data["classes"] == [f"cc-sev-{f.severity.label}" for f in findings]
        assert (data["id"], data["badges"], data["links"]) == (name, [0], {"1": "reference/rules.html#"})
        assert len(files[f"data/{name}.csv"].splitlines()) == len(findings) + 1
        holder = f'<div class="cc-table" data-source="{name}"></div>'
        assert (holder in files["findings.md"]) == bool(findings)
    assert "<table" in files["findings.md"] and files["findings.md"].count("<table") == 1  # the summary by rule


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = not values.get("src")
            if values.get("src"):
                self.sources.append(str(values["src"]))
        self.handlers += [k for k in values if k.startswith("on")]
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline.append(data)


def hostile_estate(project: Path) -> None:
    """Put script, HTML and Markdown links into every kind of string the site shows."""
    people = project / "licenses" / "people" / "finance.yaml"
    people.write_text(people.read_text().replace("name: Alice Martin", f"name: '{HOSTILE}'").replace(
        "department: Finance", f"department: '{HOSTILE}'", 1))  # fmt: skip
    holdings = project / "licenses" / "holdings" / "windows-server.yaml"
    holdings.write_text(holdings.read_text().replace("owner: IT licensing", f"owner: '{HOSTILE}'", 1).replace(
        "ref: INV-2024-0815", f"ref: '{HOSTILE}'", 1))  # fmt: skip
    config = project / "licenses" / "calcheck.yaml"
    config.write_text(config.read_text().replace("organisation: Fabrikam Logistics Ltd", f"organisation: '{HOSTILE}'"))
    audits = project / "licenses" / "audits" / "2026.yaml"
    audits.write_text(audits.read_text().replace("auditor: Priya Natarajan (internal SAM)", f"auditor: '{HOSTILE}'"))


def test_hostile_strings_render_as_inert_text(project: Path, run_cli: Run) -> None:
    hostile_estate(project)
    assert run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)[0] == 0
    html = project / "site" / "_build" / "html"
    for page in sorted(html.rglob("*.html")):
        collector = _Collector()
        collector.feed(page.read_text())
        assert collector.handlers == [], page
        assert [link for link in collector.links if link.lower().startswith("javascript")] == [], page
        assert [src for src in collector.sources if re.match(r"(?i)[a-z]+:|//", src)] == [], page
        assert [code for code in collector.inline if "alert" in code] == [], page
    index = (html / "index.html").read_text()
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in index
        or '&lt;script&gt;alert("x")&lt;/script&gt;' in index
    )
    people_data = (html / "data" / "people.js").read_text()
    assert "<script>" not in people_data and "\\u003cscript\\u003e" in people_data


def test_pseudonymised_people(project: Path, run_cli: Run) -> None:
    config = project / "licenses" / "calcheck.yaml"
    config.write_text(config.read_text().replace("pseudonymise_people: false", "pseudonymise_people: true"))
    assert run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)[0] == 0
    html = project / "site" / "_build" / "html"
    text = "".join(p.read_text() for p in html.rglob("*") if p.suffix in (".html", ".js") and p.is_file())
    assert "alice.martin" not in text and "Alice Martin" not in text
    assert re.search(r"person-[0-9a-f]{8}", (html / "data" / "people.js").read_text())


def test_proofs_are_published_only_when_allowed(project: Path, run_cli: Run) -> None:
    html = project / "site" / "_build" / "html"
    run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)
    assert not (html / "proofs").exists()
    config = project / "licenses" / "calcheck.yaml"
    config.write_text(config.read_text().replace("publish_proofs: false", "publish_proofs: true"))
    run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)
    page = (html / "holdings" / "EA-WS22-USER.html").read_text()
    target = re.search(r'href="\.\./(proofs/[^"]+)">proofs/invoice-INV-2024-0815\.pdf<', page)
    assert target is not None
    published = html / target.group(1)
    assert published.read_bytes() == (project / "licenses" / "proofs" / "invoice-INV-2024-0815.pdf").read_bytes()


def test_history_page_links_each_commit(project: Path, run_cli: Run) -> None:
    def git(*args: str) -> None:
        env = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@x", "GIT_COMMITTER_NAME": "Dana",
               "GIT_COMMITTER_EMAIL": "d@x", "GIT_AUTHOR_DATE": "2026-01-05T09:00:00+00:00",
               "GIT_COMMITTER_DATE": "2026-01-05T09:00:00+00:00", "PATH": "/usr/bin:/bin",
               "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)

    config = project / "licenses" / "calcheck.yaml"
    config.write_text(config.read_text().replace(
        "  publish_proofs: false", "  publish_proofs: false\n  repository_url: https://example.org/fabrikam/licences"))  # fmt: skip
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "Initial estate")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert run_cli("site", "build", str(project / "licenses"), "--as-of", AS_OF)[0] == 0
    html = project / "site" / "_build" / "html"
    assert '<div class="cc-table" data-source="history"></div>' in (html / "history.html").read_text()
    prefix = 'window.calcheckData = window.calcheckData || {};\nwindow.calcheckData["history"] = '
    script = (html / "data" / "history.js").read_text()
    assert script.startswith(prefix) and script.endswith(";\n")
    data = json.loads(script[len(prefix) : -2])
    assert data["links"] == {"1": "https://example.org/fabrikam/licences/commit/"} and data["short"] == {"1": 7}
    assert (data["keep"], data["filters"], data["page"]) == ([0, 1], [2], 50)
    assert data["rows"] == [["2026-01-05", sha, "Dana", "Initial estate", data["rows"][0][4]]]
    assert "162 assignments added" in data["rows"][0][4]
    csv = (html / "data" / "history.csv").read_text()
    assert (
        csv.splitlines()[0] == "Date,Commit,Author,Change,What it did"
        and f"2026-01-05,{sha},Dana,Initial estate," in csv
    )


def test_site_build_without_configuration_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
    code, _, err = run_cli("site", "build", str(tmp_path / "licenses"))
    assert code == 2 and "no such site configuration" in err


@pytest.mark.parametrize("cached", [True, False])
def test_serve_regenerates_pages_when_the_yaml_changes(project: Path, cached: bool) -> None:
    """``site serve`` regenerates the pages when the YAML changes; with ``--no-cache`` it keeps nothing."""
    import os
    import signal
    import socket
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "calcheck", "site", "serve", "licenses", "--as-of", AS_OF,
               "--dev-addr", f"127.0.0.1:{port}", *([] if cached else ["--no-cache"])]  # fmt: skip
    cache = project / "cache"
    process = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NO_COLOR": "1", "CALCHECK_CACHE_DIR": str(cache)})  # fmt: skip

    def served() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
            return str(response.read().decode())

    def wait_for(text: str) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if text in served():
                    return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    try:
        assert wait_for("Fabrikam Logistics Ltd")
        config = project / "licenses" / "calcheck.yaml"
        config.write_text(config.read_text().replace("Fabrikam Logistics Ltd", "Fabrikam Renamed Ltd"))
        assert wait_for("Fabrikam Renamed Ltd")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    with pytest.raises(OSError):
        served()
    assert (cache / "files").is_dir() is cached


def test_trend_points_round_trip_and_refuse_what_they_did_not_write() -> None:
    from calcheck.site.pages import TrendPoint

    point = TrendPoint("2026-03-02", 187, 162, 159, 7, (("windows-server|2022|user", 25, 33, 32, 7),))
    assert TrendPoint.from_json("2026-03-02", json.loads(json.dumps(point.to_json()))) == point
    for stored in ([187, 162, 159, 7], {"totals": [1, 2, 3]}, {"totals": [1, 2, 3, True], "pools": []},
                   {"totals": [1, 2, 3, -4], "pools": []}, {"totals": [1, 2, 3, 4], "pools": [["p", 1, 2, 3]]},
                   {"totals": [1, 2, 3, 4], "pools": [], "extra": 1}, None):  # fmt: skip
        assert TrendPoint.from_json("2026-03-02", stored) is None


def test_published_proofs_keep_a_document_extension_only() -> None:
    from calcheck.site.markup import published_proof

    assert re.fullmatch(
        r"proofs/invoice-INV-2024-0815-[0-9a-f]{8}\.pdf", published_proof("proofs/invoice-INV-2024-0815.pdf")
    )
    assert published_proof("proofs/Scan.JPEG").endswith(".jpeg")
    for name in ("proofs/page.html", "proofs/logo.svg", "proofs/x.js", "proofs/.htaccess", "proofs/noext"):
        assert "." not in published_proof(name).rsplit("/", 1)[1], name
    assert published_proof("a/invoice.pdf") != published_proof("b/invoice.pdf")


def test_bidi_and_control_characters_are_shown_escaped_everywhere() -> None:
    from calcheck.site.markup import cell, csv_text, script_data, text

    hostile = "Cal \u202eedoc\u2066x\u2069 \x07 end"
    assert cell(hostile) == "Cal \\u202eedoc\\u2066x\\u2069 \\x07 end"
    assert "\u202e" not in text(hostile) and "\\\\u202e" in text(hostile)
    assert csv_text(f'"{hostile}"\n') == '"Cal \\u202eedoc\\u2066x\\u2069 \\x07 end"\n'
    data = script_data("x", [hostile, "José 😀", "a\\u202e"])
    assert json.loads(data.split(" = ", 2)[-1].rstrip(";\n")) == [
        "Cal \\u202eedoc\\u2066x\\u2069 \\x07 end",
        "José 😀",
        "a\\u202e",
    ]
