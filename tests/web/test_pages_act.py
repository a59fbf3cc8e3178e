"""The Alerts, Cases and case pages and the customer page's alerts and cases, server side:
three languages, owner scoping, the case forms with CSRF, refused changes, empty states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.fixtures_act import Raised, raise_demo_alerts
from api.fixtures_app import OWNER, PASSWORD, Users
from churnguard.i18n import LANGUAGES

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def raised(app: FastAPI, users: Users, sim_workspace: Path) -> Raised:
    return raise_demo_alerts(app, sim_workspace)


def login(client: TestClient, username: str) -> str:
    """Sign in; returns the session's CSRF token (from a page's form)."""
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/cases").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def case_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/cases/(\d+)"', html)]


def customer_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/customers/([^"]+)"', html))


def test_pages_in_every_language(client: TestClient, raised: Raised) -> None:
    login(client, "alice")
    first = case_ids(client.get("/cases").text)[0]
    for lang in LANGUAGES:
        for page in ("/alerts", "/alerts?open=0&severity=high", "/cases",
                     "/cases?by=playbook&state=open", f"/cases/{first}"):
            r = client.get(page, params={"lang": lang})
            assert r.status_code == 200, (page, lang, r.text[:300])
            if lang == "fa":
                assert 'dir="rtl"' in r.text
    zh = client.get("/alerts", params={"lang": "zh"}).text
    reasons = re.findall(r'<ul class="reasons"><li>([^<]+)</li>', zh)
    assert reasons and all(CJK.search(x) for x in reasons)
    en = client.get("/alerts").text
    assert 'id="alerts-table"' in en and "/customers/" in en
    client.cookies.clear()


def test_owner_sees_and_opens_only_their_cases(client: TestClient, users: Users,
                                               raised: Raised) -> None:
    login(client, "carol")
    carols = case_ids(client.get("/cases").text)
    assert carols
    token = login(client, "bob")
    alerts = client.get("/alerts", params={"open": "0"}).text
    assert {raised.owners[c] for c in customer_ids(alerts)} == {OWNER}
    cases = client.get("/cases").text
    assert {raised.owners[c] for c in customer_ids(cases)} == {OWNER}
    assert not set(case_ids(cases)) & set(carols)
    other = carols[0]
    assert client.get(f"/cases/{other}").status_code == 404
    for action, data in (("contact", {}), ("note", {"text": "x"}),
                         ("outcome", {"outcome": "lost"})):
        r = client.post(f"/cases/{other}/{action}", data={**data, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 404, action
    login(client, "carol")
    page = client.get(f"/cases/{other}").text
    assert 'data-state="open"' in page and "<td>bob</td>" not in page
    client.cookies.clear()


def test_owner_works_a_case_with_htmx_forms(client: TestClient, raised: Raised) -> None:
    token = login(client, "bob")
    case_id = case_ids(client.get("/cases", params={"state": "open"}).text)[0]
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    no_token = client.post(f"/cases/{case_id}/contact", data={"note": "x"},
                           headers={"HX-Request": "true"})
    assert no_token.status_code == 403
    r = client.post(f"/cases/{case_id}/contact", data={"note": "called, left a message"},
                    headers=hx)
    assert r.status_code == 200 and 'data-state="contacted"' in r.text
    assert "called, left a message" in r.text and "<html" not in r.text  # a fragment
    r = client.post(f"/cases/{case_id}/note", data={"text": "  "}, headers=hx)
    assert 'id="case-error"' in r.text and "a note needs some text" in r.text
    r = client.post(f"/cases/{case_id}/note", data={"text": "customer asks for a discount"},
                    headers=hx)
    assert 'id="case-message"' in r.text and "customer asks for a discount" in r.text
    r = client.post(f"/cases/{case_id}/outcome", data={"outcome": "maybe"}, headers=hx)
    assert 'id="case-error"' in r.text and 'data-state="contacted"' in r.text
    r = client.post(f"/cases/{case_id}/outcome", data={"outcome": "saved"}, headers=hx)
    assert 'data-state="saved"' in r.text and 'id="case-closed"' in r.text
    # without JavaScript: the form field carries the token, the answer is a redirect
    r = client.post(f"/cases/{case_id}/outcome", data={"outcome": "lost",
                                                       "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 409 and "case-error" in r.text  # closed: refused, shown
    api = client.get(f"/api/cases/{case_id}").json()
    assert api["case"]["state"] == "saved"
    assert [e["author"] for e in api["events"][-3:]] == ["bob", "bob", "bob"]
    client.cookies.clear()


def test_customer_page_shows_alerts_cases_and_empty_states(client: TestClient,
                                                           raised: Raised) -> None:
    login(client, "alice")
    alerts = client.get("/alerts").text
    with_alert = sorted(customer_ids(alerts))[0]
    page = client.get(f"/customers/{with_alert}")
    assert page.status_code == 200
    assert 'id="customer-alerts"' in page.text and 'id="customer-cases"' in page.text
    everyone = client.get("/api/customers", params={"limit": 1000}).json()["data"]
    alerted = {a["customer_id"] for a in client.get(
        "/api/alerts", params={"limit": 1000}).json()["data"]}
    quiet = next(c["customer_id"] for c in everyone if c["customer_id"] not in alerted)
    page = client.get(f"/customers/{quiet}", params={"lang": "zh"})
    assert page.status_code == 200
    assert 'id="customer-no-alerts"' in page.text
    empty = client.get("/alerts", params={"rule": "no such rule"}).text
    assert 'id="no-alerts"' in empty
    client.cookies.clear()


def test_alerts_page_pages_through_every_alert(client: TestClient, raised: Raised) -> None:
    login(client, "alice")
    total = client.get("/api/alerts", params={"open": "true", "limit": 1}).json()["count"]
    seen: list[str] = []
    url: str | None = "/alerts"
    while url:
        html = client.get(url).text
        seen += re.findall(r'<td><a href="/cases/(\d+)">', html)  # one case link per alert
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == total > 50
    client.cookies.clear()
