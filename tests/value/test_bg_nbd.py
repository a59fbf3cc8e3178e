"""BG/NBD: published CDNOW values, properties and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import integrate, optimize, stats

from churnguard.errors import ConvergenceError, InputError, NotFittedError
from churnguard.value.bg_nbd import BetaGeo, _bgnbd_objective
from churnguard.value.simulate import simulate_beta_geo

from ._data import cdnow_calibration

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 4 (CDNOW 1/10
# sample, 39-week calibration): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL -9582.4.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4


@pytest.fixture(scope="module")
def cdnow_model() -> BetaGeo:
    cal = cdnow_calibration()
    return BetaGeo().fit(cal["frequency"], cal["recency"], cal["T"])


def test_cdnow_published_parameters(cdnow_model: BetaGeo) -> None:
    for name, value in PUBLISHED.items():
        assert cdnow_model.params_[name] == pytest.approx(value, rel=0.005), name
    # FHL 2005, section 4: log-likelihood -9582.4
    assert cdnow_model.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.05)


def test_cdnow_expected_purchases_new_customer(cdnow_model: BetaGeo) -> None:
    # FHL 2005, section 4 / fig. 2: E[X(t)] at t = 1, 3, 32, 78 weeks
    got = cdnow_model.expected_purchases_new_customer(np.array([1.0, 3.0, 32.0, 78.0]))
    np.testing.assert_allclose(got, [0.0532, 0.1506, 1.0437, 1.8576], rtol=2e-3)


def test_cdnow_conditional_expectation(cdnow_model: BetaGeo) -> None:
    # FHL 2005, section 4: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks
    got = cdnow_model.conditional_expected_purchases(39.0, 2, 30.43, 38.86)
    assert got == pytest.approx(1.226, abs=5e-4)


def test_summary_has_standard_errors(cdnow_model: BetaGeo) -> None:
    s = cdnow_model.summary()
    assert list(s.columns) == ["coef", "se", "lower 95% bound", "upper 95% bound"]
    assert list(s.index) == ["r", "alpha", "a", "b"]
    assert (s["se"] > 0).all()
    assert (s["lower 95% bound"] < s["coef"]).all()
    # standard error of r from the inverse Hessian (lifetimes reports 0.0126 on CDNOW)
    assert s.loc["r", "se"] == pytest.approx(0.0126, abs=5e-4)


# ------------------------------------------------------------------ references
def _brute_ll(
    x: int, tx: float, big_t: float, r: float, alpha: float, a: float, b: float
) -> float:
    """Eq. (6) written term by term with math.lgamma (no logs-of-sums tricks)."""
    beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    l1 = math.exp(
        math.lgamma(a) + math.lgamma(b + x) - math.lgamma(a + b + x) - beta
        + math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
        - (r + x) * math.log(alpha + big_t)
    )
    l2 = 0.0
    if x > 0:
        l2 = math.exp(
            math.lgamma(a + 1) + math.lgamma(b + x - 1) - math.lgamma(a + b + x) - beta
            + math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
            - (r + x) * math.log(alpha + tx)
        )
    return math.log(l1 + l2)


def _integrated_likelihood(x: int, tx: float, big_t: float, p: dict[str, float]) -> float:
    """Likelihood by integrating the individual-level likelihood over lambda and p."""
    g = stats.gamma(p["r"], scale=1 / p["alpha"])
    f = stats.beta(p["a"], p["b"])

    def integrand(lam: float, q: float) -> float:
        val = (1 - q) ** x * lam**x * math.exp(-lam * big_t)
        if x > 0:
            val += q * (1 - q) ** (x - 1) * lam**x * math.exp(-lam * tx)
        return val * g.pdf(lam) * f.pdf(q)

    return integrate.dblquad(integrand, 0, 1, 0, np.inf, epsabs=1e-13, epsrel=1e-9)[0]


@pytest.mark.slow  # scipy dblquad takes ~20 s
def test_individual_ll_matches_brute_force_and_integration(cdnow_model: BetaGeo) -> None:
    p = cdnow_model.params_
    rows = [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86), (14, 35.0, 36.0)]
    got = [cdnow_model.log_likelihood_individual(*row) for row in rows]
    brute = [_brute_ll(*row, **p) for row in rows]
    np.testing.assert_allclose(got, brute, rtol=1e-12)
    for row in rows[:3]:
        assert math.exp(cdnow_model.log_likelihood_individual(*row)) == pytest.approx(
            _integrated_likelihood(*row, p), rel=1e-5
        )


@pytest.mark.slow  # scipy dblquad takes ~20 s
def test_expected_purchases_match_integration(cdnow_model: BetaGeo) -> None:
    p = cdnow_model.params_
    g = stats.gamma(p["r"], scale=1 / p["alpha"])
    f = stats.beta(p["a"], p["b"])
    for t in (3.0, 52.0):
        # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p  (FHL 2005, eq. 7 summed)
        ref = integrate.dblquad(
            lambda lam, q, t=t: -math.expm1(-lam * q * t) / q * g.pdf(lam) * f.pdf(q),
            0, 1, 0, np.inf, epsabs=1e-12,
        )[0]
        assert cdnow_model.expected_purchases_new_customer(t) == pytest.approx(ref, rel=1e-5)
    x, tx, big_t, t = 3, 20.0, 38.0, 39.0
    num = integrate.dblquad(
        lambda lam, q: (1 - q) ** x * lam**x * math.exp(-lam * big_t)
        * -math.expm1(-lam * q * t) / q * g.pdf(lam) * f.pdf(q),
        0, 1, 0, np.inf, epsabs=1e-15,
    )[0]
    ref = num / math.exp(cdnow_model.log_likelihood_individual(x, tx, big_t))
    got = cdnow_model.conditional_expected_purchases(t, x, tx, big_t)
    assert got == pytest.approx(ref, rel=1e-5)


def test_analytic_gradient_and_hessian_match_finite_differences() -> None:
    x, tx, big_t = simulate_beta_geo(500, r=0.5, alpha=3.0, a=1.2, b=2.0, T=30.0, seed=5)
    obj = _bgnbd_objective(x, tx, big_t, np.ones_like(x))
    phi = np.log([0.4, 2.5, 0.9, 2.2])
    _, g, h = obj(phi)
    num_g = optimize.approx_fprime(phi, lambda v: obj(v)[0], 1e-7)
    np.testing.assert_allclose(g, num_g, rtol=1e-4, atol=1e-4)
    num_h = np.array([optimize.approx_fprime(phi, lambda v, i=i: obj(v)[1][i], 1e-7)
                      for i in range(4)])
    np.testing.assert_allclose(h, num_h, rtol=1e-4, atol=1e-3)


# ------------------------------------------------------------------ properties
def test_scalar_ll_is_sum_of_individual(cdnow_model: BetaGeo) -> None:
    cal = cdnow_calibration()
    ind = cdnow_model.log_likelihood_individual(cal["frequency"], cal["recency"], cal["T"])
    assert ind.sum() == pytest.approx(cdnow_model.log_likelihood_, rel=1e-12)


def test_probabilities_bounded_and_no_nan_on_extremes(cdnow_model: BetaGeo) -> None:
    x = np.array([0, 0, 1, 5000, 5000, 3, 100000, 1])
    tx = np.array([0, 0, 1e-9, 1e-3, 1e7, 1e9, 1e12, 1e12])
    big_t = np.array([0, 1e12, 1e12, 1e8, 1e7, 1e9, 1e12, 1e12])
    pa = cdnow_model.p_alive(x, tx, big_t)
    assert np.all((pa >= 0) & (pa <= 1))
    for t in (0.0, 1.0, 1e6):
        ce = cdnow_model.conditional_expected_purchases(t, x, tx, big_t)
        assert np.all(np.isfinite(ce)) and np.all(ce >= 0)
    assert np.all(np.isfinite(cdnow_model.log_likelihood_individual(x, tx, big_t)))
    assert np.isfinite(cdnow_model.expected_purchases_new_customer(1e15))


def test_expected_purchases_monotone_in_t(cdnow_model: BetaGeo) -> None:
    t = np.linspace(0, 500, 2001)
    e = cdnow_model.expected_purchases_new_customer(t)
    assert e[0] == 0 and np.all(np.diff(e) > 0)
    ce = cdnow_model.conditional_expected_purchases(t, 4, 20.0, 39.0)
    assert np.all(np.diff(ce) > 0)


def test_weighted_fit_equals_unweighted() -> None:
    x, tx, big_t = simulate_beta_geo(3000, r=0.3, alpha=5, a=0.8, b=2.5, T=40.0,
                                     resolution=1.0, seed=7)
    full = BetaGeo().fit(x, tx, big_t)
    frame = pd.DataFrame({"x": x, "tx": tx, "T": big_t}).value_counts().reset_index()
    weighted = BetaGeo().fit(frame["x"], frame["tx"], frame["T"], weights=frame["count"])
    assert full.n_unique_rows_ == len(frame) < 3000
    for k in full.params_:
        assert weighted.params_[k] == pytest.approx(full.params_[k], rel=1e-8)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-10)
    # brute force: likelihood on the raw rows, one by one, equals the fitted value
    rows = zip(x, tx, big_t, strict=True)
    brute = sum(_brute_ll(int(a), b, c, **full.params_) for a, b, c in rows)
    assert brute == pytest.approx(full.log_likelihood_, rel=1e-10)


def _recovery(n: int, seed: int) -> None:
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    rng = np.random.default_rng(seed)
    big_t = rng.uniform(1.0, 78.0, n)
    model = BetaGeo().fit(*simulate_beta_geo(n, **truth, T=big_t, seed=seed))
    se = model.summary()["se"]
    for k, v in truth.items():
        assert abs(model.params_[k] - v) < 4 * se[k], (k, model.params_[k], se[k])


def test_parameter_recovery_100k() -> None:
    _recovery(100_000, seed=11)


@pytest.mark.slow
def test_parameter_recovery_1m() -> None:
    _recovery(1_000_000, seed=12)


# ------------------------------------------------------------------ inputs / errors
def test_accepts_pandas_polars_and_does_not_mutate() -> None:
    cal = cdnow_calibration()
    before = cal.copy()
    a = BetaGeo().fit(cal["frequency"], cal["recency"], cal["T"])
    pcal = pl.from_pandas(cal)
    b = BetaGeo().fit(pcal["frequency"], pcal["recency"], pcal["T"])
    assert a.params_ == pytest.approx(b.params_)
    pd.testing.assert_frame_equal(cal, before)
    assert isinstance(a.p_alive(pcal["frequency"], pcal["recency"], pcal["T"]), np.ndarray)


def test_not_fitted_message() -> None:
    with pytest.raises(NotFittedError, match=r"BetaGeo\(\)\.fit"):
        BetaGeo().p_alive(1, 1.0, 2.0)


@pytest.mark.parametrize(
    ("x", "tx", "big_t", "match"),
    [
        ([1, 2], [3.0, 5.0], [4.0, 4.0], r"recency at index 1 is 5\.0 but T is 4\.0"),
        ([1, 2.5], [1.0, 2.0], [4.0, 4.0], r"frequency at index 1 is 2\.5"),
        ([0, 1], [1.0, 1.0], [4.0, 4.0], r"recency at index 0 is 1\.0 while frequency is 0"),
        ([1, -1], [1.0, 0.0], [4.0, 4.0], r"frequency at index 1 is -1\.0"),
        ([1, np.nan], [1.0, 0.0], [4.0, 4.0], r"frequency at index 1 is nan"),
    ],
)
def test_input_errors_name_index_and_value(
    x: list[float], tx: list[float], big_t: list[float], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        BetaGeo().fit(x, tx, big_t)


def test_input_error_uses_pandas_label() -> None:
    s = pd.Series([1.0, 9.0], index=["c1", "c2"])
    with pytest.raises(InputError, match=r"index 'c2'"):
        BetaGeo().fit(pd.Series([1, 1], index=["c1", "c2"]), s, pd.Series([4.0, 4.0]))


def test_all_zero_frequency_is_input_error() -> None:
    with pytest.raises(InputError, match="no customer has a repeat purchase"):
        BetaGeo().fit(np.zeros(100), np.zeros(100), np.full(100, 30.0))


def test_no_dropout_data_diverges_with_convergence_error() -> None:
    # everyone buys right up to T: dropout probability runs to 0, no finite maximum
    x = np.tile([5.0, 8.0, 12.0], 100)
    with pytest.raises(ConvergenceError, match="no finite maximum"):
        BetaGeo().fit(x, np.full(x.size, 30.0), np.full(x.size, 30.0))
