"""``/api/users`` (admins manage users) and ``/api/me``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from churnguard.api.accounts import add_user, audit
from churnguard.api.deps import AdminUser, CurrentUser, SessionDep
from churnguard.api.errors import ERROR_RESPONSES
from churnguard.api.schemas import UserCreate, UserPublic, UsersPublic
from churnguard.appdb.auth_models import User
from churnguard.errors import InputError

router = APIRouter(prefix="/api", tags=["users"], responses=ERROR_RESPONSES)


def _public(u: User) -> UserPublic:
    return UserPublic(id=u.id, username=u.username, role=u.role,  # type: ignore[arg-type]
                      owner_name=u.owner_name, active=u.active)


@router.get("/me", response_model=UserPublic)
def me(who: CurrentUser, s: SessionDep) -> UserPublic:
    """The signed-in user."""
    user = s.get(User, who.id)
    assert user is not None
    return _public(user)


@router.get("/users", response_model=UsersPublic)
def list_users(s: SessionDep, who: AdminUser) -> UsersPublic:
    """Every user (admins only)."""
    users = list(s.scalars(select(User).order_by(User.username)))
    return UsersPublic(data=[_public(u) for u in users], count=len(users))


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, request: Request, s: SessionDep, who: AdminUser
                ) -> UserPublic:
    """Add a user (admins only)."""
    try:
        user = add_user(s, body.username, body.password, role=body.role,
                        owner_name=body.owner_name)
    except InputError as exc:
        raise HTTPException(409 if "already exists" in str(exc) else 422, str(exc)) from None
    audit(s, who, "user.add", body.username, f"role={body.role}",
          request.client.host if request.client else "")
    return _public(user)
