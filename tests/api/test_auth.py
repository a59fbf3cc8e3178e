"""Authentication, roles, API keys, CSRF and the audit log."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from churnguard.api.accounts import add_user, authenticate, create_api_key
from churnguard.api.security import hash_password, verify_password
from churnguard.appdb.auth_models import ApiKey, AuditLog
from churnguard.errors import InputError

from .fixtures_app import PASSWORD, Users, bearer

PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/login"}


def test_health_needs_no_auth(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_every_api_route_needs_auth(app: FastAPI, client: TestClient, users: Users) -> None:
    client.cookies.clear()
    checked = 0
    for path, ops in app.openapi()["paths"].items():
        methods = {m.upper() for m in ops}
        if path in PUBLIC:
            continue
        url = path.replace("{customer_id}", "C000001").replace("{table}", "orders") \
            .replace("{batch_id}", "orders-20260101T000000-0000abcd")
        for method in methods - {"HEAD", "OPTIONS"}:
            r = client.request(method, url, json=[])
            assert r.status_code == 401, (method, url, r.status_code)
            assert r.json()["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 7


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer "])
def test_bad_keys_are_refused(client: TestClient, users: Users, header: str) -> None:
    r = client.get("/api/customers", headers={"Authorization": header})
    assert r.status_code == 401
    assert set(r.json()) == {"error"}


def test_key_is_stored_hashed_and_works(app: FastAPI, client: TestClient,
                                        keys: dict[str, str]) -> None:
    key = keys["alice"]
    with app.state.cg.db.session() as s:
        hashes = list(s.scalars(select(ApiKey.key_hash)))
    assert key not in hashes and all(len(h) == 64 for h in hashes)
    r = client.get("/api/me", headers=bearer(key))
    assert r.status_code == 200 and r.json()["role"] == "analyst"


def test_revoked_key_is_refused(app: FastAPI, client: TestClient, users: Users) -> None:
    from churnguard.appdb.auth_models import utcnow

    with app.state.cg.db.session() as s:
        row, key = create_api_key(s, "alice", name="to revoke")
        row.revoked_at = utcnow()
    assert client.get("/api/me", headers=bearer(key)).status_code == 401


def test_passwords_use_scrypt() -> None:
    h = hash_password("s3cret-pass", n=2**10)
    assert h.startswith("scrypt$1024$") and "s3cret" not in h
    assert verify_password("s3cret-pass", h) and not verify_password("other", h)
    assert not verify_password("s3cret-pass", "garbage")


def test_user_rules(app: FastAPI, users: Users) -> None:
    with app.state.cg.db.session() as s:
        with pytest.raises(InputError, match="no --owner-name"):
            add_user(s, "dave", PASSWORD, role="owner")
        with pytest.raises(InputError, match="unknown role"):
            add_user(s, "dave", PASSWORD, role="boss")
        with pytest.raises(InputError, match="shorter than 8"):
            add_user(s, "dave", "short", role="analyst")
        with pytest.raises(InputError, match="already exists"):
            add_user(s, "alice", PASSWORD, role="analyst")
        assert authenticate(s, "alice", PASSWORD) is not None
        assert authenticate(s, "alice", "wrong-password") is None


def test_only_admins_manage_users(client: TestClient, keys: dict[str, str]) -> None:
    body = {"username": "erin", "password": PASSWORD, "role": "analyst"}
    for who in ("alice", "bob"):
        r = client.post("/api/users", json=body, headers=bearer(keys[who]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert client.get("/api/users", headers=bearer(keys[who])).status_code == 403
    r = client.post("/api/users", json=body, headers=bearer(keys["root"]))
    assert r.status_code == 201 and r.json()["username"] == "erin"
    r = client.post("/api/users", json=body, headers=bearer(keys["root"]))
    assert r.status_code == 409
    names = [u["username"] for u in client.get("/api/users",
                                               headers=bearer(keys["root"])).json()["data"]]
    assert "erin" in names


def test_cookie_session_needs_csrf_for_changes(client: TestClient, users: Users) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": "alice", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/me").json()["username"] == "alice"
    row = [{"interaction_id": "CSRF1", "customer_id": "C000001", "at": "2026-06-30",
            "channel": "login"}]
    r = client.post("/api/events/interactions", json=row)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    r = client.post("/login", data={"username": "alice", "password": "wrong-password"},
                    follow_redirects=False)
    assert r.status_code == 401
    client.cookies.clear()


def test_audit_log_records_changes(app: FastAPI, client: TestClient,
                                   keys: dict[str, str]) -> None:
    with app.state.cg.db.session() as s:
        actions = set(s.scalars(select(AuditLog.action)))
    assert {"user.add", "apikey.create"} <= actions
