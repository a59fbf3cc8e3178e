"""CLV from a workspace: published BG/NBD values through the warehouse, and the workspace
pipeline equal to the estimators run by hand on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from churnguard.errors import InputError
from churnguard.value import BetaGeo, GammaGamma, customer_lifetime_value, rfm_summary
from churnguard.value.pipeline import clv, clv_frame, fit_value_models, parse_horizon, period_rate
from churnguard.warehouse import Workspace

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", CDNOW 1/10 sample
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_published_bgnbd_through_the_workspace(cdnow_ws: Workspace) -> None:
    orders = cdnow_ws.warehouse.table("orders")
    cal = rfm_summary(orders, observation_end="1998-06-30", calibration_end="1997-09-30"
                      ).to_pandas()
    assert len(cal) == 2357
    bg = BetaGeo().fit(cal["frequency"], cal["recency"], cal["T"])
    for k, v in PUBLISHED.items():
        assert bg.params_[k] == pytest.approx(v, rel=0.005), k
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    # the as-of pipeline sees exactly the calibration period: orders before 1997-10-01
    models = fit_value_models(orders, as_of="1997-10-01")
    for k, v in PUBLISHED.items():
        assert models.purchase_model.params_[k] == pytest.approx(v, rel=0.005), k
    assert models.spend_model.n_customers_ == 946


def test_workspace_clv_equals_estimator_pipeline(cdnow_ws: Workspace) -> None:
    out = clv(cdnow_ws, as_of="1997-10-01", horizon_months=12, annual_discount_rate=0.1,
              margin=0.3)
    # by hand: summary of the orders up to 1997-09-30, the two fits, the CLV function
    orders = cdnow_ws.warehouse.table("orders")
    s = rfm_summary(orders, observation_end="1997-09-30").to_pandas()
    bg = BetaGeo().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGamma().fit(rep["frequency"], rep["monetary_value"])
    ref = customer_lifetime_value(
        bg, gg, s["customer_id"], s["frequency"], s["recency"], s["T"], s["monetary_value"],
        horizon_months=12, monthly_discount_rate=1.1 ** (1 / 12) - 1).to_pandas()
    got = out.set_index("customer_id").loc[ref["customer_id"]]
    np.testing.assert_allclose(got["clv"], 0.3 * ref["clv"], rtol=1e-9)
    np.testing.assert_allclose(got["p_alive"], ref["p_alive"], rtol=1e-12)
    np.testing.assert_allclose(got["expected_purchases"], ref["expected_purchases"], rtol=1e-9)


def test_clv_frame_properties(cdnow_ws: Workspace) -> None:
    models = fit_value_models(cdnow_ws.warehouse.table("orders"), as_of="1997-10-01")
    out = clv_frame(models)
    assert out["customer_id"].is_unique and len(out) == 2357
    assert out["churn_probability"].between(0, 1).all()
    assert out["priority"].tolist() == list(range(1, len(out) + 1))
    assert out["expected_return"].is_monotonic_decreasing
    one_timers = out[out["frequency"] == 0]
    # the trap: P(alive) is 1 for every one-time buyer; the churn probability is not
    assert (one_timers["p_alive"] == 1).all()
    assert one_timers["churn_probability"].std() > 0.01
    assert set(out["risk_band"]) <= {"low", "medium", "high"}
    assert set(out["value_band"]) == {"low", "medium", "high"}


def test_no_purchase_probability_by_simulation() -> None:
    # a BG/NBD customer's P(no purchase in (T, T + t]) against Monte Carlo
    bg = BetaGeo()
    bg.params_ = dict(PUBLISHED)
    rng = np.random.default_rng(0)
    n, t = 400_000, 39.0
    r, al, a, b = PUBLISHED.values()
    lam = rng.gamma(r, 1 / al, n)
    p = rng.beta(a, b, n)
    # simulate from time 0 to T + t, keep customers with x = 2 repeat purchases by T = 20
    # whose last one fell in [10, 12] weeks; compare the share with none after T
    big_t, times, alive = 20.0, np.zeros(n), np.ones(n, bool)
    x = np.zeros(n, int)
    last = np.zeros(n)
    later = np.zeros(n, bool)
    while alive.any():
        gap = rng.exponential(1 / lam[alive])
        times[alive] += gap
        idx = np.flatnonzero(alive)
        inside = times[idx] <= big_t
        after = (times[idx] > big_t) & (times[idx] <= big_t + t)
        x[idx[inside]] += 1
        last[idx[inside]] = times[idx[inside]]
        later[idx[after]] = True
        stop = times[idx] > big_t + t
        die = rng.random(idx.size) < p[idx]
        alive[idx[stop | die]] = False
    sel = (x == 2) & (last >= 10) & (last <= 12)
    expected = bg.conditional_probability_no_purchases(t, 2, 11.0, big_t)
    assert sel.sum() > 500
    assert (~later[sel]).mean() == pytest.approx(expected, abs=0.04)


def test_helpers_and_errors(cdnow_ws: Workspace) -> None:
    assert parse_horizon("1y") == 12 and parse_horizon("365d") == 12
    assert period_rate(0.1, 12) == pytest.approx(0.1)
    with pytest.raises(InputError, match="not a duration"):
        parse_horizon("soon")
    with pytest.raises(InputError, match="repeat order"):
        fit_value_models(cdnow_ws.warehouse.table("orders"), as_of="1997-01-05")
    with pytest.raises(InputError, match="margin"):
        clv(cdnow_ws, as_of="1997-10-01", margin=2.0)
