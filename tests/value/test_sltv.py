"""SLTV and A-D grades on a hand-made fixture (values computed by hand in comments)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from churnguard.errors import InputError
from churnguard.value.sltv import SLTV_COLUMNS, sltv_frame

AS_OF = "2025-01-01"


def ts(day: str | None) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC") if day else pd.NaT


def _tables() -> dict[str, ibis.Table]:
    ep = pd.DataFrame(
        [  # customer, episode, start, churn_at (None: still a customer)
            ("u1", 1, "2022-01-01", "2022-06-01"),  # reactivated 3 months later
            ("u1", 2, "2022-09-01", "2023-03-01"),  # lost
            ("u2", 1, "2022-01-01", "2022-12-01"),  # lost
            ("u3", 1, "2022-02-01", "2022-05-01"),  # reactivated
            ("u3", 2, "2022-08-01", None),  # active
            ("u4", 1, "2024-03-01", "2024-10-01"),  # lost, too recent to count in rates
        ],
        columns=["customer_id", "episode", "start_at", "churn_at"],
    )
    ep["start_at"] = ep["start_at"].map(ts)
    ep["churn_at"] = ep["churn_at"].map(ts)
    ep["churned"] = ep["churn_at"].notna()
    ep["observed_until"] = ts(AS_OF)
    orders = pd.DataFrame({
        "customer_id": ["u1", "u1", "u2", "u3", "u3", "u4", "u4"],
        "ordered_at": [ts(d) for d in ("2022-03-01", "2022-10-01", "2022-05-01", "2022-03-01",
                                       "2022-09-01", "2024-05-01", "2025-02-01")],
        "amount": [100.0, 300.0, 50.0, 40.0, 60.0, 200.0, 9999.0],  # last: after as_of
    })
    subs = pd.DataFrame({
        "customer_id": ["u2", "u4"],
        "started_at": [ts("2022-01-01"), ts("2024-03-01")],
        "ended_at": [ts("2022-12-01"), ts("2024-10-01")],
        "mrr": [10.0, 0.0],
        "cancel_reason": ["price", "price"],
    })
    feedback = pd.DataFrame({
        "customer_id": ["u1", "u3"],
        "at": [ts("2023-03-15"), ts("2025-03-01")],  # u3's is after as_of: ignored
        "reason": ["competitor", "price"],
    })
    customers = pd.DataFrame({"customer_id": ["u1", "u2", "u3", "u4"],
                              "plan": ["A", "A", "B", "B"]})
    return {"episodes": ibis.memtable(ep), "orders": ibis.memtable(orders),
            "subscriptions": ibis.memtable(subs), "feedback": ibis.memtable(feedback),
            "customers": ibis.memtable(customers)}


def test_hand_computed_sltv_and_grades() -> None:
    t = _tables()
    out = sltv_frame(t["episodes"], t["orders"], t["subscriptions"], t["feedback"],
                     t["customers"], as_of=AS_OF, prior_strength=2.0, own_weight=0.5)
    assert list(out.columns) == list(SLTV_COLUMNS)
    got = out.set_index("customer_id")
    # lost = latest episode churned: u1, u2, u4 (u3 is active again)
    assert sorted(got.index) == ["u1", "u2", "u4"]
    # reasons: u1 ep 2 from feedback within 90 days of churn; u2, u4 cancel_reason
    assert got["reason"].to_dict() == {"u1": "competitor", "u2": "price", "u4": "price"}
    # P(reactivation within 12 months), churned by 2024-01-01: u1e1 (back), u1e2, u2e1,
    # u3e1 (back): overall p0 = 2/4 = 0.5; k = 2
    # plan A: 1 of 3 -> (1 + 2 * 0.5) / (3 + 2) = 0.4; plan B: 1 of 1 -> 2 / 3
    # cells: (A, competitor) 0 of 1 -> (0 + 2 * 0.4) / 3 = 0.26667; (A, price) same;
    # (B, price) no history -> plan B 2 / 3
    assert got["p_reactivation"].to_dict() == pytest.approx(
        {"u1": 0.8 / 3, "u2": 0.8 / 3, "u4": 2 / 3})
    # own value: u1 ep 2 = 300; u2 = 50 + 10 MRR x 334 days / 30.4375; u4 = 200 (the order
    # after as_of is ignored)
    u2_own = 50 + 10 * 334 / 30.4375
    assert got["own_value"].to_dict() == pytest.approx({"u1": 300.0, "u2": u2_own, "u4": 200.0})
    # second lives: u1e2 300, u3e2 60 -> v0 = 180; A: (300 + 2 * 180) / 3 = 220;
    # B: (60 + 360) / 3 = 140
    assert got["peer_value"].to_dict() == pytest.approx({"u1": 220.0, "u2": 220.0, "u4": 140.0})
    expected = {"u1": 0.8 / 3 * 260.0, "u2": 0.8 / 3 * (u2_own + 220) / 2, "u4": 2 / 3 * 170}
    assert got["sltv"].to_dict() == pytest.approx(expected)  # 69.33, 50.63, 113.33
    assert out["customer_id"].tolist() == ["u4", "u1", "u2"]
    # quartiles of (50.63, 69.33, 113.33): 60.0, 69.33, 91.33 -> u4 A; u1 not > median: C
    assert got["grade"].to_dict() == {"u4": "A", "u1": "C", "u2": "D"}


def test_no_segment_column_and_errors() -> None:
    t = _tables()
    out = sltv_frame(t["episodes"], t["orders"], t["subscriptions"], t["feedback"],
                     t["customers"], as_of=AS_OF, segment_by=None)
    assert set(out["segment"]) == {"(all)"}
    assert out["p_reactivation"].between(0, 1).all()
    with pytest.raises(InputError, match="grade_quantiles"):
        sltv_frame(t["episodes"], t["orders"], t["subscriptions"], t["feedback"],
                   t["customers"], as_of=AS_OF, grade_quantiles=(0.5, 0.2, 0.9))
