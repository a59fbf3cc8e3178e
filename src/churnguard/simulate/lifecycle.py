"""The monthly lifecycle: hazards, churn, campaigns, renewals, plan changes, reactivation.

One Python iteration per *month*; every step inside is vectorised over customers. Order
of a month: hazard components from the state left by past months -> campaign assignment
-> treatment -> contract timing -> churn decision (and the true reason) -> reactivation
of lost customers -> subscription changes -> this month's observable events -> state
update (the events of this month drive the hazard of the next).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from churnguard.simulate import campaigns as cmp
from churnguard.simulate import events as ev
from churnguard.simulate import hazard
from churnguard.simulate import params as P
from churnguard.simulate.customers import Population
from churnguard.simulate.texts import NEUTRAL, POSITIVE
from churnguard.simulate.timegrid import DAY_US, Grid

log = logging.getLogger(__name__)
MONTH_US = int(30.4375 * DAY_US)
#: share of month-to-month / transactional leavers who wind down for 1-2 months first
LEAD_SHARE = 0.7
BIG = np.iinfo(np.int64).max


@dataclass
class State:
    """Mutable per-customer state of the simulation (arrays of shape (n,))."""

    alive: np.ndarray
    ever: np.ndarray
    e: np.ndarray
    comp: np.ndarray
    boost: np.ndarray
    unfollowed: np.ndarray
    since_contact: np.ndarray
    competitor_left: np.ndarray
    relocating: np.ndarray
    need_age: np.ndarray
    price_age: np.ndarray
    problem_left: np.ndarray
    emails_prev: np.ndarray
    treat_offer: np.ndarray
    treat_left: np.ndarray
    wb_left: np.ndarray
    last_reason: np.ndarray
    last_churn_k: np.ndarray
    anchor_k: np.ndarray
    anchor_off: np.ndarray
    plan: np.ndarray
    mrr_full: np.ndarray
    seg_start: np.ndarray
    seg_mrr: np.ndarray
    seg_no: np.ndarray
    seg_linked: np.ndarray
    has_seg: np.ndarray
    cum: np.ndarray
    last_nps: np.ndarray
    leaving: np.ndarray
    leave_reason: np.ndarray
    n_churns: int = 0

    @classmethod
    def init(cls, pop: Population, grid: Grid) -> State:
        n = pop.n
        z8, z16 = np.zeros(n, np.int8), np.zeros(n, np.int16)
        return cls(
            alive=np.ones(n, bool), ever=np.zeros(n, bool), e=np.zeros(n), comp=np.zeros(n),
            boost=np.ones(n), unfollowed=z8.copy(), since_contact=z16.copy(),
            competitor_left=z8.copy(), relocating=np.zeros(n, bool), need_age=z8.copy(),
            price_age=np.full(n, 99, np.int16), problem_left=z8.copy(), emails_prev=np.zeros(n),
            treat_offer=np.full(n, -1, np.int8), treat_left=z8.copy(), wb_left=z8.copy(),
            last_reason=np.full(n, -1, np.int8), last_churn_k=np.full(n, -99, np.int32),
            anchor_k=pop.signup_k.copy(), anchor_off=pop.signup_us - grid.starts[pop.signup_k],
            plan=pop.plan.copy(), mrr_full=pop.mrr.copy(), seg_start=np.zeros(n, np.int64),
            seg_mrr=np.zeros(n), seg_no=np.zeros(n, np.int32), seg_linked=np.zeros(n, bool),
            has_seg=np.zeros(n, bool), cum=np.zeros((n, P.N_REASONS)),
            last_nps=np.full(n, np.nan), leaving=z8.copy(), leave_reason=z8.copy(),
        )


def _anchor_ts(st: State, idx: np.ndarray, grid: Grid, k: int) -> np.ndarray:
    """The anniversary instant of ``idx`` inside grid month ``k``."""
    length = grid.starts[k + 1] - grid.starts[k]
    return grid.starts[k] + np.minimum(st.anchor_off[idx], length - 1)


def _open(st: State, idx: np.ndarray, start: np.ndarray, mrr: np.ndarray, linked: bool) -> None:
    st.seg_start[idx] = start
    st.seg_mrr[idx] = mrr
    st.seg_no[idx] += st.has_seg[idx]
    st.seg_linked[idx] = linked
    st.has_seg[idx] = True


def _close(st: State, pop: Population, idx: np.ndarray, end: np.ndarray, logs: ev.Logs,
           churn_ref: np.ndarray | None = None) -> None:
    logs.segments.add(
        cust=idx.astype(np.int32), no=st.seg_no[idx], start=st.seg_start[idx], end=end,
        end_ok=np.ones(idx.shape[0], bool), plan=st.plan[idx], mrr=st.seg_mrr[idx],
        cm=pop.contract_months[idx], linked=st.seg_linked[idx],
        churn_ref=np.full(idx.shape[0], -1) if churn_ref is None else churn_ref)
    st.has_seg[idx] = False


def _start_pre_window(pop: Population, st: State, grid: Grid) -> None:
    """Open the running subscription of customers acquired before the window."""
    pre = grid.pre_months
    idx = np.flatnonzero(pop.is_sub & (pop.signup_k < pre))
    cm = pop.contract_months[idx]
    k_term = pop.signup_k[idx] + ((pre - pop.signup_k[idx] - 1) // cm) * cm
    length = grid.starts[k_term + 1] - grid.starts[k_term]
    start = np.where(cm >= 12, grid.starts[k_term] + np.minimum(st.anchor_off[idx], length - 1),
                     pop.signup_us[idx])
    cheap = (pop.offer[idx] == 4) & (pre - pop.signup_k[idx] < 3)
    _open(st, idx, start, np.where(cheap, 0.5, 1.0) * st.mrr_full[idx], linked=False)


def run(rng: np.random.Generator, pop: Population, grid: Grid,
        schedule: list[cmp.Campaign], logs: ev.Logs) -> State:
    """Simulate every month of the window; returns the final state (events go to ``logs``)."""
    st = State.init(pop, grid)
    _start_pre_window(pop, st, grid)
    for t in range(grid.months):
        _month(rng, pop, st, grid, t, schedule, logs)
    # subscriptions still running at the end stay open (ended_at null)
    idx = np.flatnonzero(st.has_seg)
    logs.segments.add(
        cust=idx.astype(np.int32), no=st.seg_no[idx], start=st.seg_start[idx],
        end=np.zeros(idx.shape[0], np.int64), end_ok=np.zeros(idx.shape[0], bool),
        plan=st.plan[idx], mrr=st.seg_mrr[idx], cm=pop.contract_months[idx],
        linked=st.seg_linked[idx], churn_ref=np.full(idx.shape[0], -1))
    return st


def _month(rng: np.random.Generator, pop: Population, st: State, grid: Grid, t: int,
           schedule: list[cmp.Campaign], logs: ev.Logs) -> None:
    k = grid.k(t)
    ms, me = grid.bounds(t)
    a = np.flatnonzero(st.alive & (pop.signup_k < k))  # at risk this month
    c = hazard.components(pop, st, a, k)
    lo_a = np.full(a.shape[0], ms, np.int64)
    for cid, camp in enumerate(schedule):
        if camp.t != t:
            continue
        if camp.goal == "retention":
            pos, _, at = cmp.assign_retention(rng, camp, cid, pop, st, a, c, k, ms, logs)
            lo_a[pos] = at
        else:
            cmp.assign_winback(rng, camp, cid, pop, st, k, ms, logs)
    treated = st.treat_left[a] > 0
    if treated.any():
        c[treated] = cmp.treat(c[treated], st.treat_offer[a[treated]], pop.dnd[a[treated]])
    ren = hazard.renewal_due(pop, st, a, k)
    ce = hazard.effective(c, pop, a, ren)
    st.cum[a] += ce

    # --- churn decision; transactional customers may drop out after any purchase (BG/NBD)
    tr = np.flatnonzero(~pop.is_sub[a])
    t_pos, t_at = ev.purchases(rng, pop, st, a[tr], np.full(tr.shape[0], ms),
                               np.full(tr.shape[0], me), MONTH_US)
    n_buy = np.bincount(t_pos, minlength=tr.shape[0])
    pb = np.zeros(a.shape[0])
    pb[tr] = 1.0 - (1.0 - pop.p_drop[a[tr]]) ** n_buy
    h = 1.0 - (1.0 - hazard.total(ce)) * (1.0 - pb)
    # customers who decided to leave earlier wind down and go when their notice ends
    lv = st.leaving[a]
    due = np.flatnonzero(lv == 1)
    st.leaving[a[lv > 1]] -= 1
    st.leaving[a[due]] = 0
    h[lv > 0] = 0.0
    d_new = np.flatnonzero(rng.random(a.shape[0]) < h)
    rr = hazard.draw_reason(rng, np.concatenate([ce[d_new], pb[d_new, None]], axis=1))
    base_new = rr == P.N_REASONS
    r_new = np.where(base_new, pop.base_reason[a[d_new]], rr).astype(np.int8)
    dn = a[d_new]
    trial_new = (k - pop.signup_k[dn] == 1) & np.isin(pop.offer[dn], (2, 3))
    lead = (((pop.contract[dn] == 0) & ~trial_new) | (~pop.is_sub[dn] & ~base_new)) & (
        rng.random(d_new.shape[0]) < LEAD_SHARE)
    st.leaving[dn[lead]] = rng.integers(1, 3, int(lead.sum()))
    st.leave_reason[dn[lead]] = r_new[lead]
    d = np.concatenate([d_new[~lead], due])
    reason = np.concatenate([r_new[~lead], st.leave_reason[a[due]]])
    baseline = np.concatenate([base_new[~lead], np.zeros(due.shape[0], bool)])
    order = np.argsort(d, kind="stable")
    d, reason, baseline = d[order], reason[order], baseline[order]
    dc = a[d]
    at = lo_a[d] + (rng.random(d.shape[0]) * (me - lo_a[d])).astype(np.int64)
    at = np.where(ren[d], np.maximum(_anchor_ts(st, dc, grid, k), lo_a[d]), at)
    tenure = k - pop.signup_k[dc]
    trial = pop.is_sub[dc] & (tenure == 1) & np.isin(pop.offer[dc], (2, 3)) & (st.seg_mrr[dc] == 0)
    trial_ts = np.clip(pop.signup_us[dc] + 30 * DAY_US, ms, me - 1)
    at = np.where(trial, np.maximum(trial_ts, lo_a[d]), at)
    # baseline dropout happens right after the k-th purchase of the month
    first = np.searchsorted(t_pos, np.arange(tr.shape[0]))
    tr_of_a = np.full(a.shape[0], -1)
    tr_of_a[tr] = np.arange(tr.shape[0])
    bd = np.flatnonzero(baseline)
    if bd.size:
        j = tr_of_a[d[bd]]
        p = pop.p_drop[dc[bd]]
        u = rng.random(bd.shape[0])
        kth = np.ceil(np.log1p(-u * pb[d[bd]]) / np.log1p(-p)).astype(np.int64)
        kth = np.clip(kth, 1, n_buy[j])
        at[bd] = np.maximum(t_at[first[j] + kth - 1], lo_a[d[bd]])
    st.alive[dc] = False
    st.ever[dc] = True
    st.last_reason[dc] = reason
    st.last_churn_k[dc] = k
    logs.churns.add(cust=dc.astype(np.int32), at=at, reason=reason, k=np.full(d.shape[0], k))
    refs = st.n_churns + np.arange(d.shape[0])
    st.n_churns += d.shape[0]
    sub_d = pop.is_sub[dc]
    _close(st, pop, dc[sub_d], at[sub_d], logs, refs[sub_d])
    death = np.full(tr.shape[0], BIG)
    td = tr_of_a[d] >= 0
    death[tr_of_a[d[td]]] = at[td]
    keep = t_at <= death[t_pos]
    ev.log_orders(rng, pop, a[tr][t_pos[keep]], t_at[keep], logs)
    hi_a = np.full(a.shape[0], me, np.int64)
    hi_a[d] = at

    # --- reactivation of lost customers (win-back raises it)
    lost = np.flatnonzero(~st.alive & st.ever & (st.last_churn_k < k))
    r = lost[rng.random(lost.shape[0]) < cmp.reactivation_prob(st, lost)]
    r_at = ms + 5 * DAY_US + (np.asarray(rng.random(r.shape[0]))
                              * max(me - ms - 5 * DAY_US, 1)).astype(np.int64)
    r_at = np.minimum(r_at, me - 1)
    st.alive[r] = True
    for arr, val in ((st.e, 0), (st.comp, 0), (st.relocating, False), (st.need_age, 0),
                     (st.competitor_left, 0), (st.price_age, 99), (st.since_contact, 0),
                     (st.unfollowed, 0), (st.problem_left, 0)):
        arr[r] = val
    st.anchor_k[r] = k
    st.anchor_off[r] = r_at - ms
    logs.reactivations.add(cust=r.astype(np.int32), at=r_at)
    rs = pop.is_sub[r]
    _open(st, r[rs], r_at[rs], st.mrr_full[r[rs]], linked=False)

    # --- new customers: first subscription (trials free, cheap plans half price) or order
    new = np.flatnonzero(pop.signup_k == k)
    ns = new[pop.is_sub[new]]
    mult = np.where(np.isin(pop.offer[ns], (2, 3)), 0.0, np.where(pop.offer[ns] == 4, 0.5, 1.0))
    _open(st, ns, pop.signup_us[ns], mult * st.mrr_full[ns], linked=False)
    starters = np.concatenate([new[~pop.is_sub[new]], r[~rs]])
    s_lo = np.concatenate([pop.signup_us[new[~pop.is_sub[new]]], r_at[~rs]])
    ev.log_orders(rng, pop, starters, s_lo, logs)  # the first purchase opens the relationship
    sp, sa = ev.purchases(rng, pop, st, starters, s_lo, np.full(starters.shape[0], me), MONTH_US)
    ev.log_orders(rng, pop, starters[sp], sa, logs)

    _subscription_changes(rng, pop, st, grid, t, k, np.delete(a, d), logs)

    # --- observable events of the month
    who = np.concatenate([a, new, r])
    lo = np.concatenate([np.full(a.shape[0], ms, np.int64), pop.signup_us[new], r_at])
    hi = np.concatenate([hi_a, np.full(new.shape[0] + r.shape[0], me, np.int64)])
    limit = np.full(who.shape[0], grid.end_us, np.int64)
    limit[d] = hi[d]
    sig = ev.month_events(rng, pop, st, who, lo, hi, limit, MONTH_US, grid.end_us, logs)

    if t % 3 == 1:
        _nps_wave(rng, pop, st, np.delete(a, d), np.delete(ce, d, axis=0), ms, me, logs)
    _update(rng, pop, st, who, sig)


def _subscription_changes(rng: np.random.Generator, pop: Population, st: State, grid: Grid,
                          t: int, k: int, s: np.ndarray, logs: ev.Logs) -> None:
    """Trial ends, cheap-plan step-ups, renewals, price increases and plan changes of the
    surviving subscription customers ``s`` (at most one change per customer and month)."""
    s = s[pop.is_sub[s]]
    ms, me = grid.bounds(t)
    n = s.shape[0]
    tenure = k - pop.signup_k[s]
    e = st.e[s]
    conds = [
        np.isin(pop.offer[s], (2, 3)) & (tenure == 1) & (st.seg_mrr[s] == 0),  # trial ends
        (pop.offer[s] == 4) & (tenure == 3) & (st.seg_mrr[s] < st.mrr_full[s]),  # cheap ends
        hazard.renewal_due(pop, st, s, k),  # renewal
        (pop.contract[s] == 0) & (
            ((t % 12 == 6) & (rng.random(n) < P.EVENTS["price_increase_wave_share"]))
            | (rng.random(n) < P.EVENTS["price_increase_individual"])),  # price increase
        (st.plan[s] < 3) & (rng.random(n) < P.EVENTS["upgrade"] * np.exp(e)),
        (st.plan[s] > 0) & (rng.random(n) < P.EVENTS["downgrade"] * np.exp(-e)
                            * pop.price_sens[s]),
    ]
    kind = np.full(n, -1)
    for i in range(len(conds) - 1, -1, -1):
        kind[conds[i]] = i
    m = kind >= 0
    c, kind = s[m], kind[m]
    ts = ms + (np.asarray(rng.random(c.shape[0])) * (me - ms)).astype(np.int64)
    ts = np.where(kind == 0, np.clip(pop.signup_us[c] + 30 * DAY_US, ms, me - 1), ts)
    ts = np.where(kind == 2, _anchor_ts(st, c, grid, k), ts)
    ts = np.maximum(ts, st.seg_start[c])
    _close(st, pop, c, ts, logs)
    # renewals at a higher price for some; price increases for month-to-month customers
    up_price = (kind == 3) | ((kind == 2) & (rng.random(c.shape[0]) < 0.35))
    factor = np.where(kind == 3, rng.uniform(1.08, 1.25, c.shape[0]),
                      rng.uniform(1.05, 1.2, c.shape[0]))
    st.mrr_full[c] = np.round(st.mrr_full[c] * np.where(up_price, factor, 1.0), 2)
    price = np.asarray(P.PLAN_PRICE)
    for kk, step in ((4, 1), (5, -1)):
        ch = c[kind == kk]
        st.mrr_full[ch] = np.round(st.mrr_full[ch] * price[st.plan[ch] + step]
                                   / price[st.plan[ch]], 2)
        st.plan[ch] += step
    st.price_age[c[up_price | (kind == 1)]] = 0
    _open(st, c, ts, st.mrr_full[c], linked=True)


def _nps_wave(rng: np.random.Generator, pop: Population, st: State, s: np.ndarray,
              ce: np.ndarray, ms: int, me: int, logs: ev.Logs) -> None:
    """NPS survey of a tenth of the surviving customers; detractors say what bothers them."""
    pick = rng.random(s.shape[0]) < 0.1
    c, ce = s[pick], ce[pick]
    m = c.shape[0]
    latent = (8.4 + 1.0 * st.e[c] - 1.2 * st.comp[c] - 2.5 * (st.price_age[c] < 3)
              - 2.0 * (st.competitor_left[c] > 0) - 1.5 * (st.unfollowed[c] > 0)
              - 1.5 * (st.need_age[c] > 0) - 1.0 * pop.dnd[c] * (st.emails_prev[c] > 3)
              - 2.0 * (st.leaving[c] > 0)
              + rng.normal(0, 1.4, m))
    score = np.clip(np.round(latent), 0, 10)
    u = rng.random(m)
    pool = np.full(m, -1)
    pool = np.where((score >= 9) & (u < 0.4), POSITIVE, pool)
    pool = np.where((score >= 7) & (score <= 8) & (u < 0.3), NEUTRAL, pool)
    det = (score <= 6) & (u < 0.6)
    pool[det] = hazard.draw_reason(rng, ce[det] + 1e-9)
    at = ms + (rng.random(m) * (me - ms)).astype(np.int64)
    logs.nps.add(cust=c.astype(np.int32), at=at, score=score, pool=pool)
    st.last_nps[c] = score


def _update(rng: np.random.Generator, pop: Population, st: State, who: np.ndarray,
            sig: ev.MonthSignals) -> None:
    """Carry this month's events into the state that drives next month's hazard."""
    live = st.alive[who]
    c = who[live]
    n = c.shape[0]
    complaints = np.minimum(sig.complaints[live], 3)
    st.e[c] = (0.85 * st.e[c] + rng.normal(0, 0.25, n) - 0.35 * complaints
               - 0.5 * (st.competitor_left[c] > 0) - 1.0 * st.relocating[c]
               - 0.5 * (st.need_age[c] > 0) - 0.4 * (st.price_age[c] < 3)
               - 0.3 * (st.unfollowed[c] > 0) + 0.1 * sig.contacted[live]
               - 0.8 * (st.leaving[c] > 0))
    st.comp[c] = 0.6 * st.comp[c] + sig.complaint_weight[live]
    st.boost[c] = np.maximum(st.boost[c] * 0.93 ** sig.well_handled[live], 0.6)
    ev_ = P.EVENTS
    region_f = np.where(np.asarray(P.REGION_GROUP)[pop.region[c]] == 0, 1.3, 1.0)
    cl = st.competitor_left[c]
    st.competitor_left[c] = np.where(cl > 0, cl - 1,
                                     np.where(rng.random(n) < ev_["competitor_offer"] * region_f,
                                              3, 0))
    st.relocating[c] |= rng.random(n) < ev_["relocation"]
    na = st.need_age[c]
    st.need_age[c] = np.where(na > 0, np.minimum(na + 1, 10),
                              (rng.random(n) < ev_["need_ends"]).astype(np.int8))
    pl = st.problem_left[c]
    start = rng.random(n) < ev_["service_problem"] * pop.problem_prone[c]
    st.problem_left[c] = np.where(pl > 0, pl - 1, np.where(start, rng.integers(1, 5, n), 0))
    st.price_age[c] = np.minimum(st.price_age[c] + 1, 99)
    st.unfollowed[c] = np.where(sig.unfollowed[live], 4, np.maximum(st.unfollowed[c] - 1, 0))
    st.since_contact[c] = np.where(sig.contacted[live], 0, np.minimum(st.since_contact[c] + 1,
                                                                       999))
    st.emails_prev[c] = sig.emails[live]
    st.treat_left[:] = np.maximum(st.treat_left - 1, 0)
    st.wb_left[:] = np.maximum(st.wb_left - 1, 0)
