"""POST /api/events/{table}: validated like a file, all or nothing, queued when busy."""

from __future__ import annotations

from pathlib import Path

import duckdb
from fastapi import FastAPI
from fastapi.testclient import TestClient

from churnguard.warehouse.ingest_rows import apply_inbox, batch_status, spool_rows

from .fixtures_app import bearer

GOOD = [{"interaction_id": "API-1", "customer_id": "C000001", "at": "2026-06-30T09:00:00Z",
         "channel": "call", "kind": "check-in", "direction": "outbound"},
        {"interaction_id": "API-2", "customer_id": "C000002", "at": "2026-06-30",
         "channel": "email", "direction": "outbound"}]


def test_post_applies_rows(app: FastAPI, client: TestClient, keys: dict[str, str],
                           app_workspace: Path) -> None:
    r = client.post("/api/events/interactions", json=GOOD, headers=bearer(keys["alice"]))
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "applied" and body["inserted"] == 2
    again = client.post("/api/events/interactions", json=GOOD, headers=bearer(keys["root"]))
    assert again.json()["unchanged"] == 2  # idempotent by key
    status = client.get(f"/api/events/batches/{body['batch_id']}",
                        headers=bearer(keys["alice"])).json()
    assert status["status"] == "applied"
    # the server reads the new rows after the write
    r = client.get("/api/customers/C000001", headers=bearer(keys["alice"])).json()
    assert any(t["summary"] and "check-in" in t["summary"] for t in r["timeline"])


def test_bad_rows_refuse_the_whole_batch(client: TestClient, keys: dict[str, str]) -> None:
    rows = [dict(GOOD[0], interaction_id="API-3"),
            {"interaction_id": "API-4", "customer_id": "C000001", "at": "yesterday-ish",
             "channel": "call"}]
    r = client.post("/api/events/interactions", json=rows, headers=bearer(keys["alice"]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_input" and "row 2, column at" in err["message"]
    assert err["detail"]["status"] == "refused" and err["detail"]["rejected"] == 1
    assert err["detail"]["examples"][0]["column"] == "at"


def test_event_input_errors(client: TestClient, keys: dict[str, str]) -> None:
    h = bearer(keys["alice"])
    assert client.post("/api/events/nope", json=GOOD, headers=h).status_code == 404
    assert client.post("/api/events/interactions", json=[], headers=h).status_code == 422
    r = client.post("/api/events/interactions", json={"a": 1}, headers=h)
    assert r.status_code == 422 and set(r.json()) == {"error"}
    assert client.get("/api/events/batches/bogus", headers=h).status_code == 404


def test_inbox_queue_then_apply(tmp_path: Path) -> None:
    from churnguard.warehouse import Workspace

    root = tmp_path / "w"
    Workspace.init(root).close()
    batch = spool_rows(root, "customers", [{"customer_id": "K1", "signup_at": "2026-01-01"}])
    assert batch_status(root, batch)["status"] == "queued"  # type: ignore[index]
    bad = spool_rows(root, "customers", [{"customer_id": "K2", "signup_at": "never"}])
    with Workspace.open(root) as ws:
        done = apply_inbox(ws)
    assert [d["status"] for d in done] == ["applied", "refused"]
    assert batch_status(root, bad)["status"] == "refused"  # type: ignore[index]
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT list(customer_id) FROM customers").fetchone()[0] == ["K1"]
    con.close()


def test_batches_posted_in_the_same_second_apply_in_arrival_order(tmp_path: Path) -> None:
    """A later batch may update what an earlier one wrote: the inbox keeps arrival order."""
    from churnguard.warehouse.ingest_rows import queued

    root = tmp_path / "w"
    root.mkdir()
    ids = [spool_rows(root, "customers", [{"customer_id": f"K{i}", "signup_at": "2026-01-01"}])
           for i in range(30)]
    assert [path.stem for _, path in queued(root)] == ids
    assert all(batch_status(root, b)["status"] == "queued" for b in ids)  # type: ignore[index]
