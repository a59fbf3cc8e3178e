"""Alerts and cases in the app database of the session's app, for the act API, page and
browser tests: the real default rules evaluated on the simulated workspace as of
2026-06-01 and raised through :func:`churnguard.act.alerts.raise_alerts`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
from fastapi import FastAPI

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@dataclass
class Raised:
    alerts: int
    cases: int
    owners: dict[str, str]  # customer_id -> owner (warehouse)


def raise_demo_alerts(app: FastAPI, sim_workspace: Path) -> Raised:
    """Raise the alerts once per app database; what is there and who owns whom."""
    from churnguard.act.alerts import raise_alerts
    from churnguard.act.inputs import rule_inputs
    from churnguard.act.models import Alert, Case
    from churnguard.act.rules import evaluate_rules, load_rules

    state = app.state.cg
    with state.db.session() as s:
        empty = s.query(Alert).count() == 0
    if empty:
        with state.warehouse.reader() as ws:
            inputs = rule_inputs(ws, AS_OF)
        hits, _ = evaluate_rules(load_rules([]), inputs.frame, missing=inputs.missing)
        raise_alerts(state.db, hits, inputs.frame, AS_OF.date())
    con = duckdb.connect(str(sim_workspace / "warehouse.duckdb"), read_only=True)
    owners = dict(con.execute("SELECT customer_id, owner FROM customers").fetchall())
    con.close()
    with state.db.session() as s:
        return Raised(s.query(Alert).count(), s.query(Case).count(), owners)
