"""Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005).

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430; and Fader &
Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note).

Each transaction of a customer is Gamma(p, nu); nu ~ Gamma(q, gamma) across customers. The
observed average spend z of x transactions then has density (note, eq. 4)
f(z | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q z^(px-1) x^(px)
/ (gamma + x z)^(px+q). Fit on customers with at least one repeat purchase, z the mean
spend of their repeat transactions.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, NamedTuple

import numpy as np
from scipy import stats
from scipy.special import digamma, gammaln, polygamma

from churnguard.errors import InputError
from churnguard.value._optim import FloatArray, fit_log_params, log_hessian, summary_frame
from churnguard.value._validation import (
    as_float_array,
    check_finite,
    check_is_fitted,
    scalar_or_array,
)
from churnguard.value._warnings import StatisticalWarning

logger = logging.getLogger(__name__)
_NAMES = ("p", "q", "gamma")


class DependenceWarning(StatisticalWarning):
    """Frequency and average spend are correlated; Gamma-Gamma assumes independence."""


class IndependenceCheck(NamedTuple):
    """Pearson correlation of frequency and average spend, with its two-sided p-value."""

    correlation: float
    p_value: float


def _checked(frequency: Any, monetary_value: Any) -> tuple[FloatArray, FloatArray]:
    x, lx = as_float_array(frequency, "frequency")
    m, lm = as_float_array(monetary_value, "monetary_value")
    if x.shape != m.shape:
        x, m = np.broadcast_arrays(x, m) if 1 in (x.size, m.size) else (x, m)
    if x.shape != m.shape:
        raise InputError(
            f"frequency and monetary_value must have the same length, got {x.size}, {m.size}."
        )
    labels = lx if lx is not None and len(lx) == x.size else lm
    check_finite(x, "frequency", labels)
    check_finite(m, "monetary_value", labels)
    bad = (x < 0) | (x != np.floor(x))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        where = labels[pos] if labels is not None else pos
        raise InputError(
            f"frequency at index {where!r} is {float(x[pos])!r}: must be a whole number >= 0."
        )
    bad = (x > 0) & (m <= 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        where = labels[pos] if labels is not None else pos
        raise InputError(
            f"monetary_value at index {where!r} is {float(m[pos])!r}: the average spend of a "
            "repeat customer must be > 0 (drop returns / zero-value orders first)."
        )
    return x, m


def _objective(x: FloatArray, z: FloatArray) -> Any:
    lx, lz = np.log(x), np.log(z)

    def objective(phi: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        p, q, gam = np.exp(phi)
        px = p * x
        s = gam + x * z
        ls = np.log(s)
        ll = np.sum(
            gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gam)
            + (px - 1.0) * lz + px * lx - (px + q) * ls
        )
        d_pq = digamma(px + q)
        t_pq = polygamma(1, px + q)
        g = np.array(
            [
                np.sum(x * (d_pq - digamma(px) + lz + lx - ls)),
                np.sum(d_pq - digamma(q) + np.log(gam) - ls),
                np.sum(q / gam - (px + q) / s),
            ]
        )
        h = np.empty((3, 3))
        h[0, 0] = np.sum(x**2 * (t_pq - polygamma(1, px)))
        h[0, 1] = h[1, 0] = np.sum(x * t_pq)
        h[0, 2] = h[2, 0] = -np.sum(x / s)
        h[1, 1] = np.sum(t_pq) - x.size * polygamma(1, q)
        h[1, 2] = h[2, 1] = np.sum(1.0 / gam - 1.0 / s)
        h[2, 2] = np.sum(-q / gam**2 + (px + q) / s**2)
        theta = np.exp(phi)
        return -float(ll), -theta * g, -log_hessian(theta, g, h)

    return objective


class GammaGamma:
    """Gamma-Gamma spend model fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted ``p``, ``q``, ``gamma``.
    log_likelihood_ : float
    covariance_ : ndarray of shape (3, 3)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 10, 3_000).astype(float)
    >>> nu = rng.gamma(4.0, 1 / 15.0, x.size)
    >>> z = rng.gamma(6.0 * x, 1 / (nu * x))
    >>> gg = GammaGamma().fit(x, z)
    >>> bool(gg.conditional_expected_average_profit(2, 30.0) > 0)
    True
    """

    def __init__(self, *, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    def fit(self, frequency: Any, monetary_value: Any) -> GammaGamma:
        """Fit on average spend of repeat transactions; customers with frequency 0 are skipped.

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Number of repeat transactions.
        monetary_value : array-like of shape (n_customers,)
            Average value of those repeat transactions.
        """
        x, m = _checked(frequency, monetary_value)
        keep = x > 0
        if (~keep).any():
            logger.info("GammaGamma.fit: skipping %d customers with frequency 0", (~keep).sum())
        x, m = x[keep], m[keep]
        if x.size < 3:
            raise InputError(
                f"GammaGamma.fit needs customers with repeat purchases; got {x.size}."
            )
        if np.ptp(m) == 0:
            raise InputError("GammaGamma.fit: every average spend is identical; nothing to fit.")
        phi0 = np.log(np.array([1.0, 2.0, float(np.mean(m))]))
        result = fit_log_params(
            _objective(x, m), phi0, n_obs=float(x.size), names=_NAMES, model="GammaGamma",
            max_iter=self.max_iter,
        )
        self.params_ = dict(zip(_NAMES, map(float, result.params), strict=True))
        self.log_likelihood_ = result.log_likelihood
        self.covariance_ = result.covariance
        self.n_customers_ = int(x.size)
        return self

    def summary(self) -> Any:
        """Return a pandas DataFrame of coef, se and 95 % bounds per parameter."""
        check_is_fitted(self)
        return summary_frame(_NAMES, np.array(list(self.params_.values())), self.covariance_)

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> Any:
        """E(M | p, q, gamma, x, z) = p (gamma + x z) / (p x + q - 1), the note's eq. (5).

        A weighted average of the population mean p gamma / (q - 1) and the customer's own
        average; customers with frequency 0 get the population mean (infinite if q <= 1).
        """
        check_is_fitted(self)
        x, m = _checked(frequency, monetary_value)
        p, q, gam = self.params_["p"], self.params_["q"], self.params_["gamma"]
        m = np.where(x > 0, m, 0.0)
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore"):
            out = np.where(denom > 0, p * (gam + x * m) / np.where(denom > 0, denom, 1.0), np.inf)
        return scalar_or_array(out, frequency, monetary_value)

    @staticmethod
    def independence_check(
        frequency: Any, monetary_value: Any, *, threshold: float = 0.3
    ) -> IndependenceCheck:
        """Pearson correlation of frequency and average spend among repeat customers.

        The model assumes spend is independent of the purchase process; a
        :class:`DependenceWarning` is issued when ``|correlation| > threshold``.

        >>> IndependenceCheck._fields
        ('correlation', 'p_value')
        """
        x, m = _checked(frequency, monetary_value)
        keep = x > 0
        if keep.sum() < 3:
            raise InputError("independence_check needs at least 3 repeat customers.")
        res = stats.pearsonr(x[keep], m[keep])
        corr, pval = float(res.statistic), float(res.pvalue)
        if abs(corr) > threshold:
            warnings.warn(
                f"frequency and average spend are correlated (r = {corr:.3f}, p = {pval:.3g}); "
                "the Gamma-Gamma model assumes they are independent, so its spend forecasts "
                "may be biased.",
                DependenceWarning,
                stacklevel=2,
            )
        return IndependenceCheck(corr, pval)
