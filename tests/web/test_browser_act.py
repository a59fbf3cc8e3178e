"""The Alerts and Cases pages in a real browser: an analyst reads the alerts (English and
Chinese) and the case statistics; an owner works their own case (contact, note, outcome)
with the HTMX forms, and cannot open another owner's case. Screenshots go to
``test-artifacts/`` (``alerts-en.png``, ``alerts-zh.png``, ``cases-en.png``,
``case-worked-en.png``, ``customer-actions-en.png``, ``cases-fa.png``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.fixtures_act import Raised, raise_demo_alerts
from api.fixtures_app import OWNER, Users, bearer
from web.test_browser import ARTIFACTS, browser, server, sign_in  # noqa: F401

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def raised(app: FastAPI, users: Users, sim_workspace: Path) -> Raised:
    return raise_demo_alerts(app, sim_workspace)


def test_alerts_and_cases_pages(server: str, browser: object,  # noqa: F811
                                raised: Raised) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    sign_in(page, server, "alice")
    page.goto(f"{server}/cases")
    page.click("nav a[href='/alerts']")
    page.wait_for_selector("#alerts-table tbody tr")
    assert page.locator("#alerts-table tbody tr").count() > 10
    page.screenshot(path=str(ARTIFACTS / "alerts-en.png"), full_page=True)
    page.select_option("#alert-filters select[name=severity]", "high")
    page.click("#alert-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*severity=high.*"))
    sev = set(page.locator("#alerts-table tbody tr td:nth-child(4)").all_inner_texts())
    assert sev == {"high"}
    page.goto(f"{server}/lang/zh")
    page.goto(f"{server}/alerts")
    reasons = page.locator("#alerts-table ul.reasons li").all_inner_texts()
    assert reasons and all(CJK.search(r) for r in reasons)
    page.screenshot(path=str(ARTIFACTS / "alerts-zh.png"), full_page=True)
    page.goto(f"{server}/lang/en")
    page.goto(f"{server}/cases")
    page.wait_for_selector("#cases-table tbody tr")
    page.wait_for_selector("#case-stats tbody tr")
    page.select_option("#case-filters select[name=state]", "open")
    page.click("#case-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*state=open.*"))
    states = set(page.locator("#cases-table tbody tr td:nth-child(3)").all_inner_texts())
    assert states == {"open"}
    page.screenshot(path=str(ARTIFACTS / "cases-en.png"), full_page=True)
    page.goto(f"{server}/lang/fa")
    page.goto(f"{server}/cases")
    assert page.get_attribute("html", "dir") == "rtl"
    page.screenshot(path=str(ARTIFACTS / "cases-fa.png"), full_page=True)
    page.goto(f"{server}/lang/en")
    page.close()


def test_owner_works_their_case_in_browser(server: str, browser: object,  # noqa: F811
                                           keys: dict[str, str], users: Users,
                                           raised: Raised) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})  # type: ignore[attr-defined]
    carols = page.request.get(f"{server}/api/cases", headers=bearer(keys["carol"])).json()
    assert carols["data"]
    sign_in(page, server, "bob")
    owners = page.goto(f"{server}/cases")
    assert owners is not None and owners.ok
    shown = set(page.locator("#cases-table tbody tr td:nth-child(2) .muted").all_inner_texts())
    assert shown == {OWNER}
    denied = page.goto(f"{server}/cases/{carols['data'][0]['id']}")
    assert denied is not None and denied.status == 404
    page.goto(f"{server}/cases?state=open")
    page.click("#cases-table tbody tr:first-child td:first-child a")
    page.wait_for_selector("#case-state[data-state=open]")
    page.fill("#contact-form input[name=note]", "called, offered the annual plan")
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#case-state[data-state=contacted]")
    assert "called, offered the annual plan" in page.inner_text("#case-history")
    page.fill("#note-form textarea[name=text]", "she will decide on Friday")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("#case-history >> text=she will decide on Friday")
    page.select_option("#outcome-form select[name=outcome]", "saved")
    page.fill("#outcome-form input[name=note]", "signed for a year")
    page.click("#outcome-form button[type=submit]")
    page.wait_for_selector("#case-state[data-state=saved]")
    page.wait_for_selector("#case-closed")
    history = page.inner_text("#case-history")
    assert "signed for a year" in history and history.count("bob") >= 3
    page.screenshot(path=str(ARTIFACTS / "case-worked-en.png"), full_page=True)
    page.reload()  # the change is stored, not only shown
    assert page.get_attribute("#case-state", "data-state") == "saved"
    page.click("h1 small a")
    page.wait_for_selector("#customer-cases")
    assert page.locator("#customer-cases tbody tr").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "customer-actions-en.png"), full_page=True)
    page.close()
