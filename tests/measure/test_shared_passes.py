"""The shortcuts the measure layer takes for speed give the same answers as the plain way.

* :func:`~churnguard.measure.rates.rates_by` computes the overall rates and several
  breakdowns in one query; each frame must equal its own :func:`rates_from_labels` call.
* :func:`~churnguard.measure.rates.bucket_index` places timestamps in periods by comparing
  them with the period starts instead of converting each to a date; checked at the edges
  (the last microsecond of a period, the first instant of the next).
* ``observed_until`` takes the latest interaction of any direction (outbound e-mails are
  data too), which a bare column maximum answers from statistics.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import pandas as pd
import pytest

from churnguard.errors import InputError
from churnguard.measure import labels
from churnguard.measure.rates import bucket_index, rates_by, rates_from_labels

from ._data import SHOP_AS_OF, SHOP_CUSTOMERS, SHOP_INTERACTIONS, SHOP_ORDERS
from .conftest import MakeWs


def test_rates_by_equals_one_call_per_breakdown(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS, interactions=SHOP_INTERACTIONS)
    lab = labels(ws, as_of=SHOP_AS_OF, inactive_days=60)
    cust, orders = ws.warehouse.table("customers"), ws.warehouse.table("orders")
    bys = [None, "region", "purchase_frequency_band", "industry"]
    together = rates_by(lab, bys, period="month", customers=cust, orders=orders)
    assert list(together) == bys
    for by in bys:
        alone = rates_from_labels(lab, period="month", by=by, customers=cust, orders=orders)
        pd.testing.assert_frame_equal(together[by], alone)
    # hand check (labels in _data.py): in April N1 (north) and N3 ep1 (north) churn, N4
    # (south) churns; N6 (south) joins
    region = together["region"]
    april = region[region.period_start.astype(str) == "2024-04-01"].set_index("region")
    assert april.churned.to_dict() == {"north": 2, "south": 1}
    assert april.new.to_dict() == {"north": 0, "south": 1}
    # the overall rows are the sums of any breakdown's rows
    total = together[None].set_index("period_start")
    summed = region.groupby("period_start")[["new", "churned", "customers_end"]].sum()
    assert (summed == total[["new", "churned", "customers_end"]]).all().all()


def test_rates_by_needs_the_tables_for_a_breakdown(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SHOP_CUSTOMERS, orders=SHOP_ORDERS)
    lab = labels(ws, as_of=SHOP_AS_OF, inactive_days=60)
    with pytest.raises(InputError, match="needs the customers and orders"):
        rates_by(lab, [None, "region"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_bucket_index_at_period_edges() -> None:
    bounds = [utc(2024, 1, 1), utc(2024, 2, 1), utc(2024, 3, 1), utc(2024, 4, 1)]
    stamps = [
        (utc(2023, 12, 31, 23, 59, 59, 999999), 0),  # before the calendar
        (utc(2024, 1, 1), 1),                        # first instant of January
        (utc(2024, 1, 31, 23, 59, 59, 999999), 1),   # last microsecond of January
        (utc(2024, 2, 1), 2),
        (utc(2024, 2, 29, 12), 2),                   # leap day
        (utc(2024, 3, 31, 23, 59, 59, 999999), 3),
        (utc(2024, 4, 1), 4),                        # after the calendar
        (utc(2031, 1, 1), 4),
        (None, None),
    ]
    t = ibis.memtable(pd.DataFrame({
        "ts": pd.Series([s for s, _ in stamps], dtype="datetime64[us, UTC]"),
        "n": range(len(stamps)),
    }))
    got = t.select("n", i=bucket_index(t.ts, bounds)).order_by("n").to_pandas()
    assert [None if pd.isna(v) else int(v) for v in got.i] == [i for _, i in stamps]


def test_outbound_interactions_count_for_the_data_end(make_ws: MakeWs) -> None:
    # A1 orders once on 01-10; the data's last row is an outbound e-mail on 08-01.
    # inactive_days = 60: due 01-10 + 60 = 03-10, before the data end 08-01 -> churned.
    # (Were the e-mail ignored, the data would end on 01-10 and A1 would be censored.)
    ws = make_ws(
        customers="customer_id,signup_at\nA1,2024-01-01\n",
        orders="order_id,customer_id,ordered_at,amount\no1,A1,2024-01-10,5\n",
        interactions=("interaction_id,customer_id,at,channel,direction\n"
                      "i1,A1,2024-08-01,email,outbound\n"),
    )
    lab = labels(ws, inactive_days=60).to_pandas()
    assert (lab.observed_until == pd.Timestamp("2024-08-01", tz="UTC")).all()
    assert lab.churned.tolist() == [True]
    assert lab.churn_at.tolist() == [pd.Timestamp("2024-03-10", tz="UTC")]
    # the outbound e-mail is still not activity: the last activity is the order
    assert lab.last_activity_at.tolist() == [pd.Timestamp("2024-01-10", tz="UTC")]
