"""Customer lifetime value from a BG/NBD purchase model and a Gamma-Gamma spend model.

CLV = sum over months i = 1..H of (E[Y(t_i)] - E[Y(t_{i-1})]) E[M] / (1 + d)^i, with E[Y(t)]
the conditional expected purchases of Fader, Hardie & Lee (2005) eq. (10), E[M] the
Gamma-Gamma expected average profit and d the monthly discount rate; months are 30 days,
as in the ``lifetimes`` package (Fader, Hardie & Lee 2005, "RFM and CLV", section 4).

Vectorised: E[Y(t)] = P(alive | x, t_x, T) G(x, T, t), and the growth term G does not
depend on t_x, so the hypergeometric functions are evaluated once per distinct (x, T)
pair and month; everything per customer is a handful of array operations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from churnguard.errors import InputError
from churnguard.value._validation import check_is_fitted, check_rft
from churnguard.value.bg_nbd import BetaGeo
from churnguard.value.gamma_gamma import GammaGamma


def customer_lifetime_value(
    purchase_model: BetaGeo,
    spend_model: GammaGamma,
    customer_id: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit_days: float = 7.0,
    days_per_month: float = 30.0,
) -> pl.DataFrame:
    """Discounted CLV of every customer over ``horizon_months``.

    Parameters
    ----------
    purchase_model, spend_model : fitted BetaGeo and GammaGamma
    customer_id : array-like of shape (n_customers,)
    frequency, recency, T : array-like of shape (n_customers,)
        In the time unit the purchase model was fitted in (``time_unit_days`` days).
    monetary_value : array-like of shape (n_customers,)
        Average spend of repeat transactions (ignored when frequency is 0).

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``p_alive``, ``expected_purchases`` (undiscounted, over the
        horizon), ``expected_average_profit`` and ``clv``, one row per customer in input
        order (``.to_pandas()`` for pandas).

    Examples
    --------
    >>> from churnguard.value.simulate import simulate_beta_geo
    >>> x, tx, T = simulate_beta_geo(2_000, r=0.25, alpha=4, a=0.8, b=2.5, T=39.0, seed=3)
    >>> bg = BetaGeo().fit(x, tx, T)
    >>> gg = GammaGamma()
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # published CDNOW values
    >>> out = customer_lifetime_value(bg, gg, range(2_000), x, tx, T, 20.0 + x)
    >>> out.columns
    ['customer_id', 'p_alive', 'expected_purchases', 'expected_average_profit', 'clv']
    """
    check_is_fitted(purchase_model)
    check_is_fitted(spend_model)
    if horizon_months < 1 or int(horizon_months) != horizon_months:
        raise InputError(f"horizon_months must be a whole number >= 1, got {horizon_months!r}.")
    if not (monthly_discount_rate > -1.0 and np.isfinite(monthly_discount_rate)):
        raise InputError(f"monthly_discount_rate must be > -1, got {monthly_discount_rate!r}.")
    if not (time_unit_days > 0 and days_per_month > 0):
        raise InputError("time_unit_days and days_per_month must be > 0.")
    x, tx, big_t = check_rft(frequency, recency, T)
    ids = customer_id.to_numpy() if hasattr(customer_id, "to_numpy") else np.asarray(customer_id)
    if ids.shape != x.shape:
        raise InputError(f"customer_id has {ids.size} values but frequency has {x.size}.")
    profit = np.asarray(
        spend_model.conditional_expected_average_profit(x, monetary_value), dtype=np.float64
    ).reshape(-1)
    profit = np.broadcast_to(profit, x.shape)
    alive = np.asarray(purchase_model.p_alive(x, tx, big_t), dtype=np.float64).reshape(-1)

    # growth term on the distinct (x, T) pairs only
    keys = pl.DataFrame({"x": x, "T": big_t})
    uniq = keys.unique().with_row_index("k")
    inverse = keys.join(uniq, on=["x", "T"], how="left", maintain_order="left")["k"].to_numpy()
    ux = uniq["x"].to_numpy()[:, None]
    ut = uniq["T"].to_numpy()[:, None]
    months = np.arange(1, int(horizon_months) + 1, dtype=np.float64)
    t = months * days_per_month / time_unit_days
    p = purchase_model.params_
    growth = BetaGeo._growth(ux, ut, t[None, :], p["r"], p["alpha"], p["a"], p["b"])
    discount = (1.0 + float(monthly_discount_rate)) ** -months
    increments = np.diff(growth, axis=1, prepend=0.0)
    discounted = (increments @ discount)[inverse]
    total = growth[:, -1][inverse]
    return pl.DataFrame(
        {
            "customer_id": ids,
            "p_alive": alive,
            "expected_purchases": alive * total,
            "expected_average_profit": profit,
            "clv": alive * discounted * profit,
        }
    )

