"""Benchmark: churnguard BetaGeo vs the lifetimes package, same data, same run.

Run (from the repo root):

    python -m venv /tmp/lifetimes-venv
    /tmp/lifetimes-venv/bin/pip install lifetimes==0.11.3
    .venv/bin/python benchmarks/value.py --lifetimes-python /tmp/lifetimes-venv/bin/python

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
    args = ap.parse_args()
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
