"""Every simulated table is exactly what the data contract promises, row by row."""

from __future__ import annotations

import io
import json

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from churnguard.contract import TABLES, Column
from churnguard.errors import InputError
from churnguard.simulate import SimulatedBusiness, generate

from .conftest import END

ARROW = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
         "timestamp": pa.timestamp("us", tz="UTC")}
END_TS = pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)


def _bytes(tables: dict[str, pa.Table]) -> dict[str, bytes]:
    out = {}
    for name, t in tables.items():
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        out[name] = sink.getvalue()
    return out


def test_same_seed_gives_byte_identical_tables_and_other_seeds_differ() -> None:
    a = generate(customers=3_000, months=12, seed=5)
    b = generate(customers=3_000, months=12, seed=5)
    c = generate(customers=3_000, months=12, seed=6)
    assert _bytes(a.tables) == _bytes(b.tables)
    assert _bytes(a.truth) == _bytes(b.truth)
    assert a.params == b.params
    differ = _bytes(a.tables)["interactions"] != _bytes(c.tables)["interactions"]
    assert differ


def test_end_is_a_fixed_default_not_today() -> None:
    a = generate(customers=200, months=3, seed=1)
    assert a.params["end"] == "2026-06-30"
    last = pa.compute.max(a.tables["interactions"]["at"]).as_py()
    assert last < END_TS.to_pydatetime()


@pytest.mark.parametrize("bad", [{"customers": 0}, {"months": 0}, {"end": "30/06/2026"}])
def test_bad_arguments_raise_input_error(bad: dict) -> None:
    args = {"customers": 10, "months": 2, "seed": 0} | bad
    with pytest.raises(InputError):
        generate(**args)


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_names_order_and_types(biz: SimulatedBusiness, name: str) -> None:
    contract = TABLES[name]
    table = biz.tables[name]
    expected = contract.column_names + (["attributes"] if contract.attributes_column else [])
    assert table.column_names == expected
    for col in contract.columns:
        assert table.schema.field(col.name).type == ARROW[col.dtype], (name, col.name)
    assert table.num_rows > 0


def _check_column(df: pd.DataFrame, col: Column, customer_ids: set[str], where: str) -> None:
    s = df[col.name]
    if col.required:
        assert s.notna().all(), f"{where}: nulls in required column"
        if col.dtype == "string":
            assert (s.str.strip() != "").all(), f"{where}: empty strings"
    v = s.dropna()
    if col.allowed is not None:
        bad = set(v.str.strip().str.lower()) - set(col.allowed)
        assert not bad, f"{where}: values outside {col.allowed}: {bad}"
    if col.finite:
        assert np.isfinite(v.to_numpy(float)).all(), f"{where}: not finite"
    if col.min_value is not None:
        assert (v >= col.min_value).all(), f"{where}: below {col.min_value}"
    if col.max_value is not None:
        assert (v <= col.max_value).all(), f"{where}: above {col.max_value}"
    if col.references == "customers":
        assert set(v) <= customer_ids, f"{where}: unknown customers"
    if col.dtype == "timestamp":
        assert str(s.dt.tz) == "UTC"
        assert (v < END_TS).all(), f"{where}: after the end"


@pytest.mark.parametrize("name", list(TABLES))
def test_every_row_passes_the_column_rules(biz: SimulatedBusiness,
                                          frames: dict[str, pd.DataFrame], name: str) -> None:
    contract = TABLES[name]
    df = frames[name]
    customer_ids = set(frames["customers"]["customer_id"])
    for col in contract.columns:
        _check_column(df, col, customer_ids, f"{name}.{col.name}")
    key = df[contract.key]
    assert key.is_unique and key.map(type).eq(str).all()


@pytest.mark.parametrize("name", [n for n, t in TABLES.items() if t.rules])
def test_every_row_passes_the_cross_field_rules(biz: SimulatedBusiness, name: str) -> None:
    t = ibis.memtable(biz.tables[name])
    for rule in TABLES[name].rules:
        if set(rule.columns) <= set(t.columns):
            bad = t.filter(rule.violated(t)).count().execute()
            assert bad == 0, (name, rule.name)


def test_events_happen_after_signup(frames: dict[str, pd.DataFrame]) -> None:
    signup = frames["customers"].set_index("customer_id")["signup_at"]
    for name, contract in TABLES.items():
        if name in ("customers", "campaigns"):
            continue
        df = frames[name]
        s = signup.reindex(df["customer_id"]).to_numpy()
        for col in contract.columns:
            if col.dtype == "timestamp":
                v = df[col.name].to_numpy()
                ok = pd.isna(v) | (v >= s)
                assert ok.all(), f"{name}.{col.name} before signup"


def test_attributes_are_json_objects(frames: dict[str, pd.DataFrame]) -> None:
    parsed = frames["customers"]["attributes"].head(2000).map(json.loads)
    assert parsed.map(lambda d: {"employees", "nps_segment"} <= set(d)).all()
    assert parsed.map(lambda d: isinstance(d["employees"], int)).all()
    segments = {d["nps_segment"] for d in parsed}
    assert {"promoter", "passive", "detractor", None} <= segments


def test_plan_changes_link_the_previous_subscription(frames: dict[str, pd.DataFrame]) -> None:
    subs = frames["subscriptions"]
    linked = subs.dropna(subset=["previous_subscription_id"])
    prev = subs.set_index("subscription_id").loc[linked["previous_subscription_id"]]
    assert (prev["customer_id"].to_numpy() == linked["customer_id"].to_numpy()).all()
    assert (prev["ended_at"].to_numpy() == linked["started_at"].to_numpy()).all()
    same_plan = prev["plan"].to_numpy() == linked["plan"].to_numpy()
    assert (~same_plan).sum() > 100  # upgrades / downgrades
    assert (linked["mrr"].to_numpy() > prev["mrr"].to_numpy())[same_plan].sum() > 100
    assert subs["ended_at"].isna().sum() > 1000
    assert subs["cancel_reason"].notna().sum() > 500
    assert set(subs["contract_months"]) == {1, 12, 24}


def test_transactional_customers_have_no_subscriptions(frames: dict[str, pd.DataFrame]) -> None:
    cust = frames["customers"]
    trans = set(cust.loc[cust["contract_type"] == "none", "customer_id"])
    assert not trans & set(frames["subscriptions"]["customer_id"])
    assert len(trans & set(frames["orders"]["customer_id"])) > 0.8 * len(trans)
    subs_with_orders = set(frames["orders"]["customer_id"]) - trans
    assert len(subs_with_orders) > 1000  # add-ons
