"""Orchestration: :func:`generate` runs the simulation and assembles contract tables and
the ground truth.

>>> biz = generate(customers=300, months=6, seed=1)
>>> sorted(biz.tables) == sorted(TABLES)
True
>>> biz.tables["customers"].num_rows
300
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnguard.contract import TABLES
from churnguard.errors import InputError
from churnguard.simulate import campaigns as cmp
from churnguard.simulate import events as ev
from churnguard.simulate import feedback, lifecycle
from churnguard.simulate import params as P
from churnguard.simulate.arrowutil import TS, coded, floats, ids, join, seq_ids, timestamps
from churnguard.simulate.customers import Population, draw_population
from churnguard.simulate.timegrid import DAY_US, Grid
from churnguard.simulate.truth import build_truth

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulatedBusiness:
    """A simulated customer base.

    Attributes
    ----------
    tables : dict of str to pyarrow.Table
        One table per contract table, columns named, ordered and typed as the contract
        (customers also carry ``attributes``, a JSON string of custom attributes).
    truth : dict of str to pyarrow.Table
        Ground truth the analytics never read; see :mod:`churnguard.simulate.truth`.
    params : dict
        The generator's parameters.
    """

    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    params: dict[str, Any]


def generate(
    *,
    customers: int = 10_000,
    months: int = 36,
    seed: int = 0,
    end: str | dt.date = "2026-06-30",
    pre_months: int = 24,
) -> SimulatedBusiness:
    """Simulate ``customers`` customers over the ``months`` months ending on ``end``.

    Deterministic: the same arguments give byte-identical tables. ``pre_months`` is how far
    back before the window the customers already on board at its start were acquired.
    """
    if not isinstance(customers, int | np.integer) or customers < 1:
        raise InputError(f"customers must be a positive integer, got {customers!r}")
    if not isinstance(months, int | np.integer) or not 1 <= months <= 240:
        raise InputError(f"months must be an integer between 1 and 240, got {months!r}")
    try:
        grid = Grid.build(end=end, months=int(months), pre_months=int(pre_months))
    except ValueError as exc:
        raise InputError(f"end must be a date like '2026-06-30', got {end!r}") from exc
    started = time.perf_counter()
    rng = np.random.Generator(np.random.PCG64(seed))
    pop = draw_population(rng, int(customers), grid)
    schedule = cmp.schedule(int(months))
    logs = ev.Logs.new()
    st = lifecycle.run(rng, pop, grid, schedule, logs)
    log.info("simulated %d customers x %d months in %.1fs", customers, months,
             time.perf_counter() - started)

    cid = ids(np.arange(pop.n), "C", 6)
    churns = logs.churns.arrays()
    reacts = logs.reactivations.arrays()
    fb = feedback.build(rng, pop, grid.end_us, churns, logs.nps.arrays(), logs.csat.arrays(),
                        cid)
    assign = logs.assignments.arrays()
    outcome = _outcomes(assign, churns, reacts, grid.end_us)
    tables = {
        "customers": _customers(pop, st, cid),
        "orders": _orders(logs.orders.arrays(), cid),
        "subscriptions": _subscriptions(logs.segments.arrays(), cid, fb),
        "interactions": _interactions(logs.interactions.arrays(), cid, pop.owner_names),
        "tickets": _tickets(logs.tickets.arrays(), cid),
        "feedback": fb.table,
        "campaigns": _campaigns(schedule, grid),
        "assignments": _assignments(assign, outcome, cid),
    }
    for name, table in tables.items():
        cols = TABLES[name].column_names + (["attributes"] if name == "customers" else [])
        tables[name] = table.select(cols)
    truth = build_truth(pop, st, grid, cid, churns, reacts, assign, outcome, fb, tables)
    params = {
        "customers": int(customers), "months": int(months), "seed": seed, "end": str(end),
        "pre_months": int(pre_months), "hazard": dict(P.HAZARD), "events": dict(P.EVENTS),
        "label_share": feedback.LABEL_SHARE,
        "campaigns": [dataclasses.asdict(c) for c in schedule],
        "offer_effect": {o: cmp.OFFER_EFFECT[i].tolist()
                         for i, o in enumerate(cmp.RETENTION_OFFERS)},
        "reason_order": list(P.SUB_REASON_CODES),
    }
    log.info("built tables in %.1fs total (%s)", time.perf_counter() - started,
             ", ".join(f"{k}={v.num_rows}" for k, v in tables.items()))
    return SimulatedBusiness(tables=tables, truth=truth, params=params)


def _company_names(pop: Population) -> pa.Array:
    group = np.asarray(P.REGION_GROUP)[pop.region]
    pieces = []
    for j in range(3):
        flat = [s for g in P.NAME_PARTS for s in g[j]]
        off = np.cumsum([0] + [len(g[j]) for g in P.NAME_PARTS])[:-1]
        pieces.append(pa.array(flat).take(pa.array(off[group] + pop.name_parts[:, j])))
    return join(*pieces)


def _customers(pop: Population, st: lifecycle.State, cid: pa.Array) -> pa.Table:
    n = pop.n
    nps_seg = np.where(np.isnan(st.last_nps), -1,
                       np.where(st.last_nps >= 9, 0, np.where(st.last_nps >= 7, 1, 2)))
    seg = coded(nps_seg, ['"promoter"', '"passive"', '"detractor"']).fill_null("null")
    attributes = join(
        '{"employees": ', pc.cast(pa.array(pop.employees), pa.string()),
        ', "company_age_years": ', pc.cast(pa.array(pop.company_age), pa.string()),
        ', "preferred_language": "', coded(pop.language, P.LANGUAGES),
        '", "newsletter_opt_in": ', coded(pop.newsletter.astype(np.int8), ["false", "true"]),
        ', "nps_segment": ', seg, "}")
    has_tier = pop.loyalty > 0
    return pa.table({
        "customer_id": cid,
        "signup_at": timestamps(pop.signup_us),
        "name": _company_names(pop),
        "region": coded(pop.region, P.REGIONS),
        "industry": coded(pop.industry, P.INDUSTRIES),
        "acquisition_channel": coded(pop.channel, P.ACQ_CHANNELS),
        "first_offer": coded(pop.offer, P.OFFERS),
        "owner": coded(pop.owner, pop.owner_names),
        "plan": coded(st.plan, P.PLANS),
        "contract_type": coded(pop.contract, P.CONTRACTS),
        "loyalty_tier": coded(np.where(has_tier, pop.loyalty, -1), P.LOYALTY_TIERS),
        "loyalty_points": floats(pop.loyalty_points, has_tier),
        "churned": pa.nulls(n, pa.bool_()),
        "churned_at": pa.nulls(n, TS),
        "attributes": attributes,
    })


def _orders(o: dict[str, np.ndarray], cid: pa.Array) -> pa.Table:
    m = o["cust"].shape[0]
    return pa.table({
        "order_id": seq_ids(m, "O", 9),
        "customer_id": cid.take(pa.array(o["cust"])),
        "ordered_at": timestamps(o["at"]),
        "amount": floats(o["amount"]),
        "currency": pa.array(np.full(m, "USD")) if m else pa.array([], pa.string()),
        "quantity": pa.array(o["quantity"].astype(np.int64)),
        "product": coded(o["product"], P.PRODUCTS + P.ADDONS),
        "promotion": coded(o["promo"], P.PROMOTIONS),
        "channel": coded(o["channel"], P.ORDER_CHANNELS),
    })


def _subscriptions(s: dict[str, np.ndarray], cid: pa.Array,
                   fb: feedback.FeedbackResult) -> pa.Table:
    order = np.lexsort((s["no"], s["cust"]))
    s = {k: v[order] for k, v in s.items()}
    m = s["cust"].shape[0]
    sid = seq_ids(m, "S", 8)
    prev = np.arange(m) - 1
    linked = s["linked"] & (prev >= 0)
    ref = s["churn_ref"]
    cancelled = ref >= 0
    reason = np.where(cancelled, fb.cancel_reason[np.maximum(ref, 0)], -1)
    text = fb.cancel_text.take(pa.array(ref, mask=~cancelled)) if m else pa.array([], pa.string())
    return pa.table({
        "subscription_id": sid,
        "customer_id": cid.take(pa.array(s["cust"])),
        "started_at": timestamps(s["start"]),
        "ended_at": timestamps(s["end"], s["end_ok"]),
        "plan": coded(s["plan"], P.PLANS),
        "mrr": floats(np.round(s["mrr"], 2)),
        "contract_months": pa.array(s["cm"].astype(np.int64)),
        "previous_subscription_id": sid.take(pa.array(np.maximum(prev, 0), mask=~linked)),
        "cancel_reason": coded(reason, P.SUB_REASON_CODES),
        "cancel_text": text,
    })


def _interactions(x: dict[str, np.ndarray], cid: pa.Array, owners: tuple[str, ...]) -> pa.Table:
    m = x["cust"].shape[0]
    from churnguard.contract.tables import CHANNELS

    kind = x["kind"]
    return pa.table({
        "interaction_id": seq_ids(m, "I", 9),
        "customer_id": cid.take(pa.array(x["cust"])),
        "at": timestamps(x["at"]),
        "channel": coded(x["channel"], CHANNELS),
        "kind": coded(kind, [k[0] for k in ev.KINDS]),
        "direction": coded(kind, [k[2] for k in ev.KINDS]),
        "staff": coded(x["staff"], owners),
    })


def _tickets(x: dict[str, np.ndarray], cid: pa.Array) -> pa.Table:
    m = x["cust"].shape[0]
    return pa.table({
        "ticket_id": seq_ids(m, "T", 8),
        "customer_id": cid.take(pa.array(x["cust"])),
        "opened_at": timestamps(x["opened"]),
        "resolved_at": timestamps(x["resolved"], x["resolved_ok"]),
        "category": coded(x["category"], P.TICKET_CATEGORIES),
        "is_complaint": pa.array(x["complaint"].astype(bool)),
        "priority": coded(x["priority"], P.PRIORITIES),
        "satisfaction": floats(x["satisfaction"], x["sat_ok"]),
    })


def _campaigns(schedule: list[cmp.Campaign], grid: Grid) -> pa.Table:
    start = np.array([grid.starts[grid.k(c.t)] for c in schedule], np.int64)
    end = np.minimum(start + 30 * DAY_US, grid.end_us - 1)
    return pa.table({
        "campaign_id": ids(np.arange(len(schedule)), "CMP", 3),
        "name": pa.array([c.name for c in schedule], pa.string()),
        "started_at": timestamps(start),
        "ended_at": timestamps(end),
        "offer": coded(np.array([c.offer for c in schedule], np.int64), cmp.OFFERS),
        "goal": pa.array([c.goal for c in schedule], pa.string()),
    })


def _outcomes(a: dict[str, np.ndarray], churns: dict[str, np.ndarray],
              reacts: dict[str, np.ndarray], end_us: int) -> dict[str, np.ndarray]:
    """Observed outcome 90 days after each assignment."""
    if not a:
        return {}
    horizon = a["at"] + 90 * DAY_US
    nxt_churn = ev.next_after(a["cust"], a["at"], churns["cust"], churns["at"])
    nxt_react = ev.next_after(a["cust"], a["at"], reacts.get("cust", np.zeros(0, np.int32)),
                            reacts.get("at", np.zeros(0, np.int64)))
    wb = a["winback"]
    nxt = np.where(wb, nxt_react, nxt_churn)
    hit = (nxt >= 0) & (nxt <= horizon)
    seen = horizon < end_us
    code = np.where(hit, np.where(wb, 2, 1), np.where(seen, np.where(wb, 1, 0), 3))
    when = np.where(hit, nxt, horizon)
    accepted = np.where(wb & a["arm"], hit.astype(np.int8), a["accepted"])
    offer_cost = np.where(a["offer"] == len(cmp.RETENTION_OFFERS), 0.9, 1.0) * a["value"]
    cost = np.where(wb & a["arm"] & hit, a["cost"] + offer_cost, a["cost"])
    return {"code": code, "at": when, "known": code != 3, "accepted": accepted,
            "cost": np.round(cost, 2)}


def _assignments(a: dict[str, np.ndarray], out: dict[str, np.ndarray], cid: pa.Array) -> pa.Table:
    m = a["cust"].shape[0] if a else 0
    if m == 0:
        return pa.table({c.name: pa.nulls(0, _arrow_type(c.dtype))
                         for c in TABLES["assignments"].columns})
    return pa.table({
        "assignment_id": seq_ids(m, "A", 8),
        "customer_id": cid.take(pa.array(a["cust"])),
        "campaign_id": ids(a["campaign"], "CMP", 3),
        "assigned_at": timestamps(a["at"]),
        "arm": coded(a["arm"].astype(np.int8), ["control", "treatment"]),
        "offer": coded(np.where(a["arm"], a["offer"], -1), cmp.OFFERS),
        "cost": floats(out["cost"]),
        "accepted": pa.array(out["accepted"] == 1, mask=out["accepted"] < 0),
        "outcome": coded(out["code"], ["retained", "churned", "reactivated", "unknown"]),
        "outcome_at": timestamps(out["at"], out["known"]),
    })


def _arrow_type(dtype: str) -> pa.DataType:
    return {"string": pa.string(), "int": pa.int64(), "float": pa.float64(),
            "bool": pa.bool_(), "timestamp": TS}[dtype]


__all__ = ["SimulatedBusiness", "generate"]
