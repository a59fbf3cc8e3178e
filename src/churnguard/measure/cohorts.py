"""Signup cohorts x months since signup: customer and revenue retention matrices (R8).

A customer's cohort is the month (or quarter, year) of ``signup_at``, or of the start of
their first episode when ``signup_at`` is missing. ``months_since_signup = k`` is the k-th
month-end after the cohort's first month: the instant ``b_k`` = first day of calendar month
``cohort month + k + 1`` (for quarter / year cohorts, months are counted from the cohort's
first month).

``customers``
    cohort customers *alive* at ``b_k``: an episode with ``start_at < b_k <= churn_at`` (or
    not churned) - the rule the churn rates use, so reactivated customers count again.
``retention``
    ``customers / cohort_size``.
``revenue``
    with subscriptions, the cohort's MRR at ``b_k`` (see :mod:`churnguard.measure.revenue`);
    without, the cohort's order amounts in calendar month ``cohort month + k``.
``revenue_retention``
    ``revenue / revenue at k = 0`` (null when the cohort had no revenue at k = 0), so a
    cohort whose customers upgrade can exceed 1 (net revenue retention by cohort).

Cells whose instant lies after ``observed_until`` are not reported (not yet known).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.labels import TS, to_utc
from churnguard.measure.labels import labels as workspace_labels
from churnguard.measure.rates import bucket_index, calendar
from churnguard.measure.revenue import point_in_time_subscriptions

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

COHORT_BY = {"signup_month": "M", "signup_quarter": "Q", "signup_year": "Y"}
COHORT_COLUMNS = ("cohort", "months_since_signup", "cohort_size", "customers", "retention",
                  "revenue", "revenue_retention")


def _month_of(bounds: list[datetime], first_month: int):  # type: ignore[no-untyped-def]
    """A function giving the month index (``year * 12 + month - 1``, UTC) of a timestamp.

    ``bounds`` are the starts of the consecutive months ``first_month``, ``first_month + 1``
    ... and of the month after the last; timestamps before them get ``first_month - 1``,
    after them the index after the last (as far as "alive at a month-end" goes, the same
    answers). Comparisons with literal instants (:func:`~churnguard.measure.rates.
    bucket_index`), not a per-row conversion to a date.
    """
    def month_of(ts: ir.TimestampValue) -> ir.IntegerValue:
        return bucket_index(ts, bounds) + (first_month - 1)

    return month_of


def customer_cohorts(labels: ir.Table, customers: ir.Table, month_of,  # type: ignore[no-untyped-def]
                     *, by: str = "signup_month") -> ir.Table:
    """``(customer_id, cohort_month)``: the month index of the cohort's first month.

    ``month_of`` gives a timestamp's month index (see :func:`_month_of`).
    """
    if by not in COHORT_BY:
        raise InputError(f"unknown cohort {by!r}; use one of {', '.join(COHORT_BY)}")
    first = labels.group_by("customer_id").aggregate(first=labels.start_at.min())
    j = first.left_join(customers.select("customer_id", "signup_at"), "customer_id")
    start = ibis.coalesce(j.signup_at.cast(TS), j["first"])
    j = j.filter(start.notnull()).select("customer_id", start=start)
    m = month_of(j.start)
    # the cohort's first month: quarters start at months 0, 3, 6, 9 of a year
    step = {"signup_month": 1, "signup_quarter": 3, "signup_year": 12}[by]
    return j.select("customer_id", cohort_month=m - m % step if step > 1 else m)


def spans(t: ir.Table, start: str, end: str, month_of) -> ir.Table:  # type: ignore[no-untyped-def]
    """``t`` with ``k_in`` / ``k_out``: the month indexes of ``start`` and ``end``.

    A row with ``start < b <= end`` (``end`` null: no end) is alive at the month start
    ``b`` whose previous month has index ``m`` exactly when ``k_in <= m < k_out``: month
    starts are midnights UTC, so ``x < b`` is ``month(x) <= m``.
    """
    return t.mutate(k_in=month_of(t[start]), k_out=month_of(t[end]))


def _alive(s: ir.Table, month_ends: ir.Table, value: ir.Value) -> ir.Table:
    """Sum ``value`` of the ``spans`` rows ``s`` alive at each month-end, per cohort.

    The rows are first summed per ``(cohort, k_in, k_out)`` (a few thousand combinations,
    however many customers), and only those sums meet the month-ends: a range join of
    thousands x months, instead of every row x every month.
    """
    keys = ["cohort_month", "k_in", "k_out"]
    agg = s.group_by(keys).aggregate(v=value)
    m = month_ends.select("b_month")
    j = agg.join(m, [agg.k_in <= m.b_month, agg.k_out.isnull() | (agg.k_out > m.b_month),
                     m.b_month >= agg.cohort_month])
    return j.group_by(["cohort_month", "b_month"]).aggregate(v=j.v.sum())


def cohort_table(
    labels: ir.Table,
    customers: ir.Table,
    month_ends: ir.Table,
    month_of,  # type: ignore[no-untyped-def]
    *,
    by: str = "signup_month",
    revenue: ir.Table | None = None,
) -> ir.Table:
    """Alive customers (and revenue) per cohort and month-end, as a lazy Ibis table.

    ``month_ends`` has ``b`` (a UTC timestamp at a month's first day) and ``b_month`` (the
    month index of the month *before* ``b``); ``month_of`` gives a timestamp's month index
    (see :func:`_month_of`); ``revenue`` is ``(customer_id, k_in, k_out, revenue)``:
    ``revenue`` counts at every ``b_month`` with ``k_in <= b_month < k_out`` (``k_out``
    null: from ``k_in`` on; see :func:`spans`). Returns ``cohort, months_since_signup,
    cohort_size, customers, revenue``.

    A customer is alive at ``b`` when an episode has ``start_at < b <= churn_at``; the
    customers are counted as episodes alive at ``b``, which is the same number because the
    episodes of one customer never overlap (see
    :func:`~churnguard.measure.labels.label_episodes`).
    """
    coh = customer_cohorts(labels, customers, month_of, by=by)
    sizes = coh.group_by("cohort_month").aggregate(cohort_size=coh.count())
    lab = labels.filter(labels.start_at.notnull(), labels.churn_at.notnull() | ~labels.churned)
    ep = spans(lab.select("customer_id", "start_at", "churn_at"), "start_at", "churn_at",
               month_of)
    ep = ep.join(coh, "customer_id")
    cells = _alive(ep, month_ends, ep.count())
    grid = sizes.cross_join(month_ends.select("b_month"))
    grid = grid.filter(grid.b_month >= grid.cohort_month)
    g = grid.left_join(cells, [grid.cohort_month == cells.cohort_month,
                               grid.b_month == cells.b_month])
    g = g.select("cohort_month", "cohort_size", b_month=grid.b_month,
                 customers=g.v.fill_null(0))
    if revenue is not None:
        r = revenue.join(coh, "customer_id")
        r = _alive(r, month_ends, r.revenue.sum())
        g = g.left_join(r, [g.cohort_month == r.cohort_month, g.b_month == r.b_month])
        g = g.select("cohort_month", "cohort_size", "b_month", "customers",
                     revenue=g.v.fill_null(0.0))
    else:
        g = g.mutate(revenue=ibis.null("float64"))
    cm = g.cohort_month
    return g.select(cohort=ibis.date(cm // 12, cm % 12 + 1, 1),
                    months_since_signup=g.b_month - cm,
                    cohort_size=g.cohort_size, customers=g.customers, revenue=g.revenue
                    ).order_by(["cohort", "months_since_signup"])


def _month_ends(first: date, until: datetime) -> pd.DataFrame:
    """Month starts after ``first``'s month up to ``until`` (inclusive), with month indexes."""
    cal = calendar(first, until.date(), "month")
    ends = cal[[pd.Timestamp(e, tz="UTC") <= until for e in cal.period_end]]
    return pd.DataFrame({
        "b": [pd.Timestamp(e, tz="UTC") for e in ends.period_end],
        "b_month": [s.year * 12 + s.month - 1 for s in ends.period_start],
        "m_start": [pd.Timestamp(s, tz="UTC") for s in ends.period_start],
    })


def cohorts(
    ws: Workspace,
    *,
    by: str = "signup_month",
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
    labels: ir.Table | None = None,
) -> pd.DataFrame:
    """Cohort retention of a workspace: one row per cohort and month since signup.

    Columns :data:`COHORT_COLUMNS` (see the module docstring); ``cohort`` is the cohort's
    first day. Pivot it with :func:`cohort_matrix`.

    ``labels``: labels already computed with the same ``as_of`` and definition, best
    materialised once
    (``ws.warehouse.ibis.create_table(name, labels(ws, ordered=False), temp=True)``) and
    shared with other analyses; computed from the workspace when not given.
    """
    if by not in COHORT_BY:
        raise InputError(f"unknown cohort {by!r}; use one of {', '.join(COHORT_BY)}")
    cut = to_utc(as_of)
    wh = ws.warehouse
    lab = labels if labels is not None else workspace_labels(
        ws, as_of=cut, definition=definition, inactive_days=inactive_days,
        grace_days=grace_days)
    span = lab.aggregate(first=lab.start_at.min(), until=lab.observed_until.max()).to_pandas()
    if span.empty or pd.isna(span["first"].iloc[0]):
        return pd.DataFrame(columns=list(COHORT_COLUMNS))
    customers = wh.table("customers")
    signup = customers.aggregate(m=customers.signup_at.min()).to_pandas()["m"].iloc[0]
    first = pd.Timestamp(span["first"].iloc[0])
    if not pd.isna(signup):
        first = min(first, pd.Timestamp(signup))
    until = pd.Timestamp(span["until"].iloc[0]).to_pydatetime()
    ends = _month_ends(first.date(), until)
    if ends.empty:
        return pd.DataFrame(columns=list(COHORT_COLUMNS))
    month_ends = ibis.memtable(ends)
    months = calendar(first.date(), until.date(), "month")
    bounds = [datetime(d.year, d.month, 1, tzinfo=UTC)
              for d in [*months.period_start, months.period_end.iloc[-1]]]
    first_month = first.year * 12 + first.month - 1
    month_of = _month_of(bounds, first_month)
    subs = point_in_time_subscriptions(wh.table("subscriptions"), cut)
    if subs.count().to_pyarrow().as_py() > 0:
        # the cohort's MRR at b: subscriptions with started_at < b <= ended_at (see
        # revenue.mrr_at). mrr >= 0 (the contract), so leaving out customers whose MRR at b
        # is zero, as mrr_at does, changes no sum.
        sp = spans(subs, "started_at", "ended_at", month_of)
        rev = sp.select("customer_id", "k_in", "k_out", revenue=sp.mrr)
    else:
        o = wh.table("orders")
        o = o.filter(o.customer_id.notnull(), o.ordered_at.notnull(), o.ordered_at < until)
        m = month_of(o.ordered_at)
        rev = o.select("customer_id", k_in=m, k_out=m + 1, revenue=o.amount)
    df = cohort_table(lab, customers, month_ends.select("b", "b_month"), month_of, by=by,
                      revenue=rev).to_pandas()
    df["cohort"] = pd.to_datetime(df["cohort"]).dt.date
    for c in ("months_since_signup", "cohort_size", "customers"):
        df[c] = df[c].astype("int64")
    df["retention"] = df.customers / df.cohort_size
    base = df[df.months_since_signup == 0].set_index("cohort").revenue
    base = df.cohort.map(base)
    df["revenue_retention"] = (df.revenue / base).where(base > 0)
    return df[list(COHORT_COLUMNS)].reset_index(drop=True)


def cohort_matrix(frame: pd.DataFrame, value: str = "retention") -> pd.DataFrame:
    """Pivot :func:`cohorts` output: cohorts as rows, months since signup as columns.

    >>> df = pd.DataFrame({"cohort": ["2024-01", "2024-01", "2024-02"],
    ...                    "months_since_signup": [0, 1, 0], "retention": [1.0, 0.5, 1.0]})
    >>> cohort_matrix(df).to_dict("index")
    {'2024-01': {0: 1.0, 1: 0.5}, '2024-02': {0: 1.0, 1: nan}}
    """
    m = frame.pivot(index="cohort", columns="months_since_signup", values=value)
    m.columns.name = None
    return m

