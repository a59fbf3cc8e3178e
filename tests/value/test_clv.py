"""CLV: vectorised result equals the month-by-month lifetimes-style loop."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from churnguard.errors import InputError
from churnguard.value import BetaGeo, GammaGamma, customer_lifetime_value

from ._data import cdnow_calibration


@pytest.fixture(scope="module")
def models() -> tuple[BetaGeo, GammaGamma]:
    cal = cdnow_calibration()
    bg = BetaGeo().fit(cal["frequency"], cal["recency"], cal["T"])
    rep = cal[cal["frequency"] > 0]
    gg = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    return bg, gg


def test_clv_equals_loop(models: tuple[BetaGeo, GammaGamma]) -> None:
    bg, gg = models
    cal = cdnow_calibration()
    before = cal.copy()
    out = customer_lifetime_value(
        bg, gg, cal["customer_id"], cal["frequency"], cal["recency"], cal["T"],
        cal["monetary_value"], horizon_months=12, monthly_discount_rate=0.01,
    )
    assert isinstance(out, pl.DataFrame)
    assert out["customer_id"].to_list() == cal["customer_id"].to_list()
    args = (cal["frequency"], cal["recency"], cal["T"])
    profit = gg.conditional_expected_average_profit(cal["frequency"], cal["monetary_value"])
    loop = np.zeros(len(cal))
    prev = np.zeros(len(cal))
    for i in range(1, 13):  # lifetimes' customer_lifetime_value, one month (30 days) a step
        cur = bg.conditional_expected_purchases(i * 30 / 7, *args)
        loop += (cur - prev) * profit / 1.01**i
        prev = cur
    np.testing.assert_allclose(out["clv"].to_numpy(), loop, rtol=1e-10)
    np.testing.assert_allclose(out["expected_purchases"].to_numpy(), prev, rtol=1e-10)
    assert (out["clv"] >= 0).all()
    assert cal.equals(before)


def test_clv_errors(models: tuple[BetaGeo, GammaGamma]) -> None:
    bg, gg = models
    with pytest.raises(InputError, match="horizon_months"):
        customer_lifetime_value(bg, gg, [1], [1], [1.0], [2.0], [3.0], horizon_months=0)
    with pytest.raises(InputError, match="customer_id has 2 values"):
        customer_lifetime_value(bg, gg, [1, 2], [1], [1.0], [2.0], [3.0])
