"""Benchmark: churnguard BetaGeo vs the lifetimes package, same data, same run; and the
Ibis RFM summary / RFM scores vs hand-written DuckDB SQL on 10M transactions.

Run (from the repo root):

    python -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3
    .venv/bin/python benchmarks/value.py --lifetimes-python /tmp/lifetimes-venv/bin/python

    # only the RFM part (10M transactions, 1M customers; about a minute on 2 cores)
    .venv/bin/python benchmarks/value.py --rfm-only --rfm-rows 10000000

Each fit runs in a fresh subprocess that loads the data from an .npz file, so peak memory
(VmHWM: peak resident memory, data included) is per fit. Simulated customers follow the
BG/NBD with the CDNOW parameters, a CDNOW-like 12-week acquisition window (T from 27 to
39 weeks) and purchase dates
recorded to the day (recency rounded up to whole days), as real transaction data are.
lifetimes is fitted on the raw rows (as its users do); it is skipped above --lifetimes-max.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CDNOW = REPO / ".." / "shared" / "data" / "cdnow" / "cdnow_customers_summary.csv"
TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

CHILD_CHURNGUARD = r"""
import json, sys, time
import numpy as np
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
from churnguard.value import BetaGeo, GammaGamma, customer_lifetime_value
d = np.load(sys.argv[1]); x, tx, T = d["x"], d["tx"], d["T"]
repeats = int(sys.argv[2]); clv = sys.argv[3] == "1"
base = hwm()
times = []
for _ in range(repeats):
    t0 = time.perf_counter(); m = BetaGeo().fit(x, tx, T); times.append(time.perf_counter() - t0)
out = {"seconds": float(np.median(times)), "first_seconds": times[0], "params": m.params_,
       "ll": m.log_likelihood_, "unique_rows": m.n_unique_rows_, "iterations": m.n_iter_}
if clv:
    gg = GammaGamma(); gg.params_ = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    money = np.full(x.size, 30.0); ids = np.arange(x.size)
    ct = []
    for _ in range(5):
        t0 = time.perf_counter()
        customer_lifetime_value(m, gg, ids, x, tx, T, money, horizon_months=12)
        ct.append(time.perf_counter() - t0)
    out["clv_seconds"] = float(np.median(ct))
out["peak_rss_mb"] = hwm()
out["data_rss_mb"] = base
print(json.dumps(out))
"""

CHILD_LIFETIMES = r"""
import json, sys, time, warnings
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
warnings.simplefilter("ignore")
import numpy as np
from lifetimes import BetaGeoFitter
d = np.load(sys.argv[1]); x, tx, T = d["x"], d["tx"], d["T"]
base = hwm()
t0 = time.perf_counter(); m = BetaGeoFitter().fit(x, tx, T); s = time.perf_counter() - t0
p = {k: float(v) for k, v in m.params_.items()}
print(json.dumps({"seconds": s, "params": p, "ll": float(m._negative_log_likelihood_) * -x.size,
                  "peak_rss_mb": hwm(),
                  "data_rss_mb": base}))
"""


def simulate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sys.path.insert(0, str(REPO / "src"))
    from churnguard.value.simulate import simulate_beta_geo

    rng = np.random.default_rng(seed)
    big_t = (273 - rng.integers(0, 85, n)) / 7.0  # first purchase in a 12-week window
    return simulate_beta_geo(n, **TRUTH, T=big_t, resolution=1 / 7, seed=seed)


RFM_SQL = """
WITH daily AS (
  SELECT customer_id, CAST(ordered_at AS DATE) AS day, sum(amount) AS amount
  FROM tx WHERE CAST(ordered_at AS DATE) <= DATE '{end}'
  GROUP BY customer_id, day
), agg AS (
  SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) AS n_days,
         sum(amount) AS total, arg_min(amount, day) AS first_amount
  FROM daily GROUP BY customer_id
)
SELECT customer_id, n_days - 1 AS frequency,
       date_diff('day', first_day, last_day) / 7.0 AS recency,
       date_diff('day', first_day, DATE '{end}') / 7.0 AS T,
       CASE WHEN n_days > 1 THEN (total - first_amount) / (n_days - 1) ELSE 0.0 END
         AS monetary_value
FROM agg ORDER BY customer_id
"""

SCORES_SQL = """
WITH agg AS (
  SELECT customer_id, max(ordered_at) AS last, count(*) AS frequency,
         sum(amount) AS monetary
  FROM tx WHERE ordered_at < TIMESTAMPTZ '{as_of} 00:00:00+00' GROUP BY customer_id
), v AS (
  SELECT customer_id, date_diff('day', CAST(last AS DATE), DATE '{as_of}') AS recency_days,
         frequency, monetary FROM agg
)
SELECT customer_id, recency_days, frequency, monetary,
  1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // count(*) OVER () AS r_score,
  1 + (5 * (rank() OVER (ORDER BY frequency) - 1)) // count(*) OVER () AS f_score,
  1 + (5 * (rank() OVER (ORDER BY monetary) - 1)) // count(*) OVER () AS m_score
FROM v ORDER BY customer_id
"""


def rfm_benchmark(rows: int, repeats: int) -> None:
    """rfm_summary (Ibis) vs the same summary hand-written in DuckDB SQL, one connection."""
    sys.path.insert(0, str(REPO / "src"))
    import ibis

    from churnguard.value.rfm import rfm_scores
    from churnguard.value.summary import rfm_summary

    con = ibis.duckdb.connect()
    duck = con.con
    customers = max(rows // 10, 1)
    t0 = time.perf_counter()
    duck.execute(f"""
        CREATE TABLE tx AS
        SELECT 'C' || lpad(CAST((hash(i) % {customers}) AS VARCHAR), 8, '0') AS customer_id,
               TIMESTAMPTZ '2023-07-01 00:00:00+00'
                 + to_microseconds(CAST(hash(i + 1) % 63072000000000 AS BIGINT))
                 AS ordered_at,
               round(5 + (hash(i + 2) % 20000) / 100.0, 2) AS amount
        FROM range({rows}) r(i)
    """)
    print(f"\n== RFM: {rows:,} transactions, ~{customers:,} customers "
          f"(generated in {time.perf_counter() - t0:.1f} s)")
    tx = con.table("tx")
    end, as_of = "2025-06-29", "2025-06-30"
    summary_expr = rfm_summary(tx, observation_end=end, time_unit="weeks")
    scores_expr = rfm_scores(tx, as_of=as_of)

    def timed(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
        times, n = [], 0
        for _ in range(repeats):
            t = time.perf_counter()
            n = fn().num_rows
            times.append(time.perf_counter() - t)
        return float(np.median(times)), n

    results = {
        "rfm_summary (Ibis)": timed(lambda: con.to_pyarrow(summary_expr)),
        "summary SQL (DuckDB)": timed(
            lambda: duck.execute(RFM_SQL.format(end=end)).to_arrow_table()),
        "rfm_scores (Ibis)": timed(lambda: con.to_pyarrow(scores_expr)),
        "scores SQL (DuckDB)": timed(
            lambda: duck.execute(SCORES_SQL.format(as_of=as_of)).to_arrow_table()),
    }
    print("| query | median s | rows | ratio to SQL |")
    print("|---|---|---|---|")
    pairs = {"rfm_summary (Ibis)": "summary SQL (DuckDB)", "rfm_scores (Ibis)":
             "scores SQL (DuckDB)"}
    for name, (sec, n) in results.items():
        base = results.get(pairs.get(name, name), (sec, n))[0]
        print(f"| {name} | {sec:.2f} | {n:,} | {sec / base:.2f}x |")
    # same numbers both ways (monetary sums of equal amounts may differ in the last bit
    # with the summation order of parallel threads, moving a few ties across a score cut)
    a = con.to_pyarrow(summary_expr).to_pandas()
    b = duck.execute(RFM_SQL.format(end=end)).to_arrow_table().to_pandas()
    np.testing.assert_allclose(a["monetary_value"], b["monetary_value"], rtol=1e-9)
    assert (a["frequency"].to_numpy() == b["frequency"].to_numpy()).all()
    sa = con.to_pyarrow(scores_expr).to_pandas()
    sb = duck.execute(SCORES_SQL.format(as_of=as_of)).to_arrow_table().to_pandas()
    for c in ("r_score", "f_score", "m_score"):
        differ = float((sa[c].to_numpy() != sb[c].to_numpy()).mean())
        print(f"{c}: {differ:.2e} of customers differ between Ibis and SQL")
        assert differ < 1e-4, c


def run(python: str, code: str, *args: str) -> dict[str, object]:
    proc = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--lifetimes-python", default="/tmp/lifetimes-venv/bin/python")
    ap.add_argument("--lifetimes-max", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rfm-rows", type=int, default=10_000_000)
    ap.add_argument("--rfm-only", action="store_true", help="Only the RFM / SQL comparison.")
    args = ap.parse_args()
    rfm_benchmark(args.rfm_rows, args.repeats)
    if args.rfm_only:
        return
    have_lifetimes = Path(args.lifetimes_python).exists()
    workdir = Path(tempfile.mkdtemp(prefix="churnguard-bench-"))
    workloads: list[tuple[str, Path]] = []
    import pandas as pd

    cd = pd.read_csv(CDNOW)
    path = workdir / "cdnow.npz"
    np.savez(path, x=cd["frequency"].to_numpy(float), tx=cd["recency"].to_numpy(float),
             T=cd["T"].to_numpy(float))
    workloads.append(("CDNOW (2,357)", path))
    for n in args.sizes:
        path = workdir / f"sim_{n}.npz"
        np.savez(path, **dict(zip(("x", "tx", "T"), simulate(n, seed=n % 9973), strict=True)))
        workloads.append((f"simulated {n:,}", path))

    print(f"python {sys.version.split()[0]}; lifetimes venv: {args.lifetimes_python}")
    rows = []
    for label, path in workloads:
        n = int(np.load(path)["x"].size)
        cg = run(sys.executable, CHILD_CHURNGUARD, str(path), str(args.repeats),
                 "1" if n == 1_000_000 else "0")
        lt: dict[str, object] = {}
        if have_lifetimes and n <= args.lifetimes_max:
            lt = run(args.lifetimes_python, CHILD_LIFETIMES, str(path))
        rows.append((label, cg, lt))
        print(f"\n== {label}")
        print(f"churnguard: {json.dumps(cg)}")
        print(f"lifetimes : {json.dumps(lt) if lt else 'skipped'}")
        if "seconds" in lt and "seconds" in cg:
            print(f"speed-up  : {lt['seconds'] / cg['seconds']:.1f}x")  # type: ignore[operator]

    print("\n| data | churnguard s | peak RSS MB | lifetimes s | peak RSS MB | speed-up |"
          " r | alpha | a | b (churnguard / lifetimes) |")
    print("|---|---|---|---|---|---|---|")
    for label, cg, lt in rows:
        p = cg.get("params", {})
        q = lt.get("params", {}) if lt else {}
        pv = " / ".join(
            f"{p.get(k, float('nan')):.4g}:{q.get(k, float('nan')):.4g}" for k in TRUTH  # type: ignore[union-attr]
        )
        ratio = (f"{lt['seconds'] / cg['seconds']:.0f}x"  # type: ignore[operator]
                 if "seconds" in lt and "seconds" in cg else "-")
        lts = f"{lt['seconds']:.2f}" if "seconds" in lt else "-"
        ltm = f"{lt['peak_rss_mb']:.0f}" if "peak_rss_mb" in lt else "-"
        print(f"| {label} | {cg.get('seconds', float('nan')):.3f} | "
              f"{cg.get('peak_rss_mb', float('nan')):.0f} | {lts} | {ltm} | {ratio} | {pv} |")
    for label, cg, _ in rows:
        if "clv_seconds" in cg:
            print(f"\nCLV 12 months, {label}: {cg['clv_seconds']:.3f} s")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
