"""Sharing one DuckDB warehouse between the dashboard server and writing commands.

DuckDB lets one process write a database file, and no other process may even read it
meanwhile; a read-only handle, in turn, keeps writers out. The dashboard server reads;
``churnguard score``, ``ingest`` or ``run`` write. They take turns through two small files
in ``<workspace>/.cache/app/``:

``server.json``
    written by the server while it has the warehouse open (its pid), removed when it
    lets go. A writer that collides with the lock names the server in its error.
``release.json``
    written by a writer that found the warehouse locked by the server: the server closes
    its handle as soon as the requests in flight finish, and opens it again only when the
    writer is done. The writer removes it once it holds the lock.

>>> import tempfile; root = Path(tempfile.mkdtemp())
>>> mark_open(root); holder(root) == os.getpid()
True
>>> mark_closed(root); holder(root) is None
True
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FOLDER = Path(".cache") / "app"
SERVER_FILE = "server.json"
RELEASE_FILE = "release.json"
#: how long a writer waits for the server to let go (seconds); $CHURNGUARD_LOCK_WAIT
DEFAULT_WAIT = 30.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if _alive(pid) else None


def _write(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"pid": os.getpid(), "since": time.time()}), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only workspace folder: no cooperation, plain errors
        pass


def mark_open(root: Path) -> None:
    """The server has the warehouse open (called on every open)."""
    _write(root / FOLDER / SERVER_FILE)


def mark_closed(root: Path) -> None:
    path = root / FOLDER / SERVER_FILE
    if _read_pid(path) in (os.getpid(), None):
        with contextlib.suppress(OSError):
            path.unlink()


def holder(root: Path) -> int | None:
    """The pid of a live server that has the warehouse open, if any."""
    return _read_pid(root / FOLDER / SERVER_FILE)


def release_requested(root: Path) -> int | None:
    """The pid of a live writer waiting for the warehouse, if any."""
    return _read_pid(root / FOLDER / RELEASE_FILE)


@contextlib.contextmanager
def requesting_release(root: Path) -> Iterator[None]:
    """Ask the server to let go while the body tries to take the lock."""
    path = root / FOLDER / RELEASE_FILE
    _write(path)
    try:
        yield
    finally:
        if _read_pid(path) in (os.getpid(), None):
            with contextlib.suppress(OSError):
                path.unlink()


def lock_wait() -> float:
    try:
        return max(0.0, float(os.environ.get("CHURNGUARD_LOCK_WAIT", DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def open_as_writer(root: Path, connect: Callable[[], T], is_lock_error: Callable[[Exception], bool],
                   server_error: Callable[[int], Exception]) -> T:
    """``connect()``, waiting for a dashboard server that holds the warehouse to let go.

    Without a live server the first error is raised as it is. With one, the server is
    asked to release the warehouse and ``connect`` is retried for :func:`lock_wait`
    seconds; if the lock is still taken, ``server_error(pid)`` is raised.
    """
    try:
        return connect()
    except Exception as exc:
        if not is_lock_error(exc):
            raise
        pid = holder(root)
        if pid is None or pid == os.getpid():
            raise
        first = exc
    deadline = time.monotonic() + lock_wait()
    with requesting_release(root):
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                return connect()
            except Exception as exc:
                if not is_lock_error(exc):
                    raise
    pid = holder(root)
    raise server_error(pid if pid is not None else -1) from first


__all__ = ["holder", "lock_wait", "mark_closed", "mark_open", "open_as_writer",
           "release_requested", "requesting_release"]
