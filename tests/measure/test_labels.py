"""Churn labels on hand-made fixtures (see ``_data.py`` for the worked-out expectations)."""

from __future__ import annotations

import pandas as pd
import pytest

from churnguard.errors import InputError
from churnguard.measure import ChurnRules, labels

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

OPEN = None


def table(lab: pd.DataFrame) -> list[tuple]:
    """(customer, episode, start, last activity, churn date or None) as YYYY-MM-DD text."""
    def d(v: object) -> str | None:
        return None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")  # type: ignore[arg-type]

    return [(r.customer_id, int(r.episode), d(r.start_at), d(r.last_activity_at), d(r.churn_at))
            for r in lab.itertuples()]


@pytest.fixture
def shop(make_ws: MakeWs):
    return make_ws("shop", customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS,
                   interactions=SHOP_INTERACTIONS)


@pytest.fixture
def saas(make_ws: MakeWs):
    return make_ws("saas", customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)


SHOP_LABELS_60 = [
    ("N1", 1, "2024-01-01", "2024-02-15", "2024-04-15"),
    ("N2", 1, "2024-01-15", "2024-03-10", "2024-05-09"),
    ("N3", 1, "2024-02-01", "2024-02-05", "2024-04-05"),
    ("N3", 2, "2024-05-01", "2024-06-20", None),
    ("N4", 1, "2024-03-01", "2024-03-01", "2024-04-30"),
    ("N4", 2, "2024-06-25", "2024-06-25", None),
    ("N5", 1, "2024-05-20", "2024-05-20", None),
    ("N6", 1, "2024-04-02", "2024-06-01", None),
]


def test_non_contractual_labels(shop) -> None:
    lab = labels(shop, as_of=SHOP_AS_OF, inactive_days=60).to_pandas()
    assert table(lab) == SHOP_LABELS_60
    assert set(lab.definition) == {"non_contractual"}
    assert lab.censored.tolist() == lab.churn_at.isna().tolist()
    assert lab.censored.tolist() == [False, False, False, True, False, True, True, True]
    assert lab.is_reactivation.tolist() == [False, False, False, True, False, True, False, False]
    assert (lab.window_days == 60).all()
    assert (lab.observed_until == pd.Timestamp("2024-07-01", tz="UTC")).all()


def test_non_contractual_default_window_is_180_days(shop) -> None:
    # N1: last 02-15 + 180 = 08-13 (14 + 31 + 30 + 31 + 30 + 31 + 13 days); with as_of
    # 2025-01-01 every window has elapsed except N3/N4 (last activity 06-20 / 06-25 -> due
    # 12-17 / 12-22, still before 2025-01-01: churned) - so everyone churned, nobody split
    lab = labels(shop, as_of="2025-01-01").to_pandas()
    assert table(lab)[0] == ("N1", 1, "2024-01-01", "2024-02-15", "2024-08-13")
    assert lab.groupby("customer_id").episode.max().max() == 1  # no gap exceeds 180 days
    assert not lab.censored.any()
    assert table(lab)[2] == ("N3", 1, "2024-02-01", "2024-06-20", "2024-12-17")


def test_without_as_of_the_data_ends_at_the_last_timestamp(shop) -> None:
    # the last timestamp is N4's order on 06-25; outbound e-mails count for the data end
    lab = labels(shop, inactive_days=60).to_pandas()
    assert (lab.observed_until == pd.Timestamp("2024-06-25", tz="UTC")).all()
    assert table(lab) == SHOP_LABELS_60


SAAS_LABELS = [
    ("C1", 1, "2024-01-01", "2024-04-10", "2024-04-10"),
    ("C2", 1, "2024-01-10", "2024-07-01", None),
    ("C3", 1, "2024-01-15", "2024-03-15", "2024-03-15"),
    ("C3", 2, "2024-05-01", "2024-07-01", None),
    ("C4", 1, "2024-02-01", "2024-06-30", "2024-06-30"),
    ("C5", 1, "2024-02-10", "2024-07-01", None),
    ("C6", 1, "2024-03-01", "2024-05-31", "2024-05-31"),
    ("C6", 2, "2024-06-03", "2024-07-01", None),
    ("C7", 1, "2024-04-01", "2024-07-01", None),
    ("C8", 1, "2024-06-20", "2024-07-01", None),
]


def test_contractual_labels(saas) -> None:
    lab = labels(saas, as_of=SAAS_AS_OF).to_pandas()
    assert table(lab) == SAAS_LABELS
    assert set(lab.definition) == {"contractual"}
    assert lab.is_reactivation.sum() == 2
    assert (lab.window_days == 0).all()


def test_grace_period_joins_a_late_renewal_and_delays_the_verdict(saas) -> None:
    # grace 5: C6 renews 06-03 within 05-31 + 5 days -> one open episode;
    # C4 ended 06-30, its grace runs to 07-05, after as_of -> censored, not churned
    lab = labels(saas, as_of=SAAS_AS_OF, grace_days=5).to_pandas()
    got = {(r[0], r[1]): r for r in table(lab)}
    assert ("C6", 2) not in got
    assert got["C6", 1] == ("C6", 1, "2024-03-01", "2024-07-01", None)
    assert got["C4", 1] == ("C4", 1, "2024-02-01", "2024-06-30", None)
    c4 = lab[lab.customer_id == "C4"].iloc[0]
    assert c4.censored and not c4.churned
    # C3's gap 03-15..05-01 is longer than 5 days: still a reactivation
    assert ("C3", 2) in got


def test_auto_mixes_contractual_and_non_contractual(make_ws: MakeWs) -> None:
    ws = make_ws("mixed", customers=SHOP_CUSTOMERS + SAAS_CUSTOMERS.split("\n", 2)[2],
                 orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS,
                 subscriptions=SAAS_SUBSCRIPTIONS)
    lab = labels(ws, as_of=SAAS_AS_OF, inactive_days=60).to_pandas()
    assert table(lab) == sorted(SAAS_LABELS + SHOP_LABELS_60)
    kinds = lab.groupby("customer_id").definition.first()
    assert kinds.str.startswith("contractual").sum() == 8
    assert (kinds[kinds.index.str.startswith("N")] == "non_contractual").all()
    # forcing one definition: contractual drops the shop customers, non_contractual
    # labels the SaaS customers from their (sign-up only) activity
    forced = labels(ws, as_of=SAAS_AS_OF, definition="contractual").to_pandas()
    assert set(forced.customer_id) == {f"C{i}" for i in range(1, 9)}
    nc = labels(ws, as_of=SAAS_AS_OF, definition="non_contractual", inactive_days=60)
    assert set(nc.to_pandas().definition) == {"non_contractual"}


def test_snapshot_flag(make_ws: MakeWs) -> None:
    ws = make_ws("snap", customers="""
        customer_id,signup_at,churned,churned_at
        P1,2023-01-01,yes,2024-03-01
        P2,2023-02-01,no,
        P3,,1,
        """)
    lab = labels(ws).to_pandas()
    assert table(lab) == [
        ("P1", 1, "2023-01-01", "2024-03-01", "2024-03-01"),
        ("P2", 1, "2023-02-01", None, None),
        ("P3", 1, None, None, None),
    ]
    assert set(lab.definition) == {"snapshot"}
    assert lab.churned.tolist() == [True, False, True]
    assert lab.censored.tolist() == [False, True, False]  # P3 churned, date unknown
    # point-in-time: before P1 left, P1 is not churned
    early = labels(ws, as_of="2024-01-01").to_pandas()
    assert early.churned.tolist() == [False, False, True]


def test_segment_override(make_ws: MakeWs) -> None:
    # wholesale (N1, N2) use 30 days:
    #   N1: 01-01, 01-10 (gap 9), 02-15 (gap 36 > 30: new episode)
    #       ep1 churn 01-10 + 30 = 02-09; ep2 churn 02-15 + 30 = 03-16
    #   N2: 01-15, 01-20, 03-10 (gap 50 > 30)  ep1 churn 02-19; ep2 churn 03-10 + 30 = 04-09
    # retail keeps the workspace's 60 days: the same as SHOP_LABELS_60
    ws = make_ws("seg", customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS,
                 interactions=SHOP_INTERACTIONS, churn_toml="""
        inactive_days = 60
        [churn.segments]
        "industry = wholesale" = { inactive_days = 30 }
        """)
    lab = labels(ws, as_of=SHOP_AS_OF).to_pandas()
    assert table(lab) == [
        ("N1", 1, "2024-01-01", "2024-01-10", "2024-02-09"),
        ("N1", 2, "2024-02-15", "2024-02-15", "2024-03-16"),
        ("N2", 1, "2024-01-15", "2024-01-20", "2024-02-19"),
        ("N2", 2, "2024-03-10", "2024-03-10", "2024-04-09"),
        *SHOP_LABELS_60[2:],
    ]
    assert lab.window_days.tolist()[:4] == [30] * 4


def test_segment_override_on_a_custom_attribute(make_ws: MakeWs) -> None:
    ws = make_ws("attr", customers="""
        customer_id,signup_at,tier
        A,2024-01-01,gold
        B,2024-01-01,silver
        """, churn_toml="""
        inactive_days = 60
        [churn.segments]
        "attributes.tier = 'gold'" = { inactive_days = 10 }
        """)
    lab = labels(ws, as_of="2024-03-15").to_pandas()
    assert table(lab) == [("A", 1, "2024-01-01", "2024-01-01", "2024-01-11"),
                          ("B", 1, "2024-01-01", "2024-01-01", "2024-03-01")]


@pytest.mark.parametrize(("segments", "match"), [
    ({"industry wholesale": {"inactive_days": 9}}, r'"column = value"'),
    ({"colour = red": {"inactive_days": 9}}, r"'colour' is not a customers column"),
    ({"industry = x": {"inactive_dayz": 9}}, r"override inactive_days and grace_days only"),
    ({"industry = x": {"inactive_days": 0}}, r"inactive_days must be a whole number"),
    ({"industry = x; drop table": {"grace_days": 1}}, None),  # a value, compared as text
])
def test_bad_segment_keys_are_clear_input_errors(segments: dict, match: str | None) -> None:
    if match is None:
        rule = ChurnRules.make(segments=segments).segments[0]
        assert (rule.column, rule.value) == ("industry", "x; drop table")
        return
    with pytest.raises(InputError, match=match):
        ChurnRules.make(segments=segments)


def test_bad_arguments(shop) -> None:
    with pytest.raises(InputError, match="unknown churn definition 'sometimes'"):
        labels(shop, definition="sometimes")
    with pytest.raises(InputError, match="as_of 'soon' is not a date"):
        labels(shop, as_of="soon")
    with pytest.raises(InputError, match="grace_days must be"):
        labels(shop, grace_days=-1)


def test_point_in_time_rows_after_as_of_change_nothing(make_ws: MakeWs) -> None:
    before = make_ws("a", customers=SHOP_CUSTOMERS + SAAS_CUSTOMERS.split("\n", 2)[2],
                     orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS,
                     subscriptions=SAAS_SUBSCRIPTIONS)
    later = make_ws(
        "b",
        customers=SHOP_CUSTOMERS + SAAS_CUSTOMERS.split("\n", 2)[2] + "N9,2024-07-01,retail,x\n",
        orders=SHOP_ORDERS + "o90,N1,2024-07-01,1\no91,N5,2024-08-01,1\no92,N9,2024-07-02,1\n",
        interactions=SHOP_INTERACTIONS + "i90,N2,2024-07-01T00:00:00,login,inbound\n",
        subscriptions=SAAS_SUBSCRIPTIONS.replace("s4,C2,2024-01-10,,", "s4,C2,2024-01-10,"
                                                 "2024-07-01,") + "s90,C4,2024-07-01,,pro,1,1\n",
    )
    for kw in ({}, {"inactive_days": 60}, {"grace_days": 3}):
        a = labels(before, as_of="2024-07-01", **kw).to_pandas()
        b = labels(later, as_of="2024-07-01", **kw).to_pandas()
        pd.testing.assert_frame_equal(a, b)
    # and without as_of the later rows do change the answer
    assert not labels(later).to_pandas().equals(labels(before).to_pandas())
