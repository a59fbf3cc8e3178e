"""Probability calibration kept as data: isotonic thresholds or Platt coefficients.

A calibrator maps the model's raw probability to a calibrated one. Both kinds save as plain
JSON (:meth:`Calibrator.to_dict`), never as a pickle. :func:`choose_calibrator` picks the
kind on the validation set by cross-fitting: each kind is fitted on one half and scored
(Brier) on the other, both ways; the winner is refitted on the whole validation set.

>>> cal = Calibrator.platt(1.0, 0.0)
>>> float(cal.transform([0.25])[0])
0.25
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from churnguard.errors import InputError

_EPS = 1e-6


def logit(p: ArrayLike) -> np.ndarray:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibrator: ``kind`` and its numbers.

    ``platt``: ``p = 1 / (1 + exp(-(a * logit(raw) + b)))``; ``isotonic``: piecewise-linear
    interpolation through ``(x, y)`` thresholds, constant outside; ``identity``: unchanged.
    """

    kind: Literal["platt", "isotonic", "identity"]
    a: float = 1.0
    b: float = 0.0
    x: tuple[float, ...] = field(default=())
    y: tuple[float, ...] = field(default=())

    @classmethod
    def platt(cls, a: float, b: float) -> Calibrator:
        """A Platt calibrator with slope ``a`` and intercept ``b`` on the logit scale."""
        return cls("platt", a=float(a), b=float(b))

    def transform(self, raw: ArrayLike) -> np.ndarray:
        """Calibrated probabilities of raw probabilities, array-like of shape (n,)."""
        r = np.asarray(raw, dtype=np.float64)
        if self.kind == "platt":
            return 1.0 / (1.0 + np.exp(-(self.a * logit(r) + self.b)))
        if self.kind == "isotonic":
            return np.interp(r, np.asarray(self.x), np.asarray(self.y))
        return r

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        if self.kind == "platt":
            return {"kind": "platt", "a": self.a, "b": self.b}
        if self.kind == "isotonic":
            return {"kind": "isotonic", "x": list(self.x), "y": list(self.y)}
        return {"kind": "identity"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        kind = d.get("kind")
        if kind == "platt":
            return cls.platt(d["a"], d["b"])
        if kind == "isotonic":
            x, y = tuple(map(float, d["x"])), tuple(map(float, d["y"]))
            if len(x) != len(y) or not x:
                raise InputError("isotonic calibrator: x and y must be non-empty, same length")
            return cls("isotonic", x=x, y=y)
        if kind == "identity":
            return cls("identity")
        raise InputError(f"unknown calibrator kind {kind!r}")


def fit_platt(raw: ArrayLike, y: ArrayLike) -> Calibrator:
    """Platt scaling: a logistic regression of ``y`` on ``logit(raw)``."""
    from sklearn.linear_model import LogisticRegression

    z = logit(raw).reshape(-1, 1)
    yy = np.asarray(y, dtype=int)
    if len(np.unique(yy)) < 2:
        return Calibrator("identity")
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(z, yy)
    return Calibrator.platt(float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def fit_isotonic(raw: ArrayLike, y: ArrayLike) -> Calibrator:
    """Isotonic regression of ``y`` on ``raw``, kept as its thresholds."""
    from sklearn.isotonic import IsotonicRegression

    r = np.asarray(raw, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    if len(np.unique(yy)) < 2:
        return Calibrator("identity")
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(r, yy)
    x, yt = iso.X_thresholds_, iso.y_thresholds_
    # keep probabilities strictly inside (0, 1) so the log loss stays finite
    yt = np.clip(yt, 1e-4, 1 - 1e-4)
    return Calibrator("isotonic", x=tuple(map(float, x)), y=tuple(map(float, yt)))


def choose_calibrator(raw: ArrayLike, y: ArrayLike, *, seed: int = 0) -> tuple[Calibrator,
                                                                             dict[str, float]]:
    """Pick isotonic or Platt on validation data by 2-fold cross-fitted Brier score.

    Returns the winner refitted on all of ``raw, y`` and the cross-fitted Brier of each
    kind (``{"platt": ..., "isotonic": ..., "raw": ...}``).
    """
    r = np.asarray(raw, dtype=np.float64)
    yy = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(r)) % 2
    scores: dict[str, float] = {"raw": float(np.mean((r - yy) ** 2))}
    for name, fit in (("platt", fit_platt), ("isotonic", fit_isotonic)):
        err = 0.0
        for k in (0, 1):
            tr, te = fold != k, fold == k
            cal = fit(r[tr], yy[tr])
            err += float(np.sum((cal.transform(r[te]) - yy[te]) ** 2))
        scores[name] = err / max(len(r), 1)
    best = "isotonic" if scores["isotonic"] < scores["platt"] else "platt"
    return (fit_isotonic if best == "isotonic" else fit_platt)(r, yy), scores
