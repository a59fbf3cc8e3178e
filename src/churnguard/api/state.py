"""The app's state: settings, the app database, the warehouse handle and the caches.

One :class:`AppState` per app, made by :func:`churnguard.api.main.create_app` and kept on
``app.state.cg``; nothing lives at module level, so tests build as many apps as they like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from churnguard.api.cache import FrameCache
from churnguard.api.warehouse_access import WarehouseHandle
from churnguard.appdb import AppDB, database_url
from churnguard.warehouse.workspace import Workspace


class AppSettings(BaseModel):
    """Settings of one server (CLI options map onto these)."""

    model_config = ConfigDict(extra="forbid")

    workspace: Path
    #: app database URL; None = $CHURNGUARD_DATABASE_URL, [app] database_url, else SQLite
    database_url: str | None = None
    #: send cookies with ``Secure`` (set behind HTTPS)
    secure_cookies: bool = False
    session_cookie: str = "churnguard_session"
    language_cookie: str = "churnguard_lang"
    #: keep computed aggregates under <workspace>/.cache/app
    persist_cache: bool = True
    #: most rows one POST /api/events call may carry
    max_event_rows: int = Field(default=10_000, ge=1)
    #: apply queued event batches right away (False: only queue them)
    apply_events: bool = True


@dataclass
class AppState:
    settings: AppSettings
    db: AppDB
    warehouse: WarehouseHandle
    cache: FrameCache
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: AppSettings) -> AppState:
        ws = Workspace.open(settings.workspace, read_only=True)
        config = ws.config
        url = settings.database_url or database_url(ws)
        db = AppDB(url)
        db.upgrade()
        root = Path(settings.workspace).resolve()
        return cls(settings, db, WarehouseHandle(root, config),
                   FrameCache(root, persist=settings.persist_cache))

    def close(self) -> None:
        self.warehouse.close()
        self.db.dispose()
