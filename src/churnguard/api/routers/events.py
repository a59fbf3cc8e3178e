"""``POST /api/events/{table}``: rows for a contract table, validated like an ingested file.

The server reads the warehouse read-only, so a batch is first queued in the workspace
inbox (see :mod:`churnguard.warehouse.ingest_rows`). With ``apply_events`` on (the
default) the server then takes the write lock for a moment and applies it: the answer is
``applied`` (200) or ``refused`` (422, with the rows and rules broken). When another
process holds the warehouse, the batch stays ``queued`` (202) for ``churnguard inbox
apply``; ``GET /api/events/batches/{batch_id}`` tells its fate.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from churnguard.api.accounts import audit
from churnguard.api.deps import SessionDep, StateDep, WriterUser
from churnguard.api.errors import ERROR_RESPONSES, ErrorBody, error_response
from churnguard.api.schemas import EventBatchPublic
from churnguard.contract import TABLES
from churnguard.errors import ChurnguardError, InputError
from churnguard.warehouse.ingest_rows import apply_inbox, batch_status, spool_rows

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/events", tags=["events"], responses=ERROR_RESPONSES)


def _public(info: dict[str, Any], table: str, rows: int) -> EventBatchPublic:
    examples = [dict(e) for e in info.get("examples", [])][:10]
    return EventBatchPublic(
        batch_id=info["batch_id"], table=table, status=info["status"], rows=rows,
        message=info.get("message", ""), inserted=info.get("inserted"),
        updated=info.get("updated"), unchanged=info.get("unchanged"),
        rejected=info.get("rejected"), examples=examples)


@router.post("/{table}", response_model=EventBatchPublic,
             responses={202: {"model": EventBatchPublic, "description": "Queued"},
                        413: {"model": ErrorBody, "description": "Too many rows"}})
def post_events(
    table: str,
    request: Request,
    state: StateDep,
    s: SessionDep,
    who: WriterUser,
    rows: list[dict[str, Any]] = Body(..., description="Rows of the contract table"),
) -> JSONResponse:
    """Validate and upsert rows into a contract table (all or nothing)."""
    if table not in TABLES:
        raise HTTPException(404, f"no table {table!r}; use one of {', '.join(TABLES)}")
    if not rows:
        raise HTTPException(422, "send a non-empty JSON list of rows")
    if len(rows) > state.settings.max_event_rows:
        raise HTTPException(413, f"{len(rows)} rows in one call; send at most "
                                 f"{state.settings.max_event_rows}")
    try:
        batch = spool_rows(state.warehouse.root, table, rows)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    audit(s, who, "events.post", table, f"batch={batch} rows={len(rows)}",
          request.client.host if request.client else "")
    info: dict[str, Any] = {"batch_id": batch, "status": "queued", "message": ""}
    if state.settings.apply_events:
        try:
            with state.warehouse.writer() as ws:
                done = apply_inbox(ws, only=batch)
            if done:
                info = done[0]
        except ChurnguardError as exc:  # another process writes: it stays queued
            log.warning("batch %s stays queued: %s", batch, exc)
            info["message"] = f"queued: {exc}"
    body = _public(info, table, len(rows))
    if info["status"] == "refused":
        return error_response(422, body.message or "rows break the data contract",
                              body.model_dump(mode="json"))
    code = 200 if info["status"] == "applied" else 202
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


@router.get("/batches/{batch_id}", response_model=EventBatchPublic)
def get_batch(batch_id: str, state: StateDep, who: WriterUser) -> EventBatchPublic:
    """The fate of a posted batch: queued, applied or refused."""
    info = batch_status(state.warehouse.root, batch_id)
    if info is None:
        raise HTTPException(404, f"no batch {batch_id!r}")
    table = batch_id.rsplit("-", 2)[0]
    return _public(info, table, int(info.get("rows_read") or 0))
