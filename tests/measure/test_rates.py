"""Monthly churn rates on the hand-made fixtures, breakdowns, and the reconciliation property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnguard.errors import InputError
from churnguard.measure import ChurnRules, label_episodes
from churnguard.measure.rates import churn_rates, rates_from_labels

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

COUNTS = ["customers_start", "new", "reactivated", "churned", "churned_from_start",
          "customers_end"]


def counts(df: pd.DataFrame) -> list[list[int]]:
    return df[COUNTS].astype(int).to_numpy().tolist()


def test_shop_monthly_rates(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS)
    df = churn_rates(ws, period="month", as_of=SHOP_AS_OF, inactive_days=60)
    assert [d.isoformat()[:7] for d in df.period_start] == [f"2024-0{m}" for m in range(1, 7)]
    # start, new, react, churned, churned of those at start, end   (labels: test_labels.py)
    assert counts(df) == [
        [0, 2, 0, 0, 0, 2],   # Jan: N1, N2 join
        [2, 1, 0, 0, 0, 3],   # Feb: N3 joins
        [3, 1, 0, 0, 0, 4],   # Mar: N4 joins
        [4, 1, 0, 3, 3, 2],   # Apr: N6 joins; N3 (04-05), N1 (04-15), N4 (04-30) churn
        [2, 1, 1, 1, 1, 3],   # May: N5 joins, N3 is back (05-01); N2 churns (05-09)
        [3, 0, 1, 0, 0, 4],   # Jun: N4 is back (06-25)
    ]
    # churn rate = churned of those at start / customers at start: Apr 3/4, May 1/2
    assert df.churn_rate.tolist()[1:] == [0.0, 0.0, 0.75, 0.5, 0.0]
    assert pd.isna(df.churn_rate.iloc[0])  # nobody at risk in January
    assert df.retention_rate.tolist()[1:] == [1.0, 1.0, 0.25, 0.5, 1.0]
    assert df.churn_rate_change.tolist()[2:] == [0.0, 0.75, -0.25, -0.5]
    assert df.customers_end_change.tolist()[1:] == [1, 1, -2, 1, 1]
    assert df.complete.all()


def test_saas_monthly_rates(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    df = churn_rates(ws, as_of=SAAS_AS_OF)
    assert counts(df) == [
        [0, 3, 0, 0, 0, 3],   # Jan: C1, C2, C3
        [3, 2, 0, 0, 0, 5],   # Feb: C4, C5
        [5, 1, 0, 1, 1, 5],   # Mar: C6 joins; C3 churns 03-15          -> 1/5
        [5, 1, 0, 1, 1, 5],   # Apr: C7 joins; C1 churns 04-10          -> 1/5
        [5, 0, 1, 1, 1, 5],   # May: C3 back 05-01; C6 churns 05-31     -> 1/5
        [5, 1, 1, 1, 1, 6],   # Jun: C8 joins, C6 back 06-03; C4 churns 06-30 -> 1/5
    ]
    assert df.churn_rate.tolist()[2:] == [0.2, 0.2, 0.2, 0.2]


def test_quarter_and_year_periods_and_an_incomplete_last_period(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    q = churn_rates(ws, period="quarter", as_of=SAAS_AS_OF)
    # Q1: +6 new (C1..C6), C3 churns -> 5;  Q2: 5 at start, C7, C8 new, C3 and C6 back,
    # C1, C6, C4 churn (all active on 04-01) -> 5 + 2 + 2 - 3 = 6; rate 3/5
    assert counts(q) == [[0, 6, 0, 1, 0, 5], [5, 2, 2, 3, 3, 6]]
    assert q.churn_rate.iloc[1] == pytest.approx(0.6)
    y = churn_rates(ws, period="year", as_of=SAAS_AS_OF)
    assert counts(y) == [[0, 8, 2, 4, 0, 6]] and not y.complete.iloc[0]
    w = churn_rates(ws, period="week", as_of=SAAS_AS_OF)
    assert w.period_start.iloc[0].isoformat() == "2024-01-01"  # a Monday
    assert (w.customers_end == w.customers_start + w.new + w.reactivated - w.churned).all()


def test_breakdown_by_region_and_bands(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS)
    df = churn_rates(ws, as_of=SHOP_AS_OF, inactive_days=60, by="region")
    apr = df[df.period_start.astype(str) == "2024-04-01"].set_index("region")
    # north: N1, N3 (+N5 later); south: N2, N4, N6.  April: north loses N1, N3 (2 of 2);
    # south loses N4 of N2, N4 (1 of 2) and gains N6
    assert apr.loc["north", COUNTS].tolist() == [2, 0, 0, 2, 2, 0]
    assert apr.loc["south", COUNTS].tolist() == [2, 1, 0, 1, 1, 2]
    # the groups add up to the total
    total = churn_rates(ws, as_of=SHOP_AS_OF, inactive_days=60)
    summed = df.groupby("period_start")[COUNTS].sum().reset_index(drop=True)
    assert counts(summed) == counts(total)
    freq = churn_rates(ws, as_of=SHOP_AS_OF, inactive_days=60, by="purchase_frequency_band",
                       period="year")
    # orders: N1 2, N2 1, N3 3, N4 1, N5 0, N6 1
    assert dict(zip(freq.purchase_frequency_band, freq.new, strict=True)) == {
        "0": 1, "1": 3, "2-4": 2}
    amount = churn_rates(ws, as_of=SHOP_AS_OF, inactive_days=60, by="purchase_amount_band",
                         period="year")
    assert set(amount.purchase_amount_band) == {"Q1 low", "Q2", "Q3", "Q4 high", "no orders"}
    tenure = churn_rates(ws, as_of=SHOP_AS_OF, inactive_days=60, by="tenure_band",
                         period="year")
    assert set(tenure.tenure_band) <= {"<3m", "3-6m", "6-12m", "1-2y", "2y+"}


def test_breakdown_by_custom_attribute_and_errors(make_ws: MakeWs) -> None:
    ws = make_ws(customers="""
        customer_id,signup_at,tier
        A,2024-01-01,gold
        B,2024-01-01,
        """)
    df = churn_rates(ws, as_of="2024-03-01", by="tier", inactive_days=10)
    assert sorted(set(df.tier)) == ["(missing)", "gold"]
    with pytest.raises(InputError, match="unknown period 'fortnight'"):
        churn_rates(ws, period="fortnight")
    with pytest.raises(InputError, match="cannot break churn down by '_ingested_at'"):
        churn_rates(ws, by="_ingested_at")


# -- property: the books always balance --------------------------------------------------
T0 = datetime(2024, 1, 1, tzinfo=UTC)
day = st.integers(min_value=0, max_value=300)


@st.composite
def business(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    n = draw(st.integers(1, 6))
    ids = [f"K{i}" for i in range(n)]
    cust = pd.DataFrame({
        "customer_id": ids,
        "signup_at": [T0 + timedelta(days=draw(day)) for _ in ids],
        "churned": pd.array([None] * n, dtype="boolean"),
        "churned_at": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
    })
    orders = [(c, T0 + timedelta(days=draw(day), hours=draw(st.integers(0, 23))))
              for c in ids for _ in range(draw(st.integers(0, 4)))]
    subs = []
    for c in draw(st.lists(st.sampled_from(ids), max_size=6)):
        start = draw(day)
        length = draw(st.one_of(st.none(), st.integers(0, 120)))
        subs.append((f"s{len(subs)}", c, T0 + timedelta(days=start),
                     None if length is None else T0 + timedelta(days=start + length)))

    def frame(rows: list, cols: list[str]) -> pd.DataFrame:
        df = pd.DataFrame(rows, columns=cols)
        for c in cols:
            if c.endswith("_at") or c == "at":
                df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[us, UTC]")
            else:
                df[c] = df[c].astype("string")
        return df

    return {
        "customers": cust,
        "orders": frame([(c, t) for c, t in orders], ["customer_id", "ordered_at"]),
        "interactions": frame([], ["customer_id", "at"]).assign(
            direction=pd.Series([], dtype="string")),
        "subscriptions": frame(subs, ["subscription_id", "customer_id", "started_at",
                                      "ended_at"]),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=business(), definition=st.sampled_from(["auto", "contractual", "non_contractual"]),
       inactive_days=st.integers(1, 90), grace_days=st.integers(0, 10),
       period=st.sampled_from(["week", "month", "quarter"]))
def test_start_plus_new_plus_reactivated_minus_churned_is_end(
    data: dict[str, pd.DataFrame], definition: str, inactive_days: int, grace_days: int,
    period: str,
) -> None:
    tables = {k: ibis.memtable(v) for k, v in data.items()}
    rules = ChurnRules.make(definition=definition, inactive_days=inactive_days,
                            grace_days=grace_days)
    lab = label_episodes(tables["customers"], tables["orders"], tables["interactions"],
                         tables["subscriptions"], rules=rules)
    eps = lab.to_pandas()
    assert (eps.churn_at.isna() | (eps.churn_at >= eps.start_at)).all()
    assert (eps.churn_at.isna() | (eps.churn_at < eps.observed_until)).all()
    # a customer's episodes never overlap: the next starts after the previous churned
    nxt = eps.groupby("customer_id").start_at.shift(-1)
    assert (nxt.isna() | (nxt > eps.churn_at)).all()
    df = rates_from_labels(lab, period=period)
    if df.empty:
        return
    assert (df.customers_end
            == df.customers_start + df.new + df.reactivated - df.churned).all()
    assert (df.customers_start.iloc[1:].to_numpy() == df.customers_end.iloc[:-1].to_numpy()).all()
    # and the end count is the number of episodes alive at period_end
    for row in df.itertuples():
        end = pd.Timestamp(row.period_end, tz="UTC")
        alive = ((eps.start_at < end) & (eps.churn_at.isna() | (eps.churn_at >= end))).sum()
        assert row.customers_end == alive
    assert ((df.churn_rate >= 0) & (df.churn_rate <= 1) | df.churn_rate.isna()).all()
