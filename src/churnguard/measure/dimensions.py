"""Breakdown dimensions: one value per customer to split churn rates by (R3).

A dimension is a customers column (``region``, ``industry``, ``acquisition_channel``,
``first_offer``, ``plan``, ``contract_type``, ``loyalty_tier`` ...), a custom attribute
(``attributes.<name>`` or just ``<name>``), or a derived band:

``purchase_frequency_band``
    number of orders: ``0``, ``1``, ``2-4``, ``5-9``, ``10+``.
``purchase_amount_band``
    quartile of total order amount among customers with orders (``Q1 low`` .. ``Q4 high``),
    ``no orders`` otherwise.
``tenure_band``
    time from the first episode's start to the last churn (or ``observed_until``):
    ``<3m``, ``3-6m``, ``6-12m``, ``1-2y``, ``2y+``.

Values are the customer's *current* attributes and lifetime bands, not their value at each
period (that would move customers between groups and break the reconciliation
start + new + reactivated - churned = end within a group). Bands computed from orders use
only the orders the labels used (before ``as_of``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.contract import get_contract
from churnguard.errors import InputError
from churnguard.measure.labels import segment_column

if TYPE_CHECKING:
    import ibis.expr.types as ir

DERIVED = ("purchase_frequency_band", "purchase_amount_band", "tenure_band")
MISSING = "(missing)"
_FREQ = ((0, "0"), (1, "1"), (4, "2-4"), (9, "5-9"))
_TENURE_DAYS = ((91, "<3m"), (182, "3-6m"), (365, "6-12m"), (730, "1-2y"))


def dimension_names() -> list[str]:
    """Every built-in dimension name (custom attributes come on top).

    >>> "region" in dimension_names() and "tenure_band" in dimension_names()
    True
    """
    skip = {"customer_id", "signup_at", "churned_at", "name", "loyalty_points"}
    cols = [c for c in get_contract("customers").column_names if c not in skip]
    return cols + list(DERIVED)


def customer_dimension(
    name: str,
    *,
    customers: ir.Table,
    orders: ir.Table,
    labels: ir.Table,
) -> ir.Table:
    """A table ``(customer_id, <name>)`` with one text value per customer, never null."""
    if name == "purchase_frequency_band":
        value = _frequency(orders, labels)
    elif name == "purchase_amount_band":
        value = _amount(orders, labels)
    elif name == "tenure_band":
        g = labels.group_by("customer_id").aggregate(
            first=labels.start_at.min(),
            last=ibis.coalesce(labels.churn_at, labels.observed_until).max(),
        )
        days = (g["last"].epoch_seconds() - g["first"].epoch_seconds()) / 86400
        band = ibis.cases(*((days < d, label) for d, label in _TENURE_DAYS), else_="2y+")
        value = g.select("customer_id", value=band)
    else:
        column = name
        if name not in customers.columns and not name.startswith("attributes."):
            column = f"attributes.{name}"
        if name.startswith("_") or name in ("customer_id", "attributes"):
            raise InputError(f"cannot break churn down by {name!r}")
        unknown = InputError(
            f"cannot break churn down by {name!r}: not a customers column, custom "
            f"attribute or band; use one of {', '.join(dimension_names())}")
        try:
            expr = segment_column(customers, column)
        except InputError:
            raise unknown from None
        if column.startswith("attributes.") and not _has_attribute(customers, column):
            raise unknown  # a typo would otherwise put everyone in "(missing)"
        value = customers.select("customer_id", value=expr)
    value = value.select("customer_id", value=value.value.fill_null(MISSING))
    return value.rename({name: "value"})


def _has_attribute(customers: ir.Table, column: str) -> bool:
    """Whether any customer carries the custom attribute ``attributes.<name>`` (a JSON
    null counts: the key is there). One query that stops at the first such customer."""
    value = customers.attributes[column.removeprefix("attributes.")]
    hit = customers.filter(value.notnull()).select("customer_id").limit(1)
    return bool(hit.count().to_pyarrow().as_py())


def _customer_orders(orders: ir.Table, labels: ir.Table) -> ir.Table:
    """Orders before the labels' ``observed_until`` (the same cut the labels used)."""
    cut = labels.aggregate(cut=labels.observed_until.max())
    o = orders.cross_join(cut)
    o = o.filter(o.customer_id.notnull(), o.ordered_at <= o.cut)
    return o.group_by("customer_id").aggregate(n=o.count(), amount=o.amount.sum())


def _frequency(orders: ir.Table, labels: ir.Table) -> ir.Table:
    who = labels.select("customer_id").distinct()
    j = who.left_join(_customer_orders(orders, labels), "customer_id")
    n = j.n.fill_null(0)
    band = ibis.cases(*((n <= k, label) for k, label in _FREQ), else_="10+")
    return j.select("customer_id", value=band)


def _amount(orders: ir.Table, labels: ir.Table) -> ir.Table:
    who = labels.select("customer_id").distinct()
    co = _customer_orders(orders, labels)
    q = co.mutate(q=ibis.ntile(4).over(ibis.window(order_by=co.amount)))
    names = ibis.cases((q.q == 0, "Q1 low"), (q.q == 1, "Q2"), (q.q == 2, "Q3"),
                       else_="Q4 high")
    q = q.select("customer_id", band=names)
    j = who.left_join(q, "customer_id")
    return j.select("customer_id", value=j.band.fill_null("no orders"))
