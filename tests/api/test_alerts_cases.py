"""``/api/alerts`` and ``/api/cases``: owner scoping on every route, the case state machine
through the API, validation errors, statistics and reasons in three languages.

The alerts are raised by the real default rules on the simulated workspace (as of
2026-06-01), through :func:`churnguard.act.alerts.raise_alerts`, into the app database of
the session's app (SQLite, and PostgreSQL when ``CHURNGUARD_TEST_PG_URL`` is set)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .fixtures_act import Raised, raise_demo_alerts
from .fixtures_app import OWNER, Users, bearer

CJK = re.compile(r"[\u4e00-\u9fff]")
PERSIAN_DIGITS = re.compile(r"[\u06f0-\u06f9]")


@pytest.fixture(scope="module")
def raised(app: FastAPI, users: Users, sim_workspace: Path) -> Raised:
    return raise_demo_alerts(app, sim_workspace)


def _bobs_case(client: TestClient, keys: dict[str, str], state: str = "open") -> int:
    r = client.get("/api/cases", params={"state": state, "limit": 1000},
                   headers=bearer(keys["bob"]))
    assert r.status_code == 200 and r.json()["data"], r.text
    return int(r.json()["data"][0]["id"])


def test_alerts_list_carries_reasons_value_playbook_route(client: TestClient,
                                                          keys: dict[str, str],
                                                          raised: Raised) -> None:
    assert raised.alerts > 50
    r = client.get("/api/alerts", params={"limit": 1000}, headers=bearer(keys["alice"]))
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == raised.alerts and len(body["data"]) == min(1000, raised.alerts)
    for a in body["data"]:
        assert a["reasons"] and all(isinstance(x, str) and x for x in a["reasons"])
        assert a["playbook"] and a["assignee"] and a["route"] == "owner"
        assert a["owner"] == raised.owners[a["customer_id"]]
        assert a["assignee"] == (a["owner"] or "unassigned")
        assert a["case_id"] is not None
    assert any(a["value_at_stake"] is not None for a in body["data"])


def test_owner_sees_only_alerts_and_cases_of_their_customers(
        client: TestClient, keys: dict[str, str], users: Users, raised: Raised) -> None:
    admin_all = client.get("/api/alerts", params={"limit": 1000},
                           headers=bearer(keys["root"])).json()["data"]
    expected = {a["id"] for a in admin_all if raised.owners[a["customer_id"]] == OWNER}
    assert expected, "the simulator gives Bob Li customers the rules flag"
    bob = client.get("/api/alerts", params={"limit": 1000}, headers=bearer(keys["bob"]))
    assert {a["id"] for a in bob.json()["data"]} == expected
    assert bob.json()["count"] == len(expected)
    # an admin filtering by owner gets the same rows as the owner
    by_owner = client.get("/api/alerts", params={"owner": OWNER, "limit": 1000},
                          headers=bearer(keys["root"])).json()
    assert {a["id"] for a in by_owner["data"]} == expected
    # an owner asking for another owner's customers gets nothing, not them
    other = client.get("/api/alerts", params={"owner": users.other_owner_name},
                       headers=bearer(keys["bob"])).json()
    assert other == {"data": [], "count": 0}
    carol = client.get("/api/cases", params={"limit": 1000},
                       headers=bearer(keys["carol"])).json()
    assert carol["count"] > 0
    assert {raised.owners[c["customer_id"]] for c in carol["data"]} == {
        users.other_owner_name}
    bob_cases = client.get("/api/cases", params={"limit": 1000},
                           headers=bearer(keys["bob"])).json()
    assert {raised.owners[c["customer_id"]] for c in bob_cases["data"]} == {OWNER}
    assert not {c["id"] for c in bob_cases["data"]} & {c["id"] for c in carol["data"]}


def test_another_owners_case_is_404_on_every_route(client: TestClient, keys: dict[str, str],
                                                    raised: Raised) -> None:
    case_id = _bobs_case(client, keys)
    h = bearer(keys["carol"])
    calls = [client.get(f"/api/cases/{case_id}", headers=h),
             client.get(f"/api/cases/{case_id}", params={"lang": "zh"}, headers=h),
             client.post(f"/api/cases/{case_id}/contact", json={}, headers=h),
             client.post(f"/api/cases/{case_id}/note", json={"text": "mine now"}, headers=h),
             client.post(f"/api/cases/{case_id}/outcome", json={"outcome": "lost"},
                         headers=h)]
    for r in calls:
        assert r.status_code == 404, (r.request.url, r.text)
        assert r.json()["error"] == {"code": "not_found", "message": f"no case {case_id}",
                                     "detail": None}
    alerts = client.get("/api/alerts", params={"customer_id": "x"}, headers=h).json()
    assert alerts["count"] == 0
    mine = client.get(f"/api/cases/{case_id}", headers=bearer(keys["bob"])).json()
    assert mine["case"]["state"] == "open"  # carol changed nothing
    assert not [e for e in mine["events"] if e["author"] == "carol"]
    r = client.get("/api/cases/stats", headers=h).json()
    assert sum(row["cases"] for row in r["data"]) == client.get(
        "/api/cases", headers=h).json()["count"]


def test_case_state_machine_through_the_api(client: TestClient, keys: dict[str, str],
                                            app: FastAPI, raised: Raised) -> None:
    from churnguard.appdb.auth_models import AuditLog

    h = bearer(keys["bob"])
    case_id = _bobs_case(client, keys)
    r = client.post(f"/api/cases/{case_id}/contact", json={"note": "called, offered annual"},
                    headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["case"]["state"] == "contacted" and body["case"]["first_contact_at"]
    assert body["next_states"] == ["saved", "lost", "not_churning"]
    last = body["events"][-1]
    assert (last["kind"], last["state_from"], last["state_to"], last["author"],
            last["text"]) == ("state", "open", "contacted", "bob", "called, offered annual")
    again = client.post(f"/api/cases/{case_id}/contact", json={}, headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert "contacted" in again.json()["error"]["message"]
    r = client.post(f"/api/cases/{case_id}/note", json={"text": "will decide Friday"},
                    headers=h)
    assert r.status_code == 200 and r.json()["events"][-1]["kind"] == "note"
    blank = client.post(f"/api/cases/{case_id}/note", json={"text": "   "}, headers=h)
    assert blank.status_code == 422 and "note needs some text" in blank.json()["error"][
        "message"]
    bad = client.post(f"/api/cases/{case_id}/outcome", json={"outcome": "maybe"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    assert "outcome" in bad.json()["error"]["message"]
    r = client.post(f"/api/cases/{case_id}/outcome", json={"outcome": "saved"}, headers=h)
    assert r.status_code == 200
    done = r.json()
    assert done["case"]["state"] == "saved" and done["case"]["closed_at"]
    assert done["next_states"] == []
    assert done["alerts"] and all(a["status"] == "closed" for a in done["alerts"])
    closed = client.post(f"/api/cases/{case_id}/outcome", json={"outcome": "lost"},
                         headers=h)
    assert closed.status_code == 409 and "closed" in closed.json()["error"]["message"]
    with app.state.cg.db.session() as s:
        actions = [a for (a,) in s.query(AuditLog.action).filter(
            AuditLog.target == str(case_id), AuditLog.username == "bob")]
    assert actions == ["case.contact", "case.note", "case.outcome"]


def test_case_stats_save_rate_and_time_to_contact(client: TestClient, keys: dict[str, str],
                                                  raised: Raised) -> None:
    h = bearer(keys["bob"])
    before = {r["key"]: r for r in client.get("/api/cases/stats", headers=h).json()["data"]}
    # one more saved and one lost, straight from open (no contact: no contact time)
    saved_id = _bobs_case(client, keys)
    assert client.post(f"/api/cases/{saved_id}/outcome", json={"outcome": "saved"},
                       headers=h).status_code == 200
    lost_id = _bobs_case(client, keys)
    assert client.post(f"/api/cases/{lost_id}/outcome", json={"outcome": "lost"},
                       headers=h).status_code == 200
    after = {r["key"]: r for r in client.get("/api/cases/stats", headers=h).json()["data"]}
    assert set(after) == {OWNER}  # bob's cases are assigned to his owner name
    b, a = before.get(OWNER), after[OWNER]
    saved0, lost0 = (b["saved"], b["lost"]) if b else (0, 0)
    assert (a["saved"], a["lost"]) == (saved0 + 1, lost0 + 1)
    assert a["save_rate"] == pytest.approx(a["saved"] / (a["saved"] + a["lost"]))
    assert a["hours_to_first_contact"] is not None and a["hours_to_first_contact"] >= 0
    by_pb = client.get("/api/cases/stats", params={"by": "playbook"}, headers=h).json()
    assert by_pb["by"] == "playbook" and sum(r["cases"] for r in by_pb["data"]) == a["cases"]
    assert client.get("/api/cases/stats", params={"by": "colour"},
                      headers=h).status_code == 422


def test_filters_pagination_and_validation(client: TestClient, keys: dict[str, str],
                                           raised: Raised) -> None:
    h = bearer(keys["alice"])
    every = client.get("/api/alerts", params={"limit": 1000}, headers=h).json()["data"]
    rule = every[0]["rule"]
    got = client.get("/api/alerts", params={"rule": rule, "limit": 1000}, headers=h).json()
    assert got["count"] == sum(a["rule"] == rule for a in every)
    high = client.get("/api/alerts", params={"severity": "high", "limit": 1000},
                      headers=h).json()
    assert high["count"] == sum(a["severity"] == "high" for a in every)
    p1 = client.get("/api/alerts", params={"limit": 5}, headers=h).json()["data"]
    p2 = client.get("/api/alerts", params={"limit": 5, "offset": 5}, headers=h).json()["data"]
    assert [a["id"] for a in p1 + p2] == [a["id"] for a in every[:10]]
    cases = client.get("/api/cases", params={"playbook": "check_in_call", "limit": 1000},
                       headers=h).json()
    assert cases["count"] > 0 and {c["playbook"] for c in cases["data"]} == {"check_in_call"}
    for params in ({"severity": "urgent"}, {"limit": 0}, {"offset": -1}, {"lang": "de"},
                   {"as_of": "yesterday"}):
        r = client.get("/api/alerts", params=params, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", params
    assert client.get("/api/cases", params={"state": "won"}, headers=h).status_code == 422
    assert client.get("/api/cases/abc", headers=h).status_code == 422
    assert client.get(f"/api/cases/{10**20}", headers=h).status_code == 422  # not a 500
    missing = client.get("/api/cases/999999", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert client.get("/api/alerts").status_code == 401
    assert client.post("/api/cases/1/contact", json={}).status_code == 401


def test_reasons_in_chinese_and_persian(client: TestClient, keys: dict[str, str],
                                        raised: Raised) -> None:
    h = bearer(keys["alice"])
    en = client.get("/api/alerts", params={"limit": 20}, headers=h).json()["data"]
    zh = client.get("/api/alerts", params={"limit": 20, "lang": "zh"}, headers=h).json()
    fa = client.get("/api/alerts", params={"limit": 20, "lang": "fa"}, headers=h).json()
    for a, z, f in zip(en, zh["data"], fa["data"], strict=True):
        assert a["id"] == z["id"] == f["id"]
        assert len(z["reasons"]) == len(a["reasons"]) and len(f["reasons"]) == len(a["reasons"])
        assert all(CJK.search(x) for x in z["reasons"]), z["reasons"]
        assert all(re.search(r"[\u0600-\u06ff]", x) for x in f["reasons"]), f["reasons"]
        assert not any(re.search(r"[0-9]", x.split("(")[0]) for x in f["reasons"]), f["reasons"]
    assert any(PERSIAN_DIGITS.search(x) for a in fa["data"] for x in a["reasons"])
    case_id = en[0]["case_id"]
    detail = client.get(f"/api/cases/{case_id}", params={"lang": "zh"}, headers=h).json()
    assert all(CJK.search(x) for a in detail["alerts"] for x in a["reasons"])
