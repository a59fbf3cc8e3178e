"""Observable events of one month: interactions, support tickets, add-on orders, CSAT.

Counts per customer are Poisson draws whose rates follow the customer's latent state
(engagement, service problems, owner diligence); each event gets a uniform time inside the
customer's active window of the month ``[lo, hi)``. The function returns per-customer
aggregates the hazard of the next month depends on (complaint weight, unanswered
requests, owner contact, e-mails received).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from churnguard.contract.tables import CHANNELS
from churnguard.simulate import params as P
from churnguard.simulate.timegrid import DAY_US

if TYPE_CHECKING:
    from churnguard.simulate.customers import Population
    from churnguard.simulate.lifecycle import State

HOUR_US = 3_600_000_000
#: interaction kinds: (kind, channel, direction, handled by the owner)
KINDS: tuple[tuple[str, str, str, bool], ...] = (
    ("login", "login", "inbound", False),
    ("visit", "web", "inbound", False),
    ("app_session", "app", "inbound", False),
    ("email_sent", "email", "outbound", False),
    ("email_open", "email", "inbound", False),
    ("event_attended", "event", "inbound", False),
    ("check_in", "call", "outbound", True),
    ("business_review", "meeting", "outbound", True),
    ("support_chat", "chat", "inbound", False),
    ("quote_request", "web", "inbound", False),
    ("info_request", "email", "inbound", False),
    ("follow_up", "call", "outbound", True),
    ("mention", "social", "inbound", False),
)
K = {name: i for i, (name, *_) in enumerate(KINDS)}
KIND_CHANNEL = np.array([CHANNELS.index(ch) for _, ch, _, _ in KINDS], np.int8)
KIND_OWNER = np.array([own for *_, own in KINDS])
REQUEST_CHANNELS = np.array([CHANNELS.index(c) for c in ("web", "email", "call", "chat")], np.int8)


class Log:
    """Append-only columns, concatenated once at the end (no per-row Python work)."""

    def __init__(self) -> None:
        self._cols: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, **cols: np.ndarray) -> None:
        for name, values in cols.items():
            self._cols[name].append(np.asarray(values))

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self._cols.items()}


@dataclass
class Logs:
    """Every event log of a simulation."""

    orders: Log
    interactions: Log
    tickets: Log
    segments: Log
    churns: Log
    reactivations: Log
    nps: Log
    csat: Log
    assignments: Log

    @classmethod
    def new(cls) -> Logs:
        return cls(*(Log() for _ in range(9)))


def emit(rng: np.random.Generator, counts: np.ndarray, lo: np.ndarray,
         hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (repeated ``counts`` times) and uniform times in ``[lo, hi)`` for each."""
    pos = np.repeat(np.arange(counts.shape[0]), counts)
    span = (hi - lo)[pos]
    at = lo[pos] + (rng.random(pos.shape[0]) * span).astype(np.int64)
    return pos, at


@dataclass
class MonthSignals:
    """Per-customer aggregates of one month (arrays aligned with ``who``)."""

    complaint_weight: np.ndarray
    complaints: np.ndarray
    well_handled: np.ndarray
    contacted: np.ndarray
    unfollowed: np.ndarray
    emails: np.ndarray


def month_events(rng: np.random.Generator, pop: Population, st: State, who: np.ndarray,
                 lo: np.ndarray, hi: np.ndarray, limit: np.ndarray, month_us: int,
                 end_us: int, logs: Logs) -> MonthSignals:
    """Draw the interactions, tickets, add-on orders and CSAT answers of one month.

    ``who`` are the customers active in the month, ``[lo, hi)`` their active window,
    ``limit`` the time before which a follow-up of their request may still happen.
    """
    n = who.shape[0]
    frac = (hi - lo) / month_us
    eng = np.exp(st.e[who])
    sub = pop.is_sub[who]
    problem = st.problem_left[who] > 0
    owner = pop.owner[who]
    dil = pop.owner_diligence[owner]
    pois = rng.poisson
    kinds: list[np.ndarray] = []
    pos_all: list[np.ndarray] = []
    at_all: list[np.ndarray] = []
    chan_all: list[np.ndarray] = []

    def add(kind: int, pos: np.ndarray, at: np.ndarray, chan: np.ndarray | None = None) -> None:
        kinds.append(np.full(pos.shape[0], kind, np.int8))
        pos_all.append(pos)
        at_all.append(at)
        chan_all.append(np.full(pos.shape[0], KIND_CHANNEL[kind], np.int8) if chan is None
                        else chan)

    def simple(kind: int, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, at = emit(rng, pois(rate * frac), lo, hi)
        add(kind, pos, at)
        return pos, at

    simple(K["login"], pop.login_rate[who] * eng)
    app = ~sub & ((pop.industry[who] == 0) | (pop.industry[who] == 7))
    simple(K["visit"], np.where(app, 0.0, pop.visit_rate[who] * eng))
    simple(K["app_session"], np.where(app, pop.visit_rate[who] * eng, 0.0))
    # marketing e-mails and their opens (opened after being sent, while still a customer)
    sent_pos, sent_at = simple(K["email_sent"], pop.email_rate[who])
    emails = np.bincount(sent_pos, minlength=n)
    p_open = np.minimum(pop.open_p[who] * np.clip(eng, 0.2, 2.0), 0.95)
    opened = rng.random(sent_pos.shape[0]) < p_open[sent_pos]
    o_pos = sent_pos[opened]
    o_at = sent_at[opened] + (rng.exponential(8.0, o_pos.shape[0]) * HOUR_US).astype(np.int64)
    keep = o_at < hi[o_pos]
    add(K["email_open"], o_pos[keep], o_at[keep])
    simple(K["event_attended"], 0.02 * eng)
    calls, _ = simple(K["check_in"], pop.contact_rate[who])
    meets, _ = simple(K["business_review"], np.where(pop.plan[who] >= 2, 0.08 * dil, 0.0))
    simple(K["support_chat"], 0.04 + 0.3 * problem)
    simple(K["mention"], np.full(n, 0.008))
    # requests for a quote or information, followed up by the owner (or never)
    req_pos, req_at, req_kind = [], [], []
    for kind, rate in ((K["quote_request"], 0.025 * eng), (K["info_request"], np.full(n, 0.02))):
        pos, at = emit(rng, pois(rate * frac), lo, hi)
        add(kind, pos, at, REQUEST_CHANNELS[rng.integers(0, 4, pos.shape[0])])
        req_pos.append(pos)
        req_at.append(at)
        req_kind.append(kind)
    r_pos, r_at = np.concatenate(req_pos), np.concatenate(req_at)
    f_at = r_at + (np.asarray(rng.uniform(0.1, 6.0, r_pos.shape[0])) * DAY_US).astype(np.int64)
    followed = (rng.random(r_pos.shape[0]) < dil[r_pos]) & (f_at < limit[r_pos])
    add(K["follow_up"], r_pos[followed], f_at[followed],
        np.where(rng.random(int(followed.sum())) < 0.6, CHANNELS.index("call"),
                 CHANNELS.index("email")).astype(np.int8))
    unfollowed = np.bincount(r_pos[~followed], minlength=n) > 0
    contacted = (np.bincount(calls, minlength=n) + np.bincount(meets, minlength=n)
                 + np.bincount(r_pos[followed], minlength=n)) > 0

    pos = np.concatenate(pos_all)
    kind_all = np.concatenate(kinds)
    logs.interactions.add(
        cust=who[pos].astype(np.int32), at=np.concatenate(at_all), kind=kind_all,
        channel=np.concatenate(chan_all),
        staff=np.where(KIND_OWNER[kind_all], owner[pos], -1).astype(np.int16))

    # support tickets and complaints
    t_pos, t_at = emit(rng, pois(pop.ticket_rate[who] * (1 + 3.0 * problem) * frac), lo, hi)
    m: int = t_pos.shape[0]
    cat_p = np.cumsum(np.asarray(P.TICKET_CATEGORY_P), axis=1)
    row = np.where(sub[t_pos], 0, 1)
    cat = (rng.random(m)[:, None] >= cat_p[row]).sum(axis=1).astype(np.int8)
    complaint = rng.random(m) < np.where(problem[t_pos], 0.5, 0.1) + 0.1 * np.isin(cat, (0, 7))
    prio = np.minimum(rng.poisson(0.6 + 0.8 * complaint + problem[t_pos]), 3).astype(np.int8)
    hours = rng.lognormal(np.log(16.0), 1.1, m) * np.where(complaint, 1.8, 1.0) * (
        1.6 - dil[t_pos])
    res_at = t_at + (hours * HOUR_US).astype(np.int64)
    resolved = (rng.random(m) > 0.04) & (res_at < end_us)
    sat = np.clip(np.round(5.3 - 0.9 * np.log1p(hours / 24.0) + rng.normal(0, 0.7, m)), 1, 5)
    sat_ok = resolved & (rng.random(m) < 0.6)
    slow = ~resolved | (hours > 72)
    well = complaint & resolved & (hours < 24) & (sat >= 4)
    weight = np.where(complaint, np.where(slow, 2.0, np.where(well, 0.3, 1.0)),
                      np.where(slow, 0.15, 0.0))
    logs.tickets.add(cust=who[t_pos].astype(np.int32), opened=t_at, resolved=res_at,
                     resolved_ok=resolved, category=cat, complaint=complaint, priority=prio,
                     satisfaction=sat, sat_ok=sat_ok)
    csat = sat_ok & (rng.random(m) < 0.3)
    logs.csat.add(cust=who[t_pos[csat]].astype(np.int32), at=res_at[csat], score=sat[csat])

    # add-on orders of subscription customers
    a_pos, a_at = emit(rng, pois(pop.addon_rate[who] * eng * frac), lo, hi)
    prod = np.asarray(rng.integers(0, len(P.ADDONS), a_pos.shape[0]))
    logs.orders.add(
        cust=who[a_pos].astype(np.int32), at=a_at,
        amount=np.round(np.asarray(P.ADDON_PRICE)[prod] * rng.uniform(0.8, 1.2, a_pos.shape[0]), 2),
        quantity=1 + np.asarray(rng.poisson(0.3, a_pos.shape[0])), product=(len(P.PRODUCTS) + prod),
        promo=np.full(a_pos.shape[0], -1, np.int8), channel=np.full(a_pos.shape[0], 1, np.int8))

    return MonthSignals(
        complaint_weight=np.bincount(t_pos, weight, minlength=n),
        complaints=np.bincount(t_pos[complaint], minlength=n),
        well_handled=np.bincount(t_pos[well], minlength=n),
        contacted=contacted, unfollowed=unfollowed, emails=emails)


def purchases(rng: np.random.Generator, pop: Population, st: State, who: np.ndarray,
              lo: np.ndarray, hi: np.ndarray, month_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson purchases of transactional customers in ``[lo, hi)``, sorted by customer and
    time: (positions into ``who``, times)."""
    rate = pop.lam[who] * np.exp(st.e[who]) * (hi - lo) / month_us
    pos, at = emit(rng, rng.poisson(rate), lo, hi)
    order = np.lexsort((at, pos))
    return pos[order], at[order]


def log_orders(rng: np.random.Generator, pop: Population, cust: np.ndarray, at: np.ndarray,
               logs: Logs) -> None:
    """Orders of transactional customers: Gamma-Gamma amounts, products, promotions."""
    m: int = cust.shape[0]
    spend = pop.spend_mean[cust]
    amount = np.round(rng.gamma(4.0, 1.0, m) * spend / 4.0 + 1.0, 2)
    cum = np.cumsum(P.PRODUCT_WEIGHTS)
    prod = np.minimum(np.searchsorted(cum / cum[-1], rng.random(m), side="right"),
                      len(P.PRODUCTS) - 1)
    promo_p = 0.12 + 0.25 * (pop.offer[cust] == 1)
    promo = np.where(rng.random(m) < promo_p, rng.integers(0, len(P.PROMOTIONS), m), -1)
    chan = np.searchsorted(np.array([0.3, 0.65, 0.9, 1.0]), rng.random(m), side="right")
    logs.orders.add(cust=cust.astype(np.int32), at=at, amount=amount,
                    quantity=1 + rng.poisson(0.6, m), product=prod, promo=promo.astype(np.int8),
                    channel=np.minimum(chan, 3).astype(np.int8))


def next_after(cust: np.ndarray, at: np.ndarray, ev_cust: np.ndarray,
                ev_at: np.ndarray) -> np.ndarray:
    """Time of the first event of the same customer at or after ``at`` (-1 if none)."""
    key = (ev_cust.astype(np.int64) << 32) | (ev_at // 1_000_000)
    order = np.argsort(key, kind="stable")
    key, times = key[order], ev_at[order]
    q = (cust.astype(np.int64) << 32) | (at // 1_000_000)
    pos = np.searchsorted(key, q, side="left")
    ok = pos < key.shape[0]
    pos = np.minimum(pos, max(key.shape[0] - 1, 0))
    if key.shape[0] == 0:
        return np.full(cust.shape[0], -1, np.int64)
    ok &= (key[pos] >> 32) == cust
    return np.where(ok, times[pos], -1)
