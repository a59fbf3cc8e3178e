"""Static customer draws: profile (observable) and latent traits (ground truth).

Everything is drawn once per customer, vectorised. Observable columns end up in the
``customers`` table; latent traits (frailty, price sensitivity, "do not disturb",
BG/NBD purchase rate and dropout probability ...) drive the lifecycle and go to the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churnguard.simulate import params as P
from churnguard.simulate.timegrid import Grid


def _choice(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Categorical draws with one weight vector: int8 codes."""
    w = np.asarray(weights, np.float64)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").astype(np.int8)


def _choice_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Categorical draws with one weight vector per row: ``table[rows]``."""
    cum = np.cumsum(np.asarray(table, np.float64), axis=1)
    cum = cum / cum[:, -1:]
    u = np.asarray(rng.random(rows.shape[0]))
    return (u[:, None] >= cum[rows]).sum(axis=1).astype(np.int8)


@dataclass
class Population:
    """Per-customer arrays of shape (n,). Codes index the tuples of :mod:`params`."""

    n: int
    signup_us: np.ndarray
    signup_k: np.ndarray  # grid month index of signup
    region: np.ndarray
    industry: np.ndarray
    channel: np.ndarray
    offer: np.ndarray
    contract: np.ndarray
    contract_months: np.ndarray
    is_sub: np.ndarray
    plan: np.ndarray
    mrr: np.ndarray
    loyalty: np.ndarray
    loyalty_points: np.ndarray
    language: np.ndarray
    owner: np.ndarray
    owner_diligence: np.ndarray  # per owner, shape (n_owners,)
    owner_names: tuple[str, ...]
    name_parts: np.ndarray  # shape (n, 3) fragment codes
    employees: np.ndarray
    company_age: np.ndarray
    newsletter: np.ndarray
    # latent traits
    susceptibility: np.ndarray  # static multiplier: contract, offer, loyalty, channel, frailty
    frailty: np.ndarray
    price_sens: np.ndarray
    dnd: np.ndarray  # over-marketing sensitive ("do not disturb")
    email_rate: np.ndarray
    open_p: np.ndarray
    login_rate: np.ndarray
    visit_rate: np.ndarray
    ticket_rate: np.ndarray
    problem_prone: np.ndarray
    addon_rate: np.ndarray
    contact_rate: np.ndarray
    lam: np.ndarray  # BG/NBD purchases per month while alive (transactional)
    p_drop: np.ndarray  # BG/NBD dropout probability after each purchase (transactional)
    spend_mean: np.ndarray  # Gamma-Gamma mean order value
    base_reason: np.ndarray  # reason code of baseline (purchase-time) dropout
    unprofitable: np.ndarray


def draw_population(rng: np.random.Generator, n: int, grid: Grid, *,
                    pre_share: float = 0.3, growth: float = 0.03) -> Population:
    """Draw ``n`` customers: sign-ups spread over the window (growing) and before it."""
    m, pre = grid.months, grid.pre_months
    # --- sign-up month: a share before the window, the rest growing month by month
    before = rng.random(n) < pre_share
    w = np.exp(growth * np.arange(m))
    k_in = pre + np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right")
    k_pre = rng.integers(0, max(pre, 1), n)
    signup_k = np.where(before & (pre > 0), k_pre, np.minimum(k_in, pre + m - 1)).astype(np.int64)
    length = grid.starts[signup_k + 1] - grid.starts[signup_k]
    signup_us = grid.starts[signup_k] + (rng.random(n) * length).astype(np.int64)

    region = _choice(rng, np.array(P.REGION_WEIGHTS), n)
    group = np.asarray(P.REGION_GROUP, np.int8)[region]
    industry = _choice(rng, np.array(P.INDUSTRY_WEIGHTS), n)
    channel = _choice(rng, np.array(P.ACQ_WEIGHTS), n)
    offer = _choice_rows(rng, np.array(P.CHANNEL_OFFER), channel)
    contract = _choice(rng, np.array(P.CONTRACT_WEIGHTS), n)
    # trial / cheap offers are month-to-month (or transactional) deals
    trialish = offer >= 2
    contract = np.where(trialish & (contract == 1) | trialish & (contract == 2), 0, contract)
    contract = contract.astype(np.int8)
    cm = np.asarray(P.CONTRACT_MONTHS, np.int64)[contract]
    is_sub = contract != 3

    employees = np.maximum(1, rng.lognormal(3.2, 1.3, n)).astype(np.int64)
    size = np.clip(np.log10(employees) / 3.5, 0, 1)
    plan_w = np.array(P.PLAN_WEIGHTS)
    plan = _choice(rng, plan_w, n)
    plan = np.clip(plan + (rng.random(n) < size * 0.5), 0, 3).astype(np.int8)
    plan = np.where(offer == 4, 0, plan).astype(np.int8)  # cheap_plan starts on Basic
    plan = np.where(is_sub, plan, 4).astype(np.int8)
    seats = np.exp(rng.normal(0, 0.25, n))
    mrr = np.asarray(P.PLAN_PRICE)[plan] * seats * np.where(contract == 0, 1.0, P.ANNUAL_DISCOUNT)
    mrr = np.round(mrr, 2)

    loyalty = _choice(rng, np.array(P.LOYALTY_WEIGHTS), n)
    points = np.where(loyalty > 0, np.round(rng.gamma(2.0, 400.0, n) * loyalty), 0.0)
    lang = _choice_rows(rng, np.array(P.REGION_LANGUAGE), region)

    n_owner = np.array([len(g) for g in P.OWNERS])
    owner_names = tuple(name for g in P.OWNERS for name in g)
    owner_off = np.concatenate([[0], np.cumsum(n_owner)[:-1]])
    owner = (owner_off[group] + (rng.random(n) * n_owner[group]).astype(np.int64)).astype(np.int16)
    diligence = rng.beta(4.0, 1.6, len(owner_names))

    parts = np.stack([rng.integers(0, len(P.NAME_PARTS[0][j]), n) for j in range(3)], axis=1)

    # --- latent traits
    frailty = np.exp(rng.normal(0, 0.35, n))
    suscept = (np.asarray(P.CONTRACT_HAZARD)[contract] * np.asarray(P.OFFER_HAZARD)[offer]
               * np.asarray(P.LOYALTY_HAZARD)[loyalty] * np.asarray(P.ACQ_HAZARD)[channel]
               * frailty)
    price_sens = (np.exp(rng.normal(0, 0.45, n)) * np.asarray(P.OFFER_PRICE_SENS)[offer]
                  * np.where(channel == 5, 1.3, 1.0) / (1.0 + 0.15 * loyalty))
    dnd = rng.random(n) < 0.25
    heavy = rng.random(n) < 0.12
    email_rate = np.where(heavy, rng.uniform(3.0, 6.0, n), rng.uniform(0.1, 0.4, n))
    open_p = np.clip(rng.beta(2, 5, n) * np.where(dnd, 0.5, 1.0), 0.01, 0.95)
    login_rate = np.where(is_sub, rng.gamma(2.0, 1.0, n) * (1 + plan * 0.3), 0.0)
    visit_rate = np.where(is_sub, 0.15, rng.gamma(1.5, 0.5, n))
    ticket_rate = rng.gamma(1.2, 0.05, n) * np.where(is_sub, 1.0, 0.5)
    problem_prone = rng.gamma(1.0, 1.0, n)
    addon_rate = np.where(is_sub & (rng.random(n) < 0.4), rng.gamma(1.0, 0.12, n), 0.0)
    contact_rate = diligence[owner] * (0.05 + 0.08 * np.where(is_sub, plan, 0.5))
    lam = np.where(is_sub, 0.0, rng.gamma(0.9, 0.9, n) + 0.05)
    p_drop = np.where(
        is_sub, 0.0,
        np.clip(rng.beta(1.3, 14.0, n) * np.asarray(P.OFFER_HAZARD)[offer]
                * np.asarray(P.LOYALTY_HAZARD)[loyalty] * np.asarray(P.ACQ_HAZARD)[channel],
                0.002, 0.9))
    spend_mean = rng.gamma(3.0, 40.0, n) * (1 + 0.2 * (group == 2))
    # baseline dropout reasons of transactional customers lean on their traits
    base_w = np.stack([
        np.zeros(n), np.full(n, 0.1), np.full(n, 0.2), np.zeros(n), np.full(n, 0.15),
        np.full(n, 0.2), 0.25 * price_sens, np.zeros(n), np.full(n, 0.3)], axis=1)
    base_cum = np.cumsum(base_w, axis=1)
    base_reason = (rng.random(n)[:, None] * base_cum[:, -1:] >= base_cum).sum(axis=1)
    unprofitable = is_sub & (plan == 0) & (ticket_rate > 0.08) & (rng.random(n) < 0.5)

    return Population(
        n=n, signup_us=signup_us, signup_k=signup_k, region=region, industry=industry,
        channel=channel, offer=offer, contract=contract, contract_months=cm, is_sub=is_sub,
        plan=plan, mrr=mrr, loyalty=loyalty, loyalty_points=points, language=lang, owner=owner,
        owner_diligence=diligence, owner_names=owner_names, name_parts=parts,
        employees=employees, company_age=np.round(rng.gamma(2.0, 6.0, n), 1),
        newsletter=rng.random(n) < 0.6, susceptibility=suscept, frailty=frailty,
        price_sens=price_sens, dnd=dnd, email_rate=email_rate, open_p=open_p,
        login_rate=login_rate, visit_rate=visit_rate, ticket_rate=ticket_rate,
        problem_prone=problem_prone, addon_rate=addon_rate, contact_rate=contact_rate,
        lam=lam, p_drop=p_drop, spend_mean=spend_mean, base_reason=base_reason.astype(np.int8),
        unprofitable=unprofitable,
    )
