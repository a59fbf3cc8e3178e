"""RFM / calibration-holdout summary of a transactions table, as one Ibis expression.

The expression runs wherever Ibis does (DuckDB by default, Spark, SQL warehouses). It
follows the conventions of the BG/NBD papers and of ``lifetimes``: purchases on the same
day are merged into one transaction; ``frequency`` counts repeat purchase days;
``recency`` is the time from the first to the last purchase day and ``T`` the time from the
first purchase day to the end of the calibration period; ``monetary_value`` is the mean
value of the repeat purchase days (0 without repeats), the definition that reproduces the
published Gamma-Gamma parameters. End dates are inclusive; dates are taken in the
timestamps' own time zone (UTC in storage).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir

from churnguard.errors import InputError

TimeUnit = Literal["days", "weeks"]
_DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}


def _as_date(value: dt.date | dt.datetime | str, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise InputError(f"{name} {value!r} is not a date (use YYYY-MM-DD).") from exc


def rfm_summary(
    transactions: ir.Table,
    *,
    observation_end: dt.date | dt.datetime | str,
    calibration_end: dt.date | dt.datetime | str | None = None,
    customer_id_col: str = "customer_id",
    timestamp_col: str = "ordered_at",
    amount_col: str = "amount",
    time_unit: TimeUnit = "weeks",
) -> ir.Table:
    """Per-customer frequency, recency, T and monetary value (and holdout columns).

    Parameters
    ----------
    transactions : ibis Table
        One row per purchase with a customer id, a timestamp or date and an amount.
    observation_end : date
        Last day (inclusive) of data used.
    calibration_end : date, optional
        Last day (inclusive) of the calibration period. When given, the result also has
        ``frequency_holdout`` (purchase days in the holdout), ``monetary_value_holdout``
        (their mean value, 0 if none) and ``duration_holdout``; only customers whose first
        purchase falls in the calibration period are kept.
    time_unit : {"days", "weeks"}
        Unit of recency, T and duration_holdout.

    Returns
    -------
    ibis Table
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``
        [, holdout columns], ordered by customer id. Nothing runs until you execute it.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> tx = ibis.memtable(pd.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08",
    ...                                   "2024-01-05"]),
    ...     "amount": [5.0, 5.0, 20.0, 7.0]}))
    >>> rfm_summary(tx, observation_end="2024-01-15", time_unit="days").to_pandas()
       customer_id  frequency  recency     T  monetary_value
    0            1          1      7.0  14.0            20.0
    1            2          0      0.0  10.0             0.0
    """
    if time_unit not in _DAYS_PER_UNIT:
        raise InputError(f"time_unit must be 'days' or 'weeks', got {time_unit!r}.")
    for col in (customer_id_col, timestamp_col, amount_col):
        if col not in transactions.columns:
            raise InputError(
                f"transactions has no column {col!r} (columns: {list(transactions.columns)}); "
                "pass customer_id_col / timestamp_col / amount_col."
            )
    obs_end = _as_date(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else _as_date(calibration_end, "calibration_end")
    if cal_end > obs_end:
        raise InputError(f"calibration_end {cal_end} is after observation_end {obs_end}.")
    per_unit = _DAYS_PER_UNIT[time_unit]

    t = transactions
    ts = t[timestamp_col]
    day = ts if ts.type().is_date() else ts.cast("timestamp").date()
    base = t.select(customer_id=t[customer_id_col], day=day, amount=t[amount_col].cast("float64"))
    base = base.filter(base.day <= ibis.date(obs_end))
    # same-day purchases are one transaction (Fader, Hardie & Lee 2005)
    daily = base.group_by(["customer_id", "day"]).aggregate(amount=base.amount.sum())

    cal = daily.filter(daily.day <= ibis.date(cal_end))
    agg = cal.group_by("customer_id").aggregate(
        first_day=cal.day.min(),
        last_day=cal.day.max(),
        n_days=cal.count(),
        total=cal.amount.sum(),
        first_amount=cal.amount.argmin(cal.day),
    )
    n_repeat = agg.n_days - 1
    out = agg.select(
        customer_id=agg.customer_id,
        frequency=n_repeat.cast("int64"),
        recency=agg.last_day.delta(agg.first_day, unit="day").cast("float64") / per_unit,
        T=ibis.date(cal_end).delta(agg.first_day, unit="day").cast("float64") / per_unit,
        monetary_value=ibis.ifelse(
            n_repeat > 0, (agg.total - agg.first_amount) / n_repeat.cast("float64"), 0.0
        ),
    )
    if calibration_end is not None:
        hold = daily.filter((daily.day > ibis.date(cal_end)) & (daily.day <= ibis.date(obs_end)))
        hagg = hold.group_by("customer_id").aggregate(
            frequency_holdout=hold.count(), monetary_value_holdout=hold.amount.mean()
        )
        joined = out.left_join(hagg, "customer_id")
        out = joined.select(
            *[joined[c] for c in ("customer_id", "frequency", "recency", "T", "monetary_value")],
            frequency_holdout=joined.frequency_holdout.fill_null(0).cast("int64"),
            monetary_value_holdout=joined.monetary_value_holdout.fill_null(0.0),
            duration_holdout=ibis.literal((obs_end - cal_end).days / per_unit, "float64"),
        )
    return out.order_by("customer_id")
