"""The daily run: ingest the drop folder -> labels -> value -> score -> rules -> alerts.

``churnguard run <workspace>`` calls :func:`daily_run`. Every step is logged with its
timing; a step whose layer is missing is *skipped* with a note (no drop folder, no churn
model yet, value models not fittable); a step that fails stops the run with
:class:`RunError` naming the step, and the results of the earlier steps stay (each step
commits its own work). The run is idempotent: the same day twice creates no duplicate
alerts, cases or messages (alerts are unique per rule x customer x day, scores of a day
are reused, ingestion upserts by key).

The drop folder is ``<workspace>/drop/``: files named after a contract table
(``orders.csv``, ``orders_2026-11-24.parquet``, or any file in ``drop/orders/``) are
ingested, customers first, and moved to ``drop/done/<timestamp>/`` once applied.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from churnguard.errors import ChurnguardError

if TYPE_CHECKING:
    import pandas as pd

    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

DROP_DIR = "drop"
FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".jsonl", ".ndjson", ".xlsx",
                 ".xls")


class RunError(ChurnguardError):
    """A step of the daily run failed; the earlier steps' results are kept."""

    exit_code = 1

    def __init__(self, message: str, report: RunReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class StepResult:
    """One step of the run: ``ok``, ``skipped`` or ``failed``, its time and a note."""

    name: str
    status: Literal["ok", "skipped", "failed"]
    seconds: float
    note: str = ""


@dataclass
class RunReport:
    """All steps of one run."""

    as_of: datetime
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps)


class _Skip(Exception):
    """Raised inside a step to skip it with a note."""


def drop_files(ws: Workspace) -> list[tuple[str, Path]]:
    """``(table, file)`` pairs waiting in the drop folder, in contract order."""
    from churnguard.contract.tables import TABLES

    root = ws.root / DROP_DIR
    if not root.is_dir():
        return []
    found: list[tuple[str, Path]] = []
    for table in TABLES:
        files = [p for p in sorted(root.iterdir()) if p.is_file()
                 and p.suffix.lower() in FILE_SUFFIXES
                 and (p.stem == table or p.stem.startswith(table + "_"))]
        sub = root / table
        if sub.is_dir():
            files += [p for p in sorted(sub.iterdir()) if p.is_file()
                      and p.suffix.lower() in FILE_SUFFIXES]
        found += [(table, p) for p in files]
    return found


def daily_run(ws: Workspace, *, as_of: str | date | datetime = "today",
              deliver_messages: bool = True,
              on_step: Callable[[StepResult], None] | None = None) -> RunReport:
    """Run the whole chain for ``as_of`` (default today, midnight UTC); see the module doc.

    Raises :class:`RunError` when a step fails (its ``report`` has the steps so far).
    """
    from churnguard.act.alerts import raise_alerts
    from churnguard.act.cases import cases_from_feedback, measure_outcomes
    from churnguard.act.channels import build_channels
    from churnguard.act.inputs import rule_inputs
    from churnguard.act.outbox import deliver
    from churnguard.act.rules import evaluate_rules, load_rules
    from churnguard.act.teams import check_routes
    from churnguard.appdb.engine import AppDB
    from churnguard.predict.dataset import parse_as_of

    cut = parse_as_of(as_of)
    if cut is None:
        raise ChurnguardError("daily run needs an as-of date")
    report = RunReport(cut)
    state: dict[str, Any] = {}

    def step(name: str, fn: Callable[[], str]) -> None:
        started = time.perf_counter()
        log.info("run %s: %s ...", cut.date(), name)
        try:
            note = fn()
            res = StepResult(name, "ok", time.perf_counter() - started, note)
        except _Skip as skip:
            res = StepResult(name, "skipped", time.perf_counter() - started, str(skip))
        except Exception as exc:
            res = StepResult(name, "failed", time.perf_counter() - started,
                             f"{type(exc).__name__}: {exc}")
            report.steps.append(res)
            log.error("run %s: %s failed after %.1f s: %s", cut.date(), name, res.seconds,
                      res.note)
            if on_step:
                on_step(res)
            done = [s.name for s in report.steps if s.status == "ok"]
            raise RunError(f"step '{name}' failed: {exc}. Results of the earlier steps "
                           f"({', '.join(done) or 'none'}) are kept; fix the cause and run "
                           "again (the run is idempotent).", report) from exc
        report.steps.append(res)
        log.info("run %s: %s %s in %.1f s %s", cut.date(), name, res.status, res.seconds,
                 res.note)
        if on_step:
            on_step(res)

    def check() -> str:
        chans = build_channels(ws.config.channels)
        state["channels"] = chans
        state["rules"] = load_rules(ws.config.rules, channels=chans)
        check_routes([r.config for r in state["rules"]], ws.config.teams)
        return (f"{len(state['rules'])} rules, {len(chans)} channels, "
                f"{len(ws.config.teams)} teams")

    def ingest() -> str:
        from churnguard.warehouse.ingest import ingest_file

        files = drop_files(ws)
        if not files:
            raise _Skip(f"nothing in {ws.root / DROP_DIR}")
        done = ws.root / DROP_DIR / "done" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        rows = 0
        for table, path in files:
            res = ingest_file(ws, table, path)
            rows += res.inserted + res.updated
            done.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), done / path.name)
        return f"{len(files)} files, {rows:,} rows inserted or updated"

    def labels() -> str:
        from churnguard.act.inputs import active_customers

        n = active_customers(ws, cut).count().to_pyarrow().as_py()
        state["active"] = n
        return f"{n:,} active customers"

    def value() -> str:
        from churnguard.act.inputs import value_columns

        try:
            state["value"] = value_columns(ws, cut)
        except (ChurnguardError, ValueError, ArithmeticError) as exc:
            raise _Skip(f"no CLV: {exc}") from None
        return f"CLV for {len(state['value']):,} customers"

    def score() -> str:
        from churnguard.act.inputs import model_scores
        from churnguard.predict.registry import ModelRegistry

        active = ModelRegistry(ws.root).active()
        if active is None:
            raise _Skip("no churn model yet (train one with `churnguard train`); rules on "
                        "churn_probability / risk_band will be skipped")
        have = model_scores(ws, cut)
        if have is not None and set(have["model_version"]) == {active}:
            state["scores"] = have
            return f"reused today's {len(have):,} scores of model {active}"
        from churnguard.predict.score import score as score_customers

        res = score_customers(ws, as_of=cut, history=True, reasons=False, value=False)
        state["scores"] = res.frame
        return f"{res.customers:,} customers scored with model {res.version}"

    def rules() -> str:
        inputs = rule_inputs(ws, cut, scores=state.get("scores"), value=state.get("value"),
                             use_value=False)
        hits, notes = evaluate_rules(state["rules"], inputs.frame, missing=inputs.missing)
        state["inputs"], state["hits"] = inputs, hits
        counts = hits.groupby("rule").size().to_dict() if len(hits) else {}
        text = ", ".join(f"{k}: {v}" for k, v in counts.items()) or "no rule fired"
        return text + ("" if not notes else " | " + " | ".join(notes))

    db = AppDB.for_workspace(ws)

    def alerts() -> str:
        return str(raise_alerts(db, state["hits"], state["inputs"].frame, cut.date(),
                                teams=ws.config.teams))

    def feedback() -> str:
        return f"{cases_from_feedback(ws, db, cut)} cases opened from complaints and feedback"

    def send() -> str:
        if not deliver_messages:
            raise _Skip("delivery switched off (--no-deliver)")
        if not state["channels"]:
            raise _Skip("no [[channels]] configured")
        return str(deliver(db, state["channels"]))

    def outcomes() -> str:
        return f"{measure_outcomes(ws, db, cut)} case outcomes measured"

    try:
        for name, fn in (("check config", check), ("ingest", ingest), ("labels", labels),
                         ("value", value), ("score", score), ("rules", rules),
                         ("alerts", alerts), ("feedback cases", feedback),
                         ("deliver", send), ("outcomes", outcomes)):
            step(name, fn)
    finally:
        db.dispose()
    return report


def frame_of(report: RunReport) -> pd.DataFrame:
    """The steps as a frame (step, status, seconds, note)."""
    import pandas as pd

    return pd.DataFrame([s.__dict__ for s in report.steps])


__all__ = ["DROP_DIR", "RunError", "RunReport", "StepResult", "daily_run", "drop_files",
           "frame_of"]
