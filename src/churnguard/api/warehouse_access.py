"""The server's access to the warehouse: one read-only DuckDB connection, a cursor per request.

DuckDB allows one writer process; the server is a reader. Requests share one read-only
connection and each gets its own cursor (:meth:`WarehouseHandle.reader`). To apply
queued event batches the server itself becomes the writer for a moment
(:meth:`WarehouseHandle.writer`): it waits for the requests in flight, closes the
read-only connection, opens the workspace for writing, and reopens read-only afterwards.
If another process holds the write lock, the writer step fails with a clear error and
the batch stays queued.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis

from churnguard.warehouse.config import WorkspaceConfig
from churnguard.warehouse.warehouse import Warehouse
from churnguard.warehouse.workspace import Workspace


class ReadWriteLock:
    """Many readers or one writer; a waiting writer keeps new readers out."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class WarehouseHandle:
    """Read-only access to one workspace's warehouse, shared by the requests of a server."""

    def __init__(self, root: Path, config: WorkspaceConfig) -> None:
        self.root = root
        self.config = config
        self._lock = ReadWriteLock()
        self._open_lock = threading.Lock()
        self._ws: Workspace | None = None
        #: bumped by every write through :meth:`writer` (the caches watch it too)
        self.generation = 0

    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._open_lock:
            if self._ws is None:
                self._ws = Workspace(self.root, self.config, read_only=True)
            return self._ws.warehouse.duck

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        """A workspace view on a fresh cursor of the shared read-only connection."""
        with self._lock.read():
            cursor = self._connection().cursor()
            try:
                cursor.execute("SET TimeZone = 'UTC'")
                view = Workspace(self.root, self.config, read_only=True)
                view._warehouse = Warehouse(ibis.duckdb.from_connection(cursor), cursor,
                                            self.config.warehouse.url)
                yield view
            finally:
                cursor.close()

    @contextmanager
    def writer(self) -> Iterator[Workspace]:
        """The workspace opened for writing, while no request reads (then read-only again)."""
        with self._lock.write():
            self._close()
            ws = Workspace.open(self.root)
            try:
                yield ws
            finally:
                ws.close()
                self.generation += 1

    def _close(self) -> None:
        with self._open_lock:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

    def close(self) -> None:
        with self._lock.write():
            self._close()
