"""Train, backtest, grade and register a churn model for a workspace (``churnguard train``).

1. Event workspaces: the model is fitted with every label known by the end of the data
   (:func:`~churnguard.predict.pipeline.fit_at`), then backtested on rolling origins.
   Snapshot workspaces: fitted on every customer with a known outcome, cross-validated.
2. Grade: the model's mean backtest AUC against the best simple rule ("no purchase in the
   last W/2^n days"; for snapshots, against the tuned logistic regression):
   A = at least 0.10 better, B = better by more than 0.01 (snapshots: no worse than the
   logistic regression by more than 0.005), C = not better. A grade-C
   model is saved but **not activated**, and the result says why.
3. Too few customers (under 500), churners or too little history: a rule-based risk score
   (:mod:`~churnguard.predict.rules`) is registered and activated instead, and the result
   says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from churnguard.measure.definitions import ChurnRules
from churnguard.predict.backtest import Backtest, backtest_events, backtest_snapshot
from churnguard.predict.dataset import (
    ExampleBuilder,
    data_range,
    end_of_data,
    parse_horizon_days,
    snapshot_examples,
    workspace_tables,
)
from churnguard.predict.features import feature_registry
from churnguard.predict.pipeline import MIN_CUSTOMERS, Fit, InsufficientDataError, fit_at, fit_rows
from churnguard.predict.registry import ModelRegistry
from churnguard.predict.rules import RULE_FEATURES, fit_segment_rates, segment_risk

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

GRADE_A, GRADE_B, GRADE_B_SNAPSHOT = 0.10, 0.01, -0.005


@dataclass
class TrainResult:
    """What ``train`` did: the saved version, whether it is active, and why."""

    version: str
    kind: str
    activated: bool
    grade: str | None
    message: str
    backtest: Backtest | None
    meta: dict[str, Any] = field(default_factory=dict)


def grade(model_auc: float, reference_auc: float, *, b_margin: float = GRADE_B) -> str:
    """A, B or C from the AUC margin over the reference (see the module docstring).

    ``b_margin`` is the margin a B needs (default 0.01 over the simple rule; against the
    logistic regression of a snapshot workspace, -0.005: at least as good, within noise).

    >>> grade(0.85, 0.70), grade(0.72, 0.70), grade(0.70, 0.70)
    ('A', 'B', 'C')
    """
    margin = model_auc - reference_auc
    if np.isnan(margin):
        return "C"
    return "A" if margin >= GRADE_A else "B" if margin > b_margin else "C"


def _features_meta(fit_features: list[str], registry: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": registry[n].dtype, "kind": registry[n].kind,
             "group": registry[n].group} for n in fit_features]


def _bands(p: np.ndarray) -> dict[str, float]:
    if len(p) == 0:
        return {"high": 0.5, "medium": 0.2}
    return {"high": float(np.quantile(p, 0.9)), "medium": float(np.quantile(p, 0.7))}


def _fallback(ws: Workspace, reg: ModelRegistry, horizon_days: int, rules: ChurnRules,
              reason: str, common: dict[str, Any]) -> TrainResult:
    tables = workspace_tables(ws)
    current = feature_registry(tables)
    meta = {**common, "kind": "rule", "params": {"window_days": rules.inactive_days},
            "features": _features_meta([f for f in RULE_FEATURES if f in current], current),
            "risk_bands": {"high": 0.6, "medium": 0.3}, "grade": None,
            "note": f"rule-based risk score: {reason}", "metrics": {}}
    if common.get("mode") == "snapshot":
        # no events: recency and trends are unknown for everyone, so the rule reads the
        # churn rates of the customers' own segments (needs some churned flags)
        ex = snapshot_examples(tables)
        y = ex.frame["churned"].to_numpy()
        feats = [f for f in ex.registry if f in ex.frame.columns]
        cats = {f for f in feats if ex.registry[f].kind == "categorical"}
        rates = fit_segment_rates(ex.frame, y, feats, cats)
        if rates["features"]:
            risk, _ = segment_risk(ex.frame, rates)
            used = [str(t["name"]) for t in cast("list[dict[str, Any]]", rates["features"])]
            meta |= {"params": {"window_days": rules.inactive_days, "segments": rates},
                     "features": _features_meta(used, current), "risk_bands": _bands(risk),
                     "note": f"segment churn rates: {reason}"}
    version = reg.save(meta, None)
    reg.activate(version)
    what = ("a rule-based risk score (the churn rates of each customer's segments)"
            if "segments" in meta["params"] else "a rule-based risk score")
    msg = (f"not enough data for a model ({reason}); registered {what} as {version} and "
           "activated it. Its scores rank customers but are not calibrated probabilities.")
    return TrainResult(version, "rule", True, None, msg, None, meta)


def train(ws: Workspace, *, horizon: str | int = "90d", origins: int = 3, step_days: int = 30,
          activate: bool = True, params: dict[str, Any] | None = None) -> TrainResult:
    """Train, backtest, grade and register a model (see the module docstring)."""
    horizon_days = parse_horizon_days(horizon)
    tables = workspace_tables(ws)
    rules = ChurnRules.from_config(ws.config.churn)
    rng = data_range(tables)
    reg = ModelRegistry(ws.root)
    common: dict[str, Any] = {
        "horizon_days": horizon_days, "mode": "snapshot" if rng.snapshot else "events",
        "churn_definition": {"definition": rules.definition,
                             "inactive_days": rules.inactive_days,
                             "grace_days": rules.grace_days},
        "training": {"data_from": rng.first_at.isoformat() if rng.first_at else None,
                     "data_to": rng.last_at.isoformat() if rng.last_at else None,
                     "customers": rng.customers, "event_rows": rng.event_rows},
    }
    if rng.customers < MIN_CUSTOMERS:
        return _fallback(ws, reg, horizon_days, rules,
                         f"{rng.customers} customers, fewer than {MIN_CUSTOMERS}", common)
    bt: Backtest | None = None
    try:
        if rng.snapshot:
            ex = snapshot_examples(tables)
            fit: Fit = fit_rows(ex.frame, ex.registry, params=params)
            bt = backtest_snapshot(ex) if origins > 0 else None
            reference = "logistic"
        else:
            if rng.event_rows == 0 or rng.first_at is None:
                raise InsufficientDataError("no events and no churned column on customers")
            end = end_of_data(rng)
            builder = ExampleBuilder(tables, rules=rules, horizon_days=horizon_days)
            fit = fit_at(builder, end, rng.first_at, window_days=rules.inactive_days,
                         step_days=step_days, params=params)
            if origins > 0:
                bt = backtest_events(builder, end, rng.first_at, origins=origins,
                                     step_days=step_days, window_days=rules.inactive_days,
                                     orders=tables.get("orders"))
            reference = "best_rule"
    except InsufficientDataError as exc:
        return _fallback(ws, reg, horizon_days, rules, str(exc), common)

    if bt is not None and not bt.table.empty:
        summary, ref = bt.summary("lightgbm"), bt.summary(reference)
        source = bt.kind
    else:
        summary, ref = fit.validation["lightgbm"], fit.validation.get(reference, {})
        source = "validation origin"
    g = grade(summary.get("auc", float("nan")), ref.get("auc", float("nan")),
              b_margin=GRADE_B if reference == "best_rule" else GRADE_B_SNAPSHOT)
    rule_text = fit.rule.describe() if fit.rule is not None else None
    ref_name = f"the best simple rule ({rule_text})" if reference == "best_rule" else (
        "a tuned logistic regression")
    verdict = (f"AUC {summary.get('auc', float('nan')):.3f} vs {ref.get('auc', float('nan')):.3f}"
               f" for {ref_name} ({source})")
    training = {**common["training"],
                "train_origins": [o.isoformat() for o in fit.train_origins],
                "validation_origin": (fit.validation_origin.isoformat()
                                      if fit.validation_origin else None),
                "rows": fit.train_rows, "churn_rate": fit.train_churn_rate,
                "censored_excluded": fit.censored}
    meta = {**common, "kind": "lightgbm", "training": training,
            "features": _features_meta(fit.features, fit.registry),
            "rule": ({"days": fit.rule.days, "n": fit.rule.n, "text": rule_text}
                     if fit.rule else None),
            "reference": reference, "grade": g, "risk_bands": _bands(fit.validation_proba),
            "metrics": {"validation": fit.validation, "summary": summary,
                        "reference_summary": ref,
                        "backtest": bt.table.to_dict("records") if bt is not None else [],
                        "importance": fit.model.importance().head(30).to_dict("records")},
            "note": f"grade {g}: {verdict}"}
    version = reg.save(meta, fit.model)
    activated = activate and g != "C"
    if activated:
        reg.activate(version)
        msg = f"trained {version}, grade {g}: {verdict}; activated."
    elif g == "C":
        msg = (f"trained {version}, grade C: {verdict}. Not activated: the model does not beat "
               f"{ref_name}, so scoring with it would add nothing. Try 1) more history, "
               "2) a longer --horizon, 3) checking the churn definition in churnguard.toml.")
    else:
        msg = f"trained {version}, grade {g}: {verdict}; not activated (--no-activate)."
    return TrainResult(version, "lightgbm", activated, g, msg, bt, meta)


def run_backtest(ws: Workspace, *, horizon: str | int = "90d", origins: int = 6,
                 step_days: int = 30) -> Backtest:
    """Backtest the model and the baselines without registering anything."""
    horizon_days = parse_horizon_days(horizon)
    tables = workspace_tables(ws)
    rules = ChurnRules.from_config(ws.config.churn)
    rng = data_range(tables)
    if rng.customers < MIN_CUSTOMERS:
        raise InsufficientDataError(f"{rng.customers} customers: a backtest needs at least "
                                    f"{MIN_CUSTOMERS}")
    if rng.snapshot:
        return backtest_snapshot(snapshot_examples(tables), folds=max(2, min(origins, 10)))
    if rng.first_at is None:
        raise InsufficientDataError("no events and no churned column on customers")
    builder = ExampleBuilder(tables, rules=rules, horizon_days=horizon_days)
    bt = backtest_events(builder, end_of_data(rng), rng.first_at, origins=origins,
                         step_days=step_days, window_days=rules.inactive_days,
                         orders=tables.get("orders"))
    if bt.table.empty:
        raise InsufficientDataError("no origin could be backtested: " + "; ".join(bt.notes))
    return bt
