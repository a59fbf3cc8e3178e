"""Locate and load the shared public datasets (CDNOW, sBG cohorts) for the value tests."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pytest

from churnguard.value.summary import rfm_summary

#: repo/tests/value/_data.py -> repo/../shared/data
_DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared_data() -> Path:
    """The shared data folder: $CHURNGUARD_SHARED_DATA or <repo>/../shared/data."""
    path = Path(os.environ.get("CHURNGUARD_SHARED_DATA", _DEFAULT)).resolve()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}; set CHURNGUARD_SHARED_DATA")
    return path


def cdnow_sample_transactions() -> ir.Table:
    """The CDNOW 1/10 sample as an Ibis memtable (customer_id = id within the sample)."""
    raw = pd.read_csv(
        shared_data() / "cdnow" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "amount"],
    )
    raw["ordered_at"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return ibis.memtable(raw[["customer_id", "ordered_at", "amount"]])


@cache
def cdnow_calibration() -> pd.DataFrame:
    """Our summary of the CDNOW sample: 39-week calibration ending 1997-09-30."""
    return rfm_summary(
        cdnow_sample_transactions(),
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
        time_unit="weeks",
    ).to_pandas()


def cdnow_published_summary() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "cdnow" / "cdnow_customers_summary.csv")


def sbg_cohorts() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "sbg" / "sbg_cohorts.csv")
