"""Per-customer behaviour before a reference date: the inputs of ``compare`` and ``history``.

The **reference date** of a churned episode is the moment the customer left: the end of the
last subscription for contractual churn (``churn_at``), the last activity for
non-contractual churn (``last_activity_at``: ``churn_at`` is ``inactive_days`` later, and a
window before it would be empty by definition), ``churned_at`` for snapshot labels. For a
customer still active it is ``observed_until`` (``as_of``), the same date for everyone.

Behaviours are counted in the window ``[reference - window_days, reference)``. The end is
excluded: a non-contractual churner's reference *is* an activity (their last), and counting
it would hand every churner at least one order or visit that the actives' windows, ending
at an arbitrary date, do not get.

``complaints``, ``tickets``
    tickets opened in the window (complaints: ``is_complaint`` true).
``resolution_hours``
    mean hours from opening to resolution of the window's resolved tickets (null without).
``promotions``
    orders in the window with a promotion (not empty, not ``none``).
``events_attended``
    interactions on the ``event`` channel that are not outbound.
``email_engagement``
    e-mail interactions the customer made (not outbound: opens, replies, requests).
``orders``, ``order_amount``
    orders in the window and their total amount.
``last_product``
    the product of the customer's last order before the reference (any time),
    ``(none)`` without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.measure.labels import TS

if TYPE_CHECKING:
    import ibis.expr.types as ir

NUMERIC_BEHAVIOURS = ("complaints", "tickets", "resolution_hours", "promotions",
                      "events_attended", "email_engagement", "orders", "order_amount")
NO_PRODUCT = "(none)"


def reference_dates(labels: ir.Table) -> ir.Table:
    """``(customer_id, group, start_at, churn_at, reference_at)`` from each customer's latest
    datable episode: ``group`` is ``churned`` or ``active`` (see the module docstring)."""
    lab = labels.filter(labels.start_at.notnull(), labels.churn_at.notnull() | ~labels.churned)
    last = lab.mutate(n=ibis.row_number().over(ibis.window(group_by=lab.customer_id,
                                                           order_by=ibis.desc(lab.episode))))
    last = last.filter(last.n == 0)
    ref = ibis.cases(
        (~last.churned, last.observed_until),
        (last.definition == "non_contractual", last.last_activity_at),
        else_=last.churn_at,
    )
    return last.select("customer_id", "start_at", "churn_at", "definition",
                       group=ibis.cases((last.churned, "churned"), else_="active"),
                       reference_at=ref.cast(TS))


def behaviours(
    reference: ir.Table,
    *,
    orders: ir.Table,
    interactions: ir.Table,
    tickets: ir.Table,
    window_days: int,
    include_reference: bool = False,
) -> ir.Table:
    """One row per customer of ``reference`` with :data:`NUMERIC_BEHAVIOURS` and
    ``last_product`` (lazy Ibis; the window is a literal interval, portable to every engine).

    ``include_reference`` closes the window at the reference date (a history report wants
    the last order; a comparison must not, see the module docstring).
    """
    ref = reference.mutate(
        window_start=reference.reference_at - ibis.interval(days=window_days))
    keys = ref.select("customer_id", "reference_at", "window_start")

    def within(t: ir.Table, col: str) -> ir.Table:
        j = t.filter(t.customer_id.notnull(), t[col].notnull()).join(keys, "customer_id")
        end = j[col] <= j.reference_at if include_reference else j[col] < j.reference_at
        return j.filter(j[col] >= j.window_start, end)

    tk = within(tickets, "opened_at")
    hours = (tk.resolved_at.epoch_seconds() - tk.opened_at.epoch_seconds()) / 3600.0
    tk_agg = tk.group_by("customer_id").aggregate(
        tickets=tk.count(),
        complaints=tk.is_complaint.fill_null(False).cast("int64").sum(),
        resolution_hours=ibis.cases((tk.resolved_at.notnull(), hours),
                                    else_=ibis.null("float64")).mean(),
    )
    od = within(orders, "ordered_at")
    promo = od.promotion.strip().lower()
    has_promo = od.promotion.notnull() & (promo != "") & (promo != "none")
    od_agg = od.group_by("customer_id").aggregate(
        orders=od.count(), order_amount=od.amount.sum(),
        promotions=has_promo.cast("int64").sum(),
    )
    it = within(interactions, "at")
    own = it.direction.isnull() | (it.direction != "outbound")
    it_agg = it.group_by("customer_id").aggregate(
        events_attended=((it.channel == "event") & own).cast("int64").sum(),
        email_engagement=((it.channel == "email") & own).cast("int64").sum(),
    )
    # the last product ever bought up to the reference (not only in the window)
    allo = orders.filter(orders.customer_id.notnull(), orders.ordered_at.notnull(),
                         orders.product.notnull()).join(keys, "customer_id")
    allo = allo.filter(allo.ordered_at <= allo.reference_at if include_reference
                       else allo.ordered_at < allo.reference_at)
    rank = ibis.row_number().over(ibis.window(group_by=allo.customer_id,
                                              order_by=[ibis.desc(allo.ordered_at),
                                                        ibis.desc(allo.order_id)]))
    allo = allo.mutate(n=rank)
    last = allo.filter(allo.n == 0).select("customer_id", last_product=allo.product)

    out = ref
    for agg in (tk_agg, od_agg, it_agg, last):
        out = out.left_join(agg, "customer_id")
        out = out.drop(*[c for c in out.columns if c.endswith("_right")])
    zero = {c: out[c].fill_null(0) for c in NUMERIC_BEHAVIOURS
            if c not in ("resolution_hours", "order_amount")}
    return out.mutate(**zero, order_amount=out.order_amount.fill_null(0.0).cast("float64"),
                      last_product=out.last_product.fill_null(NO_PRODUCT))
