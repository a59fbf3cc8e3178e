"""Heavy aggregates computed once per workspace data version, kept in memory and on disk.

The data version is a digest of the ingest log, the scores kept and the active model, so
a new ingest, a scoring run or a new model makes every aggregate stale. Frames are also
written to ``<workspace>/.cache/app/<version>/<name>.parquet``, so a restarted server does
not recompute them (the pipeline may write the same files ahead of time).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)
CACHE_DIR = Path(".cache") / "app"
T = TypeVar("T")
_MISSING = object()


def warehouse_version(ws: Workspace) -> str:
    """The warehouse part of :func:`data_version`: ingest log and scores kept."""
    con = ws.warehouse.duck
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    parts: list[object] = []
    if "_ingest_log" in tables:
        parts += con.execute("SELECT count(*), max(finished_at) FROM _ingest_log").fetchone() or ()
    if "score_history" in tables:
        parts += con.execute("SELECT count(*), max(scored_at) FROM score_history"
                             ).fetchone() or ()
    return repr(parts)


def active_model(ws: Workspace) -> str:
    active = ws.root / "models" / "ACTIVE"
    try:
        return active.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def data_version(ws: Workspace, warehouse_part: str | None = None) -> str:
    """A short digest that changes whenever the warehouse data or the active model change."""
    part = warehouse_version(ws) if warehouse_part is None else warehouse_part
    return hashlib.sha256(repr([part, active_model(ws)]).encode()).hexdigest()[:16]


class FrameCache:
    """Frames by (data version, name): computed on first use under a per-name lock."""

    def __init__(self, root: Path, *, persist: bool = True) -> None:
        self.root = root
        self.persist = persist
        self._frames: dict[tuple[str, str], pd.DataFrame] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._memo: dict[tuple[str, str], object] = {}
        self._epoch: tuple[object, str] | None = None

    def version(self, ws: Workspace) -> str:
        """:func:`data_version` of ``ws``; the warehouse part is computed once per
        connection epoch (``ws.epoch``, set by the server's warehouse handle).

        While the server holds the warehouse open no other process can write to it, so
        the warehouse part can only change when the handle was closed and reopened (a new
        epoch) or the server wrote itself (a new epoch too). The active model is a file
        outside the warehouse, read every time.
        """
        epoch = getattr(ws, "epoch", None)
        if epoch is None:
            return data_version(ws)
        known = self._epoch
        if known is None or known[0] != epoch:
            known = (epoch, warehouse_version(ws))
            self._epoch = known
        return data_version(ws, known[1])

    def memo(self, version: str, name: str, compute: Callable[[], T], *,
             keep: int | None = None) -> T:
        """A small value (flag, count) of ``version``, computed once.

        With ``keep``, ``name`` is ``family:key`` and at most ``keep`` values of that family
        are kept (the oldest computed go first): for values keyed by user input.
        """
        key = (version, name)
        hit = self._memo.get(key, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        value = compute()
        with self._guard:
            for k in [k for k in self._memo if k[0] != version]:
                del self._memo[k]
            if keep is not None:
                family = name.split(":", 1)[0] + ":"
                same = [k for k in self._memo if k[1].startswith(family)]
                for k in same[: max(0, len(same) - keep + 1)]:
                    del self._memo[k]
            self._memo[key] = value
        return value

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def get(self, version: str, name: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The cached frame ``name`` of ``version``, computing (and saving) it if needed."""
        key = (version, name)
        if key in self._frames:
            return self._frames[key]
        with self._lock(name):
            if key in self._frames:
                return self._frames[key]
            path = self.root / CACHE_DIR / version / f"{name}.parquet"
            frame: pd.DataFrame | None = None
            if self.persist and path.exists():
                try:
                    frame = pd.read_parquet(path)
                except (OSError, ValueError) as exc:
                    log.warning("cache %s unreadable (%s); recomputing", path, exc)
            if frame is None:
                frame = compute()
                if self.persist:
                    self._save(frame, path)
            self._drop_other_versions(version)
            self._frames[key] = frame
            return frame

    def _save(self, frame: pd.DataFrame, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            frame.to_parquet(tmp, index=False)
            tmp.replace(path)
        except (OSError, ValueError, TypeError) as exc:  # an unwritable folder is no error
            log.warning("cannot cache %s: %s", path, exc)

    def _drop_other_versions(self, version: str) -> None:
        with self._guard:
            for key in [k for k in self._frames if k[0] != version]:
                del self._frames[key]

    def clear(self) -> None:
        with self._guard:
            self._frames.clear()
            self._memo.clear()
            self._epoch = None
