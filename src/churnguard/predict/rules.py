"""The rule-based risk score used when a model cannot be trained (fewer than 500 customers,
too little history, too few churners).

``risk = 0.6 * min(days since last activity / W, 1) + 0.2 * min(unresolved complaints, 2) / 2
+ 0.1 * [orders falling] + 0.1 * [interactions falling]``, with W the churn definition's
inactivity window and no activity at all counting as the full 0.6. It is a score in [0, 1],
not a calibrated probability; its parts are the reasons.

>>> import pandas as pd
>>> f = pd.DataFrame({"days_since_last_activity": [10.0, 200.0], "unresolved_complaints": [0, 2],
...                   "orders_trend_90d": [0.0, -1.0], "interactions_trend_90d": [0.5, -0.2]})
>>> rule_risk(f, 180)[0].round(3).tolist()
[0.033, 1.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the features the rule reads (checked against the schema like a model's)
RULE_FEATURES = ("days_since_last_activity", "unresolved_complaints", "orders_trend_90d",
                 "interactions_trend_90d")
WEIGHTS = (0.6, 0.2, 0.1, 0.1)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64,
                                                                na_value=np.nan)


def rule_risk(frame: pd.DataFrame, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """``(risk, parts)``: the score per customer and each rule part, shape (n, 4), in the
    order of :data:`RULE_FEATURES` (the parts sum to the score)."""
    rec = _col(frame, "days_since_last_activity")
    inactivity = np.where(np.isnan(rec), 1.0, np.clip(rec / window_days, 0.0, 1.0))
    complaints = np.clip(np.nan_to_num(_col(frame, "unresolved_complaints")), 0, 2) / 2
    orders = (np.nan_to_num(_col(frame, "orders_trend_90d")) < 0).astype(float)
    inter = (np.nan_to_num(_col(frame, "interactions_trend_90d")) < 0).astype(float)
    parts = np.column_stack([w * p for w, p in zip(WEIGHTS, (inactivity, complaints, orders,
                                                             inter), strict=True)])
    return parts.sum(axis=1), parts
