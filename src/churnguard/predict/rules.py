"""The rule-based risk score used when a model cannot be trained (fewer than 500 customers,
too little history, too few churners).

A recency and frequency-drop rule, continuous in every part so that it ranks customers
instead of putting most of them on a few tied values::

    risk = 0.45 * (1 - 2^(-d / (W/2)))          recency: d days since the last order or
                                                own interaction (none on record: 1);
                                                half-way at W/2, 0.75 at W, still rising
         + 0.15 * min(unresolved complaints, 2) / 2
         + 0.15 * max(-orders trend, 0)         order frequency drop, last 90 days vs the
         + 0.10 * max(-interactions trend, 0)   90 before (trend in [-1, 1]: -1 stopped)
         + 0.15 * 2^(-tenure days / 365)        new customers leave most often

with W the churn definition's inactivity window. It is a score in [0, 1], not a
calibrated probability; its parts are the reasons.

A snapshot workspace (a customer table with a churned flag, no events) has no recency or
trends to read. Its rule is the churn rate of each customer's own segments instead
(:func:`segment_risk`): for every attribute (numbers cut at their quartiles), the share
of the customers in the same segment who churned, smoothed towards the overall rate,
averaged with weights that favour the attributes that separate churners from stayers.
The parts (how far each segment's rate is from the overall rate) are the reasons.

>>> import pandas as pd
>>> f = pd.DataFrame({"days_since_last_activity": [10.0, 200.0], "unresolved_complaints": [0, 2],
...                   "orders_trend_90d": [0.0, -1.0], "interactions_trend_90d": [0.5, -0.2],
...                   "tenure_days": [730.0, 0.0]})
>>> rule_risk(f, 180)[0].round(3).tolist()
[0.071, 0.824]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: the features the rule reads (checked against the schema like a model's)
RULE_FEATURES = ("days_since_last_activity", "unresolved_complaints", "orders_trend_90d",
                 "interactions_trend_90d", "tenure_days")
WEIGHTS = (0.45, 0.15, 0.15, 0.10, 0.15)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64,
                                                                na_value=np.nan)


def rule_risk(frame: pd.DataFrame, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """``(risk, parts)``: the score per customer and each rule part, shape (n, 5), in the
    order of :data:`RULE_FEATURES` (the parts sum to the score)."""
    rec = _col(frame, "days_since_last_activity")
    half = max(window_days, 1) / 2
    recency = np.where(np.isnan(rec), 1.0, 1.0 - np.exp2(-np.clip(rec, 0, None) / half))
    complaints = np.clip(np.nan_to_num(_col(frame, "unresolved_complaints")), 0, 2) / 2
    orders = np.clip(-np.nan_to_num(_col(frame, "orders_trend_90d")), 0, 1)
    inter = np.clip(-np.nan_to_num(_col(frame, "interactions_trend_90d")), 0, 1)
    tenure = _col(frame, "tenure_days")
    new = np.where(np.isnan(tenure), 0.0, np.exp2(-np.clip(tenure, 0, None) / 365))
    parts = np.column_stack([w * p for w, p in zip(WEIGHTS, (recency, complaints, orders,
                                                             inter, new), strict=True)])
    return parts.sum(axis=1), parts


# -- snapshot workspaces: churn rates of the customers' own segments ------------------------
#: pseudo-customers at the overall rate added to every segment (a segment of 3 customers
#: who all churned reads 0.23 + (3 - 3 * 0.23) / 13, not 100 %)
SMOOTHING = 10
#: numeric attributes are cut at their quartiles
QUANTILES = (0.25, 0.5, 0.75)
MISSING = "(missing)"


def _segment_keys(values: pd.Series, edges: list[float] | None) -> np.ndarray:
    """The segment of every value: the text of a category, or the quantile bin of a
    number (``"0"`` .. ``"3"``); missing values are their own segment."""
    if edges is None:
        keys = values.astype("string").fillna(MISSING)
        return keys.to_numpy(dtype=object)
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), x, side="right").astype(str)
    return np.where(np.isnan(x), MISSING, bins).astype(object)


def fit_segment_rates(frame: pd.DataFrame, churned: np.ndarray, features: list[str],
                      categorical: set[str]) -> dict[str, object]:
    """The segment churn rates of every feature with at least two segments, for
    :func:`segment_risk` (JSON-able: kept in the registry's ``model.json``).

    A feature's weight is the spread of its segments' rates around the overall rate
    (sum over segments of customers x (rate - overall)^2, normalised over features):
    an attribute that separates churners from stayers counts, one that does not (an id,
    a constant) weighs nothing.
    """
    y = np.asarray(churned, dtype=np.float64)
    base = float(y.mean()) if len(y) else 0.0
    table: list[dict[str, Any]] = []
    for name in features:
        if name not in frame.columns:
            continue
        edges = None
        if name not in categorical:
            x = pd.to_numeric(frame[name], errors="coerce").dropna()
            if x.nunique() < 2:
                continue
            edges = sorted({float(v) for v in np.quantile(x, QUANTILES)})
        keys = _segment_keys(frame[name], edges)
        stats = pd.DataFrame({"k": keys, "y": y}).groupby("k")["y"].agg(["size", "sum"])
        if len(stats) < 2:
            continue
        rate = (stats["sum"] + SMOOTHING * base) / (stats["size"] + SMOOTHING)
        spread = float((stats["size"] * (rate - base) ** 2).sum() / max(len(y), 1))
        if spread <= 0:
            continue
        table.append({"name": name, "edges": edges, "spread": spread,
                      "rates": {str(k): float(v) for k, v in rate.items()}})
    total = sum(float(t["spread"]) for t in table)
    for t in table:
        t["weight"] = float(t["spread"]) / total
    return {"base_rate": base, "smoothing": SMOOTHING, "features": table}


def segment_risk(frame: pd.DataFrame, rates: dict[str, object]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(risk, parts)`` from :func:`fit_segment_rates`: the weighted mean of the churn
    rates of the customer's segments, and each feature's part (weight x (its segment's
    rate - the overall rate); the parts plus the overall rate give the risk). A segment
    not seen in training reads the overall rate.

    >>> f = pd.DataFrame({"plan": ["a", "a", "b", "b"], "age": [1.0, 2.0, 3.0, 4.0]})
    >>> r = fit_segment_rates(f, np.array([1, 1, 0, 0]), ["plan"], {"plan"})
    >>> [round(v, 3) for v in r["features"][0]["rates"].values()]  # (2 + 10 x 0.5) / 12
    [0.583, 0.417]
    >>> segment_risk(pd.DataFrame({"plan": ["a", "zz"]}), r)[0].round(3).tolist()
    [0.583, 0.5]
    """
    base = float(rates["base_rate"])  # type: ignore[arg-type]
    feats: list[dict[str, Any]] = rates["features"]  # type: ignore[assignment]
    parts = np.zeros((len(frame), len(feats)))
    for j, t in enumerate(feats):
        col = frame[t["name"]] if t["name"] in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index)
        keys = _segment_keys(col, t["edges"])
        r = pd.Series(keys).map(t["rates"]).fillna(base).to_numpy(dtype=np.float64)
        parts[:, j] = t["weight"] * (r - base)
    return base + parts.sum(axis=1), parts
