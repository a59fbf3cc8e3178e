"""Historical retention and win-back campaigns with randomised control groups.

Each campaign picks a target group (retention: at-risk active customers, sampled with a
probability rising with their hazard; win-back: customers lost in the last six months)
and randomises it into treatment and control. The treatment changes the hazard
components for three months, heterogeneously:

- discounts and free months cut the *price* component (price-sensitive month-to-month
  customers gain most) and part of the *competitor* one; nothing changes for relocation;
- a personal call cuts *poor service* and *no personalisation*;
- every contact raises the *over-marketing* component, and for "do not disturb" customers
  adds a fixed extra hazard: for them the effect is negative (they churn more).

Win-back offers raise the monthly reactivation probability by reason (price churners come
back for a discount, relocated ones never; over-marketed ones are pushed further away).

The true effect of each assignment is the change in the probability that the customer is
lost 90 days later: ``P(lost | treated) - P(lost | control)`` at the hazards of the
assignment month (negative = the campaign helps). :func:`offer_effects_at_end` gives the
same quantity for every retention offer and every customer active at the end of the
window (what a targeting plan made on the last day would achieve); it draws no random
numbers, so the simulation's outputs do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from churnguard.simulate import hazard
from churnguard.simulate.timegrid import DAY_US

if TYPE_CHECKING:
    from churnguard.simulate.customers import Population
    from churnguard.simulate.events import Logs
    from churnguard.simulate.lifecycle import State

RETENTION_OFFERS = ("discount_20pct", "personal_call", "free_month", "loyalty_bonus")
WINBACK_OFFERS = ("winback_30pct", "come_back_free_month")
OFFERS = RETENTION_OFFERS + WINBACK_OFFERS
#: multipliers of the nine hazard components under each retention offer
OFFER_EFFECT = np.array([
    # unprof poor  gap   overm nopers compet price reloc nolong
    [1.0, 0.9, 1.0, 1.5, 0.8, 0.6, 0.25, 1.0, 1.0],   # discount_20pct
    [1.0, 0.5, 0.8, 2.0, 0.2, 0.8, 0.9, 1.0, 0.9],    # personal_call
    [1.0, 0.85, 0.9, 1.5, 0.8, 0.7, 0.4, 1.0, 1.0],   # free_month
    [1.0, 0.9, 1.0, 1.5, 0.7, 0.75, 0.6, 1.0, 1.0],   # loyalty_bonus
])
DND_EXTRA = 0.02  # extra monthly over-marketing hazard of a contacted "do not disturb" customer
EFFECT_MONTHS = 3
#: monthly reactivation probability of a lost customer by reason, and win-back uplift
REACTIVATION = np.array([0.0, 0.003, 0.003, 0.004, 0.005, 0.005, 0.008, 0.0005, 0.001])
WINBACK_UPLIFT = np.array([0.0, 0.02, 0.015, 0.0, 0.04, 0.05, 0.09, 0.0, 0.003])
WINBACK_OVER_MARKETING = 0.2  # over-marketed churners: reactivation falls to 20 % of base


@dataclass(frozen=True)
class Campaign:
    """One campaign of the schedule (``t`` = window month of assignment)."""

    t: int
    goal: str
    offer: int  # index into OFFERS
    treat_share: float
    name: str


def schedule(months: int) -> list[Campaign]:
    """Retention campaigns every six months from month 5, win-back every year from 14."""
    out = []
    for j, t in enumerate(range(5, months, 6)):
        offer = j % len(RETENTION_OFFERS)
        out.append(Campaign(t, "retention", offer, 0.5 if j % 2 == 0 else 0.7,
                            f"Retention {j + 1}: {RETENTION_OFFERS[offer].replace('_', ' ')}"))
    for j, t in enumerate(range(14, months, 12)):
        offer = len(RETENTION_OFFERS) + j % len(WINBACK_OFFERS)
        out.append(Campaign(t, "winback", offer, 0.5,
                            f"Win-back {j + 1}: {OFFERS[offer].replace('_', ' ')}"))
    return sorted(out, key=lambda c: (c.t, c.goal))


def treat(c: np.ndarray, offer: np.ndarray, dnd: np.ndarray) -> np.ndarray:
    """Hazard components under treatment ``offer`` (retention offers only)."""
    out = c * OFFER_EFFECT[offer]
    out[:, 3] += DND_EXTRA * dnd
    return np.clip(out, 0.0, 0.95)


def _lost_3m(pop: Population, st: State, idx: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """P(churn within the next three months) at constant components ``c``."""
    surv = np.ones(idx.shape[0])
    base = hazard.baseline_dropout(pop, st, idx)
    for j in range(EFFECT_MONTHS):
        ren = hazard.renewal_due(pop, st, idx, k + j)
        h = hazard.total(hazard.effective(c, pop, idx, ren))
        surv *= (1 - h) * (1 - base)
    return 1 - surv


def acceptance_prob(name: str, price_sens: np.ndarray) -> np.ndarray:
    """P(a treated customer accepts retention offer ``name``) (the offer's cost is paid
    only then; the contact itself changes the hazard either way)."""
    if name in ("discount_20pct", "free_month"):
        return np.clip(0.2 + 0.25 * price_sens, 0, 0.9)
    return np.full(price_sens.shape[0], 0.75 if name == "personal_call" else 0.5)


def offer_effects_at_end(pop: Population, st: State, k: int) -> dict[str, np.ndarray]:
    """True effect of each retention offer on each customer alive after the last month.

    ``k`` is the grid month after the window. Returns flat arrays over (customer, offer)
    pairs: ``cust``, ``offer`` (index into :data:`RETENTION_OFFERS`), ``p_ctrl`` /
    ``p_trt`` (P(lost within 90 days) without / with the offer, at the hazards of month
    ``k``, as for an assignment), ``p_accept`` and ``value`` (monthly revenue: MRR or
    purchase rate x mean spend). Customers already winding down to leave are lost either
    way (both probabilities 1).
    """
    idx = np.flatnonzero(st.alive)
    c = hazard.components(pop, st, idx, k)
    p_ctrl = _lost_3m(pop, st, idx, c, k)
    leaving = st.leaving[idx] > 0
    p_ctrl[leaving] = 1.0
    value = np.where(pop.is_sub[idx], st.mrr_full[idx], pop.lam[idx] * pop.spend_mean[idx])
    parts: dict[str, list[np.ndarray]] = {k_: [] for k_ in ("cust", "offer", "p_ctrl", "p_trt",
                                                           "p_accept", "value")}
    for j, name in enumerate(RETENTION_OFFERS):
        offer = np.full(idx.shape[0], j)
        p_trt = _lost_3m(pop, st, idx, treat(c, offer, pop.dnd[idx]), k)
        p_trt[leaving] = 1.0
        for key, arr in (("cust", idx), ("offer", offer), ("p_ctrl", p_ctrl), ("p_trt", p_trt),
                         ("p_accept", acceptance_prob(name, pop.price_sens[idx])),
                         ("value", value)):
            parts[key].append(arr)
    out = {key: np.concatenate(v) for key, v in parts.items()}
    order = np.lexsort((out["offer"], out["cust"]))
    return {key: v[order] for key, v in out.items()}


def assign_retention(rng: np.random.Generator, camp: Campaign, cid: int, pop: Population,
                     st: State, idx: np.ndarray, c: np.ndarray, k: int, month_start: int,
                     logs: Logs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target, randomise and record a retention campaign among at-risk customers ``idx``.

    Returns positions (into ``idx``) of the assigned, their arm (True = treatment) and
    assignment times.
    """
    h0 = hazard.total(hazard.effective(c, pop, idx, hazard.renewal_due(pop, st, idx, k)))
    tenure = k - pop.signup_k[idx]
    p_target = np.clip(0.04 + 1.5 * h0, 0, 0.4) * (tenure >= 2) * (st.treat_left[idx] == 0)
    p_target *= st.leaving[idx] == 0  # those already on their way out are not reachable
    pos = np.flatnonzero(rng.random(idx.shape[0]) < p_target)
    who = idx[pos]
    arm = rng.random(pos.shape[0]) < camp.treat_share
    at = month_start + (rng.random(pos.shape[0]) * 5 * DAY_US).astype(np.int64)
    offer = np.full(pos.shape[0], camp.offer)
    p_ctrl = _lost_3m(pop, st, who, c[pos], k)
    p_trt = _lost_3m(pop, st, who, treat(c[pos], offer, pop.dnd[who]), k)
    value = np.where(pop.is_sub[who], st.mrr_full[who], pop.lam[who] * pop.spend_mean[who])
    name = RETENTION_OFFERS[camp.offer]
    p_acc = acceptance_prob(name, pop.price_sens[who])
    accepted = arm & (rng.random(pos.shape[0]) < p_acc)
    full = {"discount_20pct": 0.6 * value, "free_month": value,
            "loyalty_bonus": 5 + 0.1 * value, "personal_call": np.full(pos.shape[0], 30.0)}[name]
    contact = 30.0 if name == "personal_call" else 0.5
    cost = np.where(arm, np.where(accepted, full, contact), 0.0)
    logs.assignments.add(cust=who.astype(np.int32), campaign=np.full(pos.shape[0], cid),
                         at=at, arm=arm, offer=offer, cost=np.round(cost, 2),
                         accepted=np.where(arm, accepted.astype(np.int8), -1),
                         p_ctrl=p_ctrl, p_trt=p_trt, winback=np.zeros(pos.shape[0], bool),
                         value=value)
    st.treat_offer[who[arm]] = camp.offer
    st.treat_left[who[arm]] = EFFECT_MONTHS
    return pos, arm, at


def reactivation_prob(st: State, idx: np.ndarray) -> np.ndarray:
    """Monthly reactivation probability of lost customers ``idx`` (win-back included)."""
    reason = st.last_reason[idx]
    r = REACTIVATION[reason]
    wb = st.wb_left[idx] > 0
    up = np.where(reason == 3, r * (WINBACK_OVER_MARKETING - 1), WINBACK_UPLIFT[reason])
    return np.clip(r + wb * up, 0, 0.5)


def assign_winback(rng: np.random.Generator, camp: Campaign, cid: int, pop: Population,
                   st: State, k: int, month_start: int, logs: Logs) -> np.ndarray:
    """Target, randomise and record a win-back campaign among recently lost customers."""
    lost = ~st.alive & st.ever & (k - st.last_churn_k >= 1) & (k - st.last_churn_k <= 6)
    lost &= st.last_reason != 0
    idx = np.flatnonzero(lost & (rng.random(pop.n) < 0.5))
    arm = rng.random(idx.shape[0]) < camp.treat_share
    at = month_start + (rng.random(idx.shape[0]) * 5 * DAY_US).astype(np.int64)
    r0 = REACTIVATION[st.last_reason[idx]]
    st.wb_left[idx] = EFFECT_MONTHS
    r1 = reactivation_prob(st, idx)
    st.wb_left[idx[~arm]] = 0
    lost0, lost1 = (1 - r0) ** EFFECT_MONTHS, (1 - r1) ** EFFECT_MONTHS
    value = np.where(pop.is_sub[idx], st.mrr_full[idx], pop.lam[idx] * pop.spend_mean[idx])
    cost = np.where(arm, 0.5, 0.0)  # offer cost is added when the customer comes back
    logs.assignments.add(cust=idx.astype(np.int32), campaign=np.full(idx.shape[0], cid), at=at,
                         arm=arm, offer=np.full(idx.shape[0], camp.offer),
                         cost=np.round(cost, 2), accepted=np.where(arm, 0, -1).astype(np.int8),
                         p_ctrl=lost0, p_trt=lost1, winback=np.ones(idx.shape[0], bool),
                         value=value)
    return idx
