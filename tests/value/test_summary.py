"""RFM / calibration summary (an Ibis expression) against the published CDNOW summary."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from churnguard.errors import InputError
from churnguard.value.summary import rfm_summary

from ._data import cdnow_calibration, cdnow_published_summary


def test_cdnow_summary_matches_published_file() -> None:
    ours = cdnow_calibration()
    ref = cdnow_published_summary()  # recency and T in weeks, printed to 2 decimals
    assert len(ours) == len(ref) == 2357
    np.testing.assert_array_equal(ours["customer_id"], ref["ID"])
    np.testing.assert_array_equal(ours["frequency"], ref["frequency"])
    np.testing.assert_array_equal(ours["recency"].round(2), ref["recency"])
    np.testing.assert_array_equal(ours["T"].round(2), ref["T"])
    assert (ours["frequency"] > 0).sum() == 946
    assert (ours["duration_holdout"] == 39.0).all()
    # holdout: 1997-10-01 .. 1998-06-30; customer 1 bought once more on 1997-12-12
    assert ours.loc[0, "frequency_holdout"] == 1
    assert ours.loc[0, "monetary_value_holdout"] == pytest.approx(26.48)


def _tx() -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "cid": ["a", "a", "a", "a", "b", "c"],
                "at": pd.to_datetime(
                    ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-11 00:00", "2024-01-25 00:00",
                     "2024-01-20 00:00", "2024-02-01 00:00"], utc=True,
                ),
                "value": [10.0, 5.0, 30.0, 8.0, 4.0, 9.0],
            }
        )
    )


def test_hand_computed_fixture() -> None:
    out = rfm_summary(
        _tx(), observation_end=dt.date(2024, 1, 31), calibration_end="2024-01-15",
        customer_id_col="cid", timestamp_col="at", amount_col="value", time_unit="days",
    ).to_pandas()
    # c first buys after the calibration end -> excluded; b after calibration -> excluded
    assert out["customer_id"].tolist() == ["a"]
    row = out.iloc[0]
    assert (row.frequency, row.recency, row["T"], row.monetary_value) == (1, 10.0, 14.0, 30.0)
    assert (row.frequency_holdout, row.monetary_value_holdout, row.duration_holdout) == (
        1, 8.0, 16.0)


def test_runs_on_explicit_duckdb_connection() -> None:
    con = ibis.duckdb.connect()
    # a pyarrow or pandas object fails here with ibis 12 + duckdb 1.5 (DROP VIEW parse
    # error inside ibis); an ibis memtable works
    table = con.create_table("tx", _tx())
    expr = rfm_summary(table, observation_end="2024-02-01", customer_id_col="cid",
                       timestamp_col="at", amount_col="value")
    out = con.execute(expr)
    assert out["customer_id"].tolist() == ["a", "b", "c"]
    assert out["frequency"].tolist() == [2, 0, 0]  # same-day purchases merged
    assert out["T"].iloc[0] == pytest.approx(31 / 7)
    assert "date_diff" in ibis.to_sql(expr, dialect="duckdb").lower()


def test_errors() -> None:
    with pytest.raises(InputError, match="no column 'customer_id'"):
        rfm_summary(_tx(), observation_end="2024-02-01")
    with pytest.raises(InputError, match="after observation_end"):
        rfm_summary(_tx(), observation_end="2024-01-01", calibration_end="2024-02-01",
                    customer_id_col="cid", timestamp_col="at", amount_col="value")
