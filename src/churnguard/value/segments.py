"""Value x risk segments and the "priority by expected return" ordering (R10, R16).

Every customer of a CLV frame gets

``value_band``
    ``high`` / ``medium`` / ``low`` by CLV quantile (default: top 20 %, next 30 %, rest);
``risk_band``
    ``high`` / ``medium`` / ``low`` by ``churn_probability`` (default cuts 0.3 and 0.6).
    For non-contractual customers that is P(no purchase over the horizon), never
    1 - P(alive): P(alive) is 1 for every customer without a repeat purchase;
``retention_potential``
    what to do about it, from the (value, risk) cell: ``save now`` (high value, medium or
    high risk), ``keep close`` (high value, low risk), ``save if cheap`` (medium value, high
    risk), ``develop`` (medium value, low or medium risk), ``let go`` (low value, high
    risk), ``low touch`` (low value, low or medium risk);
``expected_return``
    ``churn_probability x clv`` (or x ``value_if_retained`` when the frame has it): the
    value at risk that a successful retention action would keep. Do not divide a BG/NBD
    CLV by P(alive) to get a "value if retained": customers who are almost surely gone
    then top the list. The third axis of R16, the chance a customer accepts an offer, and the
    offer's cost belong to targeting (``churnguard.act``), which multiplies and subtracts;
``priority``
    1 = highest expected return.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from churnguard.errors import InputError

POTENTIAL = {
    ("high", "high"): "save now", ("high", "medium"): "save now",
    ("high", "low"): "keep close", ("medium", "high"): "save if cheap",
    ("medium", "medium"): "develop", ("medium", "low"): "develop",
    ("low", "high"): "let go", ("low", "medium"): "low touch", ("low", "low"): "low touch",
}


def value_risk_segments(
    frame: pd.DataFrame,
    *,
    value_quantiles: Sequence[float] = (0.5, 0.8),
    risk_thresholds: Sequence[float] = (0.3, 0.6),
) -> pd.DataFrame:
    """Add value / risk bands, retention potential, expected return and priority.

    Parameters
    ----------
    frame : pandas DataFrame
        Needs ``clv``, ``churn_probability`` and, optionally, ``value_if_retained``
        (default: ``clv``). Not modified; a new frame is returned.
    value_quantiles : (low/medium cut, medium/high cut)
        CLV quantiles separating the value bands.
    risk_thresholds : (low/medium cut, medium/high cut)
        Churn probabilities separating the risk bands.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5],
    ...                    "clv": [100.0, 50.0, 10.0, 5.0, 1.0],
    ...                    "churn_probability": [0.7, 0.1, 0.9, 0.5, 0.2]})
    >>> out = value_risk_segments(df)
    >>> out[["customer_id", "value_band", "risk_band", "retention_potential", "priority"]]
       customer_id value_band risk_band retention_potential  priority
    0            1       high      high            save now         1
    1            2     medium       low             develop         3
    2            3        low      high              let go         2
    3            4        low    medium           low touch         4
    4            5        low       low           low touch         5
    """
    for col in ("clv", "churn_probability"):
        if col not in frame.columns:
            raise InputError(f"value_risk_segments needs a {col!r} column.")
    lo, hi = (float(v) for v in value_quantiles)
    r_lo, r_hi = (float(v) for v in risk_thresholds)
    if not (0 < lo < hi < 1 and 0 < r_lo < r_hi < 1):
        raise InputError("value_quantiles and risk_thresholds need 0 < low < high < 1.")
    out = frame.copy()
    clv = out["clv"].to_numpy(dtype=np.float64, na_value=np.nan)
    valid = np.isfinite(clv)
    if valid.any():
        q_lo, q_hi = np.quantile(clv[valid], [lo, hi])
        band = np.where(clv > q_hi, "high", np.where(clv > q_lo, "medium", "low"))
    else:
        band = np.full(clv.shape, "low")
    out["value_band"] = pd.Series(band, index=out.index, dtype=object).where(valid, None)
    risk = out["churn_probability"].to_numpy(dtype=np.float64, na_value=np.nan)
    rband = np.where(risk >= r_hi, "high", np.where(risk >= r_lo, "medium", "low"))
    out["risk_band"] = pd.Series(rband, index=out.index, dtype=object).where(
        np.isfinite(risk), None)
    out["retention_potential"] = [
        POTENTIAL.get((v, r)) for v, r in zip(out["value_band"], out["risk_band"], strict=True)
    ]
    retained = out["value_if_retained"] if "value_if_retained" in out.columns else out["clv"]
    out["expected_return"] = out["churn_probability"] * retained
    out["priority"] = (
        out["expected_return"].rank(ascending=False, method="first", na_option="bottom")
        .astype("int64")
    )
    return out
