"""The command line flows a user runs: init, ingest, status, rejects, datasets cdnow.

Commands run as the installed ``churnguard`` script (``main()`` turns churnguard errors into
one red line and an exit code), so what is tested is what a user sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from churnguard.datasets import shared_data_dir
from churnguard.errors import InputError

CHURNGUARD = Path(sys.executable).with_name("churnguard")

CUSTOMERS = "customer_id,signup_at,region\nC1,2024-01-01,north\nC2,2024-02-01,south\n"
ORDERS_BAD = (
    "order_id,customer_id,ordered_at,amount\n"
    "O1,C1,2024-03-01,10\nO2,C1,2024-03-02,lots\nO3,C9,2024-03-03,5\n"
)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(CHURNGUARD), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    proc = run("init", root)
    assert proc.returncode == 0, proc.stderr
    assert "created workspace" in proc.stdout
    return root


def test_init_twice_exits_2(ws: Path) -> None:
    proc = run("init", ws)
    assert proc.returncode == 2
    assert "already a workspace" in proc.stderr


def test_ingest_status_rejects(ws: Path, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    proc = run("ingest", ws, "customers", customers)
    assert proc.returncode == 0, proc.stderr
    assert "applied" in proc.stdout and "2 inserted" in proc.stdout

    proc = run("ingest", ws, "customers", customers)  # again: nothing changes
    assert proc.returncode == 0
    assert "0 inserted, 0 updated, 2 unchanged" in proc.stdout

    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS_BAD)
    proc = run("ingest", ws, "orders", orders)
    assert proc.returncode == 1
    assert "refused" in proc.stdout and "2 rejected" in proc.stdout
    assert "orders.csv row 2, column amount, value 'lots'" in proc.stdout
    assert "rule type" in proc.stdout
    assert "row 3, column customer_id, value 'C9'" in proc.stdout
    assert "rule unknown_customer" in proc.stdout
    assert "nothing was written to orders" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

    proc = run("status", ws)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if " customers " in f" {x} ")
    assert "2" in line and "2024-01-01" in line and "2024-02-01" in line
    orders_line = next(x for x in proc.stdout.splitlines() if " orders " in f" {x} ")
    assert orders_line.split("│")[2].strip() == "0"  # no rows
    assert orders_line.split("│")[6].strip() == "2"  # two rejected

    proc = run("rejects", ws)
    assert proc.returncode == 0, proc.stderr
    assert "lots" in proc.stdout and "unknown_customer" in proc.stdout


def test_allow_rejects_loads_the_good_rows_and_exits_0(ws: Path, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    run("ingest", ws, "customers", customers)
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS_BAD)
    proc = run("ingest", ws, "orders", orders, "--allow-rejects")
    assert "partial" in proc.stdout and "1 inserted" in proc.stdout and "2 rejected" in proc.stdout
    assert "rule type" in proc.stdout
    assert "nothing was written" not in proc.stderr
    proc = run("status", ws)
    orders_line = next(x for x in proc.stdout.splitlines() if " orders " in f" {x} ")
    assert orders_line.split("│")[2].strip() == "1"


def test_allow_rejects_exits_0(ws: Path, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS)
    run("ingest", ws, "customers", customers)
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS_BAD)
    proc = run("ingest", ws, "orders", orders, "--allow-rejects")
    assert proc.returncode == 0, (proc.returncode, proc.stdout)


def test_ingest_options_encoding_delimiter_format(ws: Path, tmp_path: Path) -> None:
    f = tmp_path / "customers.data"
    f.write_bytes("customer_id;region\nC1;华东\n".encode("gbk"))
    proc = run(
        "ingest", ws, "customers", f, "--format", "csv", "--delimiter", ";", "--encoding", "gbk"
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 inserted" in proc.stdout


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "the file is empty"),
        (b'customer_id,name\nC1,"open\n', "never closed"),
        (b"\x00\x01\x02garbage", "not a text file"),
    ],
)
def test_malformed_exits_2(ws: Path, tmp_path: Path, content: bytes, match: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_bytes(content)
    proc = run("ingest", ws, "customers", f)
    assert proc.returncode == 2
    assert match in proc.stderr and "bad.csv" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(ws: Path, tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text(CUSTOMERS)
    proc = run("ingest", ws, "custmers", f)
    assert proc.returncode == 2 and "Did you mean customers" in proc.stderr
    proc = run("ingest", tmp_path / "nowhere", "customers", f)
    assert proc.returncode == 2 and "churnguard init" in proc.stderr
    proc = run("status", tmp_path / "nowhere")
    assert proc.returncode == 2


try:
    HAVE_CDNOW = (shared_data_dir() / "cdnow" / "CDNOW_sample.txt").is_file()
except InputError:
    HAVE_CDNOW = False


@pytest.mark.skipif(not HAVE_CDNOW, reason="shared CDNOW data not found")
def test_datasets_cdnow_sample(tmp_path: Path) -> None:
    root = tmp_path / "cdnow"
    proc = run("datasets", "cdnow", root, "--sample")
    assert proc.returncode == 0, proc.stderr
    assert "2,357 inserted" in proc.stdout and "6,919 inserted" in proc.stdout
    proc = run("datasets", "cdnow", root, "--sample")
    assert proc.returncode == 0
    assert "2,357 unchanged" in proc.stdout and "6,919 unchanged" in proc.stdout
    proc = run("status", root)
    assert "2,357" in proc.stdout and "6,919" in proc.stdout
