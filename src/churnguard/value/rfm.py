"""RFM analysis (R9): recency, frequency and monetary scores and named segments, as Ibis.

Point-in-time: everything "as of" a date uses only orders timestamped *before* that date
(midnight UTC), the rule :func:`churnguard.measure.labels` follows too.

Per customer with at least one order before ``as_of``:

``recency_days``
    whole days from the last order's day to ``as_of`` (an order on the day before
    ``as_of`` has recency 1);
``frequency``
    number of orders (rows of ``orders``; not merged by day, unlike :func:`rfm_summary`);
``monetary``
    total amount of those orders.

**Scores.** With ``bins`` = 5 (quintiles) a customer's score on a dimension is
``1 + floor(bins * below / n)``, ``below`` being the number of the ``n`` customers with a
strictly worse value (lower frequency or monetary, longer recency). Ties share the lower
score, so the many one-order customers of a shop all get F = 1 (they are "New" or "Lost",
not spread at random over F = 1..2); scores run 1..``bins``. Fixed cut points can replace the
quantiles per dimension with ``edges`` (increasing): frequency and monetary score 1 + the
number of edges the value is above, so frequency edges [1, 2, 3, 5] give 1 order -> 1,
2 -> 2, 3 -> 3, 4-5 -> 4, 6+ -> 5; recency scores 1 + the number of edges it is at or
below, so recency edges [30, 90, 180, 365] give <= 30 days -> 5, 31-90 -> 4 ... > 365 -> 1.

**Segments** come from the (R, F) scores through :data:`SEGMENT_GRID` (rows R = 5 .. 1,
columns F = 1 .. 5), the map popularised by the RFM literature with "Lost" split off from
"Hibernating"::

    R\\F   1                2                   3                   4          5
    5     New              Potential loyalist  Potential loyalist  Champions  Champions
    4     Promising        Potential loyalist  Potential loyalist  Loyal      Loyal
    3     About to sleep   About to sleep      Need attention      Loyal      Loyal
    2     Hibernating      Hibernating         At risk             At risk    Can't lose them
    1     Lost             Hibernating         At risk             At risk    Can't lose them

With ``bins`` other than 5 the scores are rescaled to 1..5 for the map
(``ceil(5 * score / bins)``). Pass ``segment_map`` to use your own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from churnguard.errors import InputError
from churnguard.timeutil import to_utc

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

_G = {
    5: ("New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"),
    4: ("Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"),
    3: ("About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Hibernating", "At risk", "At risk", "Can't lose them"),
}
#: (recency score, frequency score) -> segment name; see the module docstring
SEGMENT_GRID: dict[tuple[int, int], str] = {
    (r, f + 1): name for r, row in _G.items() for f, name in enumerate(row)
}
#: the segments in a sensible display order (best first)
SEGMENTS: tuple[str, ...] = (
    "Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention",
    "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost",
)
RFM_COLUMNS = (
    "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
    "rfm_score", "segment",
)


def _edge_score(value: ir.NumericValue, edges: Sequence[float], *,
                higher_is_better: bool) -> ir.IntegerValue:
    """1 + the number of ``edges`` the value is above (recency: at or below).

    >>> import ibis
    >>> t = ibis.memtable({"v": [1, 2, 4, 9]})
    >>> t.select(s=_edge_score(t.v, [1, 2, 3, 5], higher_is_better=True)).to_pandas().s.tolist()
    [1, 2, 4, 5]
    >>> t.select(s=_edge_score(t.v, [1, 2, 3, 5], higher_is_better=False)).to_pandas().s.tolist()
    [5, 4, 2, 1]
    """
    if list(edges) != sorted(edges) or not edges:
        raise InputError(f"RFM edges must be a non-empty increasing list, got {list(edges)}.")
    score: ir.IntegerValue = ibis.literal(1, "int64")
    for e in edges:
        beats = (value > e) if higher_is_better else (value <= e)
        score = score + beats.cast("int64")
    return score


def _quantile_score(t: ir.Table, order: ir.Value, bins: int) -> ir.IntegerValue:
    """``1 + floor(bins * below / n)``: ``below`` customers rank strictly lower."""
    below = ibis.rank().over(order_by=order)  # 0-based min rank: customers strictly below
    n = t.customer_id.count().over(ibis.window())
    return ((below * bins) // n + 1).cast("int64")


def rfm_scores(
    orders: ir.Table,
    *,
    as_of: str | dt.date | dt.datetime,
    bins: int = 5,
    edges: Mapping[str, Sequence[float]] | None = None,
    segment_map: Mapping[tuple[int, int], str] | None = None,
    customer_id_col: str = "customer_id",
    timestamp_col: str = "ordered_at",
    amount_col: str = "amount",
) -> ir.Table:
    """RFM values, scores 1..``bins`` and named segments per customer, as an Ibis table.

    Parameters
    ----------
    orders : ibis Table
        One row per order with a customer id, a timestamp and an amount.
    as_of : date
        Only orders before this date (midnight UTC) count.
    bins : int, default 5
        Number of quantile bins (5: quintiles).
    edges : mapping, optional
        Fixed increasing cut points per dimension (``"recency_days"``, ``"frequency"``,
        ``"monetary"``) replacing the quantiles; ``len(edges) + 1`` scores.
    segment_map : mapping, optional
        (R score, F score) on the 1..5 scale -> segment name; default :data:`SEGMENT_GRID`.

    Returns
    -------
    ibis Table
        ``customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
        rfm_score`` (e.g. ``"545"``) and ``segment``, ordered by customer id.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> orders = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-03-01",
    ...                                   "2025-07-01"], utc=True),
    ...     "amount": [10.0, 30.0, 5.0, 99.0]}))
    >>> out = rfm_scores(orders, as_of="2025-06-30", bins=2).to_pandas()
    >>> out[["customer_id", "recency_days", "frequency", "monetary", "rfm_score"]]
      customer_id  recency_days  frequency  monetary rfm_score
    0           a            29          2      40.0       222
    1           b           121          1       5.0       111
    """
    if int(bins) != bins or bins < 2:
        raise InputError(f"bins must be a whole number >= 2, got {bins!r}.")
    for col in (customer_id_col, timestamp_col, amount_col):
        if col not in orders.columns:
            raise InputError(
                f"orders has no column {col!r} (columns: {list(orders.columns)}); pass "
                "customer_id_col / timestamp_col / amount_col."
            )
    edges = dict(edges or {})
    unknown = set(edges) - {"recency_days", "frequency", "monetary"}
    if unknown:
        raise InputError(f"edges: unknown dimension(s) {sorted(unknown)}; use recency_days, "
                         "frequency or monetary.")
    cut = to_utc(as_of)
    assert cut is not None
    ts = orders[timestamp_col]
    ts = ts.cast("timestamp").cast(ibis.dtype("timestamp('UTC')")) if ts.type().is_date() else ts
    base = orders.select(
        customer_id=orders[customer_id_col], ts=ts, amount=orders[amount_col].cast("float64")
    )
    base = base.filter(base.customer_id.notnull(), base.ts.notnull(), base.ts < cut)
    agg = base.group_by("customer_id").aggregate(
        last=base.ts.max(), frequency=base.count(), monetary=base.amount.sum()
    )
    as_of_day = ibis.date(cut.date())
    t = agg.select(
        "customer_id",
        recency_days=as_of_day.delta(agg.last.date(), unit="day").cast("int64"),
        frequency=agg.frequency.cast("int64"),
        monetary=agg.monetary.fill_null(0.0),
    )
    scores = {}
    for dim, col in (("r", "recency_days"), ("f", "frequency"), ("m", "monetary")):
        up = dim != "r"
        if col in edges:
            scores[f"{dim}_score"] = _edge_score(t[col], edges[col], higher_is_better=up)
        else:
            order = t[col] if up else ibis.desc(t[col])
            scores[f"{dim}_score"] = _quantile_score(t, order, int(bins))
    t = t.mutate(**scores)
    t = t.mutate(
        rfm_score=t.r_score.cast("string") + t.f_score.cast("string") + t.m_score.cast("string")
    )
    n_r = len(edges["recency_days"]) + 1 if "recency_days" in edges else int(bins)
    n_f = len(edges["frequency"]) + 1 if "frequency" in edges else int(bins)
    return t.mutate(segment=segment_of(t.r_score, t.f_score, n_r=n_r, n_f=n_f,
                                       segment_map=segment_map)
                    ).select(*RFM_COLUMNS).order_by("customer_id")


def segment_of(r_score: ir.IntegerValue, f_score: ir.IntegerValue, *, n_r: int = 5,
               n_f: int = 5, segment_map: Mapping[tuple[int, int], str] | None = None
               ) -> ir.StringValue:
    """Segment name from (R, F) scores on 1..n_r and 1..n_f, rescaled to the 1..5 grid."""
    grid = dict(segment_map or SEGMENT_GRID)
    missing = [(r, f) for r in range(1, 6) for f in range(1, 6) if (r, f) not in grid]
    if missing:
        raise InputError(f"segment_map must name every (R, F) pair 1..5; missing {missing[:3]}")

    def to5(s: ir.IntegerValue, n: int) -> ir.IntegerValue:
        return s if n == 5 else (s * 5 / n - 1e-9).ceil().cast("int64")

    r5, f5 = to5(r_score, n_r), to5(f_score, n_f)
    return ibis.cases(*(((r5 == r) & (f5 == f), name) for (r, f), name in grid.items()))


def rfm(ws: Workspace, *, as_of: str | dt.date | dt.datetime, bins: int = 5,
        edges: Mapping[str, Sequence[float]] | None = None) -> ir.Table:
    """:func:`rfm_scores` on the workspace's ``orders`` table (lazy Ibis table)."""
    return rfm_scores(ws.warehouse.table("orders"), as_of=as_of, bins=bins, edges=edges)


def segment_sizes(scores: ir.Table) -> ir.Table:
    """Customers, share and total monetary value per segment of an :func:`rfm_scores` table.

    >>> import ibis
    >>> t = ibis.memtable({"segment": ["Lost", "Lost", "New"], "monetary": [1.0, 2.0, 5.0]})
    >>> segment_sizes(t).to_pandas()
      segment  customers     share  monetary
    0    Lost          2  0.666667       3.0
    1     New          1  0.333333       5.0
    """
    g = scores.group_by("segment").aggregate(
        customers=scores.count(), monetary=scores.monetary.sum()
    )
    total = g.customers.sum().over(ibis.window())
    return g.select("segment", "customers", share=g.customers / total, monetary=g.monetary
                    ).order_by([ibis.desc("customers"), "segment"])


NEW = "(new)"


def segment_migrations(before: ir.Table, after: ir.Table) -> ir.Table:
    """Customers moving from each segment at one date to each segment at a later date.

    ``before`` and ``after`` are :func:`rfm_scores` tables. Customers without orders at
    the first date appear with ``from_segment`` = ``"(new)"``. Returns the long form
    ``from_segment, to_segment, customers``; :func:`migration_matrix` pivots it.
    """
    a = before.select("customer_id", from_segment=before.segment)
    b = after.select("customer_id", to_segment=after.segment)
    j = b.left_join(a, "customer_id")
    j = j.select(from_segment=j.from_segment.fill_null(NEW), to_segment=j.to_segment)
    return j.group_by(["from_segment", "to_segment"]).aggregate(customers=j.count()).order_by(
        ["from_segment", "to_segment"]
    )


def migration_matrix(migrations: ir.Table | pd.DataFrame) -> pd.DataFrame:
    """Pivot :func:`segment_migrations` into a from (rows) x to (columns) count matrix.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"from_segment": ["New", "New"], "to_segment": ["Lost", "Loyal"],
    ...                   "customers": [2, 1]})
    >>> migration_matrix(m).to_dict("index")
    {'New': {'Loyal': 1, 'Lost': 2}}
    """
    df = migrations.to_pandas() if isinstance(migrations, ir.Table) else migrations
    order = [*SEGMENTS, NEW]
    mat = df.pivot_table(index="from_segment", columns="to_segment", values="customers",
                         aggfunc="sum", fill_value=0)
    rows = [s for s in order if s in mat.index] + [s for s in mat.index if s not in order]
    cols = [s for s in order if s in mat.columns] + [s for s in mat.columns if s not in order]
    return mat.loc[rows, cols].astype("int64")
