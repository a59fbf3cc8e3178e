"""Revenue churn per period from subscriptions (R1): MRR movements between period boundaries.

A customer's MRR at an instant ``b`` is the sum of ``mrr`` over their subscriptions with
``started_at < b <= ended_at`` (or no end). This is the same "alive at an instant" rule the
customer counts use (an episode is alive at ``b`` when ``start_at < b <= churn_at``), so a
plan change that ends one subscription and starts the next at the same instant is counted
once. Comparing each customer's MRR at ``period_start`` (``m0``) with ``period_end``
(``m1``):

================  ==============================  ===============================
movement          when                            amount
================  ==============================  ===============================
``new_mrr``       ``m0 = 0 < m1``                 ``m1`` (new and reactivated)
``expansion``     ``0 < m0 < m1``                 ``m1 - m0``
``contraction``   ``0 < m1 < m0``                 ``m0 - m1``
``churned_mrr``   ``m0 > 0 = m1``                 ``m0``
================  ==============================  ===============================

so ``mrr_end = mrr_start + new_mrr + expansion_mrr - contraction_mrr - churned_mrr``
exactly, and the ratios (null when ``mrr_start`` is 0) are::

    gross_mrr_churn_rate    = churned_mrr / mrr_start
    contraction_rate        = contraction_mrr / mrr_start
    expansion_rate          = expansion_mrr / mrr_start
    gross_revenue_retention = (mrr_start - churned_mrr - contraction_mrr) / mrr_start
    net_revenue_retention   = (mrr_start - churned_mrr - contraction_mrr + expansion_mrr)
                              / mrr_start

(the ChartMogul / Baremetrics definitions). Movements inside a period that cancel out by its
end (an upgrade then a downgrade) are not seen; a renewal gap that straddles a boundary
counts as churn then new MRR, whatever ``grace_days`` says: revenue is a snapshot measure.

**Point-in-time.** With ``as_of``, subscriptions starting at or after it are ignored and
those ending at or after it are treated as open, as in the labels.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import ibis

from churnguard.measure.labels import TS

if TYPE_CHECKING:
    import ibis.expr.types as ir

REVENUE_COLUMNS = (
    "mrr_start", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "mrr_end",
    "gross_mrr_churn_rate", "contraction_rate", "expansion_rate", "net_revenue_retention",
    "gross_revenue_retention",
)


def point_in_time_subscriptions(subscriptions: ir.Table, as_of: datetime | None) -> ir.Table:
    """``(customer_id, started_at, ended_at, mrr)`` as known at ``as_of`` (see module doc)."""
    s = subscriptions.filter(subscriptions.customer_id.notnull(),
                             subscriptions.started_at.notnull())
    s = s.select("customer_id", started_at=s.started_at.cast(TS), ended_at=s.ended_at.cast(TS),
                 mrr=s.mrr.cast("float64").fill_null(0.0))
    if as_of is not None:
        s = s.filter(s.started_at < as_of)
        s = s.mutate(ended_at=ibis.cases((s.ended_at < as_of, s.ended_at),
                                         else_=ibis.null(TS)))
    return s


def mrr_at(subscriptions: ir.Table, instants: ir.Table) -> ir.Table:
    """Every customer's MRR at every instant ``b`` of ``instants`` (zero rows left out).

    ``subscriptions`` comes from :func:`point_in_time_subscriptions`. Returns
    ``(customer_id, b, mrr)``. The range join compiles to an inequality join on every engine.
    """
    s, b = subscriptions, instants
    j = s.join(b, [s.started_at < b.b, s.ended_at.isnull() | (s.ended_at >= b.b)])
    g = j.group_by(["customer_id", "b"]).aggregate(mrr=j.mrr.sum())
    return g.filter(g.mrr > 0)


def revenue_table(
    subscriptions: ir.Table,
    periods: ir.Table,
    *,
    dimension: ir.Table | None = None,
    by: str | None = None,
) -> ir.Table:
    """MRR movements per period (and per ``by`` group) as a lazy Ibis table.

    ``periods`` has ``period_start`` / ``period_end`` dates; ``dimension`` is
    ``(customer_id, <by>)``. Returns ``[by,] period_start`` and :data:`REVENUE_COLUMNS`.
    """
    group = by or "_all"
    p = periods.select(ps=periods.period_start.cast(TS), pe=periods.period_end.cast(TS),
                       period_start=periods.period_start)
    instants = ibis.union(p.select(b=p.ps), p.select(b=p.pe)).distinct()
    snap = mrr_at(subscriptions, instants)
    at_start = snap.join(p, snap.b == p.ps).select(
        "customer_id", "period_start", m0=snap.mrr, m1=ibis.literal(0.0))
    at_end = snap.join(p, snap.b == p.pe).select(
        "customer_id", "period_start", m0=ibis.literal(0.0), m1=snap.mrr)
    u = ibis.union(at_start, at_end, distinct=False)
    c = u.group_by(["customer_id", "period_start"]).aggregate(m0=u.m0.sum(), m1=u.m1.sum())
    if dimension is not None and by is not None:
        c = c.left_join(dimension, "customer_id")
        c = c.mutate(**{group: c[group].fill_null("(missing)")})
        groups = dimension.select(group).distinct()
    else:
        c = c.mutate(_all=ibis.literal("all"))
        groups = ibis.memtable({"_all": ["all"]})
    zero = ibis.literal(0.0)
    c = c.mutate(
        new=ibis.cases(((c.m0 <= 0) & (c.m1 > 0), c.m1), else_=zero),
        exp=ibis.cases(((c.m0 > 0) & (c.m1 > c.m0), c.m1 - c.m0), else_=zero),
        con=ibis.cases(((c.m1 > 0) & (c.m1 < c.m0), c.m0 - c.m1), else_=zero),
        lost=ibis.cases(((c.m0 > 0) & (c.m1 <= 0), c.m0), else_=zero),
    )
    m = c.group_by([group, "period_start"]).aggregate(
        mrr_start=c.m0.sum(), new_mrr=c.new.sum(), expansion_mrr=c.exp.sum(),
        contraction_mrr=c.con.sum(), churned_mrr=c.lost.sum(), mrr_end=c.m1.sum(),
    )
    grid = periods.select("period_start").cross_join(groups)
    g = grid.left_join(m, [grid[group] == m[group], grid.period_start == m.period_start])
    sums = REVENUE_COLUMNS[:6]
    g = g.select(group, "period_start", **{k: g[k].fill_null(0.0) for k in sums})
    start = g.mrr_start

    def ratio(x: ir.FloatingValue) -> ir.FloatingValue:
        return ibis.cases((start > 0, x / start), else_=ibis.null("float64"))

    g = g.mutate(
        gross_mrr_churn_rate=ratio(g.churned_mrr),
        contraction_rate=ratio(g.contraction_mrr),
        expansion_rate=ratio(g.expansion_mrr),
        net_revenue_retention=ratio(start - g.churned_mrr - g.contraction_mrr
                                    + g.expansion_mrr),
        gross_revenue_retention=ratio(start - g.churned_mrr - g.contraction_mrr),
    )
    return g.select(*([by] if by else []), "period_start", *REVENUE_COLUMNS)
