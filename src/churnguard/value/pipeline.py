"""CLV per customer from an orders table (non-contractual): BG/NBD + Gamma-Gamma, as of a date.

The pipeline is the estimators glued together, nothing more:

1. :func:`rfm_summary` of the orders *before* ``as_of`` (point-in-time; the summary's
   inclusive observation end is the day before ``as_of``), in weeks;
2. :class:`BetaGeo` on (frequency, recency, T) of every customer;
3. :class:`GammaGamma` on the repeat customers' average repeat spend (with the
   independence check);
4. :func:`customer_lifetime_value` over ``horizon_months`` at the monthly equivalent of
   ``annual_discount_rate``, times ``margin``;
5. risk: P(no purchase over the horizon) (:meth:`BetaGeo.conditional_probability_no_purchases`),
   not 1 - P(alive), and the value x risk segments of :mod:`churnguard.value.segments`.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from churnguard.errors import InputError
from churnguard.timeutil import to_utc
from churnguard.value.bg_nbd import BetaGeo
from churnguard.value.clv import customer_lifetime_value
from churnguard.value.gamma_gamma import DependenceWarning, GammaGamma, IndependenceCheck
from churnguard.value.segments import value_risk_segments
from churnguard.value.summary import rfm_summary

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

DAYS_PER_MONTH = 30.0  # as customer_lifetime_value (and the lifetimes package)
_UNITS = {"m": 1.0, "y": 12.0, "w": 7.0 / 30.0, "d": 1.0 / 30.0}


def parse_horizon(text: str | int) -> int:
    """Horizon in whole months from ``12m``, ``1y``, ``52w``, ``365d`` or a number of months.

    >>> parse_horizon("12m"), parse_horizon("2y"), parse_horizon("26w"), parse_horizon(6)
    (12, 24, 6, 6)
    """
    if isinstance(text, int):
        months = float(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mywd]?)\s*", str(text).lower())
        if not m:
            raise InputError(
                f"horizon {text!r} is not a duration; write e.g. 12m, 1y, 26w or 365d."
            )
        months = float(m.group(1)) * _UNITS[m.group(2) or "m"]
    if round(months) < 1:
        raise InputError(f"horizon {text!r} is shorter than one month.")
    return round(months)


def period_rate(annual_discount_rate: float, months: float) -> float:
    """The discount rate per period of ``months`` equivalent to an annual rate.

    >>> round(period_rate(0.10, 1), 6), period_rate(0.10, 12)
    (0.007974, 0.1)
    """
    if not (np.isfinite(annual_discount_rate) and annual_discount_rate > -1):
        raise InputError(f"discount rate must be > -1, got {annual_discount_rate!r}.")
    return float(round((1.0 + annual_discount_rate) ** (months / 12.0) - 1.0, 12))


@dataclass
class ValueModels:
    """Fitted purchase and spend models and the summary they were fitted on."""

    as_of: dt.datetime
    summary: pd.DataFrame
    purchase_model: BetaGeo
    spend_model: GammaGamma
    independence: IndependenceCheck | None


def fit_value_models(orders: ir.Table, *, as_of: str | dt.date | dt.datetime,
                     min_repeat_customers: int = 10) -> ValueModels:
    """Fit BG/NBD and Gamma-Gamma on the orders before ``as_of`` (weeks).

    Raises :class:`InputError` when there are too few repeat customers to fit.
    """
    cut = to_utc(as_of)
    assert cut is not None
    obs_end = (cut - dt.timedelta(days=1)).date()
    if "amount" not in orders.columns or "ordered_at" not in orders.columns:
        raise InputError("orders needs ordered_at and amount columns.")
    # orders before the instant as_of; the summary then counts whole days up to obs_end
    before = orders.filter(orders.ordered_at < cut)
    summary = rfm_summary(before, observation_end=obs_end, time_unit="weeks").to_pandas()
    repeat = summary[summary["frequency"] > 0]
    if len(repeat) < min_repeat_customers:
        raise InputError(
            f"only {len(repeat)} customers have a repeat order before {cut.date()}: the "
            f"purchase models need at least {min_repeat_customers}. Try 1) a later --as-of, "
            "2) checking that orders were ingested (churnguard status)."
        )
    bg = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    positive = repeat[repeat["monetary_value"] > 0]
    gg = GammaGamma().fit(positive["frequency"], positive["monetary_value"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DependenceWarning)  # reported, not raised
        check = GammaGamma.independence_check(positive["frequency"], positive["monetary_value"])
    return ValueModels(as_of=cut, summary=summary, purchase_model=bg, spend_model=gg,
                       independence=check)


def clv_frame(
    models: ValueModels,
    *,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
) -> pd.DataFrame:
    """CLV, P(alive), expected purchases and spend, risk and segments per customer.

    Returns
    -------
    pandas DataFrame keyed by ``customer_id``
        ``frequency, recency_weeks, T_weeks, monetary_value, p_alive, expected_purchases,
        expected_average_spend, expected_spend, clv, churn_probability,
        value_band, risk_band, retention_potential, expected_return, priority``, sorted
        by priority.
    """
    if not (np.isfinite(margin) and 0 < margin <= 1):
        raise InputError(f"margin must be in (0, 1], got {margin!r}.")
    s = models.summary
    bg, gg = models.purchase_model, models.spend_model
    ok = (s["frequency"] == 0) | (s["monetary_value"] > 0)  # zero-value repeat buyers
    money = s["monetary_value"].where(ok, 0.0)
    freq = s["frequency"].where(ok, 0)
    out = customer_lifetime_value(
        bg, gg, s["customer_id"], s["frequency"], s["recency"], s["T"], money,
        horizon_months=horizon_months,
        monthly_discount_rate=period_rate(annual_discount_rate, 1.0),
        time_unit_days=7.0, days_per_month=DAYS_PER_MONTH,
    ).to_pandas()
    spend = np.asarray(gg.conditional_expected_average_profit(freq, money), dtype=np.float64)
    horizon_weeks = horizon_months * DAYS_PER_MONTH / 7.0
    quiet = bg.conditional_probability_no_purchases(
        horizon_weeks, s["frequency"], s["recency"], s["T"])
    frame = pd.DataFrame({
        "customer_id": out["customer_id"],
        "frequency": s["frequency"].to_numpy(),
        "recency_weeks": s["recency"].to_numpy(),
        "T_weeks": s["T"].to_numpy(),
        "monetary_value": s["monetary_value"].to_numpy(),
        "p_alive": out["p_alive"],
        "expected_purchases": out["expected_purchases"],
        "expected_average_spend": spend,
        "expected_spend": out["expected_purchases"] * spend,
        "clv": margin * out["clv"],
    })
    frame["churn_probability"] = np.asarray(quiet, dtype=np.float64)
    seg = value_risk_segments(frame)
    return seg.sort_values("priority", kind="stable").reset_index(drop=True)


def clv(ws: Workspace, *, as_of: str | dt.date | dt.datetime, horizon_months: int = 12,
        annual_discount_rate: float = 0.10, margin: float = 1.0) -> pd.DataFrame:
    """:func:`clv_frame` of the workspace's orders as of a date."""
    models = fit_value_models(ws.warehouse.table("orders"), as_of=as_of)
    return clv_frame(models, horizon_months=horizon_months,
                     annual_discount_rate=annual_discount_rate, margin=margin)
