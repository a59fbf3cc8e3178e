"""Portability: labels and monthly rates on PySpark (local mode) equal DuckDB's, exactly.

The same Ibis functions run on both engines; only the connection differs. Skipped only when
pyspark (with Ibis' pyspark backend) cannot be imported.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churnguard.measure import ChurnRules, label_episodes
from churnguard.measure.rates import rates_from_labels
from churnguard.warehouse import Workspace

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (test-only extra)")
load = pytest.importorskip("churnguard.simulate.load")

TABLES = ("customers", "orders", "interactions", "subscriptions")


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("churnguard-test")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .getOrCreate())
    yield session
    session.stop()


def _labels_frame(lab: pd.DataFrame) -> pd.DataFrame:
    out = lab.sort_values(["customer_id", "episode"], ignore_index=True)
    for c in ("start_at", "last_activity_at", "churn_at", "observed_until"):
        out[c] = pd.to_datetime(out[c], utc=True).dt.as_unit("us")
    out["window_days"] = out.window_days.astype("Int64")
    out["episode"] = out.episode.astype("int64")
    return out


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("definition", ["auto", "non_contractual"])
def test_labels_and_monthly_rates_match_duckdb(spark, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               definition: str) -> None:
    import ibis

    load.simulate_into(tmp_path / "sim", customers=300, months=12, seed=5)
    rules = ChurnRules.make(definition=definition, inactive_days=90, grace_days=3)
    with Workspace.open(tmp_path / "sim", read_only=True) as ws:
        wh = ws.warehouse
        duck = {t: wh.table(t) for t in TABLES}
        arrow = {t: duck[t].drop("attributes").to_pyarrow() if t == "customers"
                 else duck[t].to_pyarrow() for t in TABLES}
        duck_schemas = {t: (duck[t].drop("attributes") if t == "customers" else duck[t]
                            ).schema() for t in TABLES}
        lab_duck = label_episodes(*(duck[t] for t in TABLES), rules=rules)
        expect_labels = _labels_frame(lab_duck.to_pandas())
        expect_rates = rates_from_labels(lab_duck, period="month")

    con = ibis.pyspark.connect(spark)
    # Spark stores every timestamp as a UTC instant (session time zone UTC); the schema comes
    # from the DuckDB tables (all-null columns cannot be inferred)
    from ibis.backends.pyspark.datatypes import PySparkSchema

    for name, table in arrow.items():
        schema = PySparkSchema.from_ibis(duck_schemas[name])
        spark.createDataFrame(table.to_pandas(), schema=schema).createOrReplaceTempView(name)
    sp = {t: con.table(t) for t in TABLES}
    lab_spark = label_episodes(*(sp[t] for t in TABLES), rules=rules)
    got_labels = _labels_frame(lab_spark.to_pandas())
    pd.testing.assert_frame_equal(got_labels, expect_labels, check_dtype=False)
    got_rates = rates_from_labels(lab_spark, period="month")
    pd.testing.assert_frame_equal(got_rates, expect_rates, check_dtype=False)
    assert expect_labels.churned.any() and (expect_rates.churned > 0).any()
