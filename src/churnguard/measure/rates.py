"""Churn and retention rates per period (R1), optionally broken down by a dimension (R3).

For each period ``[period_start, period_end)`` (day, week, month, quarter or year; weeks
start on Monday; UTC):

``customers_start``
    customers active at ``period_start``: an episode started before it and had not
    churned by it (``start_at < period_start <= churn_at``, or not churned).
``new`` / ``reactivated``
    episodes starting in the period: first episodes / later episodes (reactivations).
``churned``
    episodes whose ``churn_at`` falls in the period (including customers who joined and
    left in the same period).
``churned_from_start``
    those of ``churned`` that were already active at ``period_start``.
``customers_end``
    ``customers_start + new + reactivated - churned`` (this reconciles by construction and
    equals the customers active at ``period_end``).

The churn rate is the customer churn rate of ChartMogul and Baremetrics::

    churn_rate = churned_from_start / customers_start        (null when customers_start = 0)
    retention_rate = 1 - churn_rate

i.e. of the customers at risk at the start of the period, the share lost during it; new
customers are left out of the denominator *and* the numerator, so a customer who joins and
leaves within one period does not count. Alternatives some tools use, not used here because
they mix in customers who were never at risk for the whole period:
``churned / ((customers_start + customers_end) / 2)`` (average customers), and
``churned / (customers_start + new)`` (new customers in the denominator). Both frames carry
every count, so any of them can be computed from the output.

``churn_rate_change`` (percentage points, as a fraction) and ``customers_end_change`` compare
each period with the previous one. ``complete`` is false for a period that extends beyond
``observed_until``: its counts are partial. Labels with ``churned`` but no date (snapshot
exports without ``churned_at``) and without a start cannot be placed in time and are left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import ibis
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.dimensions import customer_dimension
from churnguard.measure.labels import labels as workspace_labels
from churnguard.timeutil import to_utc

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

Period = Literal["day", "week", "month", "quarter", "year"]
PERIODS: dict[str, str] = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
COUNT_COLUMNS = ("customers_start", "new", "reactivated", "churned", "churned_from_start",
                 "customers_end")
RATE_COLUMNS = ("period_start", "period_end", *COUNT_COLUMNS, "churn_rate", "retention_rate",
                "churn_rate_change", "customers_end_change", "complete")


def period_start(day: date, period: str) -> date:
    """The first day of the period holding ``day``.

    >>> period_start(date(2024, 5, 17), "quarter"), period_start(date(2024, 5, 17), "week")
    (datetime.date(2024, 4, 1), datetime.date(2024, 5, 13))
    """
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def next_period(start: date, period: str) -> date:
    """The first day of the following period.

    >>> next_period(date(2024, 12, 1), "month")
    datetime.date(2025, 1, 1)
    """
    if period in ("day", "week"):
        return start + timedelta(days=1 if period == "day" else 7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


def calendar(first: date, last: date, period: str) -> pd.DataFrame:
    """Every period from the one holding ``first`` to the one holding ``last``.

    >>> calendar(date(2024, 1, 15), date(2024, 3, 2), "month").period_start.tolist()
    [datetime.date(2024, 1, 1), datetime.date(2024, 2, 1), datetime.date(2024, 3, 1)]
    """
    rows = []
    p = period_start(first, period)
    while p <= last:
        rows.append((p, next_period(p, period)))
        p = rows[-1][1]
    return pd.DataFrame(rows, columns=["period_start", "period_end"])


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    return PERIODS[period]


def rate_table(
    labels: ir.Table,
    periods: ir.Table,
    *,
    period: str = "month",
    dimension: ir.Table | None = None,
    by: str | None = None,
) -> ir.Table:
    """The rate table as a lazy Ibis expression (see the module docstring).

    ``periods`` has ``period_start`` / ``period_end`` dates covering every label (see
    :func:`calendar`); ``dimension`` is ``(customer_id, <by>)`` from
    :func:`~churnguard.measure.dimensions.customer_dimension`.
    """
    unit = check_period(period)
    lab = labels.filter(labels.start_at.notnull(), labels.churn_at.notnull() | ~labels.churned)
    group = by or "_all"
    if dimension is not None and by is not None:
        lab = lab.left_join(dimension, "customer_id")
        lab = lab.mutate(**{group: lab[group].fill_null("(missing)")})
    else:
        lab = lab.mutate(_all=ibis.literal("all"))
    started = lab.mutate(p=lab.start_at.date().truncate(unit))
    starts = started.group_by([group, "p"]).aggregate(
        new=(started.episode == 1).cast("int64").sum(),
        reactivated=(started.episode > 1).cast("int64").sum(),
    )
    gone = lab.filter(lab.churn_at.notnull())
    gone = gone.mutate(p=gone.churn_at.date().truncate(unit))
    churns = gone.group_by([group, "p"]).aggregate(
        churned=gone.count(),
        churned_from_start=(gone.start_at.date().truncate(unit) < gone.p).cast("int64").sum(),
    )
    # one literal group as a one-row table: on PySpark (Ibis 12) the grid built from the
    # DISTINCT of the literal column came out with one row per label (tests/measure/
    # test_spark.py caught it); a constant table is portable and cheaper.
    groups = ibis.memtable({group: ["all"]}) if by is None else lab.select(group).distinct()
    grid = periods.cross_join(groups)
    g = grid.left_join(starts, [grid[group] == starts[group], grid.period_start == starts.p])
    g = g.select(group, "period_start", "period_end", "new", "reactivated")
    g = g.left_join(churns, [g[group] == churns[group], g.period_start == churns.p])
    g = g.select(
        group, "period_start", "period_end",
        new=g.new.fill_null(0), reactivated=g.reactivated.fill_null(0),
        churned=g.churned.fill_null(0), churned_from_start=g.churned_from_start.fill_null(0),
    )
    net = g.new + g.reactivated - g.churned
    g = g.mutate(customers_end=net.cumsum(group_by=g[group], order_by=g.period_start))
    g = g.mutate(customers_start=g.customers_end - net)
    rate = ibis.cases((g.customers_start > 0, g.churned_from_start / g.customers_start),
                      else_=ibis.null("float64"))
    g = g.mutate(churn_rate=rate, retention_rate=1 - rate)
    w = ibis.window(group_by=g[group], order_by=g.period_start)
    g = g.mutate(churn_rate_change=g.churn_rate - g.churn_rate.lag().over(w),
                 customers_end_change=g.customers_end - g.customers_end.lag().over(w))
    cols = [*([by] if by else []), *RATE_COLUMNS[:-1]]
    return g.select(*cols).order_by([*([by] if by else []), "period_start"])


def label_calendar(labels: ir.Table, period: str) -> tuple[pd.DataFrame, datetime] | None:
    """The periods covering every label (see :func:`calendar`) and ``observed_until``.

    ``None`` when no label has a start.
    """
    check_period(period)
    span = labels.filter(labels.start_at.notnull()).aggregate(
        first=labels.start_at.min(), last_start=labels.start_at.max(),
        until=labels.observed_until.max(),
    ).to_pandas()
    first, last_start, until = (span.iloc[0][c] for c in ("first", "last_start", "until"))
    if pd.isna(first):
        return None
    until_dt: datetime = pd.Timestamp(until).to_pydatetime().astimezone(UTC)
    last = max(pd.Timestamp(last_start).date(), (until_dt - timedelta(microseconds=1)).date())
    return calendar(pd.Timestamp(first).date(), last, period), until_dt


def rates_from_labels(
    labels: ir.Table,
    *,
    period: str = "month",
    by: str | None = None,
    customers: ir.Table | None = None,
    orders: ir.Table | None = None,
) -> pd.DataFrame:
    """Run :func:`rate_table` on ``labels`` and return a pandas frame (one row per period).

    ``customers`` (and ``orders`` for the purchase bands) are needed when ``by`` is given.
    """
    found = label_calendar(labels, period)
    if found is None:
        return pd.DataFrame(columns=[*([by] if by else []), *RATE_COLUMNS])
    cal, until_dt = found
    dimension = None
    if by is not None:
        if customers is None or orders is None:
            raise InputError("a breakdown needs the customers and orders tables")
        dimension = customer_dimension(by, customers=customers, orders=orders, labels=labels)
    expr = rate_table(labels, ibis.memtable(cal), period=period, dimension=dimension, by=by)
    out = expr.to_pandas()
    for c in (*COUNT_COLUMNS, "customers_end_change"):
        out[c] = out[c].astype("Int64")
    for c in ("period_start", "period_end"):
        out[c] = pd.to_datetime(out[c]).dt.date
    ends = pd.to_datetime(out["period_end"]).dt.tz_localize(UTC)
    out["complete"] = ends <= pd.Timestamp(until_dt)
    return out


def churn_rates(
    ws: Workspace,
    *,
    period: str = "month",
    by: str | None = None,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
    labels: ir.Table | None = None,
) -> pd.DataFrame:
    """Churn and retention rates of a workspace per ``period``, optionally ``by`` a dimension.

    Labels come from :func:`churnguard.measure.labels.labels` with the same arguments, or
    are ``labels`` when given (computed with the same ``as_of`` and definition; see
    :func:`rates`).
    """
    check_period(period)
    lab = labels if labels is not None else workspace_labels(
        ws, as_of=as_of, definition=definition, inactive_days=inactive_days,
        grace_days=grace_days)
    wh = ws.warehouse
    return rates_from_labels(lab, period=period, by=by, customers=wh.table("customers"),
                             orders=wh.table("orders"))


def rates(
    ws: Workspace,
    *,
    period: str = "month",
    by: str | None = None,
    revenue: bool = False,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
    labels: ir.Table | None = None,
) -> pd.DataFrame:
    """Customer churn rates per period and, with ``revenue=True``, MRR churn alongside.

    The customer columns are those of :func:`churn_rates`; ``revenue`` adds
    :data:`~churnguard.measure.revenue.REVENUE_COLUMNS` (see :mod:`churnguard.measure.revenue`)
    on the same periods and groups. Revenue churn needs subscriptions: an
    :class:`~churnguard.errors.InputError` says so when the workspace has none.

    ``labels``: labels already computed with the same ``as_of`` and definition, best
    materialised once (``ws.warehouse.ibis.create_table(name, labels(ws), temp=True)``), so
    that several breakdowns, cohorts and rates share one labelling; computed from the
    workspace when not given.
    """
    from churnguard.measure.revenue import (
        REVENUE_COLUMNS,
        point_in_time_subscriptions,
        revenue_table,
    )

    check_period(period)
    wh = ws.warehouse
    lab = labels if labels is not None else workspace_labels(
        ws, as_of=as_of, definition=definition, inactive_days=inactive_days,
        grace_days=grace_days)
    customers, orders = wh.table("customers"), wh.table("orders")
    out = rates_from_labels(lab, period=period, by=by, customers=customers, orders=orders)
    if not revenue:
        return out
    subs = point_in_time_subscriptions(wh.table("subscriptions"), to_utc(as_of))
    if subs.count().to_pyarrow().as_py() == 0:
        raise InputError("revenue churn needs subscriptions with mrr; this workspace has "
                         "none. Ingest a subscriptions table, or leave out --revenue")
    if out.empty:
        return out.assign(**dict.fromkeys(REVENUE_COLUMNS, pd.Series(dtype="float64")))
    found = label_calendar(lab, period)
    assert found is not None
    cal = found[0]
    dimension = None
    if by is not None:
        dimension = customer_dimension(by, customers=customers, orders=orders, labels=lab)
    money = revenue_table(subs, ibis.memtable(cal), dimension=dimension, by=by).to_pandas()
    money["period_start"] = pd.to_datetime(money["period_start"]).dt.date
    keys = [*([by] if by else []), "period_start"]
    merged = out.merge(money, on=keys, how="left")
    merged[list(REVENUE_COLUMNS[:6])] = merged[list(REVENUE_COLUMNS[:6])].fillna(0.0)
    cols = [*([by] if by else []), *RATE_COLUMNS[:-1], *REVENUE_COLUMNS, "complete"]
    return merged[cols].sort_values(keys, ignore_index=True)
