"""Connect to the app database and bring its schema to the newest migration.

>>> import tempfile, pathlib
>>> db = AppDB(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'app.db'}")
>>> db.upgrade()
>>> db.current_revision() is not None
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from churnguard.errors import WorkspaceError

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

MIGRATIONS = Path(__file__).parent / "migrations"
ENV_URL = "CHURNGUARD_DATABASE_URL"


def database_url(ws: Workspace) -> str:
    """``$CHURNGUARD_DATABASE_URL``, else ``[app] database_url``, else SQLite in the workspace."""
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    configured = ws.config.app.database_url
    if configured:
        return configured
    return f"sqlite:///{(ws.root / 'app.db').resolve()}"


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class AppDB:
    """An engine and session factory for one app database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=True, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise WorkspaceError(f"cannot use app database {url!r}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_workspace(cls, ws: Workspace, *, upgrade: bool = True) -> AppDB:
        db = cls(database_url(ws))
        if upgrade:
            db.upgrade()
        return db

    def _alembic_config(self):  # type: ignore[no-untyped-def]
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self, revision: str = "heads") -> None:
        """Apply every pending migration of every feature branch (idempotent)."""
        from alembic import command

        try:
            command.upgrade(self._alembic_config(), revision)
        except SQLAlchemyError as exc:
            raise WorkspaceError(f"cannot migrate app database {self.url!r}: {exc}") from None

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            return ",".join(sorted(heads)) if heads else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
