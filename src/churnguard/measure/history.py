"""Pre-churn history of the customers who churned in a period (R4).

A customer is in the report when their latest episode churned with a ``churn_at`` inside
the period. Their history is read up to and including the reference date (the moment they
left: see :mod:`churnguard.measure.behaviour`):

``complaints`` / ``tickets`` / ``promotions`` / ``events_attended`` / ``orders`` /
``order_amount``
    over their whole history up to the reference date;
``complaints_in_window`` / ``orders_in_window``
    in the ``window_days`` before it (the last months before leaving);
``last_complaint_at``, ``last_complaint_category``
    their latest complaint;
``last_product``, ``last_order_at``, ``last_promotion``
    their latest order, and the latest promotion they took;
``cancel_reason``
    the structured reason on their last subscription, if any.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.behaviour import behaviours, reference_dates
from churnguard.measure.labels import labels as workspace_labels
from churnguard.measure.rates import next_period

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

HISTORY_COLUMNS = (
    "customer_id", "churn_at", "reference_at", "tenure_days", "complaints",
    "complaints_in_window", "last_complaint_at", "last_complaint_category", "tickets",
    "orders", "orders_in_window", "order_amount", "last_product", "last_order_at",
    "promotions", "last_promotion", "events_attended", "cancel_reason",
)
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{1,2})(?:-(\d{1,2}))?))?$", re.IGNORECASE)


def parse_period(text: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of ``YYYY``, ``YYYY-Qn``, ``YYYY-MM`` or ``YYYY-MM-DD``.

    >>> [d.date().isoformat() for d in parse_period("2025-Q3")]
    ['2025-07-01', '2025-10-01']
    >>> [d.date().isoformat() for d in parse_period("2024-12")]
    ['2024-12-01', '2025-01-01']
    """
    m = _PERIOD.match(text.strip())
    try:
        if m is None:
            raise ValueError
        year, quarter, month, day = m.groups()
        if quarter:
            start, unit = date(int(year), 3 * int(quarter) - 2, 1), "quarter"
        elif day:
            start, unit = date(int(year), int(month), int(day)), "day"
        elif month:
            start, unit = date(int(year), int(month), 1), "month"
        else:
            start, unit = date(int(year), 1, 1), "year"
    except ValueError:
        raise InputError(f"period {text!r} is not a period; write 2025, 2025-Q3, 2025-07 or "
                         "2025-07-15") from None
    end = next_period(start, unit)

    def utc(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=UTC)

    return utc(start), utc(end)


def history_table(
    labels: ir.Table,
    *,
    start: datetime,
    end: datetime,
    customers_window: int,
    orders: ir.Table,
    interactions: ir.Table,
    tickets: ir.Table,
    subscriptions: ir.Table,
) -> ir.Table:
    """The report as a lazy Ibis table (one row per customer churned in ``[start, end)``)."""
    ref = reference_dates(labels)
    ref = ref.filter(ref.group == "churned", ref.churn_at >= start, ref.churn_at < end)
    keys = ref.select("customer_id", "reference_at")
    recent = behaviours(ref, orders=orders, interactions=interactions, tickets=tickets,
                        window_days=customers_window, include_reference=True)
    recent = recent.select("customer_id", complaints_in_window=recent.complaints,
                           orders_in_window=recent.orders)
    # whole history: a window reaching back before any data (every engine adds literal days)
    whole = behaviours(ref, orders=orders, interactions=interactions, tickets=tickets,
                       window_days=100 * 366, include_reference=True)

    def last_of(t: ir.Table, col: str, value: str, name: str, when: str) -> ir.Table:
        j = t.filter(t.customer_id.notnull(), t[col].notnull()).join(keys, "customer_id")
        j = j.filter(j[col] <= j.reference_at)
        j = j.mutate(n=ibis.row_number().over(ibis.window(group_by=j.customer_id,
                                                          order_by=ibis.desc(j[col]))))
        j = j.filter(j.n == 0)
        return j.select("customer_id", **{name: j[value], when: j[col]})

    complaints = tickets.filter(tickets.is_complaint.fill_null(False))
    last_complaint = last_of(complaints.mutate(category=complaints.category.cast("string")),
                             "opened_at", "category", "last_complaint_category",
                             "last_complaint_at")
    last_order = last_of(orders, "ordered_at", "amount", "_amount", "last_order_at")
    promo = orders.promotion.strip().lower()
    promos = orders.filter(orders.promotion.notnull(), promo != "", promo != "none")
    last_promo = last_of(promos, "ordered_at", "promotion", "last_promotion", "_promo_at")
    subs = subscriptions.filter(subscriptions.ended_at.notnull())
    reason = last_of(subs, "ended_at", "cancel_reason", "cancel_reason", "_ended")

    out = whole
    for t in (recent, last_complaint, last_order, last_promo, reason):
        out = out.left_join(t, "customer_id")
        out = out.drop(*[c for c in out.columns if c.endswith("_right")])
    tenure = (out.reference_at.epoch_seconds() - out.start_at.epoch_seconds()) / 86400.0
    out = out.mutate(tenure_days=tenure)
    return out.select(*HISTORY_COLUMNS).order_by(["churn_at", "customer_id"])


def history(
    ws: Workspace,
    *,
    churned_in: str,
    window_days: int = 90,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
) -> pd.DataFrame:
    """Pre-churn history of the customers who churned in ``churned_in`` (e.g. ``2025-Q3``).

    Returns :data:`HISTORY_COLUMNS`, one row per customer, in order of churn.
    """
    start, end = parse_period(churned_in)
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise InputError(f"window_days must be a whole number > 0; got {window_days!r}")
    wh = ws.warehouse
    lab = workspace_labels(ws, as_of=as_of, definition=definition,
                           inactive_days=inactive_days, grace_days=grace_days)
    expr = history_table(lab, start=start, end=end, customers_window=window_days,
                         orders=wh.table("orders"), interactions=wh.table("interactions"),
                         tickets=wh.table("tickets"), subscriptions=wh.table("subscriptions"))
    df = expr.to_pandas()
    for c in ("complaints", "complaints_in_window", "tickets", "orders", "orders_in_window",
              "promotions", "events_attended"):
        df[c] = df[c].astype("int64")
    return df.reset_index(drop=True)
