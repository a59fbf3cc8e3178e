"""Shifted-beta-geometric: Fader & Hardie (2007, 2010) published values and properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import beta as beta_fn

from churnguard.errors import InputError
from churnguard.value.sbg import ShiftedBetaGeometric

from ._data import sbg_cohorts

# Fader & Hardie (2007), "How to project customer retention", table 1 / section 4:
# sBG fitted on years 1-7.
PUBLISHED = {"regular": (0.704, 1.182), "highend": (0.668, 3.806)}
# Fader & Hardie (2007), table 1: % alive at the start of years 0..7
ALIVE = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241],
    "highend": [1000, 869, 743, 653, 593, 551, 517, 491],
}


@pytest.mark.parametrize("cohort", ["regular", "highend"])
def test_published_fit_per_customer(cohort: str) -> None:
    data = sbg_cohorts()
    rows = data[data["cohort"] == cohort]
    m = ShiftedBetaGeometric().fit(rows["recency"], rows["T"])
    alpha, beta = PUBLISHED[cohort]
    assert m.params_["alpha"] == pytest.approx(alpha, rel=0.01)
    assert m.params_["beta"] == pytest.approx(beta, rel=0.01)
    counts = ShiftedBetaGeometric().fit_counts(ALIVE[cohort])
    assert counts.params_ == pytest.approx(m.params_, rel=1e-10)
    assert counts.log_likelihood_ == pytest.approx(m.log_likelihood_, rel=1e-12)


def test_data_matches_published_counts() -> None:
    data = sbg_cohorts()
    for cohort, alive in ALIVE.items():
        rec = data.loc[data["cohort"] == cohort, "recency"].to_numpy()
        got = [int((rec > k).sum()) for k in range(8)]
        assert got == alive


def test_derl_published() -> None:
    # Fader & Hardie (2010), "Customer-base valuation in a contractual setting", table 2:
    # DERL at a 10 % discount rate for n = 1..5.
    m = ShiftedBetaGeometric()
    m.params_ = {"alpha": 3.80, "beta": 15.20}
    np.testing.assert_array_equal(
        np.round(m.derl(np.arange(1, 6), 0.10), 2), [3.31, 3.45, 3.59, 3.72, 3.84]
    )
    # 7.68, 9.46, 9.86, 10.06, 10.19 come from the unrounded estimate alpha ~ 0.0667; with
    # alpha printed as 0.067 (beta 0.267) n = 1 and n = 3 differ by 0.01 in the 2nd decimal.
    m.params_ = {"alpha": 0.0667, "beta": 0.267}
    np.testing.assert_array_equal(
        np.round(m.derl(np.arange(1, 6), 0.10), 2), [7.68, 9.46, 9.86, 10.06, 10.19]
    )
    m.params_ = {"alpha": 0.067, "beta": 0.267}
    np.testing.assert_allclose(
        m.derl(np.arange(1, 6), 0.10), [7.68, 9.46, 9.86, 10.06, 10.19], atol=0.011
    )
    assert m.clv(100.0, 2, 0.10) == pytest.approx(100.0 * m.derl(2, 0.10))


def test_derl_equals_brute_force_sum() -> None:
    m = ShiftedBetaGeometric().fit_counts(ALIVE["regular"])
    a, b = m.params_["alpha"], m.params_["beta"]
    d, n = 0.1, 3
    # sum_{t >= n} S(t) / S(n - 1) / (1 + d)^(t - n)
    t = np.arange(n, 5000)
    brute = np.sum(beta_fn(a, b + t) / beta_fn(a, b + n - 1) / (1 + d) ** (t - n))
    assert m.derl(n, d) == pytest.approx(brute, rel=1e-9)


def test_properties() -> None:
    m = ShiftedBetaGeometric().fit_counts(ALIVE["regular"])
    t = np.arange(1, 200)
    s = m.survival(np.arange(0, 200))
    assert s[0] == 1 and np.all(np.diff(s) < 0) and np.all(s > 0)
    np.testing.assert_allclose(m.churn_probability(t), s[:-1] - s[1:], rtol=1e-10)
    np.testing.assert_allclose(m.retention_rate(t), s[1:] / s[:-1], rtol=1e-10)
    assert np.all(np.diff(m.retention_rate(t)) > 0)  # retention rises with tenure (eq. 8)
    pc = m.churn_probability(t)
    assert np.all((pc >= 0) & (pc <= 1))


def test_errors() -> None:
    with pytest.raises(InputError, match="can only shrink"):
        ShiftedBetaGeometric().fit_counts([100, 80, 90])
    with pytest.raises(InputError, match=r"recency at index 1 is 9\.0 with T 8\.0"):
        ShiftedBetaGeometric().fit([1, 9], [8, 8])
    with pytest.raises(InputError, match="No customer was lost"):
        ShiftedBetaGeometric().fit_counts([100, 100, 100])
    m = ShiftedBetaGeometric().fit_counts(ALIVE["regular"])
    with pytest.raises(InputError, match="discount_rate"):
        m.derl(1, 0.0)
