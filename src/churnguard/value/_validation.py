"""Input conversion and checks shared by the customer-value models.

Every public model accepts numpy arrays, pandas Series, polars Series, lists or scalars.
Inputs are converted to float64 arrays without ever writing into the caller's data.
Errors name the offending position (or pandas index label) and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from churnguard.errors import InputError, NotFittedError

FloatArray = npt.NDArray[np.float64]


def as_float_array(values: Any, name: str) -> tuple[FloatArray, Sequence[Any] | None]:
    """Return ``values`` as a 1-d float64 array and the pandas index labels (if any).

    The array may share memory with the input; callers must never write into it.
    """
    labels: Sequence[Any] | None = None
    module = type(values).__module__
    if module.startswith("pandas"):
        labels = list(values.index) if hasattr(values, "index") else None
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    elif module.startswith("polars"):
        values = values.cast(float).to_numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: cannot convert to numbers ({exc}).") from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise InputError(f"{name}: expected a 1-d array-like, got shape {array.shape}.")
    return array, labels


def _where(mask: npt.NDArray[np.bool_], labels: Sequence[Any] | None) -> tuple[Any, int]:
    pos = int(np.flatnonzero(mask)[0])
    return (labels[pos] if labels is not None else pos), pos


def check_finite(array: FloatArray, name: str, labels: Sequence[Any] | None = None) -> None:
    """Raise :class:`InputError` naming the first non-finite value."""
    bad = ~np.isfinite(array)
    if bad.any():
        where, pos = _where(bad, labels)
        raise InputError(
            f"{name} at index {where!r} is {float(array[pos])!r}: values must be finite numbers; "
            "drop or fill missing customers first."
        )


def check_nonnegative(array: FloatArray, name: str, labels: Sequence[Any] | None = None) -> None:
    """Raise :class:`InputError` naming the first negative value."""
    bad = array < 0
    if bad.any():
        where, pos = _where(bad, labels)
        raise InputError(f"{name} at index {where!r} is {float(array[pos])!r}: must be >= 0.")


def check_rft(
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    broadcast: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Convert and validate (frequency, recency, T) of the BG/NBD family.

    Rules: finite, nonnegative, frequency integer-valued, recency <= T, and recency 0
    when frequency is 0. With ``broadcast`` scalars are broadcast to a common length.
    """
    x, lx = as_float_array(frequency, "frequency")
    tx, ltx = as_float_array(recency, "recency")
    big_t, lt = as_float_array(T, "T")
    if broadcast:
        try:
            x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
        except ValueError as exc:
            raise InputError(
                f"frequency, recency and T have incompatible lengths "
                f"{x.shape[0]}, {tx.shape[0]}, {big_t.shape[0]}."
            ) from exc
    elif not (x.shape == tx.shape == big_t.shape):
        raise InputError(
            f"frequency, recency and T must have the same length, got "
            f"{x.shape[0]}, {tx.shape[0]}, {big_t.shape[0]}."
        )
    labels = lx if lx is not None else (ltx if ltx is not None else lt)
    if labels is not None and len(labels) != x.shape[0]:
        labels = None
    for arr, nm in ((x, "frequency"), (tx, "recency"), (big_t, "T")):
        check_finite(arr, nm, labels)
        check_nonnegative(arr, nm, labels)
    bad = x != np.floor(x)
    if bad.any():
        where, pos = _where(bad, labels)
        raise InputError(
            f"frequency at index {where!r} is {float(x[pos])!r}: frequency counts repeat "
            "purchases and must be a whole number."
        )
    bad = tx > big_t
    if bad.any():
        where, pos = _where(bad, labels)
        raise InputError(
            f"recency at index {where!r} is {float(tx[pos])!r} but T is {float(big_t[pos])!r}: "
            "recency (time of last purchase) cannot exceed T (age of the customer). Check that "
            "both use the same time unit and the same observation end."
        )
    bad = (x == 0) & (tx != 0)
    if bad.any():
        where, pos = _where(bad, labels)
        raise InputError(
            f"recency at index {where!r} is {float(tx[pos])!r} while frequency is 0: a customer "
            "without repeat purchases must have recency 0."
        )
    return x, tx, big_t


def check_is_fitted(model: object, attribute: str = "params_") -> None:
    """Raise :class:`NotFittedError` if ``model`` has not been fitted."""
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(
            f"This {name} instance is not fitted yet. Call {name}().fit(...) with your "
            "data before using this method."
        )


def scalar_or_array(result: FloatArray, *inputs: Any) -> FloatArray | float:
    """Return a Python float when every input was a scalar, else the array."""
    if all(np.ndim(v) == 0 and not hasattr(v, "__len__") for v in inputs):
        return float(result.reshape(-1)[0])
    return result
