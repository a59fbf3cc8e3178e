"""Benchmark of the predict layer: feature build, training, scoring on a simulated workspace.

Each stage runs in its own child process, so its peak memory (max RSS) is its own.
Baselines in the same run: raw LightGBM training on the same matrix with the same rounds
(no tuning, calibration, baselines or feature build), and raw ``Booster.predict`` on the
same scoring matrix.

    .venv/bin/python benchmarks/predict.py --customers 200000 --workspace /tmp/bench_predict

Targets on 2 cores: features for 1M customers under 60 s; training under 120 s; scoring
over 200k customers/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2026-07-01"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_features(root: Path) -> dict[str, float]:
    from churnguard.predict.dataset import workspace_tables
    from churnguard.predict.features import build_features
    from churnguard.warehouse import Workspace

    with Workspace.open(root, read_only=True) as ws:
        t0 = time.perf_counter()
        rows = 0
        for batch in build_features(workspace_tables(ws), AS_OF).to_pyarrow_batches(
                chunk_size=100_000):
            rows += batch.num_rows
        sec = time.perf_counter() - t0
    return {"seconds": sec, "rows": rows, "rows_per_s": rows / sec, "peak_mb": _rss_mb()}


def stage_train(root: Path) -> dict[str, float]:
    import lightgbm as lgb
    import numpy as np

    from churnguard.measure.definitions import ChurnRules
    from churnguard.predict.dataset import ExampleBuilder, workspace_tables
    from churnguard.predict.model import ChurnModel
    from churnguard.predict.pipeline import model_features
    from churnguard.predict.train import train
    from churnguard.warehouse import Workspace

    with Workspace.open(root) as ws:
        t0 = time.perf_counter()
        r = train(ws, horizon="90d", origins=0)
        full = time.perf_counter() - t0
        # the model fit alone vs raw LightGBM on the same matrix
        tables = workspace_tables(ws)
        b = ExampleBuilder(tables, rules=ChurnRules.from_config(ws.config.churn),
                           horizon_days=90)
        from datetime import UTC, datetime
        o1, o2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
        tr, va = b.labelled(o1).frame, b.labelled(o2).frame
        feats = model_features(b.registry, tr)
        t0 = time.perf_counter()
        m = ChurnModel().fit(tr, tr["churned"], va, va["churned"], registry=b.registry,
                             features=feats)
        fit = time.perf_counter() - t0
        X = m.matrix(tr)
        t0 = time.perf_counter()
        lgb.train(m.params_, lgb.Dataset(X, tr["churned"].to_numpy(),
                                         categorical_feature=m.encoder_.categorical_indices),
                  num_boost_round=m.best_iteration_)
        raw = time.perf_counter() - t0
    return {"train_command_seconds": full, "train_rows": float(len(tr)),
            "model_fit_seconds": fit, "raw_lightgbm_seconds": raw,
            "rounds": float(m.best_iteration_), "grade": r.grade or "-",
            "peak_mb": _rss_mb(), "auc_val": float(np.nan_to_num(
                r.meta.get("metrics", {}).get("summary", {}).get("auc", np.nan)))}


def stage_score(root: Path) -> dict[str, float]:
    from churnguard.predict.dataset import workspace_tables
    from churnguard.predict.features import build_features, feature_registry
    from churnguard.predict.registry import ModelRegistry
    from churnguard.predict.score import score, score_frame
    from churnguard.warehouse import Workspace

    out = root / "bench_risk.parquet"
    with Workspace.open(root) as ws:
        t0 = time.perf_counter()
        res = score(ws, as_of=AS_OF, out=out, reasons="at_risk")
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        res2 = score(ws, as_of=AS_OF, out=out, reasons="none", history=False, value=False)
        lean = time.perf_counter() - t0
        saved = ModelRegistry(root).load()
        tables = workspace_tables(ws)
        frame = build_features(tables, AS_OF).limit(200_000).to_pandas()
        reg = feature_registry(tables)
        assert saved.model is not None
        X = saved.model.matrix(frame)
        t0 = time.perf_counter()
        saved.model.booster_.predict(X, num_iteration=saved.model.best_iteration_)
        raw = time.perf_counter() - t0
        t0 = time.perf_counter()
        score_frame(saved, frame, reg, reasons="none")
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        score_frame(saved, frame.head(20_000), reg, reasons="all")
        ours_reasons = (time.perf_counter() - t0) * len(frame) / 20_000
    n = len(frame)
    return {"customers": res.customers, "score_command_seconds": full,
            "score_command_per_s": res.customers / full,
            "score_lean_seconds": lean, "score_lean_per_s": res2.customers / lean,
            "in_memory_rows": n, "raw_predict_per_s": n / raw, "ours_no_reasons_per_s": n / ours,
            "ours_with_reasons_per_s": n / ours_reasons, "peak_mb": _rss_mb()}


STAGES = {"features": stage_features, "train": stage_train, "score": stage_score}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--workspace", type=Path, default=Path("/tmp/churnguard_bench_predict"))
    ap.add_argument("--stage", choices=list(STAGES))
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(STAGES[args.stage](args.workspace)))
        return
    root = args.workspace
    if not (root / "churnguard.toml").exists():
        from churnguard.simulate.load import simulate_into

        t0 = time.perf_counter()
        simulate_into(root, customers=args.customers, months=args.months, seed=1,
                      end="2026-06-30")
        print(f"simulated {args.customers:,} customers x {args.months} months "
              f"in {time.perf_counter() - t0:.0f} s -> {root}")
    for stage in STAGES:
        out = subprocess.run([sys.executable, __file__, "--stage", stage, "--workspace",
                              str(root)], capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{stage}: failed\n{out.stderr[-2000:]}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{stage}: " + ", ".join(
            f"{k}={v:,.1f}" if isinstance(v, float | int) else f"{k}={v}"
            for k, v in result.items()))


if __name__ == "__main__":
    main()
