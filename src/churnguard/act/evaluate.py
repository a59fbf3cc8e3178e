"""Precision and recall of warning rules against a simulated business's ground truth.

For evaluation only (the simulator's ``ground_truth/`` folder; analytics never read it).
The population is the customers the data shows active as of ``as_of`` who are truly
active then (customers who silently churned earlier are left out: they are not "about to
churn"). A customer of it is a *positive* when the simulator churned them within
``horizon_days`` after it (a churn event with ``as_of <= churn_at < as_of + horizon``).
For each rule: customers it fires for, true positives, precision, recall, and lift =
precision / base rate (how much likelier a flagged customer churns than the average one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from churnguard.act.inputs import rule_inputs
from churnguard.act.rules import Rule, evaluate_rules
from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace


def _events(ws: Workspace) -> pd.DataFrame:
    path = ws.truth_dir / "churn_events.parquet"
    if not path.is_file():
        raise InputError(f"{path}: no ground truth; this works on simulated workspaces "
                         "(`churnguard simulate`)")
    return pd.read_parquet(path, columns=["customer_id", "churn_at", "reactivated_at"])


def true_churners(ws: Workspace, as_of: datetime, horizon_days: int = 90) -> set[str]:
    """Customers the simulator churned in ``[as_of, as_of + horizon_days)``."""
    ev = _events(ws)
    end = as_of + timedelta(days=horizon_days)
    hit = ev[(ev["churn_at"] >= pd.Timestamp(as_of)) & (ev["churn_at"] < pd.Timestamp(end))]
    return set(hit["customer_id"].astype(str))


def truly_gone(ws: Workspace, as_of: datetime) -> set[str]:
    """Customers who had truly churned before ``as_of`` (and not come back by then), even
    if the data does not show it yet (a non-contractual churn is seen only later)."""
    ev = _events(ws)
    t = pd.Timestamp(as_of)
    gone = ev[(ev["churn_at"] < t) & (ev["reactivated_at"].isna() | (ev["reactivated_at"] >= t))]
    return set(gone["customer_id"].astype(str))


def rule_precision_recall(ws: Workspace, rules: Sequence[Rule],
                          as_of: str | date | datetime, *, horizon_days: int = 90
                          ) -> pd.DataFrame:
    """One row per rule (plus ``any rule``): ``rule, fired, true_positives, precision,
    recall, lift``; ``base_rate`` and ``customers`` are in ``frame.attrs``."""
    from churnguard.predict.dataset import parse_as_of

    cut = parse_as_of(as_of)
    assert cut is not None
    inputs = rule_inputs(ws, cut)
    hits, notes = evaluate_rules(rules, inputs.frame, missing=inputs.missing)
    population = set(inputs.frame["customer_id"].astype(str)) - truly_gone(ws, cut)
    positives = true_churners(ws, cut, horizon_days) & population
    base = len(positives) / len(population) if population else float("nan")
    rows = []
    fired_by = {r.name: set(hits.loc[hits["rule"] == r.name, "customer_id"]) & population
                for r in rules}
    groups = [*fired_by.items(), ("any rule", set().union(*fired_by.values()))]
    for name, fired in groups:
        tp = len(fired & positives)
        precision = tp / len(fired) if fired else float("nan")
        rows.append({"rule": name, "fired": len(fired), "true_positives": tp,
                     "precision": precision,
                     "recall": tp / len(positives) if positives else float("nan"),
                     "lift": precision / base if base else float("nan")})
    out = pd.DataFrame(rows)
    out.attrs.update(base_rate=base, customers=len(population), churners=len(positives),
                     notes=notes, as_of=cut)
    return out


__all__ = ["rule_precision_recall", "true_churners"]
