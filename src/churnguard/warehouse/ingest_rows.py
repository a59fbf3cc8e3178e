"""Ingest rows that arrive as JSON objects (the REST API), through the same validation as files.

Two ways in:

- :func:`ingest_rows` (needs a writable workspace): the rows are written to a temporary
  JSON-lines file, every value as text exactly as a CSV cell would be, and handed to
  :func:`~churnguard.warehouse.ingest.ingest_file`, so the contract rules, the
  all-or-nothing batch, quarantine and the ingest log are the ones of file ingestion.
- :func:`spool_rows` + :func:`apply_inbox` (the server): DuckDB allows one writer, and a
  server reads the warehouse read-only. A posted batch is first spooled to
  ``<workspace>/inbox/<table>/<batch>.jsonl`` (atomic rename), then applied by whichever
  process holds the write lock: the server briefly, or ``churnguard inbox apply``.
  Applied batches move to ``inbox/applied/``, refused ones to ``inbox/refused/``, each
  with ``<batch>.result.json`` (what :func:`batch_status` reads).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from churnguard.contract import get_contract
from churnguard.errors import InputError
from churnguard.warehouse.ingest import BatchRefused, IngestResult, ingest_file
from churnguard.warehouse.workspace import Workspace

INBOX = "inbox"
# the time part has microseconds (older batches: seconds), so ids sort in arrival order
_BATCH = re.compile(r"^[a-z_]+-\d{8}T\d{6}(\d{6})?-[0-9a-f]{8}$")


def _cell(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold (objects and lists as JSON)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _check_rows(table: str, rows: object) -> list[dict[str, Any]]:
    get_contract(table)
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{table}: expected a non-empty list of JSON objects")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InputError(f"{table}: row {i} is {type(row).__name__}, not a JSON object")
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    """Rows as JSON lines, every value as text; every line carries every column."""
    columns: list[str] = []
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(str(k))
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({c: _cell(row.get(c)) for c in columns}, ensure_ascii=False))
            fh.write("\n")


def ingest_rows(ws: Workspace, table: str, rows: list[dict[str, Any]], *,
                allow_rejects: bool = False, source_name: str = "api rows") -> IngestResult:
    """Validate and upsert ``rows`` into ``table`` as one batch (see the module docstring).

    Raises :class:`~churnguard.warehouse.ingest.BatchRefused` when rows break the contract.
    """
    checked = _check_rows(table, rows)
    tmp_dir = ws.root / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".jsonl", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    try:
        write_jsonl(checked, path)
        return ingest_file(ws, table, path, allow_rejects=allow_rejects, fmt="json",
                           source_name=source_name)
    finally:
        path.unlink(missing_ok=True)


def new_batch_id(table: str) -> str:
    return f"{table}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def spool_rows(root: Path, table: str, rows: list[dict[str, Any]]) -> str:
    """Queue ``rows`` for ``table`` in the workspace inbox; returns the batch id."""
    checked = _check_rows(table, rows)
    batch = new_batch_id(table)
    folder = root / INBOX / table
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{batch}.part"
    write_jsonl(checked, part)
    part.replace(folder / f"{batch}.jsonl")
    return batch


def queued(root: Path) -> list[tuple[str, Path]]:
    """``(table, file)`` of every queued batch, oldest first."""
    inbox = root / INBOX
    if not inbox.is_dir():
        return []
    out = []
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir()):
        if folder.name in ("applied", "refused"):
            continue
        out += [(folder.name, f) for f in folder.glob("*.jsonl")]
    # by the time in the id (microseconds), then by when the file landed (same microsecond)
    return sorted(out, key=lambda tf: (tf[1].name.split("-")[1], tf[1].stat().st_mtime_ns))


def _finish(root: Path, path: Path, outcome: str, info: dict[str, Any]) -> None:
    dest = root / INBOX / outcome
    dest.mkdir(parents=True, exist_ok=True)
    batch = path.stem
    (dest / f"{batch}.result.json").write_text(json.dumps(info, default=str, indent=1),
                                               encoding="utf-8")
    path.replace(dest / path.name)


def result_info(batch: str, status: str, result: IngestResult | None,
                message: str = "") -> dict[str, Any]:
    info: dict[str, Any] = {"batch_id": batch, "status": status, "message": message}
    if result is not None:
        data = asdict(result)
        data["ingest_batch_id"] = data.pop("batch_id")
        data.pop("status")
        info.update(data)
    return info


def apply_inbox(ws: Workspace, *, only: str | None = None) -> list[dict[str, Any]]:
    """Apply queued batches (or just batch ``only``) to the writable workspace ``ws``."""
    results = []
    for table, path in queued(ws.root):
        batch = path.stem
        if only is not None and batch != only:
            continue
        try:
            res = ingest_file(ws, table, path, fmt="json", source_name=f"api:{batch}")
            info = result_info(batch, "applied", res)
            _finish(ws.root, path, "applied", info)
        except BatchRefused as refused:
            info = result_info(batch, "refused", refused.result, str(refused))
            _finish(ws.root, path, "refused", info)
        except InputError as exc:
            info = result_info(batch, "refused", None, str(exc))
            _finish(ws.root, path, "refused", info)
        results.append(info)
    return results


def batch_status(root: Path, batch: str) -> dict[str, Any] | None:
    """The outcome of a posted batch: queued, applied or refused (None: unknown id)."""
    if not _BATCH.match(batch):
        return None
    for outcome in ("applied", "refused"):
        f = root / INBOX / outcome / f"{batch}.result.json"
        if f.exists():
            info: dict[str, Any] = json.loads(f.read_text(encoding="utf-8"))
            return info
    table = batch.rsplit("-", 2)[0]
    if (root / INBOX / table / f"{batch}.jsonl").exists():
        return {"batch_id": batch, "status": "queued", "message": ""}
    return None
