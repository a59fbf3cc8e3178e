"""App state (users, keys, sessions, audit, alerts, cases) in a relational database.

SQLAlchemy 2 models on one declarative :class:`Base`; schema changes are Alembic
migrations shipped in the package (``appdb/migrations``). SQLite in the workspace by
default (``<ws>/app.db``), PostgreSQL (or any SQLAlchemy URL) via ``[app] database_url``.
"""

from churnguard.appdb.base import Base
from churnguard.appdb.engine import AppDB, database_url

__all__ = ["AppDB", "Base", "database_url"]
