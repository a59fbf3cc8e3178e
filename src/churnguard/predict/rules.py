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

>>> import pandas as pd
>>> f = pd.DataFrame({"days_since_last_activity": [10.0, 200.0], "unresolved_complaints": [0, 2],
...                   "orders_trend_90d": [0.0, -1.0], "interactions_trend_90d": [0.5, -0.2],
...                   "tenure_days": [730.0, 0.0]})
>>> rule_risk(f, 180)[0].round(3).tolist()
[0.071, 0.824]
"""

from __future__ import annotations

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
