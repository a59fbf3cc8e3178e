"""Users, API keys, browser sessions and the audit log: the operations on app state.

Used by the CLI (``users add``, ``apikey create``) and by the app (login, key checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from churnguard.api.security import hash_password, new_token, token_digest, verify_password
from churnguard.appdb.auth_models import ROLES, ApiKey, AuditLog, User, WebSession, utcnow
from churnguard.errors import InputError
from churnguard.i18n import LANGUAGES

KEY_PREFIX = "cg_"
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Principal:
    """Who is asking: what the routes need to know of a user, detached from the session."""

    id: int
    username: str
    role: str
    owner_name: str | None
    language: str = "en"
    csrf_token: str | None = None  # browser sessions only
    via: str = "key"  # "key" or "session"

    @property
    def owner_scope(self) -> str | None:
        """The owner name whose customers alone this user may see; None = all customers."""
        return self.owner_name if self.role == "owner" else None

    def language_for(self, requested: str | None) -> str:
        """The language of a response: the one ``requested``, else the user's, else en."""
        return requested or (self.language if self.language in LANGUAGES else "en")

    @classmethod
    def of(cls, user: User, *, csrf_token: str | None = None, via: str = "key") -> Principal:
        return cls(user.id, user.username, user.role, user.owner_name, user.language,
                   csrf_token, via)


def add_user(s: Session, username: str, password: str, *, role: str,
             owner_name: str | None = None, language: str = "en") -> User:
    """Create a user; owners need the ``owner_name`` their customers carry."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == "owner" and not owner_name:
        raise InputError(f"user {username!r} has role owner but no --owner-name: give the "
                         "value of customers.owner that is theirs, e.g. --owner-name 'Bob Li'")
    if not username or len(username) > 80 or not username.isprintable():
        raise InputError(f"user name {username!r} must be 1-80 printable characters")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password of {username!r} is shorter than {MIN_PASSWORD} "
                         "characters; choose a longer one")
    if s.scalar(select(User).where(User.username == username)) is not None:
        raise InputError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role,
                owner_name=owner_name if role == "owner" else owner_name or None,
                active=True, language=language)
    s.add(user)
    s.flush()
    audit(s, None, "user.add", username, f"role={role}")
    return user


def find_user(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise InputError(f"no user {username!r}; add one with `churnguard users add`")
    return user


def create_api_key(s: Session, username: str, *, name: str = "") -> tuple[ApiKey, str]:
    """A new key for ``username``: returns the row and the key itself (shown once)."""
    user = find_user(s, username)
    key = new_token(KEY_PREFIX)
    row = ApiKey(user_id=user.id, prefix=key[:10], key_hash=token_digest(key), name=name)
    s.add(row)
    s.flush()
    audit(s, None, "apikey.create", username, f"prefix={row.prefix}")
    return row, key


def user_for_key(s: Session, key: str) -> User | None:
    """The active user a (not revoked) API key belongs to; marks the key used."""
    row = s.scalar(select(ApiKey).where(ApiKey.key_hash == token_digest(key)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is None or _aware(last) < now - timedelta(minutes=1):  # one write a minute at most
        row.last_used_at = now
    return row.user


def authenticate(s: Session, username: str, password: str) -> User | None:
    user = s.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return user


def start_session(s: Session, user: User) -> tuple[str, WebSession]:
    """A new browser session: returns the cookie token (kept only as a digest)."""
    token = new_token()
    row = WebSession(token_hash=token_digest(token), user_id=user.id,
                     csrf_token=new_token(), expires_at=utcnow() + SESSION_TTL)
    s.add(row)
    s.flush()
    return token, row


def session_for(s: Session, token: str) -> WebSession | None:
    row = s.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is None or _aware(row.expires_at) < utcnow() or not row.user.active:
        return None
    return row


def end_session(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_hash == token_digest(token)))


def audit(s: Session, who: Principal | None, action: str, target: str = "",
          detail: str = "", client: str = "") -> None:
    """Append one line to the audit log (in the caller's transaction)."""
    s.add(AuditLog(user_id=who.id if who else None, username=who.username if who else "(cli)",
                   action=action, target=target[:255], detail=detail, client=client[:64]))


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)
