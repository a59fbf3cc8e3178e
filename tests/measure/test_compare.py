"""Churned vs active, and the pre-churn history, on a hand-made fixture (see ``_data.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from churnguard.errors import InputError
from churnguard.measure import compare, history
from churnguard.measure.compare import parse_window
from churnguard.measure.history import parse_period

from ._data import (
    COMPARE_AS_OF,
    COMPARE_CUSTOMERS,
    COMPARE_INTERACTIONS,
    COMPARE_ORDERS,
    COMPARE_SUBSCRIPTIONS,
    COMPARE_TICKETS,
)
from .conftest import MakeWs


@pytest.fixture
def ws(make_ws: MakeWs):  # type: ignore[no-untyped-def]
    return make_ws("cmp", customers=COMPARE_CUSTOMERS, subscriptions=COMPARE_SUBSCRIPTIONS,
                   orders=COMPARE_ORDERS, interactions=COMPARE_INTERACTIONS,
                   tickets=COMPARE_TICKETS)


def test_group_values_by_hand(ws) -> None:  # type: ignore[no-untyped-def]
    df = compare(ws, window="90d", as_of=COMPARE_AS_OF).set_index("behaviour")
    v = df[["churned_value", "active_value"]]
    expected = {  # churned K1, K2 | active K3, K4, K5 (table in _data.py)
        "complaints": (1.5, 1 / 3), "tickets": (1.5, 2 / 3), "resolution_hours": (30, 18),
        "orders": (1.5, 4 / 3), "order_amount": (100, 100), "promotions": (0.5, 1 / 3),
        "events_attended": (0.5, 1), "email_engagement": (0.5, 5 / 3),
        "had_complaint": (1, 1 / 3), "took_promotion": (0.5, 1 / 3),
        "last_product = P1": (0.5, 1 / 3), "last_product = P2": (0.5, 1 / 3),
        "last_product = (none)": (0, 1 / 3),
    }
    assert set(df.index) == set(expected)
    for name, (a, b) in expected.items():
        assert v.loc[name].tolist() == pytest.approx([a, b]), name
    assert df.loc["resolution_hours", ["n_churned", "n_active"]].tolist() == [2, 2]  # K4: none


def test_effect_sizes_and_tests_by_hand(ws) -> None:  # type: ignore[no-untyped-def]
    df = compare(ws, window="90d", as_of=COMPARE_AS_OF).set_index("behaviour")
    c = df.loc["complaints"]
    # churned [2, 1]: mean 1.5, var 0.5; active [0, 0, 1]: mean 1/3, var 1/3
    # pooled var = (1*0.5 + 2*(1/3)) / 3 = 0.38889 -> d = (7/6) / 0.62361 = 1.8708
    assert c.difference == pytest.approx(7 / 6)
    assert c.effect_size == pytest.approx((7 / 6) / np.sqrt(0.5 / 3 + 2 / 9))
    # Welch: t = (7/6) / sqrt(0.5/2 + (1/3)/3) = 1.9415 ...; scipy gives the p-value
    assert c.p_value == pytest.approx(stats.ttest_ind([2, 1], [0, 0, 1], equal_var=False).pvalue)
    h = df.loc["had_complaint"]
    # 2x2 [[2, 0], [1, 2]]: chi2 = n (ad - bc)^2 / (row and column totals)
    #   = 5 * (2*2 - 0*1)^2 / (2 * 3 * 3 * 2) = 80 / 36 = 2.2222
    assert h.effect_size == pytest.approx(2 / 3) and h.effect == "risk difference"
    assert h.p_value == pytest.approx(stats.chi2.sf(80 / 36, 1))
    assert h.standardized_effect == pytest.approx(2 * np.arcsin(1) - 2 * np.arcsin(np.sqrt(1 / 3)))
    # Benjamini-Hochberg by hand: q_(i) = min_{j >= i} p_(j) * m / j
    p = df.p_value.dropna().sort_values()
    m = len(p)
    q = np.minimum.accumulate((p.to_numpy() * m / np.arange(1, m + 1))[::-1])[::-1]
    assert df.loc[p.index, "q_value"].to_numpy() == pytest.approx(np.minimum(q, 1))
    # sorted by importance: nothing is significant with 5 customers, so by |effect|
    eff = df.standardized_effect.abs().to_numpy()
    assert (eff[:-1] >= eff[1:]).all()
    assert df.index[0] == "had_complaint"  # h = 1.91 > complaints' d = 1.87


def test_history_of_the_churned_by_hand(ws) -> None:  # type: ignore[no-untyped-def]
    df = history(ws, churned_in="2024-Q2", as_of=COMPARE_AS_OF).set_index("customer_id")
    assert df.index.tolist() == ["K1", "K2"]
    # K1: t1, t2 complaints; last order 03-15 P1 with SPRING; no event; reason price
    # K2: t4 (01-15) and t3 (04-01, 'outage'); 1 in the last 90 days; P2; event 03-01
    assert df.complaints.tolist() == [2, 2]
    assert df.complaints_in_window.tolist() == [2, 1]
    assert df.last_complaint_category.tolist() == ["outage", "outage"]
    assert df.last_product.tolist() == ["P1", "P2"]
    assert df.promotions.tolist() == [1, 0] and df.loc["K1", "last_promotion"] == "SPRING"
    assert df.events_attended.tolist() == [0, 1]
    assert df.cancel_reason.tolist() == ["price", "competitor"]
    assert df.tenure_days.tolist() == [91, 121]   # 01-01..04-01, 01-01..05-01
    assert df.order_amount.tolist() == [140, 60]
    assert history(ws, churned_in="2024-06", as_of=COMPARE_AS_OF).empty


def test_parsers_and_errors(ws) -> None:  # type: ignore[no-untyped-def]
    assert parse_window("1y") == 365
    assert parse_period("2024")[1].isoformat().startswith("2025-01-01")
    with pytest.raises(InputError, match="is not a period"):
        parse_period("2024-Q5")
    with pytest.raises(InputError, match="is not a length"):
        parse_window("ninety")
    with pytest.raises(InputError, match="nothing to compare"):
        compare(ws, window="365d", as_of=COMPARE_AS_OF)
