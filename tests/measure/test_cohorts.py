"""Signup cohorts x months since signup, worked out by hand on both fixtures."""

from __future__ import annotations

import math

import pytest

from churnguard.errors import InputError
from churnguard.measure import cohort_matrix, cohorts

from ._data import (
    SAAS_AS_OF,
    SAAS_CUSTOMERS,
    SAAS_SUBSCRIPTIONS,
    SHOP_AS_OF,
    SHOP_CUSTOMERS,
    SHOP_INTERACTIONS,
    SHOP_ORDERS,
)
from .conftest import MakeWs

NAN = math.nan


def rows(m) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    return {str(k): [float(v) for v in r]
            for k, r in m.iterrows()}


def same(a: dict[str, list[float]], b: dict[str, list[float]]) -> bool:
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k]) and all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y)
                                       for x, y in zip(a[k], b[k], strict=True)) for k in a)


def test_saas_cohorts_by_hand(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    df = cohorts(ws, as_of=SAAS_AS_OF)
    # alive at month-end b_k (start < b_k <= churn); episodes in test_labels / _data.py
    #   Jan (C1, C2, C3): 02-01 all 3; 03-01 all; 04-01 C3 gone (03-15): 2; 05-01 C1 gone
    #     (04-10), C3 back only on 05-01 (not < 05-01): 1; 06-01 C2, C3: 2; 07-01: 2
    #   Feb (C4, C5): 1, 1, 1, 1, then C4 gone 06-30 < 07-01: 1/2
    #   Mar (C6): 04-01, 05-01 alive; 06-01 gone (05-31); 07-01 back (06-03)
    #   Apr (C7): alive; Jun (C8): alive at 07-01. Cells after 07-01 are unknown.
    assert same(rows(cohort_matrix(df)), {
        "2024-01-01": [1, 1, 2 / 3, 1 / 3, 2 / 3, 2 / 3],
        "2024-02-01": [1, 1, 1, 1, 0.5, NAN],
        "2024-03-01": [1, 1, 0, 1, NAN, NAN],
        "2024-04-01": [1, 1, 1, NAN, NAN, NAN],
        "2024-06-01": [1, NAN, NAN, NAN, NAN, NAN],
    })
    # revenue: cohort MRR at b_k over MRR at b_0 (MRR table in test_revenue.py)
    #   Jan: 50, 50, 60 (C1 30 + C2 30), 30, 40 (C2 + C3), 40
    #   Feb: 40 (C4 30 + C5 10), 60, 60, 60, 30 (C4 gone)
    #   Apr (C7): 15, 10, 10
    assert same(rows(cohort_matrix(df, "revenue_retention")), {
        "2024-01-01": [1, 1, 1.2, 0.6, 0.8, 0.8],
        "2024-02-01": [1, 1.5, 1.5, 1.5, 0.75, NAN],
        "2024-03-01": [1, 1, 0, 1, NAN, NAN],
        "2024-04-01": [1, 10 / 15, 10 / 15, NAN, NAN, NAN],
        "2024-06-01": [1, NAN, NAN, NAN, NAN, NAN],
    })
    jan = df[df.cohort.astype(str) == "2024-01-01"]
    assert jan.cohort_size.unique().tolist() == [3]
    assert jan.customers.tolist() == [3, 3, 2, 1, 2, 2]
    assert jan.revenue.tolist() == [50, 50, 60, 30, 40, 40]


def test_shop_cohorts_use_order_revenue(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS)
    df = cohorts(ws, as_of=SHOP_AS_OF, inactive_days=60)
    jan = df[df.cohort.astype(str) == "2024-01-01"]
    # N1 (churn 04-15), N2 (churn 05-09): alive at 02-01, 03-01, 04-01; N2 only at 05-01
    assert jan.retention.tolist() == [1, 1, 1, 0.5, 0, 0]
    # orders: Jan N1 100 + N2 20 = 120, Feb N1 50, then nothing
    assert jan.revenue.tolist() == [120, 50, 0, 0, 0, 0]
    assert jan.revenue_retention.tolist() == pytest.approx([1, 50 / 120, 0, 0, 0, 0])
    q = cohorts(ws, as_of=SHOP_AS_OF, inactive_days=60, by="signup_quarter")
    # Q1 2024: N1, N2, N3, N4; months counted from January
    assert q[q.months_since_signup == 0].cohort_size.tolist() == [4, 2]
    with pytest.raises(InputError, match="unknown cohort 'signup_week'"):
        cohorts(ws, by="signup_week")
