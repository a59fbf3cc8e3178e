"""Benchmark: the retention plan's TRUE incremental profit on the simulator, against the
oracle (the same knapsack solved with the true effects) and against "target the highest
churn probability", at the same budget; and the Lagrangian solver's time against the exact
integer programme (HiGHS) on the same candidates.

Run (from the repo root):

    .venv/bin/python benchmarks/target.py                       # 60,000 customers x 36 months
    .venv/bin/python benchmarks/target.py --customers 20000 --methods x

Writes ``benchmarks/out/target.md``. The uplift models are fitted once per method and
reused for every ``--min-uplift`` (``plan(..., models=, inputs=)``). The ``risk`` method
needs a churn model: without one in the workspace, one is trained first
(``churnguard.predict.train.train(ws, origins=0)``, validation only).

The last row, **ceiling**, is not a method a user has: per offer, a LightGBM regression is
fitted on today's TRUE effects (``ground_truth/offer_effects.parquet``) from the same
point-in-time features, cross-fitted in three folds (each customer predicted by a model
that did not see that customer's effect), and the plan is built from those predictions
with the plan's own value and acceptance. It measures how much of the oracle any learner
of per-customer uplift from these features could reach, given far more (and truer)
training data than past campaigns hold.
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
    ap.add_argument("--methods", default="risk,t,x")
    ap.add_argument("--no-ceiling", action="store_true",
                    help="skip the ceiling row (a learner fitted on the TRUE effects)")
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
        _churn_scorer,
        _fit_models,
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
    if "risk" in args.methods.split(","):
        from churnguard.errors import ChurnguardError
        from churnguard.predict.registry import ModelRegistry
        from churnguard.predict.train import train

        try:
            ModelRegistry(ws_path).load()
        except ChurnguardError:
            t0 = time.perf_counter()
            with Workspace.open(ws_path) as ws:
                train(ws, origins=0)
            print(f"churn model trained (validation only): {time.perf_counter() - t0:.0f} s")
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
            notes: list[str] = []
            models = (_fit_models(ws, reg, [o.campaign_offer for o in offers], "risk", 3,
                                  _churn_scorer(ws, reg)[0], notes) if method == "risk" else
                      fit_offers(ex, reg, offers=[o.campaign_offer for o in offers],
                                 method=method))  # type: ignore[arg-type]
            if notes:
                print("; ".join(notes))
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
        if last is not None and not args.no_ceiling:
            t0 = time.perf_counter()
            tp, oracle = _ceiling(last, inputs.frame, ws.truth_dir, args.budget)
            lines.append(f"| ceiling (learner fitted on TRUE effects) | 0 | | | | {tp:,.0f} | "
                         f"{oracle:,.0f} | {tp / oracle:.1%} | | |")
            print(lines[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
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


def _ceiling(result, frame, truth_dir, budget):  # type: ignore[no-untyped-def]
    """True profit of the plan built from a cross-fitted LightGBM regression of each offer's
    TRUE effect on the point-in-time features (see the module docstring), and the oracle's."""
    import lightgbm as lgb
    import numpy as np

    from churnguard.act.target import choose, oracle_choice, truth_pairs

    j = truth_pairs(result, truth_dir)
    X = frame.set_index("customer_id").select_dtypes("number").astype(float)
    X = X.drop(columns=[k for k in ("churn_probability",) if k in X])
    pred = np.full(len(j), -1.0)  # unknown effect (already lost): never worth paying for
    rng = np.random.default_rng(0)
    for offer in j["offer"].unique():
        pos = np.flatnonzero((j["offer"] == offer).to_numpy() & j["true_offer_effect"].notna())
        Xg = X.reindex(j["customer_id"].to_numpy()[pos])
        y = -j["true_offer_effect"].to_numpy()[pos]
        fold = rng.integers(0, 3, len(pos))
        for k in range(3):
            m = lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, min_child_samples=50,
                                  n_jobs=1, verbose=-1).fit(Xg[fold != k], y[fold != k])
            pred[pos[fold == k]] = m.predict(Xg[fold == k])
    j["expected_profit"] = pred * j["value"] - j["acceptance_rate"] * j["cost"]
    pick = j[(j["expected_profit"] > 0) & (j["cost"] <= budget)]
    chosen, _ = choose(pick, budget)
    return (float(pick.iloc[chosen]["true_profit"].sum()),
            float(oracle_choice(j, budget)["true_profit"].sum()))


if __name__ == "__main__":
    main()
