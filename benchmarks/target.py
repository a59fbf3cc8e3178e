"""Benchmark: the retention plan's TRUE incremental profit on the simulator, against the
oracle (the same knapsack solved with the true effects) and against "target the highest
churn probability", at the same budget; and the Lagrangian solver's time against the exact
integer programme (HiGHS) on the same candidates.

Run (from the repo root):

    .venv/bin/python benchmarks/target.py                       # 60,000 customers x 36 months
    .venv/bin/python benchmarks/target.py --customers 20000 --methods x

Writes ``benchmarks/out/target.md``. The uplift models are fitted once per meta-learner
and reused for every ``--min-uplift`` (``plan(..., models=, inputs=)``).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=60_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--budget", type=float, default=20_000.0)
    ap.add_argument("--methods", default="x,t")
    ap.add_argument("--min-uplift", default="0,0.01,0.03,0.05")
    ap.add_argument("--workspace", type=Path, default=Path("/tmp/churnguard-bench-target"))
    ap.add_argument("--offers", type=Path, default=REPO / "examples" / "offers.toml")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.simplefilter("ignore")

    from churnguard.act.inputs import rule_inputs
    from churnguard.act.offers import load_offers
    from churnguard.act.target import (
        _as_of,
        _greedy,
        _lagrangian,
        _milp,
        evaluate_on_truth,
        known_names,
        plan,
    )
    from churnguard.act.uplift import campaign_examples, fit_offers, qini_by_offer, qini_coefficient
    from churnguard.predict.dataset import workspace_tables
    from churnguard.predict.features import feature_registry
    from churnguard.simulate.load import simulate_into
    from churnguard.warehouse import Workspace

    ws_path = args.workspace
    if not (ws_path / "ground_truth" / "offer_effects.parquet").exists():
        simulate_into(ws_path, customers=args.customers, months=args.months, seed=args.seed,
                      replace=(ws_path / "churnguard.toml").exists())
    lines = [f"# Retention targeting on the simulator ({args.customers:,} customers x "
             f"{args.months} months, seed {args.seed}, budget {args.budget:,.0f})", "",
             "| learner | min uplift | customers | committed | expected profit | "
             "TRUE profit | oracle TRUE profit | plan / oracle | highest churn prob. | "
             "highest TRUE churn prob. |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    with Workspace.open(ws_path, read_only=True) as ws:
        offers = load_offers(args.offers, known_names(ws))
        cut = _as_of(ws, None)
        t0 = time.perf_counter()
        ex = campaign_examples(ws)
        inputs = rule_inputs(ws, cut)
        reg = feature_registry(workspace_tables(ws))
        print(f"campaign examples and inputs: {time.perf_counter() - t0:.0f} s")
        qini_lines = []
        last = None
        for method in args.methods.split(","):
            t0 = time.perf_counter()
            models = fit_offers(ex, reg, offers=[o.campaign_offer for o in offers],
                                method=method)  # type: ignore[arg-type]
            fit_s = time.perf_counter() - t0
            q = {k: qini_coefficient(v) for k, v in qini_by_offer(models.heldout).items()}
            qini_lines.append(f"| {method} | {fit_s:.0f} | " + " | ".join(
                f"{q.get(o.campaign_offer, float('nan')):+.3f}" for o in offers) + " |")
            for mu in (float(v) for v in args.min_uplift.split(",")):
                r = plan(ws, args.budget, offers, as_of=cut, method=method,  # type: ignore
                         min_uplift=mu, models=models, inputs=inputs)
                ev = evaluate_on_truth(r, ws.truth_dir)
                lines.append(
                    f"| {method} | {mu:g} | {len(r.frame):,} | {r.spent:,.0f} | "
                    f"{r.expected_profit:,.0f} | {ev['plan_true_profit']:,.0f} | "
                    f"{ev['oracle_true_profit']:,.0f} | {ev['plan_vs_oracle']:.1%} | "
                    f"{ev['highest_risk_true_profit']:,.0f} | "
                    f"{ev['highest_true_risk_true_profit']:,.0f} |")
                print(lines[-1], flush=True)
                last = r
    lines += ["", "Held-out Qini coefficient per offer (cross-fitted past-campaign "
              "assignments) and fit seconds:", "",
              "| learner | fit s | " + " | ".join(o.name for o in offers) + " |",
              "|---|---:|" + "---:|" * len(offers), *qini_lines]
    if last is not None:  # solver timing on the last plan's candidates
        c = last.candidates
        pick = c[(c["segment"] == "persuadable") & (c["uplift"] > 0)
                 & (c["expected_profit"] > 0)]
        cost = pick["cost"].to_numpy(float)
        profit = pick["expected_profit"].to_numpy(float)
        cust = pick["customer_id"].factorize()[0]
        res = {}
        for name, fn in (("lagrangian", _lagrangian), ("greedy", _greedy), ("exact", _milp)):
            t0 = time.perf_counter()
            x = fn(cost, profit, cust, args.budget)
            res[name] = (time.perf_counter() - t0,
                         float(profit[x].sum()) if x is not None else float("nan"))
        base = res["exact"][0]
        lines += ["", f"Solvers on {len(pick):,} candidate pairs (baseline: exact HiGHS "
                  "integer programme, 30 s limit):", "",
                  "| solver | seconds | time vs exact | expected profit |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {k} | {s:.2f} | {s / base:.2f}x | {p:,.0f} |"
                  for k, (s, p) in res.items()]
    out = REPO / "benchmarks" / "out" / "target.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
