"""Dashboard page for admins: users and API keys (``/admin/users``).

List users; add a user with a role (and, for owners, the owner name their customers
carry); reset a password; disable or enable a user; create and revoke API keys. Only
admins reach the page (others get 403). Every form posts the session's CSRF token
(``csrf_token`` field, or the ``X-CSRF-Token`` header HTMX sends) and every change is
written to the audit log. A new API key is shown once, on the page that created it; only
its digest is stored. Disabling a user or resetting their password ends their browser
sessions; a disabled user's API keys stop working at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from churnguard.api.accounts import MIN_PASSWORD, Principal, add_user, audit, create_api_key
from churnguard.api.deps import SessionDep
from churnguard.api.security import hash_password, same
from churnguard.appdb.auth_models import ROLES, ApiKey, User, WebSession, utcnow
from churnguard.errors import InputError
from churnguard.i18n import LANGUAGES
from churnguard.web.routes import PageUser, add_nav, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PATH = "/admin/users"


def _admin(request: Request, who: Principal, csrf_token: str | None = None) -> None:
    """403 unless an admin; for changes by a browser session, also the CSRF token."""
    if who.role != "admin":
        raise HTTPException(403, f"only admins manage users; {who.username} is {who.role}")
    if csrf_token is None or who.via != "session":
        return
    sent = csrf_token or request.headers.get("x-csrf-token", "")
    if not (who.csrf_token and sent and same(sent, who.csrf_token)):
        raise HTTPException(403, "missing or wrong CSRF token")


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user with id {user_id}")
    return user


def _page(request: Request, s: Session, who: Principal, *, status: int = 200,
          **extra: Any) -> HTMLResponse:
    users = list(s.scalars(select(User).order_by(User.username)))
    keys = {u.id: sorted(u.api_keys, key=lambda k: k.created_at) for u in users}
    resp = render(request, "admin_users.html", who, users=users, keys=keys, roles=ROLES,
                  min_password=MIN_PASSWORD, **extra)
    resp.status_code = status
    return resp


def _refused(request: Request, s: Session, who: Principal, exc: Exception) -> HTMLResponse:
    s.rollback()
    return _page(request, s, who, status=422, error=str(exc))


@router.get(PATH, response_class=HTMLResponse)
def users_page(request: Request, who: PageUser, s: SessionDep) -> HTMLResponse:
    if who.role != "admin":
        resp = render(request, "admin_forbidden.html", who)
        resp.status_code = 403
        return resp
    return _page(request, s, who)


@router.post(PATH, response_class=HTMLResponse)
def add(request: Request, who: PageUser, s: SessionDep,
        username: Annotated[str, Form()], password: Annotated[str, Form()],
        role: Annotated[str, Form()], owner_name: Annotated[str, Form()] = "",
        language: Annotated[str, Form()] = "en",
        csrf_token: Annotated[str, Form()] = "") -> HTMLResponse:
    _admin(request, who, csrf_token)
    lang = language if language in LANGUAGES else "en"
    try:
        add_user(s, username.strip(), password, role=role,
                 owner_name=owner_name.strip() or None, language=lang)
    except InputError as exc:
        return _refused(request, s, who, exc)
    audit(s, who, "user.add", username.strip(), f"role={role}", _client(request))
    s.commit()
    return _page(request, s, who, done=("admin.added", username.strip()))


@router.post(PATH + "/{user_id}/password", response_class=HTMLResponse)
def reset_password(user_id: int, request: Request, who: PageUser, s: SessionDep,
                   password: Annotated[str, Form()],
                   csrf_token: Annotated[str, Form()] = "") -> HTMLResponse:
    _admin(request, who, csrf_token)
    user = _user(s, user_id)
    if len(password) < MIN_PASSWORD:
        return _refused(request, s, who, InputError(
            f"the password of {user.username!r} is shorter than {MIN_PASSWORD} characters; "
            "choose a longer one"))
    user.password_hash = hash_password(password)
    if user.id != who.id:  # sessions signed in with the old password end
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(s, who, "user.password_reset", user.username, "", _client(request))
    s.commit()
    return _page(request, s, who, done=("admin.password_done", user.username))


@router.post(PATH + "/{user_id}/active", response_class=HTMLResponse)
def set_active(user_id: int, request: Request, who: PageUser, s: SessionDep,
               active: Annotated[bool, Form()],
               csrf_token: Annotated[str, Form()] = "") -> HTMLResponse:
    _admin(request, who, csrf_token)
    user = _user(s, user_id)
    if user.id == who.id and not active:
        return _refused(request, s, who, InputError(
            "you cannot disable yourself; ask another admin"))
    user.active = active
    if not active:
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(s, who, "user.enable" if active else "user.disable", user.username, "",
          _client(request))
    s.commit()
    return _page(request, s, who,
                 done=("admin.enabled" if active else "admin.disabled", user.username))


@router.post(PATH + "/{user_id}/keys", response_class=HTMLResponse)
def new_key(user_id: int, request: Request, who: PageUser, s: SessionDep,
            name: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "") -> HTMLResponse:
    _admin(request, who, csrf_token)
    user = _user(s, user_id)
    if not user.active:
        return _refused(request, s, who, InputError(
            f"{user.username} is disabled; enable the user before giving them a key"))
    row, key = create_api_key(s, user.username, name=name.strip()[:120])
    audit(s, who, "apikey.create", user.username, f"prefix={row.prefix}", _client(request))
    s.commit()
    return _page(request, s, who, new_key=key, new_key_user=user.username)


@router.post("/admin/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(key_id: int, request: Request, who: PageUser, s: SessionDep,
               csrf_token: Annotated[str, Form()] = "") -> HTMLResponse:
    _admin(request, who, csrf_token)
    row = s.get(ApiKey, key_id)
    if row is None:
        raise HTTPException(404, f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(s, who, "apikey.revoke", row.user.username, f"prefix={row.prefix}",
              _client(request))
        s.commit()
    return _page(request, s, who, done=("admin.revoked", row.prefix))


def install(app: FastAPI) -> None:
    """Add the users page (admins only; the navigation link shows to admins)."""
    app.include_router(router)
    add_nav(app, PATH, "nav.admin")


__all__ = ["install", "router"]
