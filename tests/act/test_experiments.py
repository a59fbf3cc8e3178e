"""Campaign experiments: intervals checked by hand, coverage, power, the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from churnguard.act.experiments import (
    campaign_periods,
    diff_interval,
    experiment,
    lift,
    mean_diff,
    p_value,
    resolve_campaign,
    sample_size,
    wilson_interval,
)
from churnguard.errors import InputError
from churnguard.simulate.load import simulate_into
from churnguard.warehouse import Workspace


def test_lift_on_a_hand_made_fixture() -> None:
    # treated 56 retained of 70 (p1 = 0.8), control 48 of 80 (p0 = 0.6),
    # z = 1.959964, z² = 3.841459
    # Wilson 56/70: centre (0.8 + z²/140)/(1 + z²/70) = 0.827439/1.054878 = 0.784393,
    #   half = z sqrt(0.16/70 + z²/19600)/1.054878 = 0.092560 -> [0.691834, 0.876953]
    # Wilson 48/80: centre (0.6 + z²/160)/(1 + z²/80) = 0.624009/1.048018 = 0.595418,
    #   half = z sqrt(0.24/80 + z²/25600)/1.048018 = 0.104964 -> [0.490455, 0.700382]
    # Newcombe: low  = 0.2 - sqrt((0.8-0.691834)² + (0.700382-0.6)²) = 0.2 - 0.147569
    #                = 0.052431
    #           high = 0.2 + sqrt((0.876953-0.8)² + (0.6-0.490455)²) = 0.2 + 0.133873
    #                = 0.333873
    lo, hi = wilson_interval(56, 70)
    assert (float(lo), float(hi)) == pytest.approx((0.691834, 0.876953), abs=2e-6)
    r = lift(56, 70, 48, 80)
    assert (r.diff, r.low, r.high) == pytest.approx((0.2, 0.052431, 0.333873), abs=2e-6)
    # Wald: se = sqrt(0.8*0.2/70 + 0.6*0.4/80) = sqrt(0.0022857 + 0.003) = 0.072703
    #       0.2 ± 1.959964*0.072703 = [0.057505, 0.342495]
    w = lift(56, 70, 48, 80, method="wald")
    assert (w.low, w.high) == pytest.approx((0.057505, 0.342495), abs=2e-6)
    # pooled z-test: p = 104/150 = 0.693333, se = sqrt(p(1-p)(1/70 + 1/80)) = 0.075466,
    #   z = 0.2/0.075466 = 2.65020, two-sided p = 2 (1 - Phi(2.65020)) = 0.008044
    assert r.p_value == pytest.approx(0.008044, abs=2e-6)
    assert p_value(5, 10, 5, 10) == pytest.approx(1.0)
    b = lift(56, 70, 48, 80, method="bootstrap", n_boot=20_000, seed=1)
    assert b.low == pytest.approx(w.low, abs=0.015) and b.high == pytest.approx(w.high, abs=0.015)
    # edge cases: all or none retained stays inside [-1, 1]
    d, lo2, hi2 = diff_interval(10, 10, 0, 10)
    assert -1 <= float(lo2) < float(d) == 1.0 and float(hi2) <= 1.0 + 1e-12
    assert mean_diff(np.array([1.0]), np.array([1.0, 2.0]))[0] != mean_diff(
        np.array([1.0]), np.array([1.0, 2.0]))[0]  # NaN with fewer than two per arm
    with pytest.raises(InputError, match="method"):
        lift(1, 2, 1, 2, method="exact")  # type: ignore[arg-type]


def test_sample_size_against_textbook_numbers() -> None:
    # Chow, Shao & Wang (2008) sec. 4.2 example: p0 = 0.65, p1 = 0.85, alpha 0.05, power 0.8,
    # unpooled: (1.959964 + 0.841621)² (0.85*0.15 + 0.65*0.35) / 0.2² = 7.848878*0.355/0.04
    #           = 69.66 -> 70 per arm (the book's answer)
    assert sample_size(0.65, 0.20, method="unpooled") == 70
    # pooled (Fleiss, no continuity correction): p = 0.75,
    #   (1.959964 sqrt(2*0.1875) + 0.841621 sqrt(0.355))² / 0.04
    #   = (1.200249 + 0.501456)² / 0.04 = 72.40 -> 73
    assert sample_size(0.65, 0.20) == 73
    # statsmodels NormalIndPower().solve_power(proportion_effectsize(0.85, 0.65), alpha=0.05,
    # power=0.8): h = 2 asin(sqrt .85) - 2 asin(sqrt .65) = 2.346194 - 1.875489 = 0.470705,
    #   n = 7.848878 * 2 / 0.470705² = 70.85 -> 71
    assert sample_size(0.65, 0.20, method="arcsine") == 71
    # a retention campaign: 80 % -> 85 %, pooled p = 0.825:
    #   (1.959964 sqrt(2*0.825*0.175) + 0.841621 sqrt(0.1275 + 0.16))² / 0.05² = 905.4 -> 906
    assert sample_size(0.80, 0.05) == 906
    # unequal arms need more in total; a smaller effect needs more people
    assert sample_size(0.80, 0.05, ratio=0.5) > 906
    assert sample_size(0.80, 0.02) > sample_size(0.80, 0.05)
    assert sample_size(0.80, -0.05) == sample_size(0.80, -0.05)  # a negative effect works
    with pytest.raises(InputError, match="between 0 and 1"):
        sample_size(0.98, 0.05)


def test_interval_covers_the_true_effect_at_the_nominal_rate() -> None:
    """200 randomised campaigns of 800 customers with heterogeneous true effects."""
    rng = np.random.default_rng(2024)
    n, draws = 800, 200
    p_ctrl = rng.beta(8, 2, n)  # retention without the offer, mean 0.8
    p_trt = np.clip(p_ctrl + rng.normal(0.04, 0.05, n), 0, 1)  # heterogeneous effect
    truth = float((p_trt - p_ctrl).mean())  # the average effect in this population
    treated = rng.random((draws, n)) < 0.5
    y = rng.random((draws, n)) < np.where(treated, p_trt, p_ctrl)
    x1, n1 = (y & treated).sum(1), treated.sum(1)
    x0, n0 = (y & ~treated).sum(1), (~treated).sum(1)
    for method in ("newcombe", "wald"):
        _, lo, hi = diff_interval(x1, n1, x0, n0, method=method)  # type: ignore[arg-type]
        coverage = float(((lo <= truth) & (truth <= hi)).mean())
        print(f"\ncoverage of the 95 % {method} interval over {draws} draws: {coverage:.3f}")  # noqa: T201
        assert 0.88 <= coverage <= 0.99


@pytest.fixture(scope="module")
def sim_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("experiments") / "shop"
    simulate_into(root, customers=4_000, months=30, seed=5)
    return root


def test_experiment_on_the_simulator(sim_ws: Path) -> None:
    with Workspace.open(sim_ws, read_only=True) as ws:
        truth = pd.read_parquet(ws.truth_dir / "assignments.parquet")
        camps = ws.warehouse.table("campaigns").to_pandas()
        winback = camps[camps["goal"] == "winback"]["campaign_id"].iloc[0]
        month = f"{pd.Timestamp(camps.set_index('campaign_id').loc[winback, 'started_at']):%Y-%m}"
        assert resolve_campaign(ws, f"campaign-{month}") == winback
        res = experiment(ws, winback, by="contract_type")
        periods = campaign_periods(ws)
        with pytest.raises(InputError, match="no such campaign"):
            resolve_campaign(ws, "campaign-1999-01")
    # the true effect is the change in P(lost at 90 days); retention lift is its negative
    true_lift = -truth.loc[truth["campaign_id"] == winback, "true_treatment_effect"].mean()
    r = res.retention
    assert r.low <= true_lift <= r.high, (r, true_lift)
    assert r.low > 0  # win-back offers work in the simulator
    frame = res.to_frame()
    assert frame["segment"].iloc[0] == "all" and len(frame) > 2
    assert frame.loc[1:, "n_treated"].sum() == r.n_treated
    assert np.isfinite(res.revenue["revenue_lift"])
    assert len(periods) == len(camps)
    assert {"retention_change", "nps_treated", "undetermined"} <= set(periods.columns)


def test_missing_outcomes_come_from_labels(sim_ws: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(sim_ws, root)
    with Workspace.open(root) as ws:
        before = experiment(ws, "CMP002")
        ws.warehouse.duck.execute(
            "UPDATE assignments SET outcome = NULL WHERE campaign_id = 'CMP002'")
        after = experiment(ws, "CMP002")
    assert set(after.outcomes["outcome_source"]) <= {"labels", ""}
    agree = (before.outcomes.set_index("assignment_id")["retained"]
             == after.outcomes.set_index("assignment_id")["retained"]).mean()
    assert agree > 0.9
    assert after.retention.diff == pytest.approx(before.retention.diff, abs=0.05)


def test_outcomes_past_the_data_end_are_undetermined(sim_ws: Path, tmp_path: Path) -> None:
    """A campaign whose 90 days run past the data: those already lost are known, the rest
    are not yet. Counting only the lost would make the campaign look like a disaster (and
    feed uplift models a campaign where everyone churned); every outcome must wait, whether
    it comes from the labels or was recorded on the assignment."""
    import shutil

    from churnguard.act.experiments import campaign_outcomes

    root = tmp_path / "copy"
    shutil.copytree(sim_ws, root)
    with Workspace.open(root) as ws:
        camps = ws.warehouse.table("campaigns").to_pandas()
        camps = camps[camps["goal"] == "retention"].sort_values("started_at")
        last, done = camps["campaign_id"].iloc[-1], camps["campaign_id"].iloc[-2]
        recorded = campaign_outcomes(ws, last)  # the simulator records "churned" early
        ws.warehouse.duck.execute("UPDATE assignments SET outcome = NULL")
        late = campaign_outcomes(ws, last)
        early = campaign_outcomes(ws, done)
    for out in (recorded, late):
        assert out["retained"].isna().all() and set(out["outcome_source"]) == {""}
    # a campaign whose window closed before the data end keeps both outcomes
    assert set(early["retained"].dropna()) == {0.0, 1.0}
    assert early["retained"].notna().mean() > 0.9


def test_cli_experiment(sim_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import churnguard.cli_reasons as cr

    monkeypatch.setattr(cr, "console", Console(width=200))
    app = typer.Typer()
    app.callback()(lambda: None)
    cr.register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["experiment", str(sim_ws), "CMP003", "--by", "plan", "--mde", "5",
                              "--out", str(tmp_path / "e.csv")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "lift" in res.output and "per arm to detect" in res.output
    assert pd.read_csv(tmp_path / "e.csv")["segment"].iloc[0] == "all"
    res = runner.invoke(app, ["experiment", str(sim_ws)], catch_exceptions=False)
    assert res.exit_code == 0 and "period over period" in res.output
    res = runner.invoke(app, ["experiment", str(sim_ws), "--mde", "0.05", "--baseline", "0.8"],
                        catch_exceptions=False)
    assert "906 per arm" in res.output
    with pytest.raises(InputError, match="method"):
        runner.invoke(app, ["experiment", str(sim_ws), "CMP003", "--method", "x"],
                      catch_exceptions=False)


def test_sample_size_refuses_effects_too_small_to_detect() -> None:
    # 1e-9 needs ~2.5e17 per arm; an effect that underflows when squared is no effect at all
    with pytest.raises(InputError, match="too small to detect"):
        sample_size(0.5, 1e-9)
    with pytest.raises(InputError, match="must not be 0"):
        sample_size(0.5, 2.2250738585e-313)
