"""Point-in-time features: hand-computed values, point-in-time invariance, snapshot-only
workspaces and a coherent registry. The fixture and its day counts are in ``conftest.py``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnguard.errors import InputError
from churnguard.predict.features import (
    FEATURES,
    KEY_COLUMNS,
    REASON_GROUPS,
    build_features,
    compute_features,
    feature_names,
    feature_registry,
)
from churnguard.warehouse import Workspace

from .conftest import AS_OF, make_workspace

#: expected values by hand; days come from the table in conftest's docstring
EXPECTED: dict[str, dict[str, Any]] = {
    "c1": {
        "tenure_days": 547.0,  # signup 2023-01-01
        "region": "north", "acquisition_channel": "web", "first_offer": "discount",
        "loyalty_tier": "gold", "loyalty_points": 120.0,
        "plan": "basic",  # active subscription s3
        "contract_type": "month-to-month",  # s3 has contract_months 1; customer's is empty
        # orders before AS_OF: o1 (10 d, 100, promo), o2 (60 d, 50), o3 (150 d, 30),
        # o5 (396 d, 20, promo); o4 at AS_OF itself is excluded
        "days_since_last_order": 10.0,
        "orders_30d": 1, "orders_90d": 2, "orders_180d": 3, "orders_365d": 3,
        "orders_prev_90d": 1,  # o3
        "orders_trend_90d": 1 / 3,  # (2 - 1) / (2 + 1)
        "amount_30d": 100.0, "amount_90d": 150.0, "amount_180d": 180.0, "amount_365d": 180.0,
        "amount_prev_90d": 30.0, "amount_trend_90d": 2 / 3,  # (150 - 30) / 180
        "orders_total": 4, "promo_orders": 2, "promo_order_share": 0.5,
        # purchase days 396, 150, 60, 10 days ago: gaps 246, 90, 50; no quantities given
        "purchase_days_total": 4, "purchase_days_per_month": 4 * 30.4375 / 396,
        "mean_days_between_purchases": 386 / 3, "last_purchase_gap_days": 50.0,
        "recency_vs_mean_gap": 10 / (386 / 3), "first_purchase_amount": 20.0,
        "amount_per_item": None,
        # own interactions: i1 login 6 d, i2 email 21 d, i6 chat 30 d (null direction),
        # i7 web 82 d, i3 login 122 d, i4 login 103 d; i5 outbound call 61 d; i8 is future
        "days_since_last_engagement": 6.0, "days_since_last_activity": 6.0,
        "interactions_30d": 3, "interactions_90d": 4, "interactions_prev_90d": 2,
        "interactions_trend_90d": 1 / 3,
        "interactions_login_30d": 1, "interactions_login_90d": 1,
        "interactions_login_trend_90d": -1 / 3,  # 1 vs 2
        "interactions_email_30d": 1, "interactions_web_30d": 0, "interactions_web_90d": 1,
        "interactions_call_90d": 0,  # the only calls are outbound
        "days_since_last_contact": 61.0, "contacts_90d": 1,
        # i7 (info request, 82 d) was followed by i5 (61 d); i6 (quote, 30 d) was not: the
        # outbound i8 comes after AS_OF
        "open_requests": 1, "days_oldest_open_request": 30.0,
        # tickets: t1 complaint 11 d open; t2 complaint 20 d, resolved after AS_OF (so open);
        # t3 complaint 47 d resolved in 5 d (42 d ago, sat 8); t4 151 d, 10 d (141 d ago, 6)
        "tickets_90d": 3, "tickets_prev_90d": 1, "tickets_trend_90d": 0.5,
        "complaints_30d": 2, "complaints_prev_30d": 1, "complaints_trend_30d": 1 / 3,
        "complaints_90d": 3, "complaints_365d": 3,
        "unresolved_tickets": 2, "unresolved_complaints": 2,
        "days_oldest_unresolved_ticket": 20.0,
        "resolution_days_mean_365d": 7.5, "resolution_days_mean_90d": 5.0,
        "resolution_days_change_90d": -5.0, "ticket_satisfaction_mean_365d": 7.0,
        # NPS 9 then 4 (the 0 is after AS_OF); one CSAT 4; the exit survey is not a score
        "nps_last": 4.0, "nps_change": -5.0, "csat_last": 4.0, "csat_change": None,
        # s3: started 547 d ago, ends after AS_OF (so active), 30/month, monthly contract:
        # 547 / 30.4375 = 17.9713 months elapsed -> renews in 1 - 0.9713 months
        "active_subscriptions": 1, "mrr": 30.0, "mrr_change_90d": 0.0,
        "contract_months": 1.0, "months_to_renewal": 1 - (547 / 30.4375 - 17),
        "plan_changes_365d": 0, "downgrades_365d": 0,
        "attr_seats": 5.0, "attr_segment": "smb",
    },
    "c2": {
        "tenure_days": 182.0, "contract_type": "annual", "loyalty_points": None,
        "plan": "basic",  # active s2, although the customer row still says pro
        # o6 (108 d, 200) and the refund o7 (exactly 30 d: inside the 30-day window, -50)
        "days_since_last_order": 30.0, "orders_30d": 1, "amount_30d": -50.0,
        "orders_90d": 1, "orders_prev_90d": 1, "orders_trend_90d": 0.0,
        "amount_prev_90d": 200.0, "amount_trend_90d": -1.0,  # (-50 - 200) / (50 + 200)
        "promo_order_share": 0.0,
        "purchase_days_total": 2, "purchase_days_per_month": 2 * 30.4375 / 108,
        "mean_days_between_purchases": 78.0, "last_purchase_gap_days": 78.0,
        "recency_vs_mean_gap": 30 / 78, "first_purchase_amount": 200.0,
        "days_since_last_engagement": None, "days_since_last_activity": 30.0,
        "interactions_90d": 0, "days_since_last_contact": None, "open_requests": 0,
        "tickets_90d": 0, "unresolved_tickets": 0, "resolution_days_mean_365d": None,
        "nps_last": None,
        # s1 pro 100 (ended 61 d ago) -> s2 basic 60: a downgrade; 90 d ago s1 was active
        "active_subscriptions": 1, "mrr": 60.0, "mrr_change_90d": -40.0,
        "contract_months": 12.0, "months_to_renewal": 12 - 61 / 30.4375,
        "plan_changes_365d": 1, "downgrades_365d": 1,
        "attr_seats": 12.0, "attr_segment": "ent",
    },
    "c3": {
        "tenure_days": 91.0,  # unknown signup: from the first order o8
        "region": "east", "industry": None, "plan": None, "contract_type": None,
        "days_since_last_order": 91.0, "orders_prev_90d": 1, "orders_trend_90d": -1.0,
        # a single purchase day: no gap, so no rhythm features
        "purchase_days_total": 1, "purchase_days_per_month": 30.4375 / 91,
        "mean_days_between_purchases": None, "last_purchase_gap_days": None,
        "recency_vs_mean_gap": None, "first_purchase_amount": 10.0,
        "days_since_last_engagement": 0.5, "days_since_last_activity": 0.5,  # visit at noon
        "interactions_visit_30d": 1, "interactions_trend_90d": 1.0,
        "active_subscriptions": 0, "mrr": 0.0, "contract_months": None,
        "months_to_renewal": None, "attr_seats": None, "attr_segment": None,
    },
}


@pytest.fixture(scope="module")
def frame(shop: Workspace) -> pd.DataFrame:
    return compute_features(shop, AS_OF).set_index("customer_id")


def _same(got: Any, want: Any) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    if isinstance(want, float):
        return math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want)


@pytest.mark.parametrize("customer", sorted(EXPECTED))
def test_hand_computed_values(frame: pd.DataFrame, customer: str) -> None:
    row = frame.loc[customer]
    wrong = {name: (row[name], want) for name, want in EXPECTED[customer].items()
             if not _same(row[name], want)}
    assert not wrong, wrong


def test_who_is_included(frame: pd.DataFrame) -> None:
    # c4 signs up after AS_OF; c3 has an unknown signup and is kept
    assert list(frame.index) == ["c1", "c2", "c3"]
    assert (frame["as_of"] == pd.Timestamp(AS_OF, tz="UTC")).all()


def test_label_attribute_is_never_a_feature(frame: pd.DataFrame) -> None:
    assert "attr_churn" not in frame.columns
    assert not {"churned", "churned_at"} & set(frame.columns)


def test_customers_filter_and_outputs(shop: Workspace) -> None:
    pl = compute_features(shop, AS_OF, customers=["c2", "c4"], output="polars")
    assert pl["customer_id"].to_list() == ["c2"]
    arrow = compute_features(shop, AS_OF, customers=["c1"], output="pyarrow")
    assert arrow.column("orders_total").to_pylist() == [4]


def test_bad_as_of_is_a_clear_error(shop: Workspace) -> None:
    with pytest.raises(InputError, match="as_of 'July' is not a date"):
        build_features(shop, "July")


def test_missing_column_is_a_clear_error(shop: Workspace) -> None:
    tables = {"customers": shop.warehouse.table("customers"),
              "orders": shop.warehouse.table("orders").drop("promotion")}
    with pytest.raises(InputError, match=r"table orders has no column.* promotion"):
        build_features(tables, AS_OF)


# -- registry ---------------------------------------------------------------------------


def test_registry_matches_output_columns(shop: Workspace, frame: pd.DataFrame) -> None:
    names = feature_names(shop)
    assert list(frame.columns) == [c for c in KEY_COLUMNS if c != "customer_id"] + names
    assert names[: len(FEATURES)] == list(FEATURES)
    assert names[len(FEATURES):] == ["attr_seats", "attr_segment"]


def test_registry_entries_are_complete(shop: Workspace, frame: pd.DataFrame) -> None:
    for name, f in feature_registry(shop).items():
        assert f.name == name
        assert f.description.endswith(".") and f.unit, name
        assert f.group in REASON_GROUPS, name
        assert f.kind == ("categorical" if f.dtype == "string" else "numeric")
        col = frame[name]
        if f.kind == "numeric":
            assert pd.api.types.is_numeric_dtype(col), name
        else:
            assert col.dropna().map(type).eq(str).all(), name


def test_registry_covers_the_issue_groups() -> None:
    groups = {f.group for f in FEATURES.values()}
    assert {"complaints", "falling purchases", "no contact", "price", "contract ending",
            "engagement drop", "tenure", "loyalty"} <= groups


# -- snapshot-only workspaces -------------------------------------------------------------

TELECOM = """
customer_id,tenure,Contract,MonthlyCharges,InternetService,Churn
7590-VHVEG,1,Month-to-month,29.85,DSL,No
5575-GNVDE,34,One year,56.95,DSL,No
3668-QPYBK,2,Month-to-month,53.85,Fiber optic,Yes
"""


def test_snapshot_only_workspace(tmp_path: Path) -> None:
    with make_workspace(tmp_path / "telco", {"customers": TELECOM}) as ws:
        df = compute_features(ws, "2024-01-01").set_index("customer_id")
        reg = feature_registry(ws)
    assert len(df) == 3
    assert reg["attr_tenure"].group == "tenure" and reg["attr_tenure"].kind == "numeric"
    assert reg["attr_monthlycharges"].group == "price"
    assert reg["attr_contract"].kind == "categorical"
    assert "attr_churn" not in df.columns
    row = df.loc["5575-GNVDE"]
    assert (row["attr_tenure"], row["attr_contract"], row["attr_monthlycharges"],
            row["attr_internetservice"]) == (34.0, "One year", 56.95, "DSL")
    counts = [f.name for f in FEATURES.values() if f.fill is not None]
    assert (df[counts] == 0).all().all()
    unknown = ["tenure_days", "days_since_last_order", "days_since_last_activity", "nps_last",
               "months_to_renewal", "contract_type"]
    assert df[unknown].isna().all().all()


RHYTHM_ORDERS = """
order_id,customer_id,ordered_at,amount,quantity
a1,a,2024-06-01T10:00:00Z,30,2
a2,a,2024-06-01T18:00:00Z,10,1
a3,a,2024-06-11T12:00:00Z,20,
a4,a,2024-06-21T00:00:00Z,15,1
a5,a,2024-07-02T00:00:00Z,500,50
b1,b,2024-01-01T00:00:00Z,60,0
"""


def test_purchase_rhythm_features(tmp_path: Path) -> None:
    """Same-day orders are one purchase day; quantities give the price per item; the
    rate counts at least 30 days; the order after AS_OF (a5) changes nothing."""
    customers = "customer_id,signup_at\na,2024-06-01\nb,2023-12-01\n"
    with make_workspace(tmp_path / "rhythm", {"customers": customers,
                                              "orders": RHYTHM_ORDERS}) as ws:
        df = compute_features(ws, AS_OF).set_index("customer_id")
    a, b = df.loc["a"], df.loc["b"]
    # a: purchase days 30, 20 and 10 days before AS_OF; the first day's two orders 30 + 10
    want_a = {"purchase_days_total": 3, "orders_total": 4, "first_purchase_amount": 40.0,
              "mean_days_between_purchases": 10.0, "last_purchase_gap_days": 10.0,
              "days_since_last_order": 10.0, "recency_vs_mean_gap": 1.0,
              # a1 is 29 days 14 hours before AS_OF: the rate is spread over 30 days
              "purchase_days_per_month": 3 * 30.4375 / 30,
              # a3 has no quantity: (30 + 10 + 15) / (2 + 1 + 1)
              "amount_per_item": 55 / 4}
    wrong = {k: (a[k], v) for k, v in want_a.items() if not _same(a[k], v)}
    assert not wrong, wrong
    # b: one order 182 days ago with quantity 0: no price per item, rate over 182 days
    assert _same(b["amount_per_item"], None) and _same(b["mean_days_between_purchases"], None)
    assert _same(b["purchase_days_per_month"], 30.4375 / 182)


def test_customers_table_alone_in_a_mapping(shop: Workspace) -> None:
    tables = {"customers": shop.warehouse.table("customers"),
              "_attributes": {"seats": "numeric"}}
    df = compute_features(tables, AS_OF).set_index("customer_id")
    assert list(df.columns[1:]) == [*FEATURES, "attr_seats"]
    assert df.loc["c1", "orders_total"] == 0 and df.loc["c1", "attr_seats"] == 5.0
    assert df.loc["c1", "plan"] == "basic" and df.loc["c2", "contract_type"] == "annual"


# -- point in time --------------------------------------------------------------------------

CUT_DATES = ("2024-03-01", "2024-05-15", AS_OF)
TABLES = ("customers", "orders", "interactions", "tickets", "feedback", "subscriptions")
IDS = ("c1", "c2", "c3", "c4", "c9")


@pytest.fixture(scope="module")
def base_tables(shop: Workspace) -> dict[str, pa.Table]:
    return {t: shop.warehouse.table(t).drop("_ingested_at").to_pyarrow() for t in TABLES}


def _features(tables: dict[str, pa.Table], as_of: str) -> pd.DataFrame:
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    for name, data in tables.items():
        duck.from_arrow(data).create(name)
    con = ibis.duckdb.from_connection(duck)
    exprs: dict[str, Any] = {name: con.table(name) for name in tables}
    exprs["customers"] = exprs["customers"].mutate(
        attributes=exprs["customers"].attributes.cast("json"))
    exprs["_attributes"] = {"seats": "numeric", "segment": "categorical"}
    try:
        return compute_features(exprs, as_of)
    finally:
        duck.close()


@st.composite
def future_rows(draw: st.DrawFn, as_of: datetime) -> dict[str, list[dict[str, Any]]]:
    """Rows timestamped at or after ``as_of`` in every table, and future ends of old rows."""
    def at(base: datetime = as_of) -> datetime:
        return base + timedelta(seconds=draw(st.integers(0, 400 * 86_400)))

    cust = st.sampled_from(IDS[:4])
    n = draw(st.integers(1, 4))
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for i in range(n):
        rows["customers"].append({"customer_id": f"n{i}", "signup_at": at()})
        rows["orders"].append({"order_id": f"fo{i}", "customer_id": draw(cust), "ordered_at": at(),
                               "amount": draw(st.floats(-50, 500)),
                               "promotion": draw(st.sampled_from([None, "X"]))})
        rows["interactions"].append({
            "interaction_id": f"fi{i}", "customer_id": draw(cust), "at": at(),
            "channel": draw(st.sampled_from(["email", "login", "call", "chat"])),
            "kind": draw(st.sampled_from(["login", "quote_request", "follow_up"])),
            "direction": draw(st.sampled_from(["inbound", "outbound", None]))})
        opened = at()
        rows["tickets"].append({
            "ticket_id": f"ft{i}", "customer_id": draw(cust), "opened_at": opened,
            "resolved_at": draw(st.sampled_from([None, opened + timedelta(days=2)])),
            "is_complaint": draw(st.booleans()), "satisfaction": 1.0})
        rows["feedback"].append({"feedback_id": f"ff{i}", "customer_id": draw(cust), "at": at(),
                                 "source": draw(st.sampled_from(["nps", "csat"])),
                                 "score": float(draw(st.integers(0, 10)))})
        rows["subscriptions"].append({
            "subscription_id": f"fs{i}", "customer_id": draw(cust), "started_at": at(),
            "plan": "x", "mrr": draw(st.floats(0, 300)), "contract_months": 12,
            "previous_subscription_id": draw(st.sampled_from([None, "s1", "s2", "s3"]))})
    # what happens later to rows that already exist: ends and resolutions after as_of
    rows["_end_subscriptions"] = [{"at": at()}] if draw(st.booleans()) else []
    rows["_resolve_tickets"] = [{"at": at()}] if draw(st.booleans()) else []
    return rows


def _with_future(base: dict[str, pa.Table], rows: dict[str, list[dict[str, Any]]],
                 as_of: datetime) -> dict[str, pa.Table]:
    out = {}
    for name, table in base.items():
        df = table.to_pandas()
        if name == "subscriptions" and rows["_end_subscriptions"]:
            later = df.ended_at.isna() | (df.ended_at >= as_of)
            new_end = rows["_end_subscriptions"][0]["at"]
            df.loc[later & (df.started_at < as_of), "ended_at"] = new_end
        if name == "tickets" and rows["_resolve_tickets"]:
            later = df.resolved_at.isna() | (df.resolved_at >= as_of)
            df.loc[later, "resolved_at"] = rows["_resolve_tickets"][0]["at"]
        merged = pa.Table.from_pandas(df, schema=table.schema, preserve_index=False)
        extra = pa.Table.from_pylist(rows[name], schema=table.schema)
        out[name] = pa.concat_tables([merged, extra])
    return out


@pytest.mark.parametrize("as_of", CUT_DATES)
def test_future_rows_never_change_features(base_tables: dict[str, pa.Table], as_of: str) -> None:
    cut = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
    before = _features(base_tables, as_of)

    @settings(max_examples=6, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=future_rows(cut))
    def check(rows: dict[str, list[dict[str, Any]]]) -> None:
        after = _features(_with_future(base_tables, rows, cut), as_of)
        pd.testing.assert_frame_equal(after, before)

    check()


def test_the_fixture_has_future_rows_that_would_matter(base_tables: dict[str, pa.Table]) -> None:
    """Guard for the property test: without the cut, the fixture's future rows do change
    features (o4, i8, t2's resolution, t5, f3), so the invariance is not vacuous."""
    late = _features(base_tables, "2024-12-31").set_index("customer_id")
    now = _features(base_tables, AS_OF).set_index("customer_id")
    assert late.loc["c1", "orders_total"] > now.loc["c1", "orders_total"]
    assert late.loc["c1", "open_requests"] == 0 < now.loc["c1", "open_requests"]


def test_mapping_and_workspace_agree(shop: Workspace, base_tables: dict[str, pa.Table],
                                     frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_features(base_tables, AS_OF).set_index("customer_id"), frame)


@pytest.mark.parametrize("dialect", ["postgres", "snowflake"])
def test_compiles_for_other_engines(shop: Workspace, dialect: str) -> None:
    """Portable Ibis only: the expression compiles for engines other than DuckDB."""
    sql = ibis.to_sql(build_features(shop, AS_OF), dialect=dialect)
    assert "months_to_renewal" in sql
