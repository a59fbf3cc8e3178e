"""Customers list, 360 view, at-risk, metrics; owners never see another owner's customer."""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient

from .fixtures_app import OWNER, Users, bearer


@pytest.fixture(scope="module")
def foreign_id(sim_workspace) -> str:  # type: ignore[no-untyped-def]
    """A customer that is not Bob Li's."""
    con = duckdb.connect(str(sim_workspace / "warehouse.duckdb"), read_only=True)
    cid = con.execute("SELECT min(customer_id) FROM customers WHERE owner <> ?",
                      [OWNER]).fetchone()[0]
    con.close()
    return str(cid)


def test_list_has_the_promised_fields(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/customers", params={"limit": 5}, headers=bearer(keys["alice"]))
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2000 and len(body["data"]) == 5
    for item in body["data"]:
        assert {"customer_id", "owner", "churn_probability", "clv"} <= set(item)
    if not body["scores_available"]:
        assert "no churn model" in body["note"]


def test_pagination_and_filters(client: TestClient, keys: dict[str, str]) -> None:
    h = bearer(keys["alice"])
    a = client.get("/api/customers", params={"limit": 3, "offset": 0}, headers=h).json()
    b = client.get("/api/customers", params={"limit": 3, "offset": 3}, headers=h).json()
    assert {c["customer_id"] for c in a["data"]}.isdisjoint(c["customer_id"] for c in b["data"])
    r = client.get("/api/customers", params={"status": "churned", "limit": 1000}, headers=h)
    assert r.json()["count"] > 0 and all(c["status"] == "churned" for c in r.json()["data"])
    r = client.get("/api/customers", params={"sort": "clv", "descending": True, "limit": 10},
                   headers=h).json()["data"]
    clvs = [c["clv"] for c in r if c["clv"] is not None]
    assert clvs == sorted(clvs, reverse=True)
    r = client.get("/api/customers", params={"limit": 5000}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_360_view(client: TestClient, keys: dict[str, str], foreign_id: str) -> None:
    r = client.get(f"/api/customers/{foreign_id}", headers=bearer(keys["alice"]))
    assert r.status_code == 200
    body = r.json()
    assert body["customer"]["customer_id"] == foreign_id
    assert body["profile"]["customer_id"] == foreign_id
    assert body["timeline"], "every simulated customer has some history"
    assert client.get("/api/customers/NOPE", headers=bearer(keys["alice"])).status_code == 404


def test_owner_sees_only_own_customers(client: TestClient, keys: dict[str, str]) -> None:
    body = client.get("/api/customers", params={"limit": 1000},
                      headers=bearer(keys["bob"])).json()
    assert body["count"] > 0
    assert {c["owner"] for c in body["data"]} == {OWNER}
    risky = client.get("/api/at-risk", params={"limit": 1000}, headers=bearer(keys["bob"]))
    assert {c["owner"] for c in risky.json()["data"]} <= {OWNER}


def test_owner_cannot_reach_another_owners_customer_by_any_route(
        client: TestClient, keys: dict[str, str], users: Users, foreign_id: str) -> None:
    h = bearer(keys["bob"])
    assert client.get(f"/api/customers/{foreign_id}", headers=h).status_code == 404
    found = client.get("/api/customers", params={"q": foreign_id}, headers=h).json()
    assert found["count"] == 0
    by_owner = client.get("/api/customers", params={"owner": users.other_owner_name},
                          headers=h).json()
    assert by_owner["count"] == 0
    risky = client.get("/api/at-risk", params={"owner": users.other_owner_name, "limit": 1000},
                       headers=h).json()
    assert risky["count"] == 0
    metrics = client.get("/api/metrics/churn", headers=h).json()
    assert metrics["scope"] == f"owner:{OWNER}"
    row = [{"interaction_id": "OWN1", "customer_id": foreign_id, "at": "2026-06-30",
            "channel": "call", "direction": "outbound"}]
    assert client.post("/api/events/interactions", json=row, headers=h).status_code == 403


def test_owner_metrics_are_their_book(client: TestClient, keys: dict[str, str]) -> None:
    mine = client.get("/api/metrics/churn", params={"period": "quarter"},
                      headers=bearer(keys["bob"])).json()["data"]
    everyone = client.get("/api/metrics/churn", params={"period": "quarter"},
                          headers=bearer(keys["alice"])).json()["data"]
    assert len(mine) > 0 and len(everyone) > 0
    assert max(m["customers_end"] for m in mine) < max(e["customers_end"] for e in everyone)


def test_churn_metrics(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/api/metrics/churn", params={"period": "month"},
                   headers=bearer(keys["alice"]))
    assert r.status_code == 200
    data = r.json()["data"]
    assert r.json()["period"] == "month" and len(data) >= 12
    done = [d for d in data if d["complete"] and d["churn_rate"] is not None]
    assert all(0 <= d["churn_rate"] <= 1 for d in done)
    assert any(d["net_revenue_retention"] is not None for d in data)
    r = client.get("/api/metrics/churn", params={"period": "fortnight"},
                   headers=bearer(keys["alice"]))
    assert r.status_code == 422 and "period" in r.json()["error"]["message"]


def test_at_risk_sorted_by_expected_loss(client: TestClient, keys: dict[str, str]) -> None:
    body = client.get("/api/at-risk", params={"limit": 20}, headers=bearer(keys["alice"])).json()
    assert body["count"] > 0 and body["risk_source"] in ("model", "value_model")
    if body["risk_source"] != "model":
        assert "no churn model scores" in body["note"]
    losses = [c["expected_loss"] for c in body["data"]]
    assert losses == sorted(losses, reverse=True)
    assert all(0 <= c["probability"] <= 1 for c in body["data"])
