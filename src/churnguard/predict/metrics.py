"""Scores of churn predictions: ranking (AUC, PR-AUC, top-decile lift and capture),
probability quality (log loss, Brier) and the calibration table.

>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(auc(y, p), 3)
0.75
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

#: the metrics of a backtest row, in report order
METRICS = ("auc", "pr_auc", "log_loss", "brier", "lift_top_decile", "capture_top_decile")
_EPS = 1e-6


def auc(y: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class is present."""
    yy = np.asarray(y, dtype=int)
    s = np.asarray(score, dtype=np.float64)
    pos = int(yy.sum())
    neg = len(yy) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[yy == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def pr_auc(y: ArrayLike, score: ArrayLike) -> float:
    """Average precision (area under the precision-recall curve, step-wise)."""
    from sklearn.metrics import average_precision_score

    yy = np.asarray(y, dtype=int)
    if yy.sum() == 0:
        return float("nan")
    return float(average_precision_score(yy, np.asarray(score, dtype=np.float64)))


def log_loss(y: ArrayLike, p: ArrayLike) -> float:
    """Mean negative log-likelihood of probabilities ``p`` (clipped to [1e-6, 1 - 1e-6])."""
    yy = np.asarray(y, dtype=np.float64)
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return float(-np.mean(yy * np.log(q) + (1 - yy) * np.log(1 - q)))


def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Mean squared error of probabilities."""
    return float(np.mean((np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64))
                         ** 2))


def top_decile(y: ArrayLike, score: ArrayLike) -> tuple[float, float]:
    """``(lift, capture)`` of the 10 % highest scores: churn rate in the decile over the
    overall rate, and the share of all churners it holds. Ties are broken at random (fixed
    seed), so a score with few distinct values is not flattered."""
    yy = np.asarray(y, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    n = len(yy)
    if n == 0 or yy.sum() == 0:
        return float("nan"), float("nan")
    k = max(1, int(np.ceil(n / 10)))
    jitter = np.random.default_rng(0).random(n)
    order = np.lexsort((jitter, -np.nan_to_num(s, nan=-np.inf)))
    top = yy[order[:k]]
    return float(top.mean() / yy.mean()), float(top.sum() / yy.sum())


def scores(y: ArrayLike, score: ArrayLike, *, probability: bool = True) -> dict[str, float]:
    """Every metric of :data:`METRICS`; log loss and Brier only for probabilities."""
    lift, capture = top_decile(y, score)
    out = {"auc": auc(y, score), "pr_auc": pr_auc(y, score),
           "log_loss": log_loss(y, score) if probability else float("nan"),
           "brier": brier(y, score) if probability else float("nan"),
           "lift_top_decile": lift, "capture_top_decile": capture}
    return out


def calibration_table(y: ArrayLike, p: ArrayLike, *, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed churn rate per probability decile.

    Returns columns ``bin, customers, mean_predicted, observed_rate``.
    """
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    q = pd.qcut(pd.Series(pp).rank(method="first"), bins, labels=False)
    df = pd.DataFrame({"bin": q, "p": pp, "y": yy})
    return (df.groupby("bin", as_index=False)
            .agg(customers=("y", "size"), mean_predicted=("p", "mean"),
                 observed_rate=("y", "mean")))
