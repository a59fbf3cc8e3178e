"""Horizon labels: point-in-time, churn inside the horizon only, censored episodes left out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from churnguard.errors import InputError
from churnguard.measure.definitions import ChurnRules
from churnguard.predict.dataset import ExampleBuilder, parse_horizon_days

from .conftest import make_workspace

ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)  # horizon 90 days -> 2024-03-31
CUSTOMERS = """
customer_id,signup_at
a,2023-01-01
b,2023-01-01
c,2023-01-01
d,2023-01-01
e,2023-01-01
"""
# a: ends inside the horizon, grace passes before its end -> churned (1)
# b: ends 2024-03-20, the 30-day grace runs past the horizon's end -> censored, left out
# c: open -> 0;  d: ends, renews within the grace -> 0;  e: churned before the origin -> out
SUBSCRIPTIONS = """
subscription_id,customer_id,started_at,ended_at,plan,mrr,contract_months,previous_subscription_id
sa,a,2023-01-01,2024-02-10,basic,10,1,
sb,b,2023-01-01,2024-03-20,basic,10,1,
sc,c,2023-01-01,,basic,10,1,
sd1,d,2023-01-01,2024-02-10,basic,10,1,
sd2,d,2024-02-20,,basic,10,1,sd1
se,e,2023-01-01,2023-10-01,basic,10,1,
"""
#: rows after the horizon's end: must change nothing
LATER = """
subscription_id,customer_id,started_at,ended_at,plan,mrr,contract_months,previous_subscription_id
sa2,a,2024-04-10,,basic,10,1,
sb2,b,2024-04-05,,basic,10,1,
sc9,c,2024-05-01,2024-06-01,basic,10,1,
"""


def _labels(root: Path, tables: dict[str, str]) -> dict[str, int]:
    with make_workspace(root, tables) as ws:
        t = {n: ws.warehouse.table(n) for n in ("customers", "orders", "interactions",
                                                 "subscriptions", "tickets", "feedback")}
        b = ExampleBuilder(t, rules=ChurnRules.make(grace_days=30), horizon_days=90)
        ex = b.labelled(ORIGIN)
    assert ex.censored == 1
    return dict(zip(ex.frame["customer_id"], ex.frame["churned"], strict=True))


def test_horizon_labels_and_censoring(tmp_path: Path) -> None:
    got = _labels(tmp_path / "w", {"customers": CUSTOMERS, "subscriptions": SUBSCRIPTIONS})
    assert got == {"a": 1, "c": 0, "d": 0}


def test_rows_after_the_horizon_change_nothing(tmp_path: Path) -> None:
    later = SUBSCRIPTIONS.rstrip() + "\n" + LATER.strip().split("\n", 1)[1]
    got = _labels(tmp_path / "w", {"customers": CUSTOMERS, "subscriptions": later})
    assert got == {"a": 1, "c": 0, "d": 0}


def test_features_are_as_of_the_origin(tmp_path: Path) -> None:
    with make_workspace(tmp_path / "w", {"customers": CUSTOMERS,
                                         "subscriptions": SUBSCRIPTIONS}) as ws:
        t = {n: ws.warehouse.table(n) for n in ("customers", "subscriptions")}
        ex = ExampleBuilder(t, rules=ChurnRules.make(grace_days=30),
                            horizon_days=90).labelled(ORIGIN)
    row = ex.frame.set_index("customer_id").loc["d"]
    assert row["active_subscriptions"] == 1  # the renewal of 2024-02-20 is not known yet
    assert (ex.frame["origin"] == ORIGIN).all()


def test_horizon_parsing() -> None:
    assert parse_horizon_days("90d") == 90 and parse_horizon_days("3m") == 90
    with pytest.raises(InputError, match="not a duration"):
        parse_horizon_days("soon")
