"""Ingestion speed and memory: churnguard ``ingest_file`` vs the pandas baseline.

Generates N order rows (and N/10 customers) as CSV and Parquet with DuckDB, then runs each
case in its own subprocess (peak RSS = that process's ``ru_maxrss``):

* churnguard: ``ingest_file`` of the orders file into a fresh workspace that already holds
  the customers (so every row is validated, including the customer reference check);
* baseline: what a user would otherwise write, ``pandas.read_csv`` / ``read_parquet`` and
  ``CREATE TABLE orders AS SELECT * FROM df`` into a DuckDB file (no validation at all).

    /work/main/.venv/bin/python benchmarks/ingest.py [--rows N] [--keep DIR]

Prints a markdown table and writes it to benchmarks/out/ingest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("churnguard-csv", "pandas-csv", "churnguard-parquet", "pandas-parquet")


# -- data --------------------------------------------------------------------------------------
def generate(folder: Path, rows: int) -> dict[str, Path]:
    import duckdb

    customers = max(rows // 10, 1)
    out = {
        "customers": folder / "customers.parquet",
        "orders-csv": folder / "orders.csv",
        "orders-parquet": folder / "orders.parquet",
    }
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE c AS SELECT
            printf('C%08d', i) AS customer_id,
            TIMESTAMP '2020-01-01' + to_seconds(i * 37 % 31536000) AS signup_at,
            ['north', 'south', 'east', 'west'][1 + i % 4] AS region,
            ['monthly', 'one year', 'none'][1 + i % 3] AS contract_type
        FROM range({customers}) t(i)""")
    con.execute(f"COPY c TO '{out['customers']}' (FORMAT parquet)")
    orders = f"""
        SELECT
            printf('O%010d', i) AS order_id,
            printf('C%08d', hash(i) % {customers}) AS customer_id,
            strftime(TIMESTAMP '2021-01-01' + to_seconds(hash(i + 1) % 94608000),
                     '%Y-%m-%d %H:%M:%S') AS ordered_at,
            round((hash(i + 2) % 50000) / 100.0 + 1, 2) AS amount,
            'USD' AS currency,
            1 + hash(i + 3) % 5 AS quantity,
            printf('P%04d', hash(i + 4) % 2000) AS product,
            CASE WHEN i % 7 = 0 THEN 'SPRING10' END AS promotion,
            ['store', 'web', 'app'][1 + i % 3] AS channel
        FROM range({rows}) t(i)"""
    con.execute(f"COPY ({orders}) TO '{out['orders-csv']}' (FORMAT csv, HEADER)")
    con.execute(f"""COPY (SELECT * REPLACE (CAST(ordered_at AS TIMESTAMP) AS ordered_at)
                          FROM ({orders})) TO '{out["orders-parquet"]}' (FORMAT parquet)""")
    con.close()
    return out


# -- cases (each in its own process) ------------------------------------------------------------
def prepare_workspace(root: Path, customers: Path) -> None:
    from churnguard.warehouse import Workspace
    from churnguard.warehouse.ingest import ingest_file

    with Workspace.init(root) as ws:
        ingest_file(ws, "customers", customers)


def run_case(case: str, files: dict[str, Path], work: Path) -> dict[str, float]:
    kind, fmt = case.split("-")
    path = files[f"orders-{fmt}"]
    started = time.perf_counter()
    if kind == "churnguard":
        from churnguard.warehouse import Workspace
        from churnguard.warehouse.ingest import ingest_file

        with Workspace.open(work / "ws") as ws:
            result = ingest_file(ws, "orders", path)
            rows = result.inserted
    else:
        import duckdb
        import pandas as pd

        df = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
        con = duckdb.connect(str(work / "baseline.duckdb"))
        con.register("df", df)
        con.execute("CREATE TABLE orders AS SELECT * FROM df")
        rows = con.execute("SELECT count(*) FROM orders").fetchone()[0]
        con.close()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024}


def _child(args: argparse.Namespace) -> None:
    files = json.loads(args.files)
    files = {k: Path(v) for k, v in files.items()}
    work = Path(args.work)
    if args.child == "prepare":
        prepare_workspace(work / "ws", files["customers"])
        return
    sys.stdout.write(json.dumps(run_case(args.child, files, work)) + "\n")


def _spawn(case: str, files: dict[str, Path], work: Path) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        case,
        "--files",
        json.dumps({k: str(v) for k, v in files.items()}),
        "--work",
        str(work),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"case {case} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import duckdb
    import pandas as pd

    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"{mem_gb:.1f} GB RAM, Python {platform.python_version()}, DuckDB "
        f"{duckdb.__version__}, pandas {pd.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return

    base = args.keep or Path(tempfile.mkdtemp(prefix="churnguard-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        files = generate(base, args.rows)
        sizes = {k: v.stat().st_size / 1024**2 for k, v in files.items()}
        print(
            f"generated {args.rows:,} orders in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{k} {mb:,.0f} MB" for k, mb in sizes.items()),
            flush=True,
        )
        results: dict[str, dict[str, float]] = {}
        for case in args.cases.split(","):
            work = base / f"work-{case}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            if case.startswith("churnguard"):
                _spawn("prepare", files, work)
            results[case] = _spawn(case, files, work)
            r = results[case]
            print(f"  {case:<20} {r['seconds']:8.1f} s  {r['peak_mb']:8.0f} MB", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    lines = [
        f"# Ingest benchmark: {args.rows:,} order rows",
        "",
        f"Machine: {machine()}.",
        "",
        "Command: `/work/main/.venv/bin/python benchmarks/ingest.py --rows "
        f"{args.rows}`. Each case runs in its own process; peak MB is that process's "
        "maximum resident set. churnguard validates every row (types, required, finite, "
        "range, duplicate key, known customer) and upserts atomically; the baseline only "
        "loads. Ratios are churnguard / baseline for the same format (time and memory).",
        "",
        "| case | rows | seconds | rows/s | peak MB | time vs baseline | memory vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case, r in results.items():
        fmt = case.split("-")[1]
        ref = results.get(f"pandas-{fmt}")
        t_ratio = f"{r['seconds'] / ref['seconds']:.2f}x" if ref else "-"
        m_ratio = f"{r['peak_mb'] / ref['peak_mb']:.2f}x" if ref else "-"
        lines.append(
            f"| {case} | {int(r['rows']):,} | {r['seconds']:.1f} | "
            f"{r['rows'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} | {t_ratio} | "
            f"{m_ratio} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "ingest.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
