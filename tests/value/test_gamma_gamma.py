"""Gamma-Gamma spend model: published CDNOW values, references and properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from churnguard.errors import InputError, NotFittedError
from churnguard.value.gamma_gamma import DependenceWarning, GammaGamma

from ._data import cdnow_calibration


@pytest.fixture(scope="module")
def repeaters() -> tuple[np.ndarray, np.ndarray]:
    cal = cdnow_calibration()
    rep = cal[cal["frequency"] > 0]
    return rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy()


def test_cdnow_published_parameters(repeaters: tuple[np.ndarray, np.ndarray]) -> None:
    x, m = repeaters
    # Fader, Hardie & Lee (2005) "RFM and CLV: using iso-value curves", and Fader & Hardie
    # (2013) "The Gamma-Gamma model of monetary value": 946 repeat customers of the CDNOW
    # 1/10 sample; the value is the mean of the repeat (not the first) calibration-period
    # purchase days, same-day purchases merged. p = 6.25, q = 3.74, gamma = 15.44.
    # (Averaging all purchases including the first gives p = 14.3, q = 3.95, gamma = 7.29.)
    assert x.size == 946
    gg = GammaGamma().fit(x, m)
    assert gg.params_["p"] == pytest.approx(6.25, rel=0.01)
    assert gg.params_["q"] == pytest.approx(3.74, rel=0.01)
    assert gg.params_["gamma"] == pytest.approx(15.44, rel=0.01)
    assert (gg.summary()["se"] > 0).all()


def test_likelihood_matches_numerical_integration() -> None:
    """The closed-form density of the mean spend equals the integral over nu."""
    p, q, gam, x, z = 6.25, 3.74, 15.44, 3.0, 28.0
    gg = GammaGamma()
    gg.params_ = {"p": p, "q": q, "gamma": gam}
    # mean of x Gamma(p, nu) draws is Gamma(p x, x nu); nu ~ Gamma(q, gamma)
    ref = integrate.quad(
        lambda nu: stats.gamma.pdf(z, p * x, scale=1 / (x * nu))
        * stats.gamma.pdf(nu, q, scale=1 / gam),
        0, np.inf,
    )[0]
    from churnguard.value.gamma_gamma import _objective

    nll = _objective(np.array([x]), np.array([z]))(np.log([p, q, gam]))[0]
    assert np.exp(-nll) == pytest.approx(ref, rel=1e-8)


def test_conditional_expected_profit_is_posterior_mean() -> None:
    p, q, gam, x, z = 6.25, 3.74, 15.44, 4.0, 40.0
    gg = GammaGamma()
    gg.params_ = {"p": p, "q": q, "gamma": gam}
    post = stats.gamma(q + p * x, scale=1 / (gam + x * z))  # posterior of nu
    ref = integrate.quad(lambda nu: p / nu * post.pdf(nu), 0, np.inf)[0]
    assert gg.conditional_expected_average_profit(x, z) == pytest.approx(ref, rel=1e-8)
    # frequency 0: the population mean p gamma / (q - 1)
    assert gg.conditional_expected_average_profit(0, 0.0) == pytest.approx(p * gam / (q - 1))


def test_independence_check(repeaters: tuple[np.ndarray, np.ndarray]) -> None:
    x, m = repeaters
    res = GammaGamma.independence_check(x, m)
    assert res.correlation == pytest.approx(stats.pearsonr(x, m).statistic)
    assert abs(res.correlation) < 0.3
    with pytest.warns(DependenceWarning, match="correlated"):
        GammaGamma.independence_check(np.arange(1.0, 51.0), np.arange(1.0, 51.0) * 3.0)


def test_errors() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        GammaGamma().conditional_expected_average_profit(1, 10.0)
    with pytest.raises(InputError, match=r"monetary_value at index 1 is -3\.0"):
        GammaGamma().fit([1, 2, 3], [10.0, -3.0, 5.0])
    with pytest.raises(InputError, match="repeat purchases"):
        GammaGamma().fit([0, 0, 1], [0.0, 0.0, 5.0])


def test_parameter_recovery() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 15, 20_000).astype(float)
    nu = rng.gamma(3.74, 1 / 15.44, x.size)
    z = rng.gamma(6.25 * x, 1 / (nu * x))
    gg = GammaGamma().fit(x, z)
    se = gg.summary()["se"]
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert abs(gg.params_[k] - v) < 4 * se[k]
