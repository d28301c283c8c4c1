"""The built site in a real headless Chromium (Debian's package), driven by Playwright."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AS_OF, ROOT
from tests.test_site import hostile_estate

Run = Callable[..., tuple[int, str, str]]
ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def built(tmp_path: Path, run_cli: Run) -> Callable[[bool], Iterator[str]]:
    def build(hostile: bool) -> Iterator[str]:
        shutil.copytree(ROOT / "site", tmp_path / "site", ignore=shutil.ignore_patterns("_build"))
        shutil.copytree(ROOT / "licenses", tmp_path / "licenses")
        if hostile:
            hostile_estate(tmp_path)
        assert run_cli("site", "build", str(tmp_path / "licenses"), "--as-of", AS_OF)[0] == 0
        handler = functools.partial(_Quiet, directory=str(tmp_path / "site" / "_build" / "html"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    return build


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    home = {name: str(tmp_path / "browser-home") for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    with sync_playwright() as driver:  # Chromium keeps crash reports and settings in the home folder
        instance = driver.chromium.launch(executable_path=path, args=FLAGS, env={**os.environ, **home})
        yield instance
        instance.close()


class Watch:
    """Everything a page did that a test wants to see: requests, console errors, dialogs."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))


def test_dashboard_people_search_and_no_outside_requests(browser: Any, built: Callable[[bool], Iterator[str]]) -> None:
    for base in built(False):
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        watch = Watch(page)
        page.goto(f"{base}/index.html", wait_until="networkidle")
        assert page.locator("#verdict").inner_text() == "COMPLIANT"
        numbers = {
            k: page.locator(f'dd[data-key="{k}"]').inner_text()
            for k in ("Owned", "Assigned", "Required", "Shortfall", "Reclaimable")
        }
        assert numbers == {"Owned": "187", "Assigned": "162", "Required": "159", "Shortfall": "0", "Reclaimable": "3"}
        assert page.locator("#elp tbody tr").count() == 12
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000

        page.goto(f"{base}/people.html", wait_until="networkidle")
        page.fill("input.cc-filter", "ulla")
        rows = page.locator("div.cc-table tbody tr")
        assert rows.count() == 1
        assert rows.first.inner_text().split("\t")[:4] == ["ulla.ivanova", "Ulla Ivanova", "employee", "departed"]
        page.locator("div.cc-table th", has_text="Person").click()
        page.fill("input.cc-filter", "")
        assert page.locator("div.cc-table tbody tr").first.inner_text().startswith("aaron.torres")

        page.goto(f"{base}/index.html", wait_until="networkidle")
        page.keyboard.press("/")  # the site's search: a leaver's name finds the finding about their CALs
        page.keyboard.type("ulla.ivanova")
        page.wait_for_selector(".md-search-result__item", timeout=10_000)
        assert "Findings, waivers and audits" in page.locator(".md-search-result").inner_text()

        assert watch.errors == []
        assert [url for url in watch.requests if not url.startswith(base)] == []


def test_hostile_data_runs_no_script(browser: Any, built: Callable[[bool], Iterator[str]]) -> None:
    for base in built(True):
        page = browser.new_page()
        watch = Watch(page)
        for path in ("index.html", "people.html", "findings.html", "holdings.html", "holdings/EA-WS22-USER.html"):
            page.goto(f"{base}/{path}", wait_until="networkidle")
        page.goto(f"{base}/people.html", wait_until="networkidle")
        page.fill("input.cc-filter", "script")
        assert '<script>alert("x")</script>' in page.locator("div.cc-table tbody").inner_text()
        assert watch.dialogs == []
        assert watch.errors == []
        assert [url for url in watch.requests if not url.startswith(base)] == []
