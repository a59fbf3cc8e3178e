"""Account features: the customer profile, custom attributes and subscriptions (R21, R24).

Subscriptions count from ``started_at < as_of``; an ``ended_at`` at or after ``as_of`` is
not known yet, so such a subscription is *active* as of the date. The contract of the
active subscription (the latest started, if several) gives ``contract_months`` and
``months_to_renewal``: a contract of ``m`` months renews every ``m`` months from its start.

Profile columns (region, industry, acquisition channel, first offer, loyalty tier and
points, custom attributes) are the customer table's current values: the warehouse keeps no
history of them. ``churned`` / ``churned_at`` and label-like attributes are outcomes and
never become features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.predict.features._common import DAYS_PER_MONTH, Cut, before
from churnguard.predict.features.registry import Feature, amount, category, count, measure

if TYPE_CHECKING:
    import ibis.expr.types as ir

CUSTOMER_COLUMNS = ("customer_id", "signup_at", "region", "industry", "acquisition_channel",
                    "first_offer", "plan", "contract_type", "loyalty_tier", "loyalty_points")
SUBSCRIPTION_COLUMNS = ("customer_id", "subscription_id", "started_at", "ended_at", "plan",
                        "mrr", "contract_months", "previous_subscription_id")

_CE = "contract ending"

CUSTOMER_FEATURES: tuple[Feature, ...] = (
    measure("tenure_days", "Days from signup to as_of (if the signup date is unknown, from "
            "the first subscription or order).", "days", "tenure", "derived"),
    category("region", "Region, province or country of the customer.", "profile", "customers"),
    category("industry", "Industry or segment of the customer.", "profile", "customers"),
    category("acquisition_channel", "How the customer was acquired.", "acquisition",
             "customers"),
    category("first_offer", "Offer the customer was won with (none, discount, free_trial ...).",
             "acquisition", "customers"),
    category("plan", "Plan of the active subscription as of as_of, else the customer's plan.",
             "profile", "derived"),
    category("contract_type", "Contract of the active subscription as of as_of "
             "(month-to-month, annual, two-year, or N-month), else the customer's contract "
             "type.", _CE, "derived"),
    category("loyalty_tier", "Loyalty programme tier (current value).", "loyalty", "customers"),
    measure("loyalty_points", "Loyalty points balance (current value).", "points", "loyalty",
            "customers"),
)

SUBSCRIPTION_FEATURES: tuple[Feature, ...] = (
    count("active_subscriptions", "Subscriptions started before as_of and not ended before it.",
          "subscriptions", _CE, "subscriptions"),
    amount("mrr", "Monthly recurring revenue of the active subscriptions as of as_of.",
           "currency per month", "price", "subscriptions"),
    amount("mrr_change_90d", "MRR as of as_of minus MRR 90 days earlier (negative = pays "
           "less).", "currency per month", "price", "subscriptions"),
    measure("contract_months", "Commitment length of the active subscription (1 = "
            "month-to-month); unknown without one.", "months", _CE, "subscriptions"),
    measure("months_to_renewal", "Months from as_of to the next renewal date of the active "
            "subscription's contract; unknown without one.", "months", _CE, "subscriptions"),
    count("plan_changes_365d", "Subscriptions started in the 365 days before as_of that "
          "replaced one with another plan or price.", "changes", "plan change",
          "subscriptions"),
    count("downgrades_365d", "Plan changes in the 365 days before as_of to a lower MRR.",
          "changes", "plan change", "subscriptions"),
)


def subscription_features(subscriptions: ir.Table, cut: Cut) -> ir.Table:
    """Subscription features per customer, plus ``_first_started_at``, ``_active_plan`` and
    ``_active_contract_months`` for the derived features (one pass, and one self-join for
    plan changes)."""
    s = before(subscriptions, "started_at", cut)
    ended = ibis.cases((s.ended_at < cut.as_of, s.ended_at), else_=ibis.null(s.ended_at.type()))
    t0 = cut.ago(90)
    s = s.mutate(_active=ended.isnull(),
                 _active_90=(s.started_at < t0) & (ended.isnull() | (ended >= t0)))
    a = s.group_by("customer_id").aggregate(
        _first_started_at=s.started_at.min(),
        active_subscriptions=s.count(where=s._active),
        mrr=s.mrr.sum(where=s._active),
        _mrr_90=s.mrr.sum(where=s._active_90),
        _active_contract_months=s.contract_months.argmax(s.started_at, where=s._active),
        _active_plan=s.plan.argmax(s.started_at, where=s._active),
        _active_started_at=s.started_at.max(where=s._active),
    )
    m = a._active_contract_months.cast("float64")
    elapsed = cut.days_since(a._active_started_at) / DAYS_PER_MONTH
    a = a.mutate(
        mrr_change_90d=a.mrr.fill_null(0) - a._mrr_90.fill_null(0),
        contract_months=m,
        months_to_renewal=ibis.cases((m > 0, m - (elapsed - (elapsed / m).floor() * m))),
    ).drop("_mrr_90", "_active_started_at")

    prev = s.select(_prev_id=s.subscription_id, _prev_plan=s.plan, _prev_mrr=s.mrr)
    new = s.filter(s.previous_subscription_id.notnull(), cut.within(s.started_at, 365))
    j = new.join(prev, new.previous_subscription_id == prev._prev_id)
    changed = (j.plan != j._prev_plan).fill_null(False) | (j.mrr != j._prev_mrr).fill_null(False)
    changes = j.group_by(_cid="customer_id").aggregate(
        plan_changes_365d=j.count(where=changed),
        downgrades_365d=j.count(where=(j.mrr < j._prev_mrr).fill_null(False)),
    )
    return a.left_join(changes, a.customer_id == changes._cid).drop("_cid")


def contract_type_of(months: ir.NumericValue) -> ir.StringValue:
    """Contract type named from a commitment length in months.

    1 (or less) is month-to-month, 12 annual, 24 two-year, anything else ``N-month``.
    """
    m = months.cast("int64")
    return ibis.cases(
        (m.isnull(), ibis.null("string")),
        (m <= 1, "month-to-month"),
        (m == 12, "annual"),
        (m == 24, "two-year"),
        else_=m.cast("string").concat("-month"),
    )


def attribute_value(attributes: ir.JSONValue, name: str, kind: str) -> ir.Value:
    """One custom attribute from the ``attributes`` JSON: a float, or text."""
    value = attributes[name]
    if kind == "numeric":
        return value.float
    # JSON strings unwrap with .str; numbers and booleans fall back to their JSON text
    return ibis.coalesce(value.str, value.cast("string"))
