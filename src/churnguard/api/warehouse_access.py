"""The server's access to the warehouse: one read-only DuckDB connection, a cursor per request.

The connection is let go when the server is idle or a writing command asks for it (see
:class:`WarehouseHandle` and :mod:`churnguard.warehouse.sharing`).

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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis
from fastapi import HTTPException

from churnguard.errors import WorkspaceError
from churnguard.warehouse import sharing
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

    def idle(self) -> bool:
        """No reader and no writer right now."""
        with self._cond:
            return not self._readers and not self._writer

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
    """Read-only access to one workspace's warehouse, shared by the requests of a server.

    The connection is opened on first use and closed again when no request has read for
    ``idle_seconds``, or at once (after the requests in flight) when a writing command
    asks for the warehouse (:mod:`churnguard.warehouse.sharing`): a server left running
    never keeps ``churnguard score`` or ``ingest`` out for long. Every open starts a new
    ``epoch``; what was learnt about the data (its version) is kept per epoch, since no
    other process can write while the server holds the file.
    """

    def __init__(self, root: Path, config: WorkspaceConfig, *, idle_seconds: float = 15.0,
                 busy_wait: float = 5.0) -> None:
        self.root = root
        self.config = config
        self.idle_seconds = idle_seconds
        #: how long a request waits for a writing command before answering 503
        self.busy_wait = busy_wait
        self._lock = ReadWriteLock()
        self._open_lock = threading.Lock()
        self._ws: Workspace | None = None
        self._last_used = time.monotonic()
        #: bumped by every write through :meth:`writer` (the caches watch it too)
        self.generation = 0
        #: bumped by every open of the read-only connection
        self.epoch = 0
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    # -- opening and letting go ---------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        with self._open_lock:
            if self._ws is None:
                self._ws = self._open()
                self.epoch += 1
                sharing.mark_open(self.root)
                self._start_janitor()
            return self._ws.warehouse.duck

    def _open(self) -> Workspace:
        """Open read-only, waiting up to ``busy_wait`` s for a writing command."""
        deadline = time.monotonic() + self.busy_wait
        while True:
            writer = sharing.release_requested(self.root)
            if writer is None:
                try:
                    ws = Workspace(self.root, self.config, read_only=True)
                    ws.warehouse.duck  # noqa: B018  (opens the file now)
                    return ws
                except WorkspaceError as exc:
                    if "lock" not in str(exc).lower() and "another process" not in str(exc):
                        raise
                    reason = str(exc)
            else:
                reason = f"process {writer} is writing to the warehouse"
            if time.monotonic() >= deadline:
                raise HTTPException(503, f"the warehouse is busy: {reason}. This happens "
                                         "while a command such as churnguard score or ingest "
                                         "writes; try again in a minute.",
                                    headers={"Retry-After": "30"})
            time.sleep(0.1)

    def _start_janitor(self) -> None:
        if self._janitor is None or not self._janitor.is_alive():
            self._janitor = threading.Thread(target=self._watch, name="warehouse-janitor",
                                             daemon=True)
            self._janitor.start()

    def _watch(self) -> None:
        """Close the connection when idle or when a writer asks for the warehouse."""
        while not self._stop.wait(0.1):
            if self._ws is None:
                continue
            idle = self._lock.idle() and time.monotonic() - self._last_used > self.idle_seconds
            if idle or sharing.release_requested(self.root) is not None:
                with self._lock.write():
                    self._close()

    def is_open(self) -> bool:
        return self._ws is not None

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        """A workspace view on a fresh cursor of the shared read-only connection."""
        with self._lock.read():
            try:
                cursor = self._connection().cursor()
                try:
                    cursor.execute("SET TimeZone = 'UTC'")
                    view = Workspace(self.root, self.config, read_only=True)
                    view._warehouse = Warehouse(lambda: ibis.duckdb.from_connection(cursor), cursor,
                                                self.config.warehouse.url)
                    view.epoch = self.epoch  # type: ignore[attr-defined]
                    yield view
                finally:
                    cursor.close()
            finally:
                self._last_used = time.monotonic()

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
                sharing.mark_closed(self.root)

    def close(self) -> None:
        self._stop.set()
        with self._lock.write():
            self._close()
