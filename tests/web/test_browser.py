"""Browser tests: Playwright driving Debian's Chromium against a real server on loopback.

Needs ``/usr/bin/chromium`` (``bash scripts/setup-browser.sh``) and the ``playwright``
package; skipped with the reason when either is missing. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.fixtures_app import PASSWORD, Users

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="pip install playwright for browser tests")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} missing: run bash scripts/setup-browser.sh",
                allow_module_level=True)


@pytest.fixture(scope="module")
def server(app: FastAPI, users: Users) -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _login(page: object, server: str, user: str) -> None:
    page.goto(f"{server}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", user)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/")  # type: ignore[attr-defined]


def sign_in(page: object, base: str, user: str) -> None:
    """Sign in through the login form's POST without waiting for the overview page it
    redirects to (tests of other pages need not pay for its first, uncached computation)."""
    r = page.request.post(f"{base}/login", form={  # type: ignore[attr-defined]
        "username": user, "password": PASSWORD}, max_redirects=0)
    assert r.status == 303, r.status


def test_dashboard_in_a_browser(server: str, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    _login(page, server, "alice")
    page.wait_for_selector(".plotly-graph-div")
    page.screenshot(path=str(ARTIFACTS / "overview-en.png"), full_page=True)
    page.click("a[href='/at-risk']")
    page.wait_for_selector("#at-risk-table tbody tr")
    page.select_option("select[name=risk_band]", "high")
    page.wait_for_function("location.search.includes('risk_band=high')")
    page.screenshot(path=str(ARTIFACTS / "at-risk-en.png"), full_page=True)
    page.click("#at-risk-table tbody tr a")
    page.wait_for_selector("#timeline")
    page.screenshot(path=str(ARTIFACTS / "customer-en.png"), full_page=True)
    page.goto(f"{server}/lang/fa")
    page.goto(f"{server}/")
    assert page.get_attribute("html", "dir") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "overview-fa.png"), full_page=True)
    page.goto(f"{server}/lang/zh")
    page.goto(f"{server}/cohorts")
    page.wait_for_selector(".plotly-graph-div")
    page.screenshot(path=str(ARTIFACTS / "cohorts-zh.png"), full_page=True)
    page.close()


def test_owner_sees_own_customers_in_browser(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    _login(page, server, "bob")
    page.goto(f"{server}/at-risk")
    owners = page.locator("#at-risk-table tbody tr td:nth-child(2)").all_inner_texts()
    assert owners and set(owners) == {"Bob Li"}
    page.close()

