"""Fit the churn model and its baselines at a cutoff, with nothing from after the cutoff.

Event workspaces (:func:`fit_at`): the validation origin is ``cutoff - horizon`` (its
labels end at the cutoff); the training origins end one horizon earlier still
(``cutoff - 2 * horizon``, then every ``step_days`` back), so no training label overlaps
the validation period. LightGBM stops early on the validation origin, and the calibrator
is chosen there.

Snapshot workspaces (:func:`fit_rows`): no time axis; a stratified random split of the
given rows stands in for the validation origin.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnguard.errors import ChurnguardError
from churnguard.predict.baselines import (
    LogisticBaseline,
    SimpleRule,
    best_simple_rule,
    bgnbd_scores,
    rfm_rule,
)
from churnguard.predict.dataset import ExampleBuilder, Examples, stack
from churnguard.predict.features.registry import Feature
from churnguard.predict.metrics import scores
from churnguard.predict.model import ChurnModel

log = logging.getLogger(__name__)

#: fewest customers (active at the validation origin) to train a model on
MIN_CUSTOMERS = 500
#: training origins are stacked until this many rows: more examples help a small
#: workspace, but past a few hundred thousand rows another origin (a feature build over
#: every active customer, and more rows for LightGBM) costs time and adds little
ENOUGH_TRAINING_ROWS = 250_000
#: fewest churners in training and in validation
MIN_CHURNERS = 20


class InsufficientDataError(ChurnguardError):
    """Too few customers, churners or too little history to train a model."""


@dataclass
class Fit:
    """A model and its baselines fitted at one cutoff, with the validation scores."""

    model: ChurnModel
    features: list[str]
    registry: dict[str, Feature]
    logistic: LogisticBaseline | None
    rule: SimpleRule | None
    train_origins: list[datetime]
    validation_origin: datetime | None
    train_rows: int
    train_churn_rate: float
    validation: dict[str, dict[str, float]] = field(default_factory=dict)
    validation_proba: np.ndarray = field(default_factory=lambda: np.zeros(0))
    censored: int = 0


def model_features(registry: dict[str, Feature], frame: pd.DataFrame) -> list[str]:
    """The features worth training on: those with at least two distinct values."""
    out = []
    for name in registry:
        if name in frame.columns and frame[name].nunique(dropna=False) > 1:
            out.append(name)
    if not out:
        raise InsufficientDataError("every feature is constant: nothing to learn from")
    return out


def _check(y: np.ndarray, where: str) -> None:
    if int(y.sum()) < MIN_CHURNERS or int(len(y) - y.sum()) < MIN_CHURNERS:
        raise InsufficientDataError(
            f"{where}: {int(y.sum())} churners among {len(y)} customers; need at least "
            f"{MIN_CHURNERS} churners and {MIN_CHURNERS} non-churners")


def training_origins(cutoff: datetime, horizon_days: int, first_at: datetime, *,
                     n_origins: int = 4, step_days: int = 30,
                     min_history_days: int = 90) -> tuple[datetime, list[datetime]]:
    """``(validation_origin, training_origins)`` for a cutoff; raises
    :class:`InsufficientDataError` when not even one training origin has
    ``min_history_days`` of data before it."""
    val = cutoff - timedelta(days=horizon_days)
    first = cutoff - timedelta(days=2 * horizon_days)
    origins = [first - timedelta(days=step_days * j) for j in range(n_origins)]
    origins = [o for o in origins if o >= first_at + timedelta(days=min_history_days)]
    if not origins:
        need = 2 * horizon_days + min_history_days
        raise InsufficientDataError(
            f"too little history: training for a {horizon_days}-day horizon up to "
            f"{cutoff.date()} needs data from {(cutoff - timedelta(days=need)).date()} on; "
            f"it starts {first_at.date()}. Try a shorter --horizon.")
    return val, sorted(origins)


def fit_at(builder: ExampleBuilder, cutoff: datetime, first_at: datetime, *,
           window_days: int, n_origins: int = 4, step_days: int = 30,
           baselines: bool = True, params: dict[str, Any] | None = None,
           enough_rows: int | None = None) -> Fit:
    """Fit model and baselines with labels known by ``cutoff`` (event workspaces).

    The training rows stack up to ``n_origins`` origins, ``step_days`` apart, the latest
    first, and stop once ``enough_rows`` (default :data:`ENOUGH_TRAINING_ROWS`) are in hand.
    """
    enough_rows = ENOUGH_TRAINING_ROWS if enough_rows is None else enough_rows
    h = builder.horizon_days
    val_origin, candidates = training_origins(cutoff, h, first_at, n_origins=n_origins,
                                              step_days=step_days)
    # the latest origins first; stop once enough rows are in hand (each origin is a
    # feature build over every active customer: a large workspace needs only one)
    parts: list[Examples] = []
    for o in sorted(candidates, reverse=True):
        parts.append(builder.labelled(o))
        if sum(len(p.frame) for p in parts) >= enough_rows:
            break
    origins = sorted(candidates)[-len(parts):]
    train = stack(parts[::-1])
    val = builder.labelled(val_origin)
    if len(val.frame) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"only {len(val.frame)} active customers at {val_origin.date()}; a model needs "
            f"at least {MIN_CUSTOMERS}")
    ytr = train.frame["churned"].to_numpy()
    yva = val.frame["churned"].to_numpy()
    _check(ytr, "training")
    _check(yva, f"validation origin {val_origin.date()}")
    feats = model_features(builder.registry, train.frame)
    model = ChurnModel(params=params).fit(train.frame, ytr, val.frame, yva,
                                          registry=builder.registry, features=feats)
    fit = Fit(model, feats, builder.registry, None, None, origins, val_origin,
              len(train.frame), float(ytr.mean()), censored=train.censored + val.censored)
    p = model.predict_proba(val.frame)
    fit.validation_proba = p
    fit.validation["lightgbm"] = scores(yva, p)
    fit.validation["lightgbm_raw"] = scores(yva, model.raw_proba(val.frame))
    if baselines:
        fit.rule, _ = best_simple_rule(train.frame, ytr, window_days)
        fit.validation["best_rule"] = scores(yva, fit.rule.score(val.frame), probability=False)
        fit.logistic = LogisticBaseline(registry=builder.registry, features=feats).fit(
            train.frame, ytr)
        fit.validation["logistic"] = scores(yva, fit.logistic.predict_proba(val.frame))
    return fit


def fit_rows(frame: pd.DataFrame, registry: dict[str, Feature], *, seed: int = 0,
             baselines: bool = True, params: dict[str, Any] | None = None) -> Fit:
    """Fit on rows without a time axis: a stratified 80/20 split for early stopping and
    calibration (snapshot workspaces, cross-validation folds)."""
    y = frame["churned"].to_numpy()
    if len(frame) < MIN_CUSTOMERS:
        raise InsufficientDataError(
            f"only {len(frame)} customers with a known outcome; a model needs at least "
            f"{MIN_CUSTOMERS}")
    _check(y, "training")
    rng = np.random.default_rng(seed)
    val_mask = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        val_mask[rng.choice(idx, size=max(1, len(idx) // 5), replace=False)] = True
    tr, va = frame[~val_mask], frame[val_mask]
    feats = model_features(registry, tr)
    model = ChurnModel(params=params).fit(tr, y[~val_mask], va, y[val_mask], registry=registry,
                                          features=feats)
    fit = Fit(model, feats, registry, None, None, [], None, len(tr), float(y[~val_mask].mean()))
    p = model.predict_proba(va)
    fit.validation_proba = p
    fit.validation["lightgbm"] = scores(y[val_mask], p)
    if baselines:
        fit.logistic = LogisticBaseline(registry=registry, features=feats).fit(tr, y[~val_mask])
        fit.validation["logistic"] = scores(y[val_mask], fit.logistic.predict_proba(va))
    return fit


def evaluate(fit: Fit, test: Examples, *, orders: Any = None, as_of: datetime | None = None,
             horizon_days: int = 90) -> list[dict[str, Any]]:
    """Score the model and every baseline on labelled rows: one dict per model."""
    f = test.frame
    y = f["churned"].to_numpy()
    rows: list[dict[str, Any]] = []

    def add(name: str, score: np.ndarray, probability: bool = True) -> None:
        rows.append({"model": name, "customers": len(y), "churn_rate": float(y.mean()),
                     **scores(y, score, probability=probability)})

    add("lightgbm", fit.model.predict_proba(f))
    if fit.logistic is not None:
        add("logistic", fit.logistic.predict_proba(f))
    if fit.rule is not None:
        add("rfm_rule", rfm_rule(f), probability=False)
        add("best_rule", fit.rule.score(f), probability=False)
        rows[-1]["rule"] = fit.rule.describe()
    if orders is not None and as_of is not None:
        bg = bgnbd_scores(orders, as_of, f["customer_id"].tolist(), horizon_days)
        if bg["expected_purchases"].notna().any():
            add("bgnbd_expected_purchases", -bg["expected_purchases"].to_numpy(),
                probability=False)
            add("bgnbd_p_alive", 1 - bg["p_alive"].to_numpy(), probability=False)
    return rows


def split_ids(ids: Sequence[str], y: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Stratified fold number per row (0 .. folds-1)."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(ids), dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        out[rng.permutation(idx)] = np.arange(len(idx)) % folds
    return out
