"""Non-contractual episodes against a plain reference, on random event times.

``label_episodes`` sums events into spans of the shortest inactivity window before it
orders them per customer; this checks that the episodes are exactly those of the plain
definition (sort each customer's events, open an episode after every gap longer than the
customer's window), with events placed on and around span edges, exact window distances,
dates before 1970, sub-second times and per-segment windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnguard.measure import ChurnRules, label_episodes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOWS = {"a": 10, "b": 7}  # region a: the default window; region b: an override

# an offset from the epoch: whole spans of 7 days (where spans split), plus a few seconds
# or microseconds around the edge, or anywhere in between
offsets = st.builds(
    lambda spans, edge, jitter_us: timedelta(days=7 * spans + edge, microseconds=jitter_us),
    st.integers(-60, 60), st.sampled_from([0, 3, 7, 10, 6.99999]),
    st.sampled_from([0, 1, -1, 999_999, -999_999]))
customer = st.tuples(st.sampled_from(sorted(WINDOWS)),
                     st.lists(offsets, min_size=1, max_size=8))


def _episodes(customers: list[tuple[str, str]], orders: list[tuple[str, datetime]],
              subs: list[tuple[str, str, datetime, datetime | None]],
              rules: ChurnRules) -> tuple[list[tuple], pd.DataFrame]:
    """``label_episodes`` on in-memory tables: customers ``(id, region)``, orders
    ``(id, at)``, subscriptions ``(id, subscription_id, start, end)``, no interactions.
    Returns ``(customer, episode, start_at, last_activity_at)`` per row, and the labels."""
    ts, text = pa.timestamp("us", tz="UTC"), pa.string()

    def table(**cols: tuple[pa.DataType, list]) -> ibis.Table:
        return ibis.memtable(pa.table({k: pa.array(v, type=t) for k, (t, v) in cols.items()}))

    none = [None] * len(customers)
    lab = label_episodes(
        table(customer_id=(text, [c for c, _ in customers]),
              region=(text, [r for _, r in customers]), signup_at=(ts, none),
              churned=(pa.bool_(), none), churned_at=(ts, none)),
        table(customer_id=(text, [c for c, _ in orders]),
              ordered_at=(ts, [t for _, t in orders])),
        table(customer_id=(text, []), direction=(text, []), at=(ts, [])),
        table(customer_id=(text, [x[0] for x in subs]),
              subscription_id=(text, [x[1] for x in subs]),
              started_at=(ts, [x[2] for x in subs]), ended_at=(ts, [x[3] for x in subs])),
        rules=rules).to_pandas()
    got = [(r.customer_id, int(r.episode), r.start_at.to_pydatetime(),
            r.last_activity_at.to_pydatetime()) for r in lab.itertuples()]
    return got, lab


def reference(rows: list[tuple[str, str, list[datetime]]]) -> list[tuple]:
    out = []
    for cid, region, times in rows:
        window = timedelta(days=WINDOWS[region])
        times = sorted(times)
        start = last = times[0]
        episode = 1
        for t in times[1:]:
            if t > last + window:
                out.append((cid, episode, start, last))
                episode, start = episode + 1, t
            last = t
        out.append((cid, episode, start, last))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(customer, min_size=1, max_size=6))
def test_episodes_match_the_plain_definition(drawn) -> None:  # type: ignore[no-untyped-def]
    rows = [(f"C{i}", region, [EPOCH + o for o in offs])
            for i, (region, offs) in enumerate(drawn)]
    orders = [(cid, t) for cid, _, times in rows for t in times]
    rules = ChurnRules.make(inactive_days=10, segments={"region = b": {"inactive_days": 7}})
    got, lab = _episodes([(r[0], r[1]) for r in rows], orders, [], rules)
    assert got == sorted(reference(rows))
    assert set(lab.window_days) <= {7, 10}


OPEN = datetime(3000, 1, 1, tzinfo=UTC)  # an open subscription's end, for the running max
GRACE = {"a": 0, "b": 3}  # region b: renewals may start up to 3 days after the end
# each subscription starts a gap after the previous one's end (negative: they overlap),
# around the grace edges of 0 and 3 days, at some second of the day; None: still open
subscription = st.tuples(st.sampled_from([-40, -1, 0, 1, 2, 3, 4, 5]),
                         st.sampled_from([0, 43_199, 86_399]),
                         st.sampled_from([None, 0, 1, 30, 31.5, 90]))
subscriber = st.tuples(st.sampled_from(sorted(GRACE)),
                       st.lists(subscription, min_size=1, max_size=6))


def contractual_reference(rows) -> list[tuple]:  # type: ignore[no-untyped-def]
    ends = [e for _, _, subs in rows for _, e in subs if e is not None]
    until = max([*ends, *(s for _, _, subs in rows for s, _ in subs)])
    out = []
    for cid, region, subs in rows:
        subs = sorted(subs, key=lambda x: x[0])  # ids sort as the drawn order: C<i>-<k>
        episode, start, last = 0, None, None
        for s, e in subs:
            e = e or OPEN
            if last is None or s.date() > (last + timedelta(days=GRACE[region])).date():
                if start is not None:
                    out.append((cid, episode, start, last))
                episode, start = episode + 1, s
            last = e if last is None else max(last, e)
        out.append((cid, episode, start, last))
    return [(c, k, s, until if e == OPEN else e) for c, k, s, e in out]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(subscriber, min_size=1, max_size=5))
def test_contractual_episodes_match_the_plain_definition(drawn) -> None:  # type: ignore[no-untyped-def]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i, (region, subs) in enumerate(drawn):
        got, prev_end = [], base
        for gap, secs, length in subs:
            start = prev_end.replace(hour=0, minute=0, second=0) + timedelta(days=gap,
                                                                               seconds=secs)
            end = None if length is None else start + timedelta(days=length)
            got.append((start, end))
            prev_end = end or start
        rows.append((f"C{i}", region, sorted(got, key=lambda x: x[0])))
    subs = [(cid, f"{cid}-{k:02d}", s, e) for cid, _, ss in rows for k, (s, e) in enumerate(ss)]
    rules = ChurnRules.make(grace_days=0, segments={"region = b": {"grace_days": 3}})
    got, lab = _episodes([(r[0], r[1]) for r in rows], [], subs, rules)
    assert got == sorted(contractual_reference(rows))
    assert set(lab.definition) == {"contractual"}
