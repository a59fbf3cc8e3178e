"""The admins' users page: admin only, CSRF-checked, audited, and the changes take effect
(a disabled user cannot sign in and their key is refused; a revoked key is refused; a
reset password works)."""

from __future__ import annotations

import re
import warnings

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.fixtures_app import PASSWORD, Users
from churnguard.appdb.auth_models import AuditLog, User


def browser_for(app: FastAPI, user: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    """A signed-in client and its CSRF token."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = TestClient(app)
    r = c.post("/login", data={"username": user, "password": password},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
    assert token
    return c, token.group(1)


def user_id(app: FastAPI, name: str) -> int:
    with app.state.cg.db.session() as s:
        u = s.scalar(select(User).where(User.username == name))
        assert u is not None
        return u.id


def audit_actions(app: FastAPI, target: str) -> list[str]:
    with app.state.cg.db.session() as s:
        return [a.action for a in s.scalars(select(AuditLog).where(AuditLog.target == target)
                                            .order_by(AuditLog.id))]


def test_only_admins_see_and_use_the_page(app: FastAPI, users: Users) -> None:
    analyst, token = browser_for(app, users.analyst)
    assert analyst.get("/admin/users").status_code == 403
    assert 'href="/admin/users"' not in analyst.get("/").text
    r = analyst.post("/admin/users", data={"username": "mallory", "password": "x" * 12,
                                           "role": "admin", "csrf_token": token})
    assert r.status_code == 403
    admin, _ = browser_for(app, users.admin)
    page = admin.get("/admin/users")
    assert page.status_code == 200 and 'href="/admin/users"' in page.text
    assert f'data-user="{users.owner}"' in page.text
    assert "mallory" not in page.text


def test_changes_need_the_csrf_token(app: FastAPI, users: Users) -> None:
    admin, _ = browser_for(app, users.admin)
    r = admin.post("/admin/users", data={"username": "eve", "password": "x" * 12,
                                         "role": "analyst", "csrf_token": "forged"})
    assert r.status_code == 403
    r = admin.post("/admin/users", data={"username": "eve", "password": "x" * 12,
                                         "role": "analyst"})
    assert r.status_code == 403
    assert "eve" not in admin.get("/admin/users").text


def test_add_reset_disable_and_keys_take_effect(app: FastAPI, users: Users) -> None:
    admin, token = browser_for(app, users.admin)
    r = admin.post("/admin/users", data={"username": "dora", "password": "first-password",
                                         "role": "owner", "owner_name": "Bob Li",
                                         "language": "zh", "csrf_token": token})
    assert r.status_code == 200 and 'data-user="dora"' in r.text
    # an owner without an owner name is refused with the reason, nothing added
    r = admin.post("/admin/users", data={"username": "nobody", "password": "x" * 12,
                                         "role": "owner", "csrf_token": token})
    assert r.status_code == 422 and "owner" in r.text and 'data-user="nobody"' not in r.text
    uid = user_id(app, "dora")
    # a key, shown once, that works as Authorization: Bearer
    r = admin.post(f"/admin/users/{uid}/keys", data={"name": "crm", "csrf_token": token})
    key = re.search(r'id="new-key-value">([^<]+)<', r.text)
    assert key
    bearer = {"Authorization": f"Bearer {key.group(1)}"}
    assert admin.get("/api/me", headers=bearer).json()["username"] == "dora"
    assert key.group(1) not in admin.get("/admin/users").text
    # reset the password: the old one stops working, the new one works
    r = admin.post(f"/admin/users/{uid}/password",
                   data={"password": "second-password", "csrf_token": token})
    assert r.status_code == 200
    with pytest.raises(AssertionError):
        browser_for(app, "dora", "first-password")
    browser_for(app, "dora", "second-password")
    # disable: no sign-in, the key is refused; enable again
    admin.post(f"/admin/users/{uid}/active", data={"active": "false", "csrf_token": token})
    with pytest.raises(AssertionError):
        browser_for(app, "dora", "second-password")
    assert admin.get("/api/me", headers=bearer).status_code == 401
    admin.post(f"/admin/users/{uid}/active", data={"active": "true", "csrf_token": token})
    assert admin.get("/api/me", headers=bearer).status_code == 200
    # revoke the key
    prefix = key.group(1)[:10]
    page = admin.get("/admin/users").text
    kid = re.search(rf'data-prefix="{re.escape(prefix)}">.*?/admin/keys/(\d+)/revoke', page,
                    re.S)
    assert kid
    admin.post(f"/admin/keys/{kid.group(1)}/revoke", data={"csrf_token": token})
    assert admin.get("/api/me", headers=bearer).status_code == 401
    # an admin cannot lock themselves out
    me = user_id(app, users.admin)
    r = admin.post(f"/admin/users/{me}/active", data={"active": "false", "csrf_token": token})
    assert r.status_code == 422
    assert admin.get("/admin/users").status_code == 200
    actions = audit_actions(app, "dora")
    for action in ("user.add", "apikey.create", "user.password_reset", "user.disable",
                   "user.enable", "apikey.revoke"):
        assert action in actions, (action, actions)
