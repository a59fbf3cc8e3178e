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

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import ibis
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.dimensions import MISSING, customer_dimension
from churnguard.measure.labels import TS
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


def bucket_index(ts: ir.TimestampValue, bounds: Sequence[datetime]) -> ir.IntegerValue:
    """How many of the sorted instants ``bounds`` are at or before ``ts`` (null for null).

    With ``bounds`` the period starts of a calendar (and the end of the last period), a
    timestamp in period ``i`` gets ``i + 1``; one before the calendar gets 0, one after it
    ``len(bounds)``. Written as a balanced tree of comparisons with literal instants
    (``log2(len(bounds))`` per row): comparing two timestamps is plain integer work on every
    engine, where turning a ``TIMESTAMPTZ`` into a date goes through the time-zone library
    for each row (on DuckDB about 20x slower, the largest cost of rates and cohorts).
    Periods start at midnight UTC, so ``ts < bound`` is ``date(ts) < date(bound)`` in UTC,
    the rule the period truncation followed.
    """
    def tree(lo: int, hi: int) -> ir.IntegerValue:  # the answer lies in [lo, hi]
        if lo == hi:
            return ibis.literal(lo, type="int64")
        mid = (lo + hi) // 2
        return ibis.cases((ts < ibis.literal(bounds[mid], type=TS), tree(lo, mid)),
                          else_=tree(mid + 1, hi))

    return ibis.cases((ts.isnull(), ibis.null("int64")), else_=tree(0, len(bounds)))


def calendar_bounds(cal: pd.DataFrame) -> list[datetime]:
    """The UTC instants starting each period of ``cal``, then the end of the last one."""
    days = [*cal.period_start, cal.period_end.iloc[-1]]
    return [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise InputError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    return PERIODS[period]


def _fine_counts(labels: ir.Table, bounds: Sequence[datetime],
                 dimensions: Mapping[str, ir.Table]) -> ir.Table:
    """Episodes counted per (dimension values, start period, churn period): the one pass
    over the labels that every breakdown then sums up.

    Each label row is bucketed once (``_ps``: the number of its start period, ``_pc``: of its
    churn period, null when not churned; see :func:`bucket_index`) and given the value of
    every dimension (``_d0``, ``_d1``, ...; ``(missing)`` for customers a dimension table
    lacks). Grouping on those keys leaves a
    few thousand rows however many customers there are, so the per-breakdown sums that
    follow cost next to nothing, and the labels are read once for all breakdowns.
    """
    lab = labels.filter(labels.start_at.notnull(), labels.churn_at.notnull() | ~labels.churned)
    lab = lab.select("customer_id", _first=(lab.episode == 1).cast("int64"),
                     _ps=bucket_index(lab.start_at, bounds),
                     _pc=bucket_index(lab.churn_at, bounds))
    keys = []
    for i, (name, dim) in enumerate(dimensions.items()):
        key = f"_d{i}"
        j = lab.left_join(dim.select("customer_id", **{key: dim[name]}), "customer_id")
        lab = j.select(*lab.columns, **{key: j[key].fill_null(MISSING)})
        keys.append(key)
    return lab.group_by([*keys, "_ps", "_pc"]).aggregate(_n=lab.count(), _new=lab._first.sum())


def _breakdown(fine: ir.Table, periods: ir.Table, key: str | None, name: str) -> ir.Table:
    """The rate table of one breakdown (``key``: its ``_d<i>`` column; ``None``: overall)
    from the fine counts, with ``dimension`` = ``name`` and the group in ``value``."""
    keys = [key] if key else []
    starts = fine.group_by([*keys, "_ps"]).aggregate(
        new=fine._new.sum(), reactivated=(fine._n - fine._new).sum())
    gone = fine.filter(fine._pc.notnull())
    churns = gone.group_by([*keys, "_pc"]).aggregate(
        churned=gone._n.sum(),
        churned_from_start=ibis.cases((gone._ps < gone._pc, gone._n), else_=0).sum(),
    )
    # the overall group is a one-row constant table: on PySpark (Ibis 12) a grid built from
    # the DISTINCT of a literal column came out with one row per label (tests/measure/
    # test_spark.py caught it); a constant table is portable and cheaper.
    groups = (fine.select(value=fine[key]).distinct() if key
              else ibis.memtable({"value": ["all"]}))
    grid = periods.select("_i", "period_start", "period_end").cross_join(groups)
    on_s = [grid._i == starts._ps, *([grid.value == starts[key]] if key else [])]
    g = grid.left_join(starts, on_s)
    g = g.select("_i", "value", "period_start", "period_end", "new", "reactivated")
    on_c = [g._i == churns._pc, *([g.value == churns[key]] if key else [])]
    g = g.left_join(churns, on_c)
    g = g.select(
        "value", "period_start", "period_end",
        new=g.new.fill_null(0), reactivated=g.reactivated.fill_null(0),
        churned=g.churned.fill_null(0), churned_from_start=g.churned_from_start.fill_null(0),
    )
    net = g.new + g.reactivated - g.churned
    g = g.mutate(customers_end=net.cumsum(group_by=g.value, order_by=g.period_start))
    g = g.mutate(customers_start=g.customers_end - net)
    rate = ibis.cases((g.customers_start > 0, g.churned_from_start / g.customers_start),
                      else_=ibis.null("float64"))
    g = g.mutate(churn_rate=rate, retention_rate=1 - rate)
    w = ibis.window(group_by=g.value, order_by=g.period_start)
    g = g.mutate(churn_rate_change=g.churn_rate - g.churn_rate.lag().over(w),
                 customers_end_change=g.customers_end - g.customers_end.lag().over(w))
    return g.select(dimension=ibis.literal(name), value=g.value.cast("string"),
                    **{c: g[c] for c in RATE_COLUMNS[:-1]})


def rate_tables(
    labels: ir.Table,
    periods: pd.DataFrame,
    *,
    period: str = "month",
    dimensions: Mapping[str, ir.Table] | None = None,
    total: bool = True,
) -> ir.Table:
    """The rate tables of several breakdowns at once, as one lazy Ibis expression.

    ``dimensions`` maps a breakdown name to its ``(customer_id, <name>)`` table (see
    :func:`~churnguard.measure.dimensions.customer_dimension`); ``total`` adds the overall
    table. Returns the long form ``dimension, value, period_start, period_end, <counts>,
    churn_rate, retention_rate, churn_rate_change, customers_end_change``, sorted;
    ``dimension`` is ``""`` (and ``value`` ``"all"``) for the overall rows.

    One query for everything: the labels are bucketed and joined with every dimension once
    (:func:`_fine_counts`), then each breakdown sums those few rows.
    """
    check_period(period)
    dims = dict(dimensions or {})
    fine = _fine_counts(labels, calendar_bounds(periods), dims)
    # period i of the calendar is bucket i + 1 (see bucket_index)
    grid = ibis.memtable(periods[["period_start", "period_end"]].assign(
        _i=range(1, len(periods) + 1)))
    parts = [_breakdown(fine, grid, None, "")] if total else []
    parts += [_breakdown(fine, grid, f"_d{i}", name) for i, name in enumerate(dims)]
    if not parts:
        raise InputError("rate_tables needs total=True or at least one dimension")
    out = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return out.order_by(["dimension", "value", "period_start"])


def rate_table(
    labels: ir.Table,
    periods: pd.DataFrame,
    *,
    period: str = "month",
    dimension: ir.Table | None = None,
    by: str | None = None,
) -> ir.Table:
    """The rate table as a lazy Ibis expression (see the module docstring).

    ``periods`` is a :func:`calendar` frame (``period_start`` / ``period_end`` dates)
    covering every label; ``dimension`` is ``(customer_id, <by>)`` from
    :func:`~churnguard.measure.dimensions.customer_dimension`. One breakdown of
    :func:`rate_tables`.
    """
    if dimension is not None and by is not None:
        t = rate_tables(labels, periods, period=period, dimensions={by: dimension},
                        total=False)
        return t.select(t.value.name(by), *RATE_COLUMNS[:-1])
    t = rate_tables(labels, periods, period=period)
    return t.select(*RATE_COLUMNS[:-1])


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


def _finish_rates(out: pd.DataFrame, until_dt: datetime) -> pd.DataFrame:
    """Engine output -> the frame users get: nullable integer counts, dates, ``complete``."""
    for c in (*COUNT_COLUMNS, "customers_end_change"):
        out[c] = out[c].astype("Int64")
    for c in ("period_start", "period_end"):
        out[c] = pd.to_datetime(out[c]).dt.date
    ends = pd.to_datetime(out["period_end"]).dt.tz_localize(UTC)
    out["complete"] = ends <= pd.Timestamp(until_dt)
    return out


def rates_by(
    labels: ir.Table,
    by: Sequence[str | None],
    *,
    period: str = "month",
    customers: ir.Table | None = None,
    orders: ir.Table | None = None,
) -> dict[str | None, pd.DataFrame]:
    """:func:`rates_from_labels` for several breakdowns in one engine query.

    ``by`` lists the breakdowns (``None``: the overall rates); returns one frame per entry,
    each the same as ``rates_from_labels(labels, period=period, by=b, ...)`` would give.
    Computing them together reads and buckets the labels once (see :func:`rate_tables`).
    """
    wanted = list(dict.fromkeys(by))
    found = label_calendar(labels, period)
    if found is None:
        return {b: pd.DataFrame(columns=[*([b] if b else []), *RATE_COLUMNS]) for b in wanted}
    cal, until_dt = found
    names = [b for b in wanted if b is not None]
    if names and (customers is None or orders is None):
        raise InputError("a breakdown needs the customers and orders tables")
    dims = {b: customer_dimension(b, customers=customers, orders=orders, labels=labels)
            for b in names}  # type: ignore[arg-type]
    expr = rate_tables(labels, cal, period=period, dimensions=dims,
                       total=None in wanted)
    long = expr.to_pandas()
    result: dict[str | None, pd.DataFrame] = {}
    for b in wanted:
        part = long[long.dimension == (b or "")]
        cols = [*([b] if b else []), *RATE_COLUMNS[:-1]]
        part = part.rename(columns={"value": b}) if b else part
        result[b] = _finish_rates(part[cols].reset_index(drop=True), until_dt)
    return result


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
    Several breakdowns of the same labels: :func:`rates_by` (one query).
    """
    check_period(period)
    return rates_by(labels, [by], period=period, customers=customers, orders=orders)[by]


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
    materialised once
    (``ws.warehouse.ibis.create_table(name, labels(ws, ordered=False), temp=True)``), so
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
