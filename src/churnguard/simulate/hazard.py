"""The monthly hazard model: nine components, one per sub-reason of the taxonomy.

Each component is a monthly probability driven by what the data shows (complaints and slow
resolutions, falling engagement, marketing volume, unanswered requests, competitor offers,
price increases, relocation, a need that ends). A customer survives a month with
probability ``prod(1 - c_k)``; a churner's true reason is drawn in proportion to the
components (competing risks), so it is the driver that dominated their hazard.

Contract timing: annual and two-year customers leave mostly at renewal. Between renewals
only a small share of the hazard applies (relocation can break a contract); at renewal the
hazard accumulated over the term applies at once.

>>> import numpy as np
>>> total(np.array([[0.1, 0.0], [0.5, 0.5]])).round(3).tolist()
[0.1, 0.75]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from churnguard.simulate import params as P

if TYPE_CHECKING:
    from churnguard.simulate.customers import Population
    from churnguard.simulate.lifecycle import State

H = P.HAZARD
#: share of each component that applies between renewals of annual / two-year contracts
OFF_RENEWAL = np.array([0.0] + [H["annual_off_renewal"]] * 6 + [0.6, H["annual_off_renewal"]])
_EARLY = np.asarray(P.OFFER_HAZARD_EARLY) / np.asarray(P.OFFER_HAZARD)


def susceptibility(pop: Population, idx: np.ndarray, k: int) -> np.ndarray:
    """Static susceptibility times the tenure effect (new customers churn more) and the
    first-offer effect in the first three months."""
    tenure = k - pop.signup_k[idx]
    early = np.where(tenure <= 3, _EARLY[pop.offer[idx]], 1.0)
    return pop.susceptibility[idx] * (1.0 + 0.8 * np.exp(-tenure / 4.0)) * early


def components(pop: Population, st: State, idx: np.ndarray, k: int) -> np.ndarray:
    """Monthly hazard components of customers ``idx`` at grid month ``k``: shape (n, 9)."""
    s = susceptibility(pop, idx, k) * st.boost[idx]
    ps = pop.price_sens[idx]
    # customers who use the product less find it worth less (price, rivals, neglect)
    value_gap = np.exp(-H["value_engagement"] * st.e[idx])
    c = np.empty((idx.shape[0], P.N_REASONS))
    c[:, 0] = H["unprofitable"] * pop.unprofitable[idx]
    c[:, 1] = s * H["poor_service_per_complaint"] * st.comp[idx]
    c[:, 2] = s * H["product_gap_base"] * np.exp(-H["product_gap_engagement"] * st.e[idx])
    c[:, 3] = pop.dnd[idx] * H["over_marketing_per_email"] * np.maximum(st.emails_prev[idx] - 2, 0)
    neglect = 1 + np.minimum(st.since_contact[idx], 12) / 6
    c[:, 4] = s * value_gap * (H["no_personalisation_base"] * neglect
                               + H["no_personalisation_unfollowed"] * (st.unfollowed[idx] > 0))
    c[:, 5] = s * value_gap * np.sqrt(ps) * (H["competitor_base"]
                                 + H["competitor_offer"] * (st.competitor_left[idx] > 0))
    c[:, 6] = s * value_gap * ps * (H["price_base"] + H["price_increase"] * (st.price_age[idx] < 3))
    c[:, 7] = H["relocation"] * st.relocating[idx]
    c[:, 8] = H["no_longer_needed_base"] + H["no_longer_needed_step"] * np.minimum(
        st.need_age[idx], 4)
    return np.clip(c, 0.0, 0.95, out=c)


def renewal_due(pop: Population, st: State, idx: np.ndarray, k: int) -> np.ndarray:
    """Annual / two-year customers whose term ends in grid month ``k``."""
    cm = pop.contract_months[idx]
    long = cm >= 12
    return long & ((k - st.anchor_k[idx]) % np.maximum(cm, 1) == 0) & (k > st.anchor_k[idx])


def effective(c: np.ndarray, pop: Population, idx: np.ndarray, renewal: np.ndarray) -> np.ndarray:
    """Components after contract timing (and scaled for transactional customers)."""
    out = c.copy()
    cm = pop.contract_months[idx]
    off = (cm >= 12) & ~renewal
    out[off] *= OFF_RENEWAL
    if renewal.any():
        out[renewal] = 1.0 - (1.0 - c[renewal]) ** (cm[renewal, None] * H["renewal_exponent"])
    trans = ~pop.is_sub[idx]
    out[trans] *= H["transactional_driver_scale"]
    return out


def total(c: np.ndarray) -> np.ndarray:
    """Total monthly hazard from components: ``1 - prod(1 - c_k)``."""
    return 1.0 - np.prod(1.0 - c, axis=1)


def baseline_dropout(pop: Population, st: State, idx: np.ndarray) -> np.ndarray:
    """Monthly BG/NBD dropout probability of transactional customers at their current
    engagement: ``1 - E[(1 - p)^N]`` with ``N ~ Poisson(lambda e^engagement)``."""
    lam = pop.lam[idx] * np.exp(st.e[idx])
    return np.where(pop.is_sub[idx], 0.0, 1.0 - np.exp(-lam * pop.p_drop[idx]))


def draw_reason(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw proportional to ``weights`` (n, m) -> column index."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def base_hazard(pop: Population) -> np.ndarray:
    """Monthly hazard of each customer with no driver active (engagement at its mean, no
    complaints, no events, long tenure, month-to-month timing)."""
    s = pop.susceptibility
    ps = pop.price_sens
    c = np.stack([
        H["unprofitable"] * pop.unprofitable, np.zeros(pop.n), s * H["product_gap_base"],
        np.zeros(pop.n), s * H["no_personalisation_base"], s * np.sqrt(ps) * H["competitor_base"],
        s * ps * H["price_base"], np.zeros(pop.n), np.full(pop.n, H["no_longer_needed_base"]),
    ], axis=1)
    h = total(np.clip(c, 0, 0.95))
    trans = ~pop.is_sub
    h[trans] = 1 - (1 - h[trans] * H["transactional_driver_scale"]) * np.exp(
        -pop.lam[trans] * pop.p_drop[trans])
    return h
