"""The app's state: settings, the app database, the warehouse handle and the caches.

One :class:`AppState` per app, made by :func:`churnguard.api.main.create_app` and kept on
``app.state.cg``; nothing lives at module level, so tests build as many apps as they like.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from churnguard.api.cache import FrameCache
from churnguard.api.warehouse_access import WarehouseHandle
from churnguard.appdb import AppDB, database_url
from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)


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
    #: DuckDB threads of this server's read-only connection when ``[warehouse] threads`` is
    #: unset (None: DuckDB's default, one per core). ``serve --workers N`` sets cores / N,
    #: so N processes do not each start a thread per core and contend for the cores.
    duckdb_threads: int | None = Field(default=None, ge=1)
    #: at start-up, open the warehouse and the app database and read one customer the way
    #: the 360 view and the at-risk list do (``serve`` sets it): a worker's first requests
    #: are otherwise its slowest (about 170 ms on 1M customers instead of 10)
    warm_up: bool = False


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
        if settings.duckdb_threads and config.warehouse.threads is None:
            config = config.model_copy(update={"warehouse": config.warehouse.model_copy(
                update={"threads": settings.duckdb_threads})})
        url = settings.database_url or database_url(ws)
        db = AppDB(url)
        db.upgrade()
        root = Path(settings.workspace).resolve()
        return cls(settings, db, WarehouseHandle(root, config),
                   FrameCache(root, persist=settings.persist_cache))

    def warm(self) -> None:
        """Open the app database and the warehouse and take the hot paths once (see
        ``warm_up``). A busy or unscored warehouse is no error (the requests will say what
        is wrong), so a failure is logged and skipped."""
        from sqlalchemy import text

        from churnguard.api import serving as srv
        from churnguard.api.analytics import Analytics

        started = time.perf_counter()
        try:
            with self.db.session() as s:
                s.execute(text("SELECT 1"))
            with self.warehouse.reader() as ws:
                an = Analytics(ws, self.cache)
                if an.serving:
                    first = ws.warehouse.duck.execute(
                        f"SELECT customer_id FROM {srv.CUSTOMERS} LIMIT 1").fetchone()
                    if first is not None:
                        an.customer(str(first[0]))
                        an.score_points(str(first[0]))
                        an.timeline_items(str(first[0]))
                    an.at_risk(limit=50)
        except Exception as exc:  # warming is best effort, never fatal
            log.warning("warm-up skipped: %s", exc)
            return
        log.info("worker warmed up in %.2f s", time.perf_counter() - started)

    def close(self) -> None:
        self.warehouse.close()
        self.db.dispose()
