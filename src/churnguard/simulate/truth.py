"""Ground truth of a simulated business (the analytics never read it).

Tables and columns
------------------
``customers`` (one row per customer)
    customer_id; customer_type ("subscription" or "transactional");
    true_churned: churned at least once inside the window; true_churn_at: first churn
    (for transactional customers the BG/NBD dropout instant: just after their last purchase
    or, for a driver such as relocation, a moment in the month); true_reason /
    true_sub_reason: reason of the first churn (taxonomy codes); true_churn_count;
    true_reactivated, true_reactivated_at: came back after a churn (first time);
    true_active_at_end: a customer at the end of the window;
    true_base_hazard: monthly churn probability with no driver active (engagement at its
    mean, no complaints or events, long tenure, month-to-month timing; for transactional
    customers BG/NBD dropout at the base purchase rate included);
    true_susceptibility: static multiplier of the voluntary components (contract type,
    first offer, loyalty tier, acquisition channel, frailty); true_frailty;
    true_price_sensitivity; true_do_not_disturb (over-marketing sensitive);
    true_unprofitable (the business lets them go at renewal);
    true_engagement_at_end (log-scale deviation of usage from the customer's norm);
    true_cum_hazard_<sub_reason> (nine columns): sum over the customer's months at risk of
    that component's monthly hazard after contract timing and treatment: which drivers
    pushed them and how hard;
    true_lambda: BG/NBD purchases per month while alive (transactional, else 0);
    true_p: BG/NBD dropout probability after each purchase (transactional, else 0);
    true_mean_spend: Gamma-Gamma mean order value (transactional);
    true_mrr_at_end: list MRR of the current plan (subscription);
    true_expected_purchases_12m: alive at end x (1/p)(1 - exp(-lambda p 12)) (transactional);
    true_expected_revenue_12m: expected revenue of the next 12 months given the state at the
    end (transactional: purchases x mean spend; subscription: MRR x survival at the base
    hazard), 0 for customers lost at the end.
``churn_events`` (one row per churn, customers may churn, come back and churn again)
    churn_event (index), customer_id, churn_at, true_reason, true_sub_reason,
    is_subscription, reactivated_at (next reactivation, null if none).
``assignments`` (one row per campaign assignment, same order and ids as the table)
    assignment_id, customer_id, campaign_id, goal, arm, true_p_lost_control,
    true_p_lost_treatment: probability that the customer is lost 90 days later without and
    with the treatment (retention: churns within 90 days; win-back: not reactivated within
    90 days), at the hazards of the assignment month; true_treatment_effect = treatment
    minus control (negative = the campaign helps this customer; known for both arms).
``offer_effects`` (one row per customer active at the end of the window and retention offer)
    customer_id, offer (discount_20pct, personal_call, free_month, loyalty_bonus),
    true_p_lost_control / true_p_lost_offer: probability that the customer is lost within
    90 days after the end of the window without / with the offer (at the hazards of the
    month after the window, as for an assignment; customers already winding down to leave
    are lost either way); true_offer_effect = offer minus control (negative = the offer
    helps; positive for contacted "do not disturb" customers); true_p_accept: chance a
    treated customer accepts (and the offer's cost is paid); true_monthly_value: MRR or
    purchase rate x mean spend; true_expected_revenue_12m as in ``customers``.
``feedback`` (one row per feedback row)
    feedback_id, customer_id, true_reason / true_sub_reason (of the churn episode the
    text is about, or the driver behind an NPS detractor's comment), text_pool (which
    template pool the text came from: a sub-reason, generic, positive or neutral),
    churn_event (index into churn_events, -1 for NPS / CSAT).
``owners``
    owner, true_diligence: how reliably the owner follows up requests and contacts
    customers (routes cases to the best people, R20).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from churnguard.simulate import campaigns as cmp
from churnguard.simulate import hazard
from churnguard.simulate import params as P
from churnguard.simulate.arrowutil import coded, floats, timestamps
from churnguard.simulate.events import next_after

if TYPE_CHECKING:
    from churnguard.simulate.customers import Population
    from churnguard.simulate.feedback import FeedbackResult
    from churnguard.simulate.lifecycle import State
    from churnguard.simulate.timegrid import Grid

MAIN_CODES = tuple(dict.fromkeys(P.MAIN_OF_SUB))
MAIN_OF = np.array([MAIN_CODES.index(m) for m in P.MAIN_OF_SUB])


def _first(cust: np.ndarray, values: np.ndarray, n: int, fill: int) -> np.ndarray:
    out = np.full(n, fill, values.dtype if values.size else np.int64)
    if cust.size:
        uniq, first = np.unique(cust, return_index=True)
        out[uniq] = values[first]
    return out


def build_truth(pop: Population, st: State, grid: Grid, cid: pa.Array,
                churns: dict[str, np.ndarray], reacts: dict[str, np.ndarray],
                assign: dict[str, np.ndarray], outcome: dict[str, np.ndarray],
                fb: FeedbackResult, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Assemble every truth table (see the module docstring)."""
    n = pop.n
    ch_cust = churns.get("cust", np.zeros(0, np.int32))
    ch_at = churns.get("at", np.zeros(0, np.int64))
    ch_reason = churns.get("reason", np.zeros(0, np.int8)).astype(np.int64)
    r_cust = reacts.get("cust", np.zeros(0, np.int32))
    r_at = reacts.get("at", np.zeros(0, np.int64))
    churned = np.bincount(ch_cust, minlength=n) > 0
    first_at = _first(ch_cust, ch_at, n, 0)
    first_reason = _first(ch_cust, ch_reason, n, -1)
    react_at = _first(r_cust, r_at, n, 0)
    reacted = np.bincount(r_cust, minlength=n) > 0
    base = hazard.base_hazard(pop)
    alive = st.alive
    p = np.where(pop.p_drop > 0, pop.p_drop, 1.0)
    purchases = np.where(~pop.is_sub & alive,
                         (1 / p) * (1 - np.exp(-pop.lam * pop.p_drop * 12)), 0.0)
    surv = (1 - base)[:, None] ** np.arange(1, 13)[None, :]
    revenue = np.where(pop.is_sub, alive * st.mrr_full * surv.sum(axis=1),
                       purchases * pop.spend_mean)
    cols: dict[str, pa.Array] = {
        "customer_id": cid,
        "customer_type": coded(pop.is_sub.astype(np.int8), ["transactional", "subscription"]),
        "true_churned": pa.array(churned),
        "true_churn_at": timestamps(first_at, churned),
        "true_reason": coded(np.where(first_reason >= 0, MAIN_OF[np.maximum(first_reason, 0)],
                                      -1), MAIN_CODES),
        "true_sub_reason": coded(first_reason, P.SUB_REASON_CODES),
        "true_churn_count": pa.array(np.bincount(ch_cust, minlength=n).astype(np.int64)),
        "true_reactivated": pa.array(reacted),
        "true_reactivated_at": timestamps(react_at, reacted),
        "true_active_at_end": pa.array(alive),
        "true_base_hazard": floats(base),
        "true_susceptibility": floats(pop.susceptibility),
        "true_frailty": floats(pop.frailty),
        "true_price_sensitivity": floats(pop.price_sens),
        "true_do_not_disturb": pa.array(pop.dnd),
        "true_unprofitable": pa.array(pop.unprofitable),
        "true_engagement_at_end": floats(st.e),
    }
    for j, code in enumerate(P.SUB_REASON_CODES):
        cols[f"true_cum_hazard_{code}"] = floats(st.cum[:, j])
    cols.update({
        "true_lambda": floats(pop.lam),
        "true_p": floats(pop.p_drop),
        "true_mean_spend": floats(np.where(pop.is_sub, 0.0, pop.spend_mean)),
        "true_mrr_at_end": floats(np.where(pop.is_sub, st.mrr_full, 0.0)),
        "true_expected_purchases_12m": floats(purchases),
        "true_expected_revenue_12m": floats(np.round(revenue, 2)),
    })
    nxt = next_after(ch_cust, ch_at, r_cust, r_at) if ch_cust.size else np.zeros(0, np.int64)
    churn_events = pa.table({
        "churn_event": pa.array(np.arange(ch_cust.shape[0], dtype=np.int64)),
        "customer_id": cid.take(pa.array(ch_cust)),
        "churn_at": timestamps(ch_at),
        "true_reason": coded(MAIN_OF[ch_reason] if ch_reason.size else ch_reason, MAIN_CODES),
        "true_sub_reason": coded(ch_reason, P.SUB_REASON_CODES),
        "is_subscription": pa.array(pop.is_sub[ch_cust]),
        "reactivated_at": timestamps(nxt, nxt >= 0),
    })
    a_tab = tables["assignments"]
    if a_tab.num_rows:
        assignments = pa.table({
            "assignment_id": a_tab["assignment_id"],
            "customer_id": a_tab["customer_id"],
            "campaign_id": a_tab["campaign_id"],
            "goal": coded(assign["winback"].astype(np.int8), ["retention", "winback"]),
            "arm": a_tab["arm"],
            "true_p_lost_control": floats(assign["p_ctrl"]),
            "true_p_lost_treatment": floats(assign["p_trt"]),
            "true_treatment_effect": floats(assign["p_trt"] - assign["p_ctrl"]),
        })
    else:
        assignments = pa.table({"assignment_id": pa.array([], pa.string())})
    eff = cmp.offer_effects_at_end(pop, st, grid.k(grid.months))
    offer_effects = pa.table({
        "customer_id": cid.take(pa.array(eff["cust"])),
        "offer": coded(eff["offer"], cmp.RETENTION_OFFERS),
        "true_p_lost_control": floats(eff["p_ctrl"]),
        "true_p_lost_offer": floats(eff["p_trt"]),
        "true_offer_effect": floats(eff["p_trt"] - eff["p_ctrl"]),
        "true_p_accept": floats(eff["p_accept"]),
        "true_monthly_value": floats(eff["value"]),
        "true_expected_revenue_12m": floats(np.round(revenue, 2)[eff["cust"]]),
    })
    owners = pa.table({"owner": pa.array(list(pop.owner_names)),
                       "true_diligence": floats(pop.owner_diligence)})
    return {"customers": pa.table(cols), "churn_events": churn_events,
            "assignments": assignments, "offer_effects": offer_effects,
            "feedback": fb.truth, "owners": owners}
