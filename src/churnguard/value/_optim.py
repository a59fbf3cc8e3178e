"""Maximum likelihood in log-parameter space shared by the customer-value models.

Each model supplies the negative log-likelihood with its analytic gradient and Hessian
with respect to the log parameters. Newton steps with a trust region (``trust-exact``)
reach the optimum in a handful of iterations; standard errors come from the inverse of
the observed information (the Hessian) by the delta method.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize

from churnguard.errors import ConvergenceError
from churnguard.value._warnings import ConvergenceWarning

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
#: nll(phi) -> (value, gradient, hessian), all of the *total* negative log-likelihood
Objective = Callable[[FloatArray], tuple[float, FloatArray, FloatArray]]

#: a log parameter beyond this means the likelihood has no finite maximum
MAX_ABS_LOG_PARAM = 18.0


@dataclass(frozen=True)
class MLEResult:
    """Parameters, log-likelihood and covariance of a maximum likelihood fit."""

    params: FloatArray
    log_likelihood: float
    covariance: FloatArray
    n_iterations: int


class _Cached:
    """Evaluate the objective once per point for scipy's separate fun/jac/hess calls."""

    def __init__(self, objective: Objective, scale: float) -> None:
        self.objective = objective
        self.scale = scale
        self.point: FloatArray | None = None
        self.value: tuple[float, FloatArray, FloatArray] = (np.nan, np.empty(0), np.empty(0))

    def _eval(self, phi: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        if self.point is None or not np.array_equal(phi, self.point):
            f, g, h = self.objective(phi)
            self.point = phi.copy()
            self.value = (f * self.scale, g * self.scale, h * self.scale)
        return self.value

    def fun(self, phi: FloatArray) -> tuple[float, FloatArray]:
        f, g, _ = self._eval(phi)
        if not np.isfinite(f):
            return np.inf, np.zeros_like(phi)
        return f, g

    def hess(self, phi: FloatArray) -> FloatArray:
        return self._eval(phi)[2]


def fit_log_params(
    objective: Objective,
    phi0: FloatArray,
    *,
    n_obs: float,
    names: tuple[str, ...],
    model: str,
    max_iter: int = 200,
) -> MLEResult:
    """Minimise ``objective`` over log parameters and return the fit on the natural scale.

    Raises :class:`ConvergenceError` when the optimiser fails or a parameter runs off to
    zero or infinity (the likelihood then has no interior maximum).
    """
    cached = _Cached(objective, 1.0 / max(n_obs, 1.0))
    f0, _ = cached.fun(np.asarray(phi0, dtype=np.float64))
    if not np.isfinite(f0):
        raise ConvergenceError(f"{model}: the log-likelihood is not finite at the start values.")
    with np.errstate(all="ignore"):
        res = optimize.minimize(
            cached.fun,
            np.asarray(phi0, dtype=np.float64),
            jac=True,
            hess=cached.hess,
            method="trust-exact",
            options={"maxiter": max_iter, "gtol": 1e-8},
        )
    phi = np.asarray(res.x, dtype=np.float64)
    f, g, h = objective(phi)
    grad_ok = bool(np.all(np.isfinite(g))) and float(np.max(np.abs(g))) / max(n_obs, 1.0) < 1e-4
    runaway = [n for n, p in zip(names, phi, strict=True) if abs(p) > MAX_ABS_LOG_PARAM]
    if runaway or not np.isfinite(f):
        values = ", ".join(f"{n}={np.exp(p):.3g}" for n, p in zip(names, phi, strict=True))
        raise ConvergenceError(
            f"{model}: the likelihood has no finite maximum; {', '.join(runaway) or 'the fit'} "
            f"diverged ({values}). The data do not identify the model: try 1) more customers "
            "or a longer calibration period, 2) checking that repeat purchases exist and "
            "frequency/recency/T use one time unit."
        )
    if not (res.success or grad_ok):
        raise ConvergenceError(
            f"{model}: the optimiser did not converge ({res.message}). Try 1) rescaling time "
            "(weeks instead of days), 2) more customers, 3) checking the inputs for outliers."
        )
    theta = np.exp(phi)
    covariance = np.full((phi.size, phi.size), np.nan)
    try:
        cov_phi = np.linalg.inv(h)
        if np.all(np.diag(cov_phi) > 0):
            covariance = cov_phi * np.outer(theta, theta)
        else:
            raise np.linalg.LinAlgError("Hessian is not positive definite")
    except np.linalg.LinAlgError as exc:
        warnings.warn(
            f"{model}: standard errors unavailable ({exc}); the optimum may be flat.",
            ConvergenceWarning,
            stacklevel=3,
        )
    logger.debug(
        "%s converged in %d iterations: %s", model, res.nit, dict(zip(names, theta, strict=True))
    )
    return MLEResult(
        params=theta, log_likelihood=-float(f), covariance=covariance, n_iterations=int(res.nit)
    )


def log_hessian(theta: FloatArray, grad: FloatArray, hess: FloatArray) -> FloatArray:
    """Hessian with respect to log parameters from natural-scale gradient and Hessian."""
    return hess * np.outer(theta, theta) + np.diag(theta * grad)


def summary_frame(names: tuple[str, ...], params: FloatArray, covariance: FloatArray) -> object:
    """The ``summary()`` table: coef, se, 95 % Wald interval, one row per parameter."""
    import pandas as pd

    se = np.sqrt(np.diag(covariance))
    return pd.DataFrame(
        {
            "coef": params,
            "se": se,
            "lower 95% bound": params - 1.959963984540054 * se,
            "upper 95% bound": params + 1.959963984540054 * se,
        },
        index=pd.Index(list(names), name="parameter"),
    )
