"""Simulate customers from the BG/NBD model (for tests, benchmarks and demos).

>>> x, tx, T = simulate_beta_geo(3, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=0)
>>> x.shape, bool((tx <= T).all())
((3,), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def simulate_beta_geo(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Any,
    resolution: float | None = None,
    seed: int | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Draw (frequency, recency, T) for ``n_customers`` from the BG/NBD generative story.

    lambda ~ Gamma(r, scale 1/alpha), p ~ Beta(a, b); purchases arrive at rate lambda and
    after each repeat purchase the customer drops out with probability p. Vectorised: the
    number of repeat purchases J before dropout is geometric, N ~ Poisson(lambda T), and
    x = min(N, J); given N, the x-th of N uniform arrival times is T * Beta(x, N - x + 1).

    ``resolution`` rounds recency up to a grid (e.g. ``1/7`` for days when T is in weeks),
    the way transaction dates are recorded in real data.
    """
    rng = np.random.default_rng(seed)
    big_t = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    n_arrivals = rng.poisson(lam * big_t)
    n_before_dropout = rng.geometric(np.clip(p, 1e-300, 1.0))
    x = np.minimum(n_arrivals, n_before_dropout)
    rep = x > 0
    tx = np.zeros(n_customers)
    tx[rep] = big_t[rep] * rng.beta(x[rep], n_arrivals[rep] - x[rep] + 1)
    if resolution is not None:
        tx = np.minimum(np.ceil(tx / resolution - 1e-9) * resolution, big_t)
    return x.astype(np.float64), tx, big_t
