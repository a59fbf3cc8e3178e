"""Service features: support tickets and complaints (R19), NPS and CSAT, from ``tickets``
and ``feedback``.

A ticket counts from the moment it is opened (``opened_at < as_of``); it is *unresolved as
of* the date when ``resolved_at`` is null or not before ``as_of`` (a resolution that lies
in the future is not known yet). Resolution times and satisfaction use only tickets resolved
before ``as_of``, placed in windows by their ``resolved_at``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from churnguard.predict.features._common import Cut, before, days_between, trend
from churnguard.predict.features.registry import TREND_DOC, Feature, count, measure

if TYPE_CHECKING:
    import ibis.expr.types as ir

TICKET_COLUMNS = ("customer_id", "opened_at", "resolved_at", "is_complaint", "satisfaction")
FEEDBACK_COLUMNS = ("customer_id", "feedback_id", "at", "source", "score")
SCORE_SOURCES = ("nps", "csat")

_C = "complaints"

TICKET_FEATURES: tuple[Feature, ...] = (
    count("tickets_90d", "Support tickets opened in the 90 days before as_of.", "tickets", _C,
          "tickets"),
    count("tickets_prev_90d", "Support tickets opened 180 to 90 days before as_of.", "tickets",
          _C, "tickets"),
    Feature("tickets_trend_90d", "Change in tickets opened, last 90 days vs the 90 before: "
            + TREND_DOC + ".", "ratio", "float64", _C, "tickets", fill=0.0),
    count("complaints_30d", "Complaints opened in the 30 days before as_of.", "complaints", _C,
          "tickets"),
    count("complaints_prev_30d", "Complaints opened 60 to 30 days before as_of.", "complaints",
          _C, "tickets"),
    Feature("complaints_trend_30d", "Change in complaints, last 30 days vs the 30 before: "
            + TREND_DOC + ".", "ratio", "float64", _C, "tickets", fill=0.0),
    count("complaints_90d", "Complaints opened in the 90 days before as_of.", "complaints", _C,
          "tickets"),
    count("complaints_365d", "Complaints opened in the 365 days before as_of.", "complaints", _C,
          "tickets"),
    count("unresolved_tickets", "Tickets opened before as_of and not resolved before it.",
          "tickets", _C, "tickets"),
    count("unresolved_complaints", "Complaints opened before as_of and not resolved before it.",
          "complaints", _C, "tickets"),
    measure("days_oldest_unresolved_ticket", "Days the oldest unresolved ticket has been open "
            "at as_of (unknown if none).", "days", _C, "tickets"),
    measure("resolution_days_mean_365d", "Mean days from opening to resolution of the tickets "
            "resolved in the 365 days before as_of.", "days", _C, "tickets"),
    measure("resolution_days_mean_90d", "Mean days to resolution of the tickets resolved in the "
            "90 days before as_of.", "days", _C, "tickets"),
    measure("resolution_days_change_90d", "Mean resolution days of the last 90 days minus that "
            "of the 90 before (positive = slower; unknown unless both have tickets).", "days",
            _C, "tickets"),
    measure("ticket_satisfaction_mean_365d", "Mean satisfaction the customer gave tickets "
            "resolved in the 365 days before as_of (on the help desk's scale).", "score", _C,
            "tickets"),
)


def ticket_features(tickets: ir.Table, cut: Cut) -> ir.Table:
    """Ticket and complaint features per customer (one pass)."""
    t = before(tickets, "opened_at", cut)
    resolved = t.resolved_at.notnull() & (t.resolved_at < cut.as_of)
    t = t.mutate(
        _complaint=t.is_complaint.fill_null(False),
        _resolved=resolved,
        _res_days=ibis.cases((resolved, days_between(t.opened_at, t.resolved_at))),
    )
    op, res = t.opened_at, t.resolved_at
    c = t._complaint
    a = t.group_by("customer_id").aggregate(
        tickets_90d=t.count(where=cut.within(op, 90)),
        tickets_prev_90d=t.count(where=cut.within(op, 90, skip=90)),
        complaints_30d=t.count(where=c & cut.within(op, 30)),
        complaints_prev_30d=t.count(where=c & cut.within(op, 30, skip=30)),
        complaints_90d=t.count(where=c & cut.within(op, 90)),
        complaints_365d=t.count(where=c & cut.within(op, 365)),
        unresolved_tickets=t.count(where=~t._resolved),
        unresolved_complaints=t.count(where=c & ~t._resolved),
        _oldest_open_at=op.min(where=~t._resolved),
        resolution_days_mean_365d=t._res_days.mean(where=t._resolved & cut.within(res, 365)),
        resolution_days_mean_90d=t._res_days.mean(where=t._resolved & cut.within(res, 90)),
        _res_prev=t._res_days.mean(where=t._resolved & cut.within(res, 90, skip=90)),
        ticket_satisfaction_mean_365d=t.satisfaction.cast("float64").mean(
            where=t._resolved & cut.within(res, 365)),
    )
    return a.mutate(
        tickets_trend_90d=trend(a.tickets_90d, a.tickets_prev_90d),
        complaints_trend_30d=trend(a.complaints_30d, a.complaints_prev_30d),
        days_oldest_unresolved_ticket=cut.days_since(a._oldest_open_at),
        resolution_days_change_90d=a.resolution_days_mean_90d - a._res_prev,
    ).drop("_oldest_open_at", "_res_prev")


FEEDBACK_FEATURES: tuple[Feature, ...] = tuple(
    f
    for src, scale in (("nps", "0-10"), ("csat", "1-5"))
    for f in (
        measure(f"{src}_last", f"The customer's latest {src.upper()} score before as_of "
                f"({scale}; unknown if never answered).", "score", "satisfaction", "feedback"),
        measure(f"{src}_change", f"Latest {src.upper()} score minus the one before it "
                "(unknown with fewer than two answers).", "score", "satisfaction", "feedback"),
    )
)


def feedback_features(feedback: ir.Table, cut: Cut) -> ir.Table:
    """Latest NPS / CSAT score and its change per customer (one pass with a window)."""
    f = before(feedback, "at", cut)
    f = f.filter(f.source.isin(SCORE_SOURCES), f.score.notnull())
    f = f.mutate(_rank=ibis.row_number().over(
        group_by=["customer_id", "source"],
        order_by=[ibis.desc("at"), ibis.desc("feedback_id")],
    ))
    aggs: dict[str, ir.Value] = {}
    for src in SCORE_SOURCES:
        mine = f.source == src
        aggs[f"{src}_last"] = f.score.cast("float64").max(where=mine & (f._rank == 0))
        aggs[f"_{src}_prev"] = f.score.cast("float64").max(where=mine & (f._rank == 1))
    a = f.group_by("customer_id").aggregate(**aggs)
    a = a.mutate(**{f"{src}_change": a[f"{src}_last"] - a[f"_{src}_prev"]
                    for src in SCORE_SOURCES})
    return a.drop(*(f"_{src}_prev" for src in SCORE_SOURCES))
