"""Airflow DAG: the churnguard daily run, one task per day (see docs/running.md).

Copy into your Airflow ``dags/`` folder and set CHURNGUARD_WORKSPACE (and the channel
secrets, e.g. OPS_WEBHOOK_URL) in the worker's environment. The run is idempotent, so
Airflow's retries and backfills are safe; ``max_active_runs=1`` keeps a single writer.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

WORKSPACE = os.environ.get("CHURNGUARD_WORKSPACE", "/srv/churnguard/shop")

with DAG(
    dag_id="churnguard_daily",
    schedule="15 6 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["churnguard"],
) as dag:
    BashOperator(
        task_id="run",
        # {{ ds }} is the data date: scores and alerts are as of that day
        bash_command=f"churnguard -v run {WORKSPACE} --as-of {{{{ ds }}}}",
    )
