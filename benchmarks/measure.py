"""Benchmark: the measure layer (labels, monthly rates with 3 breakdowns, cohorts) on DuckDB
vs the same computation written plainly in pandas, same data, same run.

Run (from the repo root):

    .venv/bin/python benchmarks/measure.py --customers 1000000 --months 36
    .venv/bin/python benchmarks/measure.py --customers 200000 --months 36   # smaller machine
    .venv/bin/python benchmarks/measure.py --workspace path/to/measure_1000000_36  # a copy

The simulated workspace is generated once into ``benchmarks/out/measure_<customers>_<months>``
and reused. Each side runs in a fresh subprocess (reads the warehouse, computes, reports), so
its peak memory (VmHWM: peak resident memory, data included) is its own. The pandas side
reads the four tables into pandas first (not timed: the DuckDB side does not load them
either), then labels the customers, computes the monthly rates overall and by
contract_type, region and purchase_frequency_band, and the signup-month cohort matrix
(customers and MRR). Both sides' numbers are compared; the report says whether they match.

The churnguard side labels once into a temporary table and passes it to the rates and the
cohorts (``labels=``), as the pandas side reuses its frame; the overall rates and the three
breakdowns are one query (``rates_by``). Every step reports wall and CPU seconds (user +
system, all threads: less sensitive to other load on the machine), and the load average
before and after. The script exits non-zero when the two sides' numbers differ (every
group x month count of every breakdown is compared). The pandas side is plain but
sensible: sorts, groupby/shift/cumsum for the episodes, groupby counts per month for the
rates, and one vectorised pass per month-end for the cohorts (each customer's cohort looked
up once, not per month).

Each side computes the whole set ``--runs`` times (default 2) in its process and the
fastest run is reported, the same rule for both. The first churnguard run also pays
DuckDB's first read of the warehouse file into its buffers (about 0.4 s at 1M customers),
the counterpart of the pandas side's untimed load; its total is reported as well.
Results go to ``benchmarks/out/measure.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
BREAKDOWNS = ("contract_type", "region", "purchase_frequency_band")

CHILD_COMMON = r"""
import json, resource, sys, time
COUNTS = ("customers_start", "new", "reactivated", "churned", "churned_from_start",
          "customers_end")
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
def cpu_s():
    # CPU seconds of this process, all threads (user + system)
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
"""

CHILD_CHURNGUARD = CHILD_COMMON + r"""
from churnguard.warehouse import Workspace
from churnguard.measure import labels, cohorts
from churnguard.measure.rates import rates_by
path = sys.argv[1]
with Workspace.open(path, read_only=True) as ws:
    wh = ws.warehouse
    runs = []
    for k in range(int(sys.argv[3])):
        times, cpu = {}, {}
        t, c = time.perf_counter(), cpu_s()
        # labelled once and kept in the engine (a temporary table), as the pandas side keeps its
        # frame: the rates and the cohorts below reuse it
        lab = wh.ibis.create_table(f"bench_labels{k}", labels(ws, ordered=False), temp=True)
        times["labels"], cpu["labels"] = time.perf_counter() - t, cpu_s() - c
        cust, orders = wh.table("customers"), wh.table("orders")
        t, c = time.perf_counter(), cpu_s()
        # the overall rates and every breakdown in one query (one pass over the labels)
        bys = sys.argv[2].split(",")
        got = rates_by(lab, [None, *bys], period="month", customers=cust, orders=orders)
        total = got[None]
        res = {"total": total, **{by: got[by] for by in bys}}
        times["rates"], cpu["rates"] = time.perf_counter() - t, cpu_s() - c
        t, c = time.perf_counter(), cpu_s()
        coh = cohorts(ws, labels=lab)
        times["cohorts"], cpu["cohorts"] = time.perf_counter() - t, cpu_s() - c
        runs.append({"times": times, "cpu": cpu})
    counts = lab.aggregate(n=lab.count(), churned=lab.churned.cast("int64").sum()).to_pandas()
by_counts = {k: sorted([str(g), str(p)[:7], *map(int, r)] for g, p, *r in zip(
    v[k] if k != "total" else ["all"] * len(v), v.period_start,
    *(v[c] for c in COUNTS))) for k, v in res.items()}
out = {"runs": runs, "hwm_mb": hwm(), "episodes": int(counts.n.iloc[0]),
       "churned": int(counts.churned.iloc[0]),
       "total": total[["customers_start", "new", "reactivated", "churned",
                       "customers_end"]].astype(int).values.tolist(),
       "by": {k: int(v.churned.sum()) for k, v in res.items()},
       "by_counts": by_counts,
       "cohort_customers": int(coh.customers.sum()),
       "cohort_revenue": float(coh.revenue.sum())}
print(json.dumps(out))
"""

CHILD_PANDAS = CHILD_COMMON + r"""
import numpy as np, pandas as pd
from churnguard.warehouse import Workspace
path = sys.argv[1]
with Workspace.open(path, read_only=True) as ws:
    wh = ws.warehouse
    c = wh.table("customers").select("customer_id", "signup_at", "contract_type",
                                     "region").to_pandas()
    o = wh.table("orders").select("customer_id", "ordered_at").to_pandas()
    i = wh.table("interactions").select("customer_id", "at", "direction").to_pandas()
    s = wh.table("subscriptions").select("subscription_id", "customer_id", "started_at",
                                         "ended_at", "mrr").to_pandas()
# one time unit everywhere (the conversion may give a column with nulls nanoseconds, where
# the "open end" stand-in of year 3000 does not fit); part of loading, not timed
for frame in (c, o, i, s):
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime64"):
            frame[col] = frame[col].dt.as_unit("us")
INACTIVE = pd.Timedelta(days=180).as_unit("us")  # the data's unit (see above)
OPEN = pd.Timestamp("3000-01-01", tz="UTC")
runs = []
for run_i in range(int(sys.argv[3])):
    times, cpu = {}, {}
    t, c0 = time.perf_counter(), cpu_s()
    # -- labels: contractual for customers with subscriptions (grace 0) -------------------
    until = max(o.ordered_at.max(), i["at"].max(), c.signup_at.max(), s.started_at.max(),
                s.ended_at.max())
    s = s.sort_values(["customer_id", "started_at", "subscription_id"])
    end = s.ended_at.fillna(OPEN)
    prev = end.groupby(s.customer_id).cummax().groupby(s.customer_id).shift()
    new = prev.isna() | (s.started_at.dt.floor("D") > prev.dt.floor("D"))
    s["ep"] = new.astype(int).groupby(s.customer_id).cumsum()
    s["end"] = end
    ce = s.groupby(["customer_id", "ep"], as_index=False).agg(start_at=("started_at", "min"),
                                                               end=("end", "max"))
    ce["churned"] = (ce.end < OPEN) & (until.floor("D") > ce.end.dt.floor("D"))
    ce["churn_at"] = ce.end.where(ce.churned)
    # -- non-contractual for the rest: orders, own interactions, signup --------------------
    subs_ids = set(s.customer_id)
    own = i[i.direction.isna() | (i.direction != "outbound")]
    ev = pd.concat([o.rename(columns={"ordered_at": "ts"}), own[["customer_id", "at"]].rename(
        columns={"at": "ts"}), c[["customer_id", "signup_at"]].rename(columns={"signup_at": "ts"})])
    ev = ev[~ev.customer_id.isin(subs_ids) & ev.ts.notna()].drop_duplicates()
    ev = ev.sort_values(["customer_id", "ts"])
    gap = ev.ts - ev.groupby("customer_id").ts.shift()
    ev["ep"] = (gap.isna() | (gap > INACTIVE)).astype(int).groupby(ev.customer_id).cumsum()
    ne = ev.groupby(["customer_id", "ep"], as_index=False).agg(start_at=("ts", "min"),
                                                               last=("ts", "max"))
    due = ne["last"] + INACTIVE
    ne["churned"] = due < until
    ne["churn_at"] = due.where(ne.churned)
    lab = pd.concat([ce[["customer_id", "ep", "start_at", "churned", "churn_at"]],
                     ne[["customer_id", "ep", "start_at", "churned", "churn_at"]]],
                    ignore_index=True)
    times["labels"], cpu["labels"] = time.perf_counter() - t, cpu_s() - c0

    # -- monthly rates, overall and by three dimensions ------------------------------------
    t, c0 = time.perf_counter(), cpu_s()
    def monthly(lab, group=None):
        lab = lab.assign(g="all" if group is None else lab[group])
        sm = lab.start_at.dt.tz_localize(None).dt.to_period("M")
        cm = lab.churn_at.dt.tz_localize(None).dt.to_period("M")
        months = pd.period_range(sm.min(), pd.Timestamp(until).tz_localize(None).to_period("M"),
                                 freq="M")
        idx = pd.MultiIndex.from_product([sorted(lab.g.unique()), months], names=["g", "p"])
        new = lab[lab.ep == 1].groupby([lab.g, sm]).size().reindex(idx, fill_value=0)
        react = lab[lab.ep > 1].groupby([lab.g, sm]).size().reindex(idx, fill_value=0)
        gone = lab.churn_at.notna()
        churned = lab[gone].groupby([lab.g[gone], cm[gone]]).size().reindex(idx, fill_value=0)
        from_start = lab[gone & (sm < cm)].groupby([lab.g, cm]).size().reindex(idx, fill_value=0)
        df = pd.DataFrame({"new": new, "reactivated": react, "churned": churned,
                           "churned_from_start": from_start})
        net = df.new + df.reactivated - df.churned
        df["customers_end"] = net.groupby(level="g").cumsum()
        df["customers_start"] = df.customers_end - net
        df["churn_rate"] = (df.churned_from_start / df.customers_start).where(
            df.customers_start > 0)
        return df.reset_index()
    total = monthly(lab)
    res = {"total": total}
    dims = c[["customer_id", "contract_type", "region"]].fillna("(missing)")
    n_orders = o[o.ordered_at <= until].groupby("customer_id").size()
    bands = pd.cut(n_orders.reindex(lab.customer_id.unique(), fill_value=0),
                   [-1, 0, 1, 4, 9, np.inf], labels=["0", "1", "2-4", "5-9", "10+"]).astype(str)
    dims = dims.merge(bands.rename("purchase_frequency_band").rename_axis("customer_id")
                      .reset_index(), on="customer_id", how="right")
    lab_d = lab.merge(dims, on="customer_id", how="left")
    for by in sys.argv[2].split(","):
        res[by] = monthly(lab_d.assign(**{by: lab_d[by].fillna("(missing)")}), by)
    times["rates"], cpu["rates"] = time.perf_counter() - t, cpu_s() - c0

    # -- signup-month cohorts: customers alive and MRR at each month-end -------------------
    # one vectorised pass per month-end (36 of them), each customer's cohort month looked up once
    t, c0 = time.perf_counter(), cpu_s()
    first = lab.groupby("customer_id").start_at.min()
    coh = c.set_index("customer_id").signup_at.reindex(first.index).fillna(first)
    coh = coh.dt.year * 12 + coh.dt.month - 1
    lab_coh = lab.customer_id.map(coh).to_numpy()
    s_coh = s.customer_id.map(coh).to_numpy()
    cells = []
    k = int(coh.min())
    while True:
        b = pd.Timestamp(year=(k + 1) // 12, month=(k + 1) % 12 + 1, day=1, tz="UTC")
        if b > until:
            break
        alive = (lab.start_at < b) & ~(lab.churn_at < b) & (lab_coh <= k)
        n = lab.customer_id[alive].nunique()
        act = (s.started_at < b) & ~(s.ended_at < b) & (s_coh <= k)
        m = s.mrr[act].groupby(s.customer_id[act]).sum()
        cells.append((n, m[m > 0].sum()))
        k += 1
    times["cohorts"], cpu["cohorts"] = time.perf_counter() - t, cpu_s() - c0
    runs.append({"times": times, "cpu": cpu})
by_counts = {k: sorted([str(g), str(p), *map(int, r)] for g, p, *r in zip(
    v.g, v.p, *(v[c] for c in COUNTS))) for k, v in res.items()}
out = {"runs": runs, "hwm_mb": hwm(), "episodes": len(lab),
       "churned": int(lab.churned.sum()), "by_counts": by_counts,
       "total": total[["customers_start", "new", "reactivated", "churned",
                       "customers_end"]].astype(int).values.tolist(),
       "by": {k: int(v.churned.sum()) for k, v in res.items()},
       "cohort_customers": int(sum(x for x, _ in cells)),
       "cohort_revenue": float(sum(y for _, y in cells))}
print(json.dumps(out))
"""


def ensure_workspace(customers: int, months: int, seed: int) -> Path:
    path = OUT / f"measure_{customers}_{months}"
    if (path / "churnguard.toml").exists() and (path / "READY").exists():
        return path
    from churnguard.simulate.load import simulate_into

    t = time.perf_counter()
    counts = simulate_into(path, customers=customers, months=months, seed=seed, replace=True)
    (path / "READY").write_text(json.dumps(counts), encoding="utf-8")
    print(f"generated {path} in {time.perf_counter() - t:.0f} s: {counts}")
    return path


def run(code: str, path: Path, runs: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, str(path), ",".join(BREAKDOWNS),
                           str(runs)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the fastest run is reported; the first one is kept too (see the module docstring)
    out["first"] = sum(out["runs"][0]["times"].values())
    best = min(out["runs"], key=lambda r: sum(r["times"].values()))
    out["times"], out["cpu"] = best["times"], best["cpu"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--runs", type=int, default=2,
                    help="runs of the whole set per side, in one process; the fastest is "
                         "reported (default 2)")
    ap.add_argument("--workspace", type=Path, default=None,
                    help="an existing simulated workspace to use (its READY file gives the "
                         "counts) instead of benchmarks/out/measure_<customers>_<months>")
    args = ap.parse_args()
    path = args.workspace or ensure_workspace(args.customers, args.months, args.seed)
    if not (path / "READY").exists():
        raise SystemExit(f"{path}: not a benchmark workspace (no READY file)")
    counts = json.loads((path / "READY").read_text(encoding="utf-8"))
    events = sum(counts[k] for k in ("orders", "interactions", "subscriptions", "tickets"))
    load_before = os.getloadavg()
    cg = run(CHILD_CHURNGUARD, path, args.runs)
    pdr = None if args.skip_pandas else run(CHILD_PANDAS, path, args.runs)
    load_after = os.getloadavg()
    nan = float("nan")
    lines = [
        f"# measure benchmark: {args.customers:,} customers, {events:,} events "
        f"({args.months} months, seed {args.seed}), {os.cpu_count()} cores",
        "",
        f"load average (1 min) before / after: {load_before[0]:.1f} / {load_after[0]:.1f}",
        "",
        f"fastest of {args.runs} run(s) per side; the first run took churnguard "
        f"{cg['first']:.1f} s" + (f", pandas {pdr['first']:.1f} s" if pdr else ""),
        "",
        "| step | churnguard (DuckDB) s | pandas s | ratio | churnguard CPU s | pandas CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for step in ("labels", "rates", "cohorts"):
        a, ca = cg["times"][step], cg["cpu"][step]
        b, cb = (pdr["times"][step], pdr["cpu"][step]) if pdr else (nan, nan)
        lines.append(f"| {step} | {a:.1f} | {b:.1f} | {b / a:.1f}x | {ca:.1f} | {cb:.1f} |")
    a, ca = sum(cg["times"].values()), sum(cg["cpu"].values())
    b, cb = (sum(pdr["times"].values()), sum(pdr["cpu"].values())) if pdr else (nan, nan)
    lines.append(f"| **total** | **{a:.1f}** | **{b:.1f}** | **{b / a:.1f}x** | {ca:.1f} | "
                 f"{cb:.1f} |")
    lines += ["", f"peak memory (VmHWM): churnguard {cg['hwm_mb']:.0f} MB"
              + (f", pandas {pdr['hwm_mb']:.0f} MB" if pdr else "")]
    same: dict[str, bool] = {}
    if pdr:
        same = {k: cg[k] == pdr[k] for k in ("episodes", "churned", "total", "by",
                                              "by_counts", "cohort_customers")}
        same["cohort_revenue"] = abs(cg["cohort_revenue"] - pdr["cohort_revenue"]) < 1e-6 * max(
            1.0, abs(cg["cohort_revenue"]))
        lines.append(f"same numbers on both sides: {same}")
    lines.append(f"rates = monthly overall + by {', '.join(BREAKDOWNS)} (by_counts: every "
                 "group x month count compared)")
    report = "\n".join(lines) + "\n"
    (OUT / "measure.md").write_text(report, encoding="utf-8")
    print(report)
    if not all(same.values()):
        raise SystemExit("the two sides disagree: the timings above compare different results")


if __name__ == "__main__":
    main()
