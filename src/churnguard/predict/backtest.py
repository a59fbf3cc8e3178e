"""Backtests: the model and its baselines scored where the truth is known.

Event workspaces use rolling origins: origin ``k`` lies ``horizon + k * step_days`` before
the end of the data; the model is trained with labels known by the origin only
(:func:`~churnguard.predict.pipeline.fit_at`) and scored on the churn in the horizon after
it. Snapshot workspaces have no time axis and are cross-validated (stratified folds).

Every row of the result is one origin (or fold) and one model: ``auc, pr_auc, log_loss,
brier, lift_top_decile, capture_top_decile``; the calibration table and the global
importance come along for the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnguard.predict.dataset import ExampleBuilder, Examples
from churnguard.predict.metrics import METRICS, calibration_table
from churnguard.predict.pipeline import (
    InsufficientDataError,
    evaluate,
    fit_at,
    fit_rows,
    split_ids,
)

log = logging.getLogger(__name__)


@dataclass
class Backtest:
    """Backtest results: ``table`` (one row per origin and model), the LightGBM calibration
    table over all origins, the global importance of the latest model, and notes."""

    table: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    kind: str = "rolling origins"
    notes: list[str] = field(default_factory=list)

    def summary(self, model: str = "lightgbm") -> dict[str, float]:
        """Mean metrics of one model over the origins."""
        t = self.table[self.table["model"] == model]
        return {m: float(t[m].mean()) for m in METRICS if m in t and t[m].notna().any()}

    def models(self) -> list[str]:
        """Models in the table, in first-seen order."""
        return list(dict.fromkeys(self.table["model"]))


def backtest_events(builder: ExampleBuilder, end: datetime, first_at: datetime, *,
                    origins: int = 6, step_days: int = 30, window_days: int = 180,
                    orders: Any = None) -> Backtest:
    """Rolling-origin backtest (see the module docstring)."""
    h = builder.horizon_days
    rows: list[dict[str, Any]] = []
    ys, ps = [], []
    importance = pd.DataFrame(columns=["feature", "gain", "share"])
    notes: list[str] = []
    for k in range(origins):
        origin = end - timedelta(days=h + k * step_days)
        try:
            fit = fit_at(builder, origin, first_at, window_days=window_days)
        except InsufficientDataError as exc:
            notes.append(f"origin {origin.date()} and earlier skipped: {exc}")
            break
        test = builder.labelled(origin)
        for r in evaluate(fit, test, orders=orders, as_of=origin, horizon_days=h):
            rows.append({"origin": origin.date().isoformat(), **r})
        ys.append(test.frame["churned"].to_numpy())
        ps.append(fit.model.predict_proba(test.frame))
        if k == 0:
            importance = fit.model.importance()
        log.info("backtest origin %s done", origin.date())
    table = pd.DataFrame(rows)
    cal = (calibration_table(np.concatenate(ys), np.concatenate(ps)) if ys
           else pd.DataFrame())
    return Backtest(table, cal, importance, notes=notes)


def backtest_snapshot(examples: Examples, *, folds: int = 5, seed: int = 0) -> Backtest:
    """Stratified cross-validation of the model and the logistic baseline."""
    f = examples.frame.reset_index(drop=True)
    y = f["churned"].to_numpy()
    fold = split_ids(f["customer_id"].tolist(), y, folds, seed)
    rows: list[dict[str, Any]] = []
    ys, ps = [], []
    importance = pd.DataFrame(columns=["feature", "gain", "share"])
    for k in range(folds):
        train = f[fold != k]
        test = Examples(f[fold == k], examples.registry)
        fit = fit_rows(train, examples.registry, seed=seed + k)
        for r in evaluate(fit, test):
            rows.append({"origin": f"fold {k + 1}/{folds}", **r})
        ys.append(test.frame["churned"].to_numpy())
        ps.append(fit.model.predict_proba(test.frame))
        if k == 0:
            importance = fit.model.importance()
    return Backtest(pd.DataFrame(rows), calibration_table(np.concatenate(ys),
                                                          np.concatenate(ps)),
                    importance, kind=f"{folds}-fold cross-validation")
