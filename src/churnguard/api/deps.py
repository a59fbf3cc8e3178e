"""Dependencies as named ``Annotated`` aliases: ``StateDep``, ``SessionDep``, ``CurrentUser``,
``WorkspaceDep``, ``AnalyticsDep`` and the role guards ``AdminUser`` / ``WriterUser``.

Authentication: ``Authorization: Bearer <key>`` (machines) or the session cookie
(browsers). A cookie-authenticated request that changes something must carry the session's
CSRF token in the ``X-CSRF-Token`` header (or the ``csrf_token`` form field, checked by
the web routes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from churnguard.api.accounts import Principal, session_for, user_for_key
from churnguard.api.analytics import Analytics
from churnguard.api.security import same
from churnguard.api.state import AppState
from churnguard.warehouse.workspace import Workspace

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cg
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """An app-database session: committed when the request succeeds, else rolled back."""
    with state.db.session() as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def principal_of(request: Request, s: Session, state: AppState) -> Principal | None:
    """Who sent ``request`` (None: nobody we know); raises 401 for a bad key."""
    auth = request.headers.get("authorization", "")
    if auth:
        kind, _, key = auth.partition(" ")
        if kind.lower() != "bearer" or not key.strip():
            raise _unauthorized("use the header Authorization: Bearer <api key>")
        user = user_for_key(s, key.strip())
        if user is None:
            raise _unauthorized("unknown or revoked API key")
        return Principal.of(user, via="key")
    token = request.cookies.get(state.settings.session_cookie)
    if token:
        row = session_for(s, token)
        if row is not None:
            return Principal.of(row.user, csrf_token=row.csrf_token, via="session")
    return None


def get_current_user(request: Request, s: SessionDep, state: StateDep) -> Principal:
    who = principal_of(request, s, state)
    if who is None:
        raise _unauthorized("sign in, or send Authorization: Bearer <api key>")
    if who.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not (who.csrf_token and sent and same(sent, who.csrf_token)):
            raise HTTPException(403, "missing or wrong CSRF token (header X-CSRF-Token)")
    return who


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_role(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    def check(who: CurrentUser) -> Principal:
        if who.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}; "
                                     f"{who.username} is {who.role}")
        return who

    return check


AdminUser = Annotated[Principal, Depends(require_role("admin"))]
WriterUser = Annotated[Principal, Depends(require_role("admin", "analyst"))]


def get_workspace(state: StateDep) -> Iterator[Workspace]:
    """The workspace on a read-only cursor of its own, for one request."""
    with state.warehouse.reader() as ws:
        yield ws


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def get_analytics(ws: WorkspaceDep, state: StateDep) -> Analytics:
    return Analytics(ws, state.cache)


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]
