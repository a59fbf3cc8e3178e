"""Purchase and engagement features, from ``orders`` and ``interactions``.

One aggregation pass per table (conditional counts and sums per window), then row-wise
recency and trend expressions on the aggregate. Windows end at ``as_of`` (exclusive):
``orders_90d`` counts orders in ``[as_of - 90 days, as_of)``, ``orders_prev_90d`` those in
``[as_of - 180 days, as_of - 90 days)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.contract.tables import CHANNELS
from churnguard.predict.features._common import (
    DAYS_PER_MONTH,
    SECONDS_PER_DAY,
    Cut,
    before,
    trend,
)
from churnguard.predict.features.registry import TREND_DOC, Feature, amount, count, measure

if TYPE_CHECKING:
    import ibis.expr.types as ir

ORDER_WINDOWS = (30, 90, 180, 365)
INTERACTION_WINDOWS = (30, 90)
#: interaction kinds that ask us for something and expect an answer (R15)
REQUEST_KINDS = ("quote_request", "info_request", "information_request")
#: outbound kinds that are bulk marketing, not a contact: without a ``staff`` member they
#: neither count as contacting the customer nor answer a request (a newsletter does not
#: follow up a quote request)
BULK_KINDS = ("email_sent", "newsletter", "marketing_email", "campaign_email", "mailing",
              "promotion", "sms_campaign", "push_notification")

ORDER_COLUMNS = ("customer_id", "ordered_at", "amount", "promotion", "quantity")
#: fewest days a purchase rate is spread over, so a customer whose first order was
#: yesterday does not get an extreme rate
MIN_RATE_DAYS = 30.0
INTERACTION_COLUMNS = ("customer_id", "at", "channel", "kind", "direction")

_FP, _ENG = "falling purchases", "engagement drop"

ORDER_FEATURES: tuple[Feature, ...] = (
    Feature("days_since_last_order", "Days from the last order before as_of to as_of "
            "(unknown if the customer never ordered).", "days", "float64", _FP, "orders"),
    *(count(f"orders_{d}d", f"Orders placed in the {d} days before as_of.", "orders", _FP,
            "orders") for d in ORDER_WINDOWS),
    count("orders_prev_90d", "Orders placed 180 to 90 days before as_of.", "orders", _FP,
          "orders"),
    amount("orders_trend_90d", "Change in order count, last 90 days vs the 90 before: "
           + TREND_DOC + ".", "ratio", _FP, "orders"),
    *(amount(f"amount_{d}d", f"Order value in the {d} days before as_of (refunds negative).",
             "currency", _FP, "orders") for d in ORDER_WINDOWS),
    amount("amount_prev_90d", "Order value 180 to 90 days before as_of.", "currency", _FP,
           "orders"),
    amount("amount_trend_90d", "Change in order value, last 90 days vs the 90 before: "
           + TREND_DOC + ".", "ratio", _FP, "orders"),
    count("orders_total", "Orders placed before as_of, ever.", "orders", _FP, "orders"),
    count("promo_orders", "Orders before as_of that used a promotion or coupon.", "orders",
          "price", "orders"),
    measure("promo_order_share", "Share of the customer's orders before as_of that used a "
            "promotion (unknown without orders).", "ratio", "price", "orders"),
    # purchase rhythm: distinct purchase days (several orders on one day are one purchase,
    # as in BG/NBD), the customer's own gap between them, and recency measured against it
    count("purchase_days_total", "Distinct days (UTC) with an order before as_of.", "days",
          _FP, "orders"),
    measure("purchase_days_per_month", "Purchase days per month since the first order "
            "(at least 30 days counted).", "purchase days per month", _FP, "orders"),
    measure("mean_days_between_purchases", "Mean days between the customer's purchase days "
            "before as_of: (last - first) / (purchase days - 1); unknown with fewer than "
            "two.", "days", _FP, "orders"),
    measure("last_purchase_gap_days", "Days between the last two purchase days before "
            "as_of; unknown with fewer than two.", "days", _FP, "orders"),
    measure("recency_vs_mean_gap", "Days since the last order divided by the customer's "
            "mean days between purchases: above 1 = later than usual; unknown with fewer "
            "than two purchase days.", "ratio", _FP, "orders"),
    measure("first_purchase_amount", "Value of the customer's first purchase day (all "
            "orders that day); unknown without orders.", "currency", "acquisition", "orders"),
    measure("amount_per_item", "Order value per item (amount / quantity) over the orders "
            "before as_of that give a quantity; unknown without.", "currency per item",
            "price", "orders"),
)


def order_features(orders: ir.Table, cut: Cut) -> ir.Table:
    """Order features per customer, plus ``_first_order_at`` for tenure (one pass, with a
    per-customer window for the first and last purchase day)."""
    o = before(orders, "ordered_at", cut)
    o = o.mutate(_day=(o.ordered_at.epoch_seconds() / SECONDS_PER_DAY).floor())
    o = o.mutate(_first_day=o._day.min().over(group_by="customer_id"),
                 _last_day=o._day.max().over(group_by="customer_id"))
    ts = o.ordered_at
    has_qty = o.quantity.notnull() & (o.quantity > 0)
    aggs: dict[str, ir.Value] = {
        "_first_order_at": ts.min(), "_last_order_at": ts.max(),
        "purchase_days_total": o._day.nunique(),
        "_day0": o._day.min(), "_day1": o._day.max(),
        "_prev_day": o._day.max(where=o._day < o._last_day),
        "first_purchase_amount": o.amount.sum(where=o._day == o._first_day),
        "_qty_amount": o.amount.sum(where=has_qty),
        "_qty": o.quantity.sum(where=has_qty),
    }
    for d in ORDER_WINDOWS:
        aggs[f"orders_{d}d"] = o.count(where=cut.within(ts, d))
        aggs[f"amount_{d}d"] = o.amount.sum(where=cut.within(ts, d))
    aggs["orders_prev_90d"] = o.count(where=cut.within(ts, 90, skip=90))
    aggs["amount_prev_90d"] = o.amount.sum(where=cut.within(ts, 90, skip=90))
    aggs["orders_total"] = o.count()
    aggs["promo_orders"] = o.count(where=o.promotion.notnull() & (o.promotion.strip() != ""))
    a = o.group_by("customer_id").aggregate(**aggs)
    since_first = cut.days_since(a._first_order_at)
    repeat = a.purchase_days_total >= 2
    no_value = ibis.null("float64")
    mean_gap = ibis.cases(
        (repeat, (a._day1 - a._day0).cast("float64") / (a.purchase_days_total - 1)),
        else_=no_value)
    a = a.mutate(
        days_since_last_order=cut.days_since(a._last_order_at),
        orders_trend_90d=trend(a.orders_90d, a.orders_prev_90d),
        amount_trend_90d=trend(a.amount_90d, a.amount_prev_90d),
        promo_order_share=a.promo_orders.cast("float64") / a.orders_total,
        purchase_days_per_month=a.purchase_days_total.cast("float64") * DAYS_PER_MONTH
        / ibis.cases((since_first < MIN_RATE_DAYS, MIN_RATE_DAYS), else_=since_first),
        mean_days_between_purchases=mean_gap,
        last_purchase_gap_days=ibis.cases((repeat, (a._day1 - a._prev_day).cast("float64")),
                                          else_=no_value),
        amount_per_item=ibis.cases((a._qty > 0, a._qty_amount / a._qty.cast("float64")),
                                   else_=no_value),
    )
    a = a.mutate(recency_vs_mean_gap=a.days_since_last_order / a.mean_days_between_purchases)
    return a.drop("_last_order_at", "_day0", "_day1", "_prev_day", "_qty_amount", "_qty")


def _channel_features() -> tuple[Feature, ...]:
    out: list[Feature] = []
    for ch in CHANNELS:
        for d in INTERACTION_WINDOWS:
            out.append(count(f"interactions_{ch}_{d}d", f"Customer-initiated {ch} interactions "
                             f"in the {d} days before as_of.", "interactions", _ENG,
                             "interactions"))
        out.append(amount(f"interactions_{ch}_trend_90d", f"Change in {ch} interactions, last "
                          "90 days vs the 90 before: " + TREND_DOC + ".", "ratio", _ENG,
                          "interactions"))
    return tuple(out)


INTERACTION_FEATURES: tuple[Feature, ...] = (
    Feature("days_since_last_engagement", "Days from the customer's last own interaction "
            "(login, open, visit, call in ...; not outbound) to as_of.", "days", "float64",
            _ENG, "interactions"),
    *(count(f"interactions_{d}d", f"Customer-initiated interactions (direction not outbound) "
            f"in the {d} days before as_of.", "interactions", _ENG, "interactions")
      for d in INTERACTION_WINDOWS),
    count("interactions_prev_90d", "Customer-initiated interactions 180 to 90 days before "
          "as_of.", "interactions", _ENG, "interactions"),
    amount("interactions_trend_90d", "Change in customer-initiated interactions, last 90 "
           "days vs the 90 before: " + TREND_DOC + ".", "ratio", _ENG, "interactions"),
    *_channel_features(),
    Feature("days_since_last_contact", "Days since we last contacted the customer (an "
            "outbound interaction other than bulk marketing); unknown if we never did.", "days",
            "float64", "no contact", "interactions"),
    count("contacts_90d", "Contacts (outbound interactions other than bulk marketing) in the "
          "90 days before as_of.", "interactions", "no contact", "interactions"),
    count("open_requests", "Quote or information requests from the customer with no "
          "contact (outbound, not bulk marketing) after them, as of as_of.", "requests",
          "unanswered request", "interactions"),
    Feature("days_oldest_open_request", "Days the oldest unanswered quote or information "
            "request has been waiting (unknown if none).", "days", "float64",
            "unanswered request", "interactions"),
)


def interaction_features(interactions: ir.Table, cut: Cut) -> ir.Table:
    """Interaction features per customer (one pass with a per-customer window).

    A *contact* is an outbound interaction other than bulk marketing (a :data:`BULK_KINDS`
    kind with no ``staff`` member on it). A request is *open* when no contact follows it
    before as_of.
    """
    t = before(interactions, "at", cut)
    is_out = t.direction.notnull() & (t.direction == "outbound")
    bulk = t.kind.notnull() & t.kind.lower().isin(BULK_KINDS)
    if "staff" in t.columns:
        staff = t.staff.cast("string")
        bulk = bulk & (staff.isnull() | (staff.strip() == ""))
    t = t.mutate(_out=is_out, _contact=is_out & ~bulk)
    t = t.mutate(_last_out=ibis.cases((t._contact, t.at)).max().over(group_by="customer_id"))
    own, contact = ~t._out, t._contact
    request = own & t.kind.lower().isin(REQUEST_KINDS)
    is_open = request & (t._last_out.isnull() | (t._last_out <= t.at))
    aggs: dict[str, ir.Value] = {
        "_last_own_at": t.at.max(where=own),
        "_last_out_at": t.at.max(where=contact),
        "contacts_90d": t.count(where=contact & cut.within(t.at, 90)),
        "open_requests": t.count(where=is_open),
        "_oldest_open_at": t.at.min(where=is_open),
        "interactions_prev_90d": t.count(where=own & cut.within(t.at, 90, skip=90)),
    }
    for d in INTERACTION_WINDOWS:
        aggs[f"interactions_{d}d"] = t.count(where=own & cut.within(t.at, d))
    for ch in CHANNELS:
        mine = own & (t.channel == ch)
        for d in INTERACTION_WINDOWS:
            aggs[f"interactions_{ch}_{d}d"] = t.count(where=mine & cut.within(t.at, d))
        aggs[f"_{ch}_prev_90d"] = t.count(where=mine & cut.within(t.at, 90, skip=90))
    a = t.group_by("customer_id").aggregate(**aggs)
    derived: dict[str, ir.Value] = {
        "days_since_last_engagement": cut.days_since(a._last_own_at),
        "days_since_last_contact": cut.days_since(a._last_out_at),
        "days_oldest_open_request": cut.days_since(a._oldest_open_at),
        "interactions_trend_90d": trend(a.interactions_90d, a.interactions_prev_90d),
    }
    for ch in CHANNELS:
        derived[f"interactions_{ch}_trend_90d"] = trend(a[f"interactions_{ch}_90d"],
                                                        a[f"_{ch}_prev_90d"])
    a = a.mutate(**derived)
    return a.drop(*(c for c in a.columns if c.startswith("_")))
