"""Collapse identical customer rows into (unique row, weight) pairs.

Customers with the same (frequency, recency, T) contribute the same log-likelihood, so a
fit on the unique rows weighted by their counts is exact and much faster: real purchase
data are recorded to the day, and 10 million customers usually have a few hundred
thousand distinct rows.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

FloatArray = npt.NDArray[np.float64]


def unique_rows(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray]:
    """Return the distinct rows of ``columns`` and the (summed) weight of each.

    Each column is hash-factorised on its own, the codes are packed into one int64 key and
    the key is counted: three single-column passes beat one multi-column group-by by ~3x.

    >>> (x, t), w = unique_rows(np.array([1.0, 1.0, 2.0]), np.array([5.0, 5.0, 5.0]))
    >>> sorted(zip(x.tolist(), t.tolist(), w.tolist()))
    [(1.0, 5.0, 2.0), (2.0, 5.0, 1.0)]
    """
    codes: list[npt.NDArray[np.int64]] = []
    uniques: list[FloatArray] = []
    capacity = 1
    for col in columns:
        code, uniq = pd.factorize(col, sort=False)
        codes.append(code.astype(np.int64, copy=False))
        uniques.append(np.asarray(uniq, dtype=np.float64))
        capacity *= max(len(uniq), 1)
    if capacity >= 2**62:  # packed key would overflow: group on the columns directly
        return _unique_rows_groupby(*columns, weights=weights)
    key = codes[0]
    for code, uniq in zip(codes[1:], uniques[1:], strict=True):
        key = key * len(uniq) + code
    if weights is None:
        counts = pl.Series("k", key).value_counts()
        ukey = counts["k"].to_numpy()
        w = counts["count"].to_numpy().astype(np.float64)
    else:
        kcode, ukey = pd.factorize(key, sort=False)
        # with weights the counts are float64 (numpy's stubs type every bincount as intp)
        w = cast(FloatArray, np.bincount(kcode, weights=np.asarray(weights, dtype=np.float64)))
        ukey = np.asarray(ukey)
    out: list[FloatArray] = []
    for uniq in reversed(uniques):
        ukey, code = np.divmod(ukey, len(uniq))
        out.append(uniq[code])
    return out[::-1], w


def _unique_rows_groupby(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray]:
    data = {f"c{i}": col for i, col in enumerate(columns)}
    frame = pl.DataFrame(data)
    keys = list(data)
    if weights is None:
        grouped = frame.group_by(keys).agg(pl.len().cast(pl.Float64).alias("w"))
    else:
        frame = frame.with_columns(w=pl.Series(np.asarray(weights, dtype=np.float64)))
        grouped = frame.group_by(keys).agg(pl.col("w").sum())
    out = [grouped[k].to_numpy().astype(np.float64, copy=False) for k in keys]
    return out, grouped["w"].to_numpy().astype(np.float64, copy=False)
