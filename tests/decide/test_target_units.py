"""Targeting pieces on hand-made fixtures: offers files, the knapsack, Qini, the learner."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churnguard.act.expr import RuleError
from churnguard.act.offers import load_offers, parse_offers
from churnguard.act.target import choose
from churnguard.act.uplift import (
    RiskScaledUplift,
    UpliftModel,
    fit_offers,
    qini_coefficient,
    qini_curve,
)
from churnguard.errors import InputError, NotFittedError
from churnguard.predict.features.registry import Feature

KNOWN = {"contract_type", "tenure_days", "churn_probability", "clv"}
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "offers.toml"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "offers.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_example_offers_file_parses_and_matches_the_simulator() -> None:
    from churnguard.act.target import INPUT_NAMES
    from churnguard.predict.features import FEATURES
    from churnguard.simulate.campaigns import RETENTION_OFFERS

    offers = load_offers(EXAMPLE, set(FEATURES) | set(INPUT_NAMES))
    assert {o.campaign_offer for o in offers} == set(RETENTION_OFFERS)
    d = next(o for o in offers if o.name == "discount_20pct")
    mask = d.eligible_mask(pd.DataFrame({"contract_type": ["month-to-month", "annual", None,
                                                           "none"]}))
    assert mask.tolist() == [True, False, False, True]


def test_offers_file_errors_name_file_offer_and_key(tmp_path: Path) -> None:
    ok = '[[offers]]\nname = "call"\ncost = 30\neligible = "tenure_days >= 60"\n'
    offers = load_offers(_write(tmp_path, ok), KNOWN)
    assert offers[0].cost == 30.0 and offers[0].acceptance_rate is None
    cases = [
        ('[[offers]]\nname = "call"\ncost = \n', r"offers\.toml: not valid TOML.*line 3"),
        ('[[offers]]\nname = "call"\n', r"offer 'call': missing key cost"),
        ('[[offers]]\ncost = 3\n', r"offer #1: missing key name"),
        ('[[offers]]\nname = "call"\ncost = -1\n', r"offer 'call', key cost: -1 is not"),
        ('[[offers]]\nname = "call"\ncost = "ten"\n', r"key cost: 'ten' is not a number"),
        ('[[offers]]\nname = "call"\ncost = 3\ncots = 4\n',
         r"offer 'call': unknown key 'cots'; did you mean cost\?"),
        ('[[offers]]\nname = "a"\ncost = 3\n[[offers]]\nname = "a"\ncost = 4\n',
         r"offer 'a': defined twice"),
        ('[[offers]]\nname = "a"\ncost = 3\nacceptance_rate = 1.5\n',
         r"key acceptance_rate: 1.5 must be in \(0, 1\]"),
        ('title = "x"\n', r"unknown top-level key 'title'"),
        ('', r"no offers"),
    ]
    for text, pattern in cases:
        with pytest.raises(InputError, match=pattern):
            load_offers(_write(tmp_path, text), KNOWN)
    with pytest.raises(InputError, match="offers file not found"):
        load_offers(tmp_path / "missing.toml", KNOWN)


def test_eligibility_typo_lists_close_matches(tmp_path: Path) -> None:
    text = '[[offers]]\nname = "d"\ncost = 3\neligible = "contract_typ == \'annual\'"\n'
    with pytest.raises(RuleError, match=r"offer 'd', key eligible: unknown name "
                       r"'contract_typ'.*did you mean contract_type\?"):
        load_offers(_write(tmp_path, text), KNOWN)
    with pytest.raises(RuleError, match=r"key eligible: function call not allowed"):
        parse_offers({"offers": [{"name": "d", "cost": 1,
                                  "eligible": "__import__('os')"}]}, KNOWN)


def _brute(c: pd.DataFrame, budget: float) -> float:
    best = 0.0
    groups = [[*g.index.tolist(), None] for _, g in c.groupby("customer_id")]
    for pick in itertools.product(*groups):
        rows = [i for i in pick if i is not None]
        if c.loc[rows, "cost"].sum() <= budget:
            best = max(best, float(c.loc[rows, "expected_profit"].sum()))
    return best


def test_choice_is_the_optimum_of_a_hand_made_fixture() -> None:
    # budget 100. a: call (cost 30, profit 10) or discount (cost 60, profit 40);
    # b: discount (60, 30); c: call (30, 12). Options within 100:
    # a-disc + c = 90 -> 52 (best); a-disc + b = 120 (over); b + a-call = 90 -> 40;
    # b + c = 90 -> 42; a-call + c = 60 -> 22.
    c = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
                      "offer": ["call", "discount", "discount", "call"],
                      "cost": [30.0, 60.0, 60.0, 30.0],
                      "expected_profit": [10.0, 40.0, 30.0, 12.0]})
    pos, solver = choose(c, 100.0)
    assert solver == "exact" and pos.tolist() == [1, 3]
    # profit / cost greedy takes a-disc (0.67), then b-disc does not fit, c (0.4): same here
    assert choose(c, 100.0, solver="greedy")[0].tolist() == [1, 3]
    assert choose(c, 29.0)[0].tolist() == []


def test_budget_never_exceeded_and_exact_beats_greedy_on_random_instances() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        n_cust = int(rng.integers(1, 6))
        rows = [(f"c{i}", o) for i in range(n_cust) for o in range(int(rng.integers(1, 4)))]
        c = pd.DataFrame(rows, columns=["customer_id", "offer"])
        c["cost"] = rng.choice([10.0, 25.0, 40.0, 70.0], len(c))
        c["expected_profit"] = rng.uniform(0.1, 60, len(c))
        budget = float(rng.uniform(0, 150))
        exact, _ = choose(c, budget)
        greedy, _ = choose(c, budget, solver="greedy")
        for pos in (exact, greedy):
            assert c["cost"].iloc[pos].sum() <= budget + 1e-9
            assert c["customer_id"].iloc[pos].is_unique
        got = float(c["expected_profit"].iloc[exact].sum())
        assert got == pytest.approx(_brute(c, budget), rel=1e-6)
        assert got >= float(c["expected_profit"].iloc[greedy].sum()) - 1e-9


def test_qini_curve_by_hand() -> None:
    # ranked: (T, retained), (C, lost), (T, lost), (C, retained), (T, retained), (C, lost)
    u = np.array([0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    t = np.array([1, 0, 1, 0, 1, 0])
    r = np.array([1, 0, 0, 1, 1, 0])
    q = qini_curve(u, t, r, points=6)
    # k=1: 1 - 0 = 1 (no control yet: treated retained); k=2: 1 - 0*1/1 = 1;
    # k=3: 1 - 0*2/1 = 1; k=4: 1 - 1*2/2 = 0; k=5: 2 - 1*3/2 = 0.5; k=6: 2 - 1*3/3 = 1
    assert q["qini"].tolist() == pytest.approx([0, 1, 1, 1, 0, 0.5, 1])
    assert q["random"].iloc[-1] == pytest.approx(1.0)
    # area above the random line: trapezoids over steps of 1/6
    gap = np.array([0, 1, 1, 1, 0, 0.5, 1]) - np.linspace(0, 1, 7)
    assert qini_coefficient(q) == pytest.approx(float(np.sum((gap[1:] + gap[:-1]) / 2) / 6))


@pytest.mark.parametrize("method", ["x", "t"])
def test_learner_finds_who_the_offer_helps_and_who_it_hurts(method: str) -> None:
    rng = np.random.default_rng(1)
    n = 4000
    X = pd.DataFrame({"price_sensitivity": rng.random(n), "dnd": rng.integers(0, 2, n),
                      "noise": rng.normal(size=n)})
    t = (rng.random(n) < 0.6).astype(int)
    p = 0.3 - t * (0.2 * (X.price_sensitivity > 0.5) - 0.1 * X.dnd)
    y = (rng.random(n) < p).astype(int)
    reg = {c: Feature(c, "", "", "float64", "x", "") for c in X.columns}
    m = UpliftModel(method=method).fit(X, t, y, registry=reg)  # type: ignore[arg-type]
    grid = pd.DataFrame({"price_sensitivity": [0.9, 0.1, 0.9, 0.1], "dnd": [0, 0, 1, 1],
                         "noise": 0.0})
    u = m.predict(grid)["uplift"]
    # true retention uplift: 0.2, 0.0, 0.1, -0.1. Regularised trees on 4,000 noisy 0/1
    # outcomes shrink towards the average (0.05), so check the order and the signs:
    assert u[0] - u[1] > 0.05 and u[2] - u[3] > 0.05  # the price-sensitive gain
    assert u[0] - u[2] > 0.03 and u[1] - u[3] > 0.03  # "do not disturb" lose
    assert u[0] > 0.1 and u[3] < 0
    with pytest.raises(NotFittedError):
        UpliftModel().predict(grid)
    with pytest.raises(InputError, match="treated arm: 10 assignees"):
        UpliftModel().fit(X[:20], np.r_[np.ones(10), np.zeros(10)], y[:20], registry=reg)


def test_risk_method_measures_a_relative_effect_that_transfers_to_other_risks() -> None:
    """Two campaigns of one offer on populations of different risk (40 % and 10 % lost
    without it), the offer cutting each customer's risk by 30 %: the absolute effects
    differ (12 pp and 3 pp), the relative one is the same, and it is what carries over to
    today's customers of another risk."""
    rng = np.random.default_rng(3)
    parts = []
    for cid, p0, n in (("A", 0.4, 6000), ("B", 0.1, 6000)):
        t = (rng.random(n) < 0.5).astype(int)
        lost = (rng.random(n) < p0 * (1 - 0.3 * t)).astype(int)
        parts.append(pd.DataFrame({"campaign_id": cid, "offer": "call", "treated": t,
                                   "lost": lost, "accepted": np.where(t == 1, 1.0, np.nan),
                                   "churn_probability": p0}))
    ex = pd.concat(parts, ignore_index=True)
    m = RiskScaledUplift().fit(ex)
    # sampling error of the pooled ratio at these sizes: about 0.03
    assert m.rrr_ == pytest.approx(0.3, abs=0.07)
    today = pd.DataFrame({"churn_probability": [0.05, 0.5]})
    np.testing.assert_allclose(m.predict(today)["uplift"], [0.05 * m.rrr_, 0.5 * m.rrr_])
    # the pooled absolute effect (7.5 pp) would promise 7.5 pp to the 5 % customer
    assert m.ate_ > 0.05 and m.predict(today)["uplift"][0] < 0.03
    fitted = fit_offers(ex, {}, method="risk", folds=3)
    assert fitted.models["call"].rrr_ == pytest.approx(m.rrr_)  # type: ignore[union-attr]
    assert fitted.heldout is not None and len(fitted.heldout) == len(ex)
    with pytest.raises(InputError, match="churn_probability"):
        fit_offers(ex.drop(columns="churn_probability"), {}, method="risk")
    with pytest.raises(InputError, match="churn_probability"):
        m.predict(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InputError, match="use risk, t, x"):
        fit_offers(ex, {}, method="s")  # type: ignore[arg-type]
    with pytest.raises(NotFittedError):
        RiskScaledUplift().predict(today)
