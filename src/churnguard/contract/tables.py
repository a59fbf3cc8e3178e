"""The contract tables: one definition per table, the single source of truth.

``docs/data-contract.md`` is generated from these definitions
(``python -m churnguard.contract.docs``); a test fails if the file drifts.
"""

from __future__ import annotations

from churnguard.contract.reasons import MAIN_REASONS, SUB_REASONS
from churnguard.contract.schema import Column, Rule, TableContract

CONTRACT_TYPES = ("month-to-month", "annual", "two-year", "none")
CONTRACT_SYNONYMS = {
    "monthly": "month-to-month",
    "month to month": "month-to-month",
    "one year": "annual",
    "one-year": "annual",
    "1 year": "annual",
    "yearly": "annual",
    "12 months": "annual",
    "two year": "two-year",
    "2 year": "two-year",
    "24 months": "two-year",
}
CHANNELS = ("email", "login", "visit", "event", "call", "chat", "social", "sms", "web", "app",
            "meeting")
FEEDBACK_SOURCES = ("exit_survey", "nps", "csat", "interview", "cancel_prompt", "review", "other")


def _customer_id(doc: str = "The customer this row belongs to.") -> Column:
    return Column("customer_id", "string", required=True, references="customers", doc=doc)


CUSTOMERS = TableContract(
    name="customers",
    time_column="signup_at",
    key="customer_id",
    doc=(
        "One row per customer. Columns outside this list are kept as custom attributes "
        "(numeric or categorical) in the `attributes` JSON column. A snapshot export with no "
        "event history may carry the known outcome in `churned` (and `churned_at`)."
    ),
    attributes_column="attributes",
    columns=(
        Column("customer_id", "string", required=True, doc="Your customer identifier."),
        Column("signup_at", "timestamp", doc="When the customer was acquired."),
        Column("name", "string", doc="Display name."),
        Column("region", "string", doc="Region, province or country."),
        Column("industry", "string", doc="Industry or customer segment."),
        Column("acquisition_channel", "string", doc="How the customer was acquired."),
        Column("first_offer", "string",
               doc="Offer at acquisition, e.g. none, discount, free_trial, free_month."),
        Column("owner", "string", doc="Responsible sales / customer-success person."),
        Column("plan", "string", doc="Current plan or tier of service."),
        Column("contract_type", "string", allowed=CONTRACT_TYPES, synonyms=CONTRACT_SYNONYMS,
               doc="month-to-month, annual, two-year or none (non-contractual)."),
        Column("loyalty_tier", "string", doc="Loyalty programme tier, if any."),
        Column("loyalty_points", "float", min_value=0, finite=True,
               doc="Loyalty points balance, if any."),
        Column("churned", "bool",
               doc="Known outcome for snapshot exports: churned yes/no, 1/0, true/false."),
        Column("churned_at", "timestamp", doc="When a known-churned customer left."),
    ),
    rules=(
        Rule(
            "churned_at_needs_churned",
            ("churned_at", "churned"),
            "churned_at is set but churned is false",
            lambda t: t.churned_at.notnull() & (t.churned == False),  # noqa: E712
        ),
        Rule(
            "churned_before_signup",
            ("churned_at", "signup_at"),
            "churned_at is before signup_at",
            lambda t: t.churned_at < t.signup_at,
        ),
    ),
)

ORDERS = TableContract(
    name="orders",
    time_column="ordered_at",
    key="order_id",
    doc="One row per order (transaction). Refunds may carry a negative amount.",
    columns=(
        Column("order_id", "string", required=True, doc="Order identifier."),
        _customer_id(),
        Column("ordered_at", "timestamp", required=True, doc="When the order was placed."),
        Column("amount", "float", required=True, finite=True,
               doc="Order value in the workspace currency (negative for refunds)."),
        Column("currency", "string", doc="ISO 4217 code, if orders mix currencies."),
        Column("quantity", "int", min_value=0, doc="Number of items."),
        Column("product", "string", doc="Product or main product of the order."),
        Column("promotion", "string", doc="Promotion or coupon used, if any."),
        Column("channel", "string", doc="Sales channel (store, web, app, partner ...)."),
    ),
)

SUBSCRIPTIONS = TableContract(
    name="subscriptions",
    time_column="started_at",
    key="subscription_id",
    doc=(
        "One row per subscription period or contract. A plan change ends one subscription "
        "and starts the next on the same day (link it with previous_subscription_id). "
        "ended_at is null while the subscription is active."
    ),
    columns=(
        Column("subscription_id", "string", required=True, doc="Subscription identifier."),
        _customer_id(),
        Column("started_at", "timestamp", required=True, doc="Start of the subscription."),
        Column("ended_at", "timestamp", doc="End (cancellation or expiry); null = active."),
        Column("plan", "string", doc="Plan name."),
        Column("mrr", "float", min_value=0, finite=True,
               doc="Monthly recurring revenue of this subscription."),
        Column("contract_months", "int", min_value=0, max_value=120,
               doc="Commitment length in months: 1 = month-to-month, 12 = annual."),
        Column("previous_subscription_id", "string",
               doc="The subscription this one replaced (renewal or plan change)."),
        Column("cancel_reason", "string", doc="Structured reason chosen at cancellation."),
        Column("cancel_text", "string", doc="Free text given at cancellation."),
    ),
    rules=(
        Rule(
            "ended_before_started",
            ("ended_at", "started_at"),
            "ended_at is before started_at",
            lambda t: t.ended_at < t.started_at,
        ),
    ),
)

INTERACTIONS = TableContract(
    name="interactions",
    time_column="at",
    key="interaction_id",
    doc=(
        "Contacts and engagement across channels: e-mail opens, logins, visits, events, "
        "calls. `kind` says what happened (e.g. email_open, quote_request, info_request, "
        "follow_up); `direction` says who started it."
    ),
    columns=(
        Column("interaction_id", "string", required=True, doc="Interaction identifier."),
        _customer_id(),
        Column("at", "timestamp", required=True, doc="When it happened."),
        Column("channel", "string", required=True, allowed=CHANNELS,
               synonyms={"e-mail": "email", "phone": "call", "wechat": "chat",
                         "visit_store": "visit"},
               doc="One of: " + ", ".join(CHANNELS) + "."),
        Column("kind", "string", doc="What happened, e.g. email_open, quote_request."),
        Column("direction", "string", allowed=("inbound", "outbound"),
               synonyms={"in": "inbound", "out": "outbound"},
               doc="inbound (customer to us) or outbound (us to customer)."),
        Column("staff", "string", doc="Who handled it on our side, if anyone."),
    ),
)

TICKETS = TableContract(
    name="tickets",
    time_column="opened_at",
    key="ticket_id",
    doc="Support tickets and complaints.",
    columns=(
        Column("ticket_id", "string", required=True, doc="Ticket identifier."),
        _customer_id(),
        Column("opened_at", "timestamp", required=True, doc="When the ticket was opened."),
        Column("resolved_at", "timestamp", doc="When it was resolved; null = still open."),
        Column("category", "string", doc="Ticket category."),
        Column("is_complaint", "bool", doc="The ticket is a complaint."),
        Column("priority", "string", doc="Priority as your help desk names it."),
        Column("satisfaction", "float", min_value=0, max_value=10, finite=True,
               doc="Customer satisfaction with the resolution (0-10 or 1-5 scale)."),
    ),
    rules=(
        Rule(
            "resolved_before_opened",
            ("resolved_at", "opened_at"),
            "resolved_at is before opened_at",
            lambda t: t.resolved_at < t.opened_at,
        ),
    ),
)

FEEDBACK = TableContract(
    name="feedback",
    time_column="at",
    key="feedback_id",
    doc=(
        "Surveys, NPS / CSAT answers, exit interviews and cancellation prompts, with text in "
        "any language. `reason` / `sub_reason` are optional labels from the reason taxonomy: "
        + "; ".join(f"{k} ({v})" for k, v in MAIN_REASONS.items()) + "."
    ),
    columns=(
        Column("feedback_id", "string", required=True, doc="Feedback identifier."),
        _customer_id(),
        Column("at", "timestamp", required=True, doc="When it was given."),
        Column("source", "string", required=True, allowed=FEEDBACK_SOURCES,
               doc="One of: " + ", ".join(FEEDBACK_SOURCES) + "."),
        Column("score", "float", min_value=-10, max_value=10, finite=True,
               doc="Score (NPS 0-10, CSAT 1-5) if any."),
        Column("text", "string", doc="Free text, any language."),
        Column("language", "string", doc="Language code of the text: en, zh, zh-Hant, fa ..."),
        Column("reason", "string", allowed=tuple(MAIN_REASONS),
               doc="Main churn reason, if labelled."),
        Column("sub_reason", "string", allowed=tuple(SUB_REASONS),
               doc="Sub-reason, if labelled."),
    ),
)

CAMPAIGNS = TableContract(
    name="campaigns",
    time_column="started_at",
    key="campaign_id",
    doc="Retention or win-back campaigns.",
    columns=(
        Column("campaign_id", "string", required=True, doc="Campaign identifier."),
        Column("name", "string", doc="Campaign name."),
        Column("started_at", "timestamp", doc="Start of the campaign."),
        Column("ended_at", "timestamp", doc="End of the campaign."),
        Column("offer", "string", doc="Main offer of the campaign."),
        Column("goal", "string", allowed=("retention", "winback", "upsell", "other"),
               doc="retention, winback, upsell or other."),
    ),
    rules=(
        Rule(
            "ended_before_started",
            ("ended_at", "started_at"),
            "ended_at is before started_at",
            lambda t: t.ended_at < t.started_at,
        ),
    ),
)

ASSIGNMENTS = TableContract(
    name="assignments",
    time_column="assigned_at",
    key="assignment_id",
    doc=(
        "Who was put in which arm of which campaign. A control arm that received nothing is "
        "what lets churnguard prove what worked."
    ),
    columns=(
        Column("assignment_id", "string", required=True, doc="Assignment identifier."),
        _customer_id(),
        Column("campaign_id", "string", required=True, doc="The campaign."),
        Column("assigned_at", "timestamp", required=True, doc="When the customer was assigned."),
        Column("arm", "string", required=True, allowed=("treatment", "control"),
               synonyms={"test": "treatment", "holdout": "control"},
               doc="treatment or control."),
        Column("offer", "string", doc="Offer made (treatment arm)."),
        Column("cost", "float", min_value=0, finite=True,
               doc="Cost of the offer to us for this customer."),
        Column("accepted", "bool", doc="The customer accepted the offer."),
        Column("outcome", "string", allowed=("retained", "churned", "reactivated", "unknown"),
               doc="retained, churned, reactivated or unknown."),
        Column("outcome_at", "timestamp", doc="When the outcome was observed."),
    ),
)

TABLES: dict[str, TableContract] = {
    t.name: t
    for t in (CUSTOMERS, ORDERS, SUBSCRIPTIONS, INTERACTIONS, TICKETS, FEEDBACK, CAMPAIGNS,
              ASSIGNMENTS)
}
