"""Edge cases of the episode computation: ties, duplicates, exact windows, who is which rule.

The non-contractual episodes are found from each event's neighbours (lag / lead) without a
DISTINCT, and the snapshot rule from the events themselves; these fixtures pin the cases
where such shortcuts could go wrong. inactive_days = 10, as_of 2024-07-01.
"""

from __future__ import annotations

import pandas as pd
import pytest

from churnguard.measure import cohorts, labels
from churnguard.measure.rates import churn_rates

from .conftest import MakeWs

#   E1 signup 01-01; orders 01-05 10:00 twice (same instant) and a login at the same
#      instant; order 01-15 10:00 (exactly 10 days later: same episode); two orders at
#      01-25 10:00:01 (10 days + 1 s: a new episode of one instant, twice over)
#   E2 signup only, churned flag set (02-01)        -> snapshot, churned 02-01
#   E3 signup only, no flag                         -> non-contractual from the signup
#   E4 signup and an order, churned flag set         -> non-contractual (activity wins)
#   E5 a subscription and orders                     -> contractual; its orders are unused
#   E6 no signup, churned flag, no activity          -> snapshot without a start
#   E7 signup 03-01 09:00 and an order the same instant -> one episode
CUSTOMERS = """
customer_id,signup_at,churned,churned_at
E1,2024-01-01,,
E2,2024-01-20,true,2024-02-01
E3,2024-03-01,,
E4,2024-01-01,true,2024-06-01
E5,2024-01-01,,
E6,,true,2024-04-01
E7,2024-03-01T09:00:00,,
"""
ORDERS = """
order_id,customer_id,ordered_at,amount
a1,E1,2024-01-05T10:00:00,1
a2,E1,2024-01-05T10:00:00,1
a3,E1,2024-01-15T10:00:00,1
a4,E1,2024-01-25T10:00:01,1
a5,E1,2024-01-25T10:00:01,1
b1,E4,2024-01-03,1
c1,E5,2024-01-02,1
c2,E5,2024-05-02,1
d1,E7,2024-03-01T09:00:00,1
"""
INTERACTIONS = """
interaction_id,customer_id,at,channel,direction
i1,E1,2024-01-05T10:00:00,login,inbound
i2,E3,2024-06-30,email,outbound
"""
SUBSCRIPTIONS = """
subscription_id,customer_id,started_at,ended_at,plan,mrr
s1,E5,2024-01-01,2024-03-01,basic,10
"""
AS_OF = "2024-07-01"


def ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text, tz="UTC")


EXPECTED = [
    # customer, episode, definition, start, last activity, churn
    ("E1", 1, "non_contractual", "2024-01-01", "2024-01-15 10:00", "2024-01-25 10:00"),
    ("E1", 2, "non_contractual", "2024-01-25 10:00:01", "2024-01-25 10:00:01",
     "2024-02-04 10:00:01"),
    ("E2", 1, "snapshot", "2024-01-20", "2024-02-01", "2024-02-01"),
    ("E3", 1, "non_contractual", "2024-03-01", "2024-03-01", "2024-03-11"),
    ("E4", 1, "non_contractual", "2024-01-01", "2024-01-03", "2024-01-13"),
    ("E5", 1, "contractual", "2024-01-01", "2024-03-01", "2024-03-01"),
    ("E6", 1, "snapshot", None, "2024-04-01", "2024-04-01"),
    ("E7", 1, "non_contractual", "2024-03-01 09:00", "2024-03-01 09:00", "2024-03-11 09:00"),
]


@pytest.fixture
def edges(make_ws: MakeWs):
    return make_ws("edges", churn_toml="inactive_days = 10", customers=CUSTOMERS,
                   orders=ORDERS, interactions=INTERACTIONS, subscriptions=SUBSCRIPTIONS)


def test_ties_duplicates_exact_windows_and_rules(edges) -> None:
    lab = labels(edges, as_of=AS_OF).to_pandas()
    got = [(r.customer_id, int(r.episode), r.definition, r.start_at, r.last_activity_at,
            r.churn_at) for r in lab.itertuples()]
    want = [(c, e, d, ts(s), ts(la), ts(ch)) for c, e, d, s, la, ch in EXPECTED]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[:3] == w[:3]
        assert [None if pd.isna(x) else pd.Timestamp(x) for x in g[3:]] == list(w[3:]), g
    assert lab.churned.all()


def test_shared_labels_give_the_same_rates_and_cohorts(edges) -> None:
    own = labels(edges, as_of=AS_OF)
    shared = edges.warehouse.ibis.create_table("shared_labels", own, temp=True)
    pd.testing.assert_frame_equal(churn_rates(edges, as_of=AS_OF, labels=shared),
                                  churn_rates(edges, as_of=AS_OF))
    pd.testing.assert_frame_equal(cohorts(edges, as_of=AS_OF, labels=shared),
                                  cohorts(edges, as_of=AS_OF))
