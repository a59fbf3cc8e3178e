"""Revenue churn (MRR movements) on the hand-made SaaS fixture."""

from __future__ import annotations

import pytest

from churnguard.errors import InputError
from churnguard.measure import rates

from ._data import (
    SAAS_AS_OF,
    SAAS_CUSTOMERS,
    SAAS_SUBSCRIPTIONS,
    SHOP_CUSTOMERS,
    SHOP_ORDERS,
)
from .conftest import MakeWs

# MRR at each month boundary b (a subscription counts when started_at < b <= ended_at;
# C8's end 08-01 is after as_of, so it is open):
#          01-01 02-01 03-01 04-01 05-01 06-01 07-01
#   C1       0    10    10    30     0     0     0    s1/s2 10, s3 (pro) 30 ends 04-10
#   C2       0    30    30    30    30    30    30
#   C3       0    10    10     0     0    10    10    ends 03-15, back 05-01 (not < 05-01)
#   C4       0     0    30    30    30    30     0    starts 02-01, ends 06-30
#   C5       0     0    10    30    30    30    30    basic 10 -> pro 30 on 03-31
#   C6       0     0     0    30    30     0    30    ends 05-31, back 06-03
#   C7       0     0     0     0    15    10    10    basic 10 + addon 5 (04-15..05-10)
#   C8       0     0     0     0     0     0    30
#   total    0    50    90   150   135   110   140
REVENUE = [
    # start, new, expansion, contraction, churned, end
    [0, 50, 0, 0, 0, 50],        # Jan: C1 10 + C2 30 + C3 10
    [50, 40, 0, 0, 0, 90],       # Feb: C4 30 + C5 10
    [90, 30, 40, 0, 10, 150],    # Mar: new C6 30; C1 10->30, C5 10->30; C3 10 lost
    [150, 15, 0, 0, 30, 135],    # Apr: new C7 15; C1 30 lost
    [135, 10, 0, 5, 30, 110],    # May: C3 back 10; C7 15->10; C6 30 lost
    [110, 60, 0, 0, 30, 140],    # Jun: C6 back 30, C8 30; C4 30 lost
]
MOVES = ["mrr_start", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "mrr_end"]


def test_mrr_movements_and_retention_by_hand(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    df = rates(ws, as_of=SAAS_AS_OF, revenue=True)
    assert df[MOVES].to_numpy().tolist() == REVENUE
    assert (df.mrr_end == df.mrr_start + df.new_mrr + df.expansion_mrr - df.contraction_mrr
            - df.churned_mrr).all()
    mar, apr, may, jun = (df.iloc[i] for i in range(2, 6))
    assert mar.gross_mrr_churn_rate == pytest.approx(10 / 90)
    assert mar.expansion_rate == pytest.approx(40 / 90)
    assert mar.net_revenue_retention == pytest.approx((90 - 10 + 40) / 90)   # 1.333
    assert mar.gross_revenue_retention == pytest.approx(80 / 90)
    assert apr.net_revenue_retention == pytest.approx(120 / 150)             # 0.8
    assert may.contraction_rate == pytest.approx(5 / 135)
    assert may.gross_revenue_retention == pytest.approx(100 / 135)           # 0.741
    assert jun.gross_mrr_churn_rate == pytest.approx(30 / 110)
    assert df.iloc[0].isna()[["gross_mrr_churn_rate", "net_revenue_retention"]].all()
    # the customer columns are unchanged by revenue=True
    assert df.churned.tolist() == rates(ws, as_of=SAAS_AS_OF).churned.tolist()


def test_revenue_by_contract_type_adds_up(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    df = rates(ws, as_of=SAAS_AS_OF, revenue=True, by="contract_type")
    summed = df.groupby("period_start")[MOVES].sum()
    assert summed.to_numpy().tolist() == REVENUE
    # annual (C2, C5, C7): May has C7's contraction 5 and no churned MRR
    may = df[(df.contract_type == "annual") & (df.period_start.astype(str) == "2024-05-01")]
    assert may[MOVES].to_numpy().tolist() == [[75, 0, 0, 5, 0, 70]]


def test_revenue_needs_subscriptions(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS)
    with pytest.raises(InputError, match="revenue churn needs subscriptions"):
        rates(ws, revenue=True, inactive_days=60)
