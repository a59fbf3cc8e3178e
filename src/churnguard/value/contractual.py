"""Contractual CLV: shifted-beta-geometric retention fitted on subscription cohorts.

Customers with subscriptions are labelled into episodes by
:func:`churnguard.measure.labels` (contractual rule: renewals within the grace period are
one episode). Each episode's renewal period is the ``contract_months`` of its latest
subscription (0 or missing: 1 month). Tenure is counted in whole periods:

- a churned episode lasting ``d`` days was lost at period ``k = max(1, round(d / p))``
  (``p`` = period length, 30.4375 days a month): it renewed ``k - 1`` times;
- an open (censored) episode has completed ``c = floor(d / p)`` periods up to ``as_of``.

One :class:`ShiftedBetaGeometric` is fitted per period length (1-month, 12-month ...
contracts behave differently, and the periods must be equal within one fit). For every
open episode:

``churn_probability``
    1 - S(c + h) / S(c), the chance of leaving within the horizon (``h`` periods);
``derl_periods``
    discounted expected residual lifetime (Fader & Hardie 2010) at the per-period rate
    equivalent to the annual rate, with the paper's ``n = c + 1`` (a customer in her
    first period, no renewal yet, has n = 1): future renewals, the next one undiscounted;
``clv``
    ``margin x mrr x period months x derl_periods``: residual value of the relationship
    (no horizon: DERL sums the whole expected future), using the latest subscription's MRR.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnguard.errors import ChurnguardError, ConvergenceError, InputError
from churnguard.timeutil import to_utc
from churnguard.value._warnings import ConvergenceWarning
from churnguard.value.pipeline import period_rate
from churnguard.value.sbg import ShiftedBetaGeometric
from churnguard.value.segments import value_risk_segments

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

logger = logging.getLogger(__name__)
DAYS_PER_MONTH = 365.25 / 12


def contract_periods(episodes: pd.DataFrame, subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Per contractual episode: period length, periods survived, status, latest MRR.

    ``episodes`` are rows of :func:`churnguard.measure.labels` (definition contractual);
    ``subscriptions`` the contract table (started before ``as_of``).

    Returns one row per episode: ``customer_id, episode, period_months, mrr, churned,
    periods`` (k if churned, completed periods c if open), ``recency`` and ``T`` in the
    form :meth:`ShiftedBetaGeometric.fit` takes.
    """
    ep = episodes[episodes["definition"] == "contractual"].copy()
    if ep.empty:
        return pd.DataFrame(columns=["customer_id", "episode", "period_months", "mrr",
                                     "churned", "periods", "recency", "T", "start_at"])
    end = ep["churn_at"].where(ep["churned"], ep["observed_until"])
    ep["end"] = end
    subs = subscriptions[["customer_id", "started_at", "mrr", "contract_months"]].copy()
    subs = subs.sort_values("started_at")
    ep = ep.sort_values("end")
    # latest subscription of the customer started at or before the episode's end
    ep["end_key"] = ep["end"].astype("datetime64[us, UTC]")
    subs["start_key"] = subs["started_at"].astype("datetime64[us, UTC]")
    j = pd.merge_asof(ep, subs, left_on="end_key", right_on="start_key", by="customer_id",
                      direction="backward")
    months = pd.to_numeric(j["contract_months"], errors="coerce").fillna(1).clip(lower=1)
    days = (j["end"] - j["start_at"]).dt.total_seconds() / 86_400.0
    per = days / (months * DAYS_PER_MONTH)
    churned = j["churned"].astype(bool).to_numpy()
    k = np.maximum(1, np.round(per.to_numpy())).astype("int64")
    c = np.floor(per.to_numpy() + 1e-9).astype("int64")
    periods = np.where(churned, k, c)
    out = pd.DataFrame({
        "customer_id": j["customer_id"].to_numpy(),
        "episode": j["episode"].to_numpy(),
        "start_at": j["start_at"].to_numpy(),
        "period_months": months.astype("int64").to_numpy(),
        "mrr": pd.to_numeric(j["mrr"], errors="coerce").fillna(0.0).to_numpy(),
        "churned": churned,
        "periods": periods,
        "recency": np.where(churned, k, c + 1),
        "T": np.where(churned, k + 1, c + 1),
    })
    return out.sort_values(["customer_id", "episode"]).reset_index(drop=True)


def kaplan_meier_periods(recency: np.ndarray, T: np.ndarray, horizon: int) -> np.ndarray:
    """Observed share surviving to the start of periods 0..horizon (Kaplan-Meier).

    >>> kaplan_meier_periods(np.array([1, 2, 4, 4]), np.array([2, 3, 4, 4]), 3).tolist()
    [1.0, 0.75, 0.5, 0.5]
    """
    churned = recency < T
    last_seen = np.where(churned, recency, T - 1)  # lost at k / alive at start of T - 1
    s, out = 1.0, [1.0]
    for t in range(1, horizon + 1):
        at_risk = np.sum(np.where(churned, recency >= t, last_seen >= t))
        lost = np.sum(churned & (recency == t))
        if at_risk == 0:
            out.append(np.nan)
            continue
        s *= 1.0 - lost / at_risk
        out.append(s)
    return np.array(out)


class GeometricRetention:
    """The sBG's homogeneous limit: every customer renews with the same probability.

    Used when the sBG likelihood runs off to alpha, beta -> infinity (no heterogeneity in
    the data). theta = cancellations / renewal decisions observed.

    >>> m = GeometricRetention().fit(np.array([1, 4]), np.array([2, 4]))
    >>> m.params_["theta"], float(m.survival(2.0))
    (0.25, 0.5625)
    >>> round(float(m.derl(1.0, 0.1)), 4)  # (1 - theta)(1 + d) / (d + theta)
    2.3571
    """

    def fit(self, recency: np.ndarray, T: np.ndarray) -> GeometricRetention:
        recency, T = np.asarray(recency, float), np.asarray(T, float)
        churned = recency < T
        decisions = float(np.sum(np.where(churned, recency, T - 1)))
        lost = float(churned.sum())
        if lost == 0 or decisions == lost:
            raise InputError("retention is not identified (no one or everyone left).")
        self.params_ = {"theta": lost / decisions}
        self.covariance_ = np.array([[self.params_["theta"] * (1 - self.params_["theta"])
                                      / decisions]])
        self.n_customers_ = int(recency.size)
        return self

    def summary(self) -> pd.DataFrame:
        """coef and se of theta."""
        se = float(np.sqrt(self.covariance_[0, 0]))
        return pd.DataFrame({"coef": [self.params_["theta"]], "se": [se]},
                            index=pd.Index(["theta"], name="parameter"))

    def survival(self, t: Any) -> np.ndarray:
        """(1 - theta)^t."""
        return np.asarray((1.0 - self.params_["theta"]) ** np.asarray(t, float))

    def retention_rate(self, t: Any) -> np.ndarray:
        """1 - theta at every period."""
        return np.full(np.shape(t), 1.0 - self.params_["theta"])

    def derl(self, renewals: Any, discount_rate: float) -> np.ndarray:
        """(1 - theta)(1 + d) / (d + theta), whatever the tenure."""
        th = self.params_["theta"]
        value = (1.0 - th) * (1.0 + discount_rate) / (discount_rate + th)
        return np.full(np.shape(renewals), value)


RetentionModel = ShiftedBetaGeometric | GeometricRetention


def fit_cohorts(periods: pd.DataFrame) -> dict[int, RetentionModel]:
    """One sBG per period length (its geometric limit when the sBG diverges that way);
    groups that cannot be fitted at all are skipped (logged)."""
    fits: dict[int, RetentionModel] = {}
    for months, g in periods.groupby("period_months"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fits[int(months)] = ShiftedBetaGeometric().fit(g["recency"], g["T"])
        except ConvergenceError:
            try:
                fits[int(months)] = GeometricRetention().fit(g["recency"].to_numpy(),
                                                             g["T"].to_numpy())
                logger.info("%s-month contracts: no heterogeneity, geometric retention used",
                            months)
            except ChurnguardError as exc:
                logger.warning("%s-month contracts: retention not fitted: %s", months, exc)
        except ChurnguardError as exc:
            logger.warning("sBG for %s-month contracts not fitted: %s", months, exc)
    return fits


def retention_curves(periods: pd.DataFrame, fits: dict[int, RetentionModel],
                     horizon_periods: int = 24) -> pd.DataFrame:
    """Fitted and observed (Kaplan-Meier) survival per period length, periods 0..horizon."""
    rows = []
    for months, model in fits.items():
        g = periods[periods["period_months"] == months]
        n = horizon_periods if months == 1 else max(8, int(g["T"].max()) + 3)
        obs = kaplan_meier_periods(g["recency"].to_numpy(), g["T"].to_numpy(), n)
        fitted = np.asarray(model.survival(np.arange(n + 1.0)))
        rows.append(pd.DataFrame({"period_months": months, "period": np.arange(n + 1),
                                  "months": np.arange(n + 1) * months,
                                  "survival_fitted": fitted, "survival_observed": obs}))
    if not rows:
        return pd.DataFrame(columns=["period_months", "period", "months", "survival_fitted",
                                     "survival_observed"])
    return pd.concat(rows, ignore_index=True)


def contractual_clv_frame(
    periods: pd.DataFrame,
    fits: dict[int, RetentionModel],
    *,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
) -> pd.DataFrame:
    """CLV per customer with an open contractual episode (see the module docstring)."""
    if not (np.isfinite(margin) and 0 < margin <= 1):
        raise InputError(f"margin must be in (0, 1], got {margin!r}.")
    if annual_discount_rate <= 0:
        raise InputError("the contractual CLV needs a discount rate > 0 (DERL diverges at 0).")
    open_ = periods[~periods["churned"]].copy()
    cols: dict[str, list[float]] = {"retention_next": [], "churn_probability": [],
                                    "derl_periods": []}
    for _, row in open_.iterrows():
        model = fits.get(int(row["period_months"]))
        if model is None:
            for v in cols.values():
                v.append(np.nan)
            continue
        c = float(row["periods"])
        h = max(1, round(horizon_months / row["period_months"]))
        s_now = float(np.asarray(model.survival(c)))
        cols["retention_next"].append(float(np.asarray(model.retention_rate(c + 1.0))))
        cols["churn_probability"].append(1.0 - float(np.asarray(model.survival(c + h))) / s_now)
        d = period_rate(annual_discount_rate, float(row["period_months"]))
        cols["derl_periods"].append(float(np.asarray(model.derl(c + 1.0, d))))
    for k, v in cols.items():
        open_[k] = np.array(v, dtype=np.float64)
    value_per_period = open_["mrr"] * open_["period_months"]
    frame = pd.DataFrame({
        "customer_id": open_["customer_id"].to_numpy(),
        "model": [("sBG" if isinstance(fits.get(int(m)), ShiftedBetaGeometric) else
                   "geometric" if int(m) in fits else None) for m in open_["period_months"]],
        "period_months": open_["period_months"].to_numpy(),
        "renewals": open_["periods"].to_numpy(),
        "mrr": open_["mrr"].to_numpy(),
        "retention_next": open_["retention_next"].to_numpy(),
        "churn_probability": open_["churn_probability"].to_numpy(),
        "derl_periods": open_["derl_periods"].to_numpy(),
        "clv": (margin * value_per_period * open_["derl_periods"]).to_numpy(),
    })
    frame = value_risk_segments(frame)
    return frame.sort_values("priority", kind="stable").reset_index(drop=True)


def contractual_inputs(ws: Workspace, *, as_of: str | dt.date | dt.datetime
                       ) -> pd.DataFrame:
    """Contract periods of a workspace's subscription customers as of a date."""
    from churnguard.measure import labels

    cut = to_utc(as_of)
    episodes = labels(ws, as_of=cut, definition="contractual").to_pandas()
    subs = ws.warehouse.table("subscriptions")
    subs = subs.filter(subs.started_at < cut).to_pandas()
    if episodes.empty or subs.empty:
        raise InputError(f"no subscriptions started before {cut.date() if cut else as_of}: "
                         "the sBG model needs contractual customers (ingest subscriptions).")
    return contract_periods(episodes, subs)


def contractual_clv(ws: Workspace, *, as_of: str | dt.date | dt.datetime,
                    horizon_months: int = 12, annual_discount_rate: float = 0.10,
                    margin: float = 1.0) -> pd.DataFrame:
    """sBG CLV of every customer with an open subscription, as of a date."""
    periods = contractual_inputs(ws, as_of=as_of)
    fits = fit_cohorts(periods)
    if not fits:
        raise InputError("no contract length has enough renewals and cancellations to fit "
                         "the sBG model; try a later --as-of.")
    return contractual_clv_frame(periods, fits, horizon_months=horizon_months,
                                 annual_discount_rate=annual_discount_rate, margin=margin)
