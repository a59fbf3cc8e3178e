"""Shifted-beta-geometric (sBG) model of contractual retention.

Fader, P. S. and Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal of
Interactive Marketing 21(1), 76-90; and Fader & Hardie (2010), "Customer-Base Valuation in
a Contractual Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1).

At the end of each period a customer cancels with probability theta ~ Beta(alpha, beta).
P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) (eq. 3) and
S(t) = B(alpha, beta + t) / B(alpha, beta) (eq. 5); the retention rate
r_t = (beta + t - 1) / (alpha + beta + t - 1) rises with t (eq. 8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, hyp2f1, polygamma

from churnguard.errors import InputError
from churnguard.value._optim import FloatArray, fit_log_params, log_hessian, summary_frame
from churnguard.value._validation import (
    as_float_array,
    check_finite,
    check_is_fitted,
    scalar_or_array,
)

_NAMES = ("alpha", "beta")


def _objective(c: FloatArray, u: FloatArray, v: FloatArray) -> Any:
    """nll of sum_k c_k betaln(alpha + u_k, beta + v_k) (terms of eq. 3 and 5)."""

    def objective(phi: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        al, be = np.exp(phi)
        s = al + be + u + v
        ll = float(c @ betaln(al + u, be + v))
        ds = digamma(s)
        g = np.array([c @ (digamma(al + u) - ds), c @ (digamma(be + v) - ds)])
        ts = polygamma(1, s)
        h = np.array(
            [
                [c @ (polygamma(1, al + u) - ts), -(c @ ts)],
                [-(c @ ts), c @ (polygamma(1, be + v) - ts)],
            ]
        )
        theta = np.exp(phi)
        return -ll, -theta * g, -log_hessian(theta, g, h)

    return objective


class ShiftedBetaGeometric:
    """sBG retention model (Fader & Hardie 2007), fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted ``alpha`` and ``beta``.
    log_likelihood_ : float
    covariance_ : ndarray of shape (2, 2)

    Examples
    --------
    The "regular" cohort of Fader & Hardie (2007), customers alive at the start of years
    0..7:

    >>> alive = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> m = ShiftedBetaGeometric().fit_counts(alive)
    >>> round(m.params_["alpha"], 3), round(m.params_["beta"], 3)
    (0.704, 1.182)
    >>> round(float(m.survival(8)), 3)
    0.22
    """

    def __init__(self, *, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    def fit_counts(self, alive: Any) -> ShiftedBetaGeometric:
        """Fit on cohort counts: ``alive[t]`` customers at the start of period t = 0, 1, ...

        Those lost between t - 1 and t contribute P(T = t); the last count is censored.
        """
        n, _ = as_float_array(alive, "alive")
        check_finite(n, "alive")
        if n.size < 2 or n[0] <= 0:
            raise InputError("alive needs at least two periods and a positive first count.")
        if np.any(n < 0) or np.any(n != np.floor(n)):
            raise InputError("alive must hold whole numbers of customers >= 0.")
        lost = -np.diff(n)
        if np.any(lost < 0):
            t = int(np.flatnonzero(lost < 0)[0]) + 1
            raise InputError(
                f"alive at index {t} is {n[t]:g}, more than {n[t - 1]:g} at index {t - 1}: a "
                "cohort can only shrink (count new customers in their own cohort)."
            )
        periods = np.arange(1, n.size, dtype=np.float64)
        return self._fit(lost, periods, np.array([n[-1]]), np.array([n.size - 1.0]))

    def fit(self, recency: Any, T: Any) -> ShiftedBetaGeometric:
        """Fit on one row per customer.

        Parameters
        ----------
        recency : array-like of shape (n_customers,)
            Periods the customer stayed: ``k < T`` means gone at the start of period k
            (renewed k - 1 times); ``k == T`` means still a customer (censored).
        T : array-like of shape (n_customers,)
            Periods observed, as in ``sbg_cohorts.csv`` (alive at the start of T - 1).
        """
        k, lk = as_float_array(recency, "recency")
        big_t, _ = as_float_array(T, "T")
        if k.shape != big_t.shape:
            raise InputError("recency and T must have the same length.")
        check_finite(k, "recency", lk)
        check_finite(big_t, "T", lk)
        bad = (k < 1) | (k > big_t) | (k != np.floor(k)) | (big_t != np.floor(big_t))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            where = lk[pos] if lk is not None else pos
            raise InputError(
                f"recency at index {where!r} is {float(k[pos])!r} with T {float(big_t[pos])!r}: "
                "both must be whole periods with 1 <= recency <= T."
            )
        churned = k < big_t
        lt, lc = np.unique(k[churned], return_counts=True)
        ct, cc = np.unique(big_t[~churned] - 1.0, return_counts=True)
        return self._fit(lc.astype(float), lt, cc.astype(float), ct)

    def _fit(
        self, lost: FloatArray, lost_t: FloatArray, censored: FloatArray, censored_t: FloatArray
    ) -> ShiftedBetaGeometric:
        if lost.sum() == 0:
            raise InputError("No customer was lost: the sBG churn rate is not identified.")
        if censored.sum() == 0 and np.all(lost_t == 1):
            raise InputError("Everyone left after one period: retention is not identified.")
        n = float(lost.sum() + censored.sum())
        c = np.concatenate([lost, censored, [-n]])
        u = np.concatenate([np.ones_like(lost), np.zeros_like(censored), [0.0]])
        v = np.concatenate([lost_t - 1.0, censored_t, [0.0]])
        res = fit_log_params(
            _objective(c, u, v), np.zeros(2), n_obs=n, names=_NAMES,
            model="ShiftedBetaGeometric", max_iter=self.max_iter,
        )
        self.params_ = dict(zip(_NAMES, map(float, res.params), strict=True))
        self.log_likelihood_ = res.log_likelihood
        self.covariance_ = res.covariance
        self.n_customers_ = round(n)
        return self

    def summary(self) -> Any:
        """Return a pandas DataFrame of coef, se and 95 % bounds per parameter."""
        check_is_fitted(self)
        return summary_frame(_NAMES, np.array(list(self.params_.values())), self.covariance_)

    def _ab(self) -> tuple[float, float]:
        check_is_fitted(self)
        return self.params_["alpha"], self.params_["beta"]

    @staticmethod
    def _periods(t: Any, minimum: float) -> FloatArray:
        tt, _ = as_float_array(t, "t")
        check_finite(tt, "t")
        if np.any(tt < minimum):
            raise InputError(f"t must be >= {minimum:g}, got {tt.min():g}.")
        return tt

    def survival(self, t: Any) -> Any:
        """S(t) = B(alpha, beta + t) / B(alpha, beta), share still customers after t periods
        (eq. 5); the projected retention curve."""
        al, be = self._ab()
        tt = self._periods(t, 0.0)
        return scalar_or_array(np.exp(betaln(al, be + tt) - betaln(al, be)), t)

    def churn_probability(self, t: Any) -> Any:
        """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), lost at period t (eq. 3)."""
        al, be = self._ab()
        tt = self._periods(t, 1.0)
        return scalar_or_array(np.exp(betaln(al + 1.0, be + tt - 1.0) - betaln(al, be)), t)

    def retention_rate(self, t: Any) -> Any:
        """r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1) (eq. 8)."""
        al, be = self._ab()
        tt = self._periods(t, 1.0)
        return scalar_or_array((be + tt - 1.0) / (al + be + tt - 1.0), t)

    def expected_alive(self, n_customers: float, horizon_periods: int) -> FloatArray:
        """Projected customers alive at the start of periods 0..horizon_periods.

        >>> m = ShiftedBetaGeometric().fit_counts([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> m.expected_alive(1000, 2).round(0).tolist()
        [1000.0, 627.0, 474.0]
        """
        return n_customers * np.asarray(self.survival(np.arange(horizon_periods + 1.0)))

    def derl(self, renewals: Any, discount_rate: float) -> Any:
        """Discounted expected residual lifetime, Fader & Hardie (2010) eq. (6):

        DERL = (beta + n - 1) / (alpha + beta + n - 1) 2F1(1, beta + n; alpha + beta + n;
        1 / (1 + d)) with n = ``renewals`` (the paper's n) and d the per-period discount
        rate; the published table is reproduced with this indexing.

        >>> m = ShiftedBetaGeometric().fit_counts([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> round(float(m.derl(1, 0.10)), 2) > 0
        True
        """
        al, be = self._ab()
        n = self._periods(renewals, 1.0)
        if not (np.isfinite(discount_rate) and discount_rate > 0):
            raise InputError(f"discount_rate must be > 0 per period, got {discount_rate!r}.")
        out = (be + n - 1.0) / (al + be + n - 1.0) * hyp2f1(
            1.0, be + n, al + be + n, 1.0 / (1.0 + discount_rate)
        )
        return scalar_or_array(out, renewals)

    def clv(self, value_per_period: Any, renewals: Any, discount_rate: float) -> Any:
        """Expected residual lifetime value: value per period times :meth:`derl`."""
        v, _ = as_float_array(value_per_period, "value_per_period")
        check_finite(v, "value_per_period")
        out = v * np.asarray(self.derl(renewals, discount_rate))
        return scalar_or_array(out, value_per_period, renewals)
