"""Baselines the churn model is graded against, all scored on the same rows.

``rfm_rule``
    The classic RFM risk rule: the sum of the customer's ranks in recency (long ago is
    risky), frequency and monetary value over the last year (low is risky). No training.
``simple_rule``
    "No purchase in the last W / 2**n days" for the best n (W: the churn definition's
    inactivity window); a yes/no flag. The model must beat the best one to be activated.
``bgnbd``
    BG/NBD fitted on the orders before the origin (no labels needed); the score is the
    *expected purchases in the horizon* (low = risky), not P(alive), which is 1 for every
    customer without a repeat purchase.
``logistic``
    A tuned logistic regression (median imputation with missing flags, standardisation,
    one-hot categories, C chosen by cross-validated AUC).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from churnguard.predict.features.registry import Feature
from churnguard.predict.metrics import auc

log = logging.getLogger(__name__)


def recency_days(frame: pd.DataFrame) -> pd.Series:
    """Days since the last purchase; since the last activity when nobody ordered."""
    if "days_since_last_order" in frame and frame["days_since_last_order"].notna().any():
        return frame["days_since_last_order"].astype(float)
    return frame.get("days_since_last_activity", pd.Series(np.nan, index=frame.index)
                     ).astype(float)


def rfm_rule(frame: pd.DataFrame) -> np.ndarray:
    """RFM risk score in [0, 1]: mean of the percentile ranks of recency (high = risky),
    orders and spend in the last 365 days (low = risky). Unknown recency is the riskiest."""
    rec = recency_days(frame).fillna(np.inf)
    r = rec.rank(pct=True)
    f = 1 - frame.get("orders_365d", pd.Series(0, index=frame.index)).astype(float).rank(pct=True)
    m = 1 - frame.get("amount_365d", pd.Series(0.0, index=frame.index)).astype(float).rank(
        pct=True)
    return ((r + f + m) / 3).to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class SimpleRule:
    """"No purchase in the last ``days`` days" (the flag is the risk score, 0 or 1)."""

    days: float
    n: int

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """1.0 for flagged customers (including those who never bought), else 0.0."""
        rec = recency_days(frame)
        return (rec.isna() | (rec > self.days)).to_numpy(dtype=np.float64)

    def describe(self) -> str:
        """The rule in words."""
        return f"no purchase in the last {self.days:g} days (W/2^{self.n})"


def best_simple_rule(frame: pd.DataFrame, y: Sequence[int] | np.ndarray, window_days: int,
                     *, max_n: int = 5) -> tuple[SimpleRule, float]:
    """The rule "no purchase in the last W/2^n days" with the highest AUC on ``frame, y``."""
    best: tuple[SimpleRule, float] | None = None
    for n in range(max_n + 1):
        rule = SimpleRule(window_days / 2 ** n, n)
        a = auc(y, rule.score(frame))
        a = 0.5 if np.isnan(a) else a
        if best is None or a > best[1]:
            best = (rule, a)
    assert best is not None
    return best


def bgnbd_scores(orders: Any, as_of: datetime, customer_ids: Sequence[str],
                 horizon_days: int) -> pd.DataFrame:
    """BG/NBD expected purchases in the horizon and P(alive) per customer as of a date.

    Fitted on every customer's orders before ``as_of`` (weeks). Customers without orders
    get 0 expected purchases. Returns ``customer_id, expected_purchases, p_alive``; all
    NaN when the model cannot be fitted (too few repeat buyers).
    """
    from churnguard.value import BetaGeo, rfm_summary

    ids = pd.DataFrame({"customer_id": list(customer_ids)})
    nan = ids.assign(expected_purchases=np.nan, p_alive=np.nan)
    obs_end = (as_of - timedelta(days=1)).date()
    s = rfm_summary(orders.filter(orders.ordered_at < as_of), observation_end=obs_end,
                    time_unit="weeks").to_pandas()
    s = s[s["T"] > 0]
    if (s["frequency"] > 0).sum() < 20:
        return nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
            e = bg.conditional_expected_purchases(horizon_days / 7.0, s["frequency"],
                                                  s["recency"], s["T"])
            pa = bg.p_alive(s["frequency"], s["recency"], s["T"])
    except Exception as exc:  # a failed fit leaves the baseline out, it does not stop training
        log.warning("BG/NBD baseline could not be fitted: %s", exc)
        return nan
    out = pd.DataFrame({"customer_id": s["customer_id"].astype(str),
                        "expected_purchases": np.asarray(e, dtype=float),
                        "p_alive": np.asarray(pa, dtype=float)})
    ids["customer_id"] = ids["customer_id"].astype(str)
    out = ids.merge(out, on="customer_id", how="left")
    return out.fillna({"expected_purchases": 0.0, "p_alive": 0.0})


class LogisticBaseline:
    """Tuned logistic regression on the same features (see the module docstring)."""

    MAX_ROWS = 30_000

    def __init__(self, *, registry: Mapping[str, Feature], features: Sequence[str],
                 seed: int = 0) -> None:
        self.registry = registry
        self.features = features
        self.seed = seed

    def _pipeline(self, frame: pd.DataFrame) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        num = [f for f in self.features if self.registry[f].kind == "numeric"
               and frame[f].notna().any() and frame[f].nunique() > 1]
        cat = [f for f in self.features if self.registry[f].kind == "categorical"
               and frame[f].notna().any()]
        self.numeric_, self.categorical_ = num, cat
        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), num),
            ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                  OneHotEncoder(handle_unknown="infrequent_if_exist",
                                                min_frequency=5)), cat),
        ])
        lr = LogisticRegressionCV(Cs=8, cv=3, scoring="roc_auc", max_iter=3000,
                                  random_state=self.seed)
        return make_pipeline(pre, lr)

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[self.numeric_ + self.categorical_].copy()
        for c in self.categorical_:
            out[c] = out[c].astype("object").where(out[c].notna(), "(missing)").astype(str)
        for c in self.numeric_:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def fit(self, frame: pd.DataFrame, y: Sequence[int] | np.ndarray) -> LogisticBaseline:
        """Fit on a feature frame and 0/1 labels (a random :data:`MAX_ROWS` of them on
        large data: a baseline, not the model)."""
        yy = np.asarray(y, dtype=int)
        if len(frame) > self.MAX_ROWS:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(frame), self.MAX_ROWS,
                                                                   replace=False))
            frame, yy = frame.iloc[keep], yy[keep]
        self.pipeline_ = self._pipeline(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.pipeline_.fit(self._frame(frame), yy)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Churn probabilities, shape (n_customers,)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(self.pipeline_.predict_proba(self._frame(frame))[:, 1])
