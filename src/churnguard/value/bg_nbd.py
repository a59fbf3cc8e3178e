"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat
purchase she drops out with probability p ~ Beta(a, b). Inputs per customer: ``frequency``
x (repeat purchases), ``recency`` t_x (time of the last purchase since the first) and ``T``
(time since the first purchase), all in one time unit.

The fit maximises the likelihood (eq. 6) over log parameters with Newton trust-region
steps on the analytic gradient and Hessian, after collapsing identical customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from churnguard.errors import InputError
from churnguard.value._dedup import unique_rows
from churnguard.value._optim import FloatArray, fit_log_params, log_hessian, summary_frame
from churnguard.value._validation import (
    as_float_array,
    check_is_fitted,
    check_rft,
    scalar_or_array,
)

_NAMES = ("r", "alpha", "a", "b")


def _bgnbd_objective(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray
) -> Any:
    """Build nll(phi) -> (value, grad, hess) of eq. 6 over weighted unique rows."""
    ux, inv = np.unique(x, return_inverse=True)
    wx = np.bincount(inv, weights=w)  # total weight per distinct frequency
    rep = x > 0
    xr, txr, tr, wr = x[rep], tx[rep], big_t[rep], w[rep]
    t0, w0 = big_t[~rep], w[~rep]

    def objective(phi: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        r, alpha, a, b = np.exp(phi)
        g = np.zeros(4)
        h = np.zeros((4, 4))
        # part depending on x only: ln G(r+x)/G(r) + r ln alpha + ln B(a, b+x)/B(a, b)
        ll = float(
            wx
            @ (
                gammaln(r + ux)
                - gammaln(r)
                + r * np.log(alpha)
                + gammaln(a + b)
                + gammaln(b + ux)
                - gammaln(b)
                - gammaln(a + b + ux)
            )
        )
        wt = float(wx.sum())
        g[0] = wx @ (digamma(r + ux) - digamma(r)) + wt * np.log(alpha)
        g[1] = wt * r / alpha
        dab = digamma(a + b) - digamma(a + b + ux)
        g[2] = wx @ dab
        g[3] = wx @ (dab + digamma(b + ux) - digamma(b))
        h[0, 0] = wx @ (polygamma(1, r + ux) - polygamma(1, r))
        h[0, 1] = wt / alpha
        h[1, 1] = -wt * r / alpha**2
        tab = polygamma(1, a + b) - polygamma(1, a + b + ux)
        h[2, 2] = wx @ tab
        h[2, 3] = h[2, 2]
        h[3, 3] = wx @ (tab + polygamma(1, b + ux) - polygamma(1, b))
        # customers without repeat purchases: -r ln(alpha + T)
        inv0 = 1.0 / (alpha + t0)
        l0 = np.log(alpha + t0)
        ll -= r * float(w0 @ l0)
        g[0] -= w0 @ l0
        g[1] -= r * float(w0 @ inv0)
        h[0, 1] -= w0 @ inv0
        h[1, 1] += r * float(w0 @ inv0**2)
        # repeat customers: log-sum-exp of the two terms of eq. 6
        l3 = np.log(alpha + tr)
        l4 = np.log(alpha + txr)
        rx = r + xr
        bx = b + xr - 1.0
        a3 = -rx * l3
        a4 = np.log(a) - np.log(bx) - rx * l4
        s = np.logaddexp(a3, a4)
        q = np.exp(a4 - s)  # share of the "dropped out after last purchase" term
        p = 1.0 - q
        ll += float(wr @ s)
        i3 = 1.0 / (alpha + tr)
        i4 = 1.0 / (alpha + txr)
        g[0] -= wr @ (p * l3 + q * l4)
        g[1] -= wr @ (rx * (p * i3 + q * i4))
        g[2] += float(wr @ q) / a
        g[3] -= wr @ (q / bx)
        d = (l3 - l4, rx * (i3 - i4), np.full_like(q, 1.0 / a), -1.0 / bx)
        pq = wr * p * q
        for i in range(4):
            for j in range(i, 4):
                h[i, j] += pq @ (d[i] * d[j])
        h[0, 1] -= wr @ (p * i3 + q * i4)
        h[1, 1] += wr @ (rx * (p * i3**2 + q * i4**2))
        h[2, 2] -= float(wr @ q) / a**2
        h[3, 3] += wr @ (q / bx**2)
        h = np.triu(h) + np.triu(h, 1).T
        theta = np.exp(phi)
        h_phi = log_hessian(theta, g, h)
        return -ll, -theta * g, -h_phi

    return objective


class BetaGeo:
    """BG/NBD model (Fader, Hardie & Lee 2005) fitted by maximum likelihood.

    Parameters
    ----------
    max_iter : int, default 200
        Maximum number of Newton trust-region iterations.

    Attributes
    ----------
    params_ : dict[str, float]
        Fitted ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Maximised log-likelihood (sum over customers).
    covariance_ : ndarray of shape (4, 4)
        Covariance of the estimates (inverse observed information).
    n_customers_ : int
        Number of customers (the sum of the weights).

    Examples
    --------
    >>> from churnguard.value.simulate import simulate_beta_geo
    >>> x, tx, T = simulate_beta_geo(20_000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> model = BetaGeo().fit(x, tx, T)
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> 0.0 <= model.p_alive(2, 30.43, 38.86) <= 1.0
    True
    """

    def __init__(self, *, max_iter: int = 200) -> None:
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        *,
        weights: Any | None = None,
    ) -> BetaGeo:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like of shape (n_customers,)
            Repeat purchases, time of last purchase and age of each customer.
        weights : array-like of shape (n_customers,), optional
            Number of customers each row stands for (rows are deduplicated anyway).

        Returns
        -------
        self
        """
        x, tx, big_t = check_rft(frequency, recency, T)
        w = None
        if weights is not None:
            w, _ = as_float_array(weights, "weights")
            if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise InputError("weights must be finite, >= 0 and one per customer.")
        if x.size == 0 or (w is not None and w.sum() <= 0):
            raise InputError("BetaGeo.fit needs at least one customer.")
        (ux, utx, ut), uw = unique_rows(x, tx, big_t, weights=w)
        keep = uw > 0
        ux, utx, ut, uw = ux[keep], utx[keep], ut[keep], uw[keep]
        if not np.any(ux > 0):
            raise InputError(
                "BetaGeo.fit: no customer has a repeat purchase (all frequency 0), so the "
                "purchase rate and dropout cannot be estimated. Use a longer calibration "
                "period or check that frequency counts repeat purchases."
            )
        if np.all(ut == 0):
            raise InputError("BetaGeo.fit: every T is 0; customers must be observed for a while.")
        n = float(uw.sum())
        mean_t = float(uw @ ut) / n
        rate = max(float(uw @ ux) / n, 1e-3) / max(mean_t, 1e-12)
        phi0 = np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
        result = fit_log_params(
            _bgnbd_objective(ux, utx, ut, uw),
            phi0,
            n_obs=n,
            names=_NAMES,
            model="BetaGeo",
            max_iter=self.max_iter,
        )
        self.params_ = dict(zip(_NAMES, map(float, result.params), strict=True))
        self.log_likelihood_ = result.log_likelihood
        self.covariance_ = result.covariance
        self.n_customers_ = round(n)
        self.n_unique_rows_ = int(ux.size)
        self.n_iter_ = result.n_iterations
        return self

    def summary(self) -> Any:
        """Return a pandas DataFrame of coef, se and 95 % bounds per parameter."""
        check_is_fitted(self)
        return summary_frame(_NAMES, np.array(list(self.params_.values())), self.covariance_)

    def _p(self) -> tuple[float, float, float, float]:
        check_is_fitted(self)
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    # -------------------------------------------------------------- quantities
    def log_likelihood_individual(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Log-likelihood of each customer, eq. (6) of Fader, Hardie & Lee (2005).

        >>> from churnguard.value.simulate import simulate_beta_geo
        >>> m = BetaGeo().fit(*simulate_beta_geo(5_000, r=0.3, alpha=4, a=0.8, b=2.5,
        ...                                       T=30.0, seed=2))
        >>> round(m.log_likelihood_individual(0, 0.0, 30.0), 4) < 0
        True
        """
        r, alpha, a, b = self._p()
        x, tx, big_t = check_rft(frequency, recency, T, broadcast=True)
        base = (
            gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            + betaln(a, b + x) - betaln(a, b)
        )
        a3 = -(r + x) * np.log(alpha + big_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return scalar_or_array(base + np.logaddexp(a3, a4), frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability the customer is still alive at T.

        Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model", eq. (2):
        1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)),
        computed on the log scale so huge T or frequency cannot overflow.
        """
        r, alpha, a, b = self._p()
        x, tx, big_t = check_rft(frequency, recency, T, broadcast=True)
        with np.errstate(divide="ignore"):
            z = np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) + (r + x) * (
                np.log(alpha + big_t) - np.log(alpha + tx)
            )
        out = np.where(x > 0, expit(-z), 1.0)
        return scalar_or_array(out, frequency, recency, T)

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """E[X(t)], expected repeat purchases of a new customer in (0, t], eq. (9).

        Uses Euler's transformation
        (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z) = (alpha/(alpha+t))^(a-1)
        2F1(a+b-1-r, a-1; a+b-1; z), z = t/(alpha+t), which stays finite for huge t.
        """
        r, alpha, a, b = self._p()
        tt, _ = as_float_array(t, "t")
        out = self._growth(np.zeros_like(tt), np.zeros_like(tt), tt, r, alpha, a, b)
        return scalar_or_array(out, t)

    @staticmethod
    def _growth(
        x: FloatArray, big_t: FloatArray, t: FloatArray, r: float, alpha: float, a: float, b: float
    ) -> FloatArray:
        """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]."""
        if t.size and np.any(~np.isfinite(t) | (t < 0)):
            raise InputError("t must be finite and >= 0.")
        if abs(a - 1.0) < 1e-9:
            a = 1.0 + 1e-9  # removable singularity of eq. (9)/(10) at a = 1
        c = a + b + x - 1.0
        log_ratio = np.log(alpha + big_t) - np.log(alpha + big_t + t)
        z = t / (alpha + big_t + t)
        f = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        inner = -np.expm1((a - 1.0) * log_ratio + np.log(f))
        return c / (a - 1.0) * inner

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t], eq. (10).

        Computed as P(alive) times the Euler-transformed growth term, so frequencies in
        the thousands do not overflow (the failure of the reference implementations).

        >>> from churnguard.value.simulate import simulate_beta_geo
        >>> m = BetaGeo().fit(*simulate_beta_geo(5_000, r=0.3, alpha=4, a=0.8, b=2.5,
        ...                                       T=30.0, seed=2))
        >>> m.conditional_expected_purchases(39, 5000, 29.0, 30.0) > 0
        True
        """
        r, alpha, a, b = self._p()
        x, tx, big_t = check_rft(frequency, recency, T, broadcast=True)
        tt, _ = as_float_array(t, "t")
        x, tx, big_t, tt = np.broadcast_arrays(x, tx, big_t, tt)
        alive = np.asarray(self.p_alive(x, tx, big_t), dtype=np.float64)
        out = alive * self._growth(x, big_t, tt, r, alpha, a, b)
        return scalar_or_array(out, t, frequency, recency, T)

    def conditional_probability_no_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """P(no purchase in (T, T + t] | x, t_x, T): an operational churn probability.

        A BG/NBD customer can drop out only right after a purchase, so P(alive) is 1 for
        every customer without a repeat purchase and is no churn flag. This probability
        works for everyone: dead (1 - P(alive)), or alive and not buying, which, since
        lambda | alive ~ Gamma(r + x, alpha + T), has probability
        ((alpha + T) / (alpha + T + t))^(r + x):
        P = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x).

        >>> from churnguard.value.simulate import simulate_beta_geo
        >>> m = BetaGeo().fit(*simulate_beta_geo(5_000, r=0.3, alpha=4, a=0.8, b=2.5,
        ...                                       T=30.0, seed=2))
        >>> p_recent, p_old = m.conditional_probability_no_purchases(39, 0, 0.0, [2.0, 30.0])
        >>> bool(0 < p_recent < p_old < 1)
        True
        """
        r, alpha, _, _ = self._p()
        x, tx, big_t = check_rft(frequency, recency, T, broadcast=True)
        tt, _ = as_float_array(t, "t")
        if np.any(~np.isfinite(tt) | (tt < 0)):
            raise InputError("t must be finite and >= 0.")
        x, tx, big_t, tt = np.broadcast_arrays(x, tx, big_t, tt)
        alive = np.asarray(self.p_alive(x, tx, big_t), dtype=np.float64)
        quiet = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + tt)))
        return scalar_or_array(1.0 - alive + alive * quiet, t, frequency, recency, T)
