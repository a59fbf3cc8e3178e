"""Win-back: the policy per reason, the [winback] TOML, a hand-made workspace end to end
(API and CLI), and the policy checked on the simulator's true win-back effects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from churnguard.act.winback import (
    WINBACK_COLUMNS,
    check_policy,
    plan_fast_saves,
    plan_lost,
    resolve_plan,
    winback,
)
from churnguard.errors import ConfigError, InputError
from churnguard.reasons.classifier import ReasonClassifier
from churnguard.reasons.training import model_dir
from churnguard.warehouse import Workspace
from churnguard.warehouse.config import WinbackSection, WorkspaceConfig
from churnguard.warehouse.ingest import ingest_file

CHURNGUARD = Path(sys.executable).with_name("churnguard")
SUBS = ["unprofitable", "poor_service", "product_gap", "over_marketing", "no_personalisation",
        "competitor", "price", "relocation", "no_longer_needed"]
MAIN = {"unprofitable": "deliberate", "poor_service": "service_failure",
        "product_gap": "service_failure", "over_marketing": "service_failure",
        "no_personalisation": "service_failure", "competitor": "competitor", "price": "price",
        "relocation": "migration", "no_longer_needed": "migration"}


# -- the policy on hand-made frames ---------------------------------------------------------

def _lost(n: int, grades: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "days_lost": [30 + i for i in range(n)],
                         "sltv": [1000.0 - 10 * i for i in range(n)],
                         "grade": grades or ["A"] * n})


def _reasons(subs: list[str], source: str = "structured") -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(subs))],
                         "reason": [MAIN[s] for s in subs], "sub_reason": subs,
                         "reason_source": source})


def test_default_policy_maps_every_reason_to_its_plan() -> None:
    lost = _lost(len(SUBS) + 1)  # the last customer has no reason row: unknown
    out = plan_lost(lost, _reasons(SUBS), WinbackSection()).set_index("customer_id")
    got = {s: tuple(out.loc[f"c{i}", ["action", "offer", "channel", "contact_every_days"]])
           for i, s in enumerate(SUBS)}
    got["unknown"] = tuple(out.loc[f"c{len(SUBS)}", ["action", "offer", "channel",
                                                      "contact_every_days"]])
    assert got == {
        "unprofitable": ("skip", None, None, pd.NA),             # pushed away deliberately
        "poor_service": ("offer", "service_recovery_call", "call", 30),
        "product_gap": ("offer", "service_recovery_call", "call", 30),
        "over_marketing": ("skip", None, None, pd.NA),           # contact pushes them away
        "no_personalisation": ("offer", "service_recovery_call", "call", 30),
        "competitor": ("offer", "competitor_switch_back", "email", 30),
        "price": ("offer", "winback_discount", "email", 30),     # price-only offer
        "relocation": ("skip", None, None, pd.NA),
        "no_longer_needed": ("nurture", None, "email", 180),     # long, slow nurture
        "unknown": ("nurture", None, "email", 60),               # the long-term plan
    }
    assert out.loc["c0", "why"].startswith("Lost 30 days ago (unprofitable")
    assert "not pursued" in out.loc["c0", "why"]
    assert "offer winback_discount by email every 30 days for 90 days" in out.loc["c6", "why"]
    assert out.loc[f"c{len(SUBS)}", "reason_source"] == "unknown"
    # offers first, then nurture, then skips; each by SLTV
    assert out["action"].tolist() == sorted(out["action"], key=["offer", "nurture",
                                                                 "skip"].index)
    # a main reason given without a sub-reason gets the main reason's plan
    assert resolve_plan(WinbackSection(), "service_failure", "unknown").offer == \
        "service_recovery_call"
    assert resolve_plan(WinbackSection(), "migration", "unknown").action == "skip"


def test_competitor_specific_offers_grades_cap_and_limits() -> None:
    policy = WinbackSection.model_validate({
        "offer_grades": ["A", "B"], "max_offers": 2, "max_days_lost": 365, "min_sltv": 5,
        "competitors": {"Rivalo": "rivalo_match"}})
    lost = pd.DataFrame({
        "customer_id": ["rival", "other", "price_a", "price_c", "price_late", "old", "tiny"],
        "days_lost": [10, 10, 10, 10, 10, 400, 10],
        "sltv": [900.0, 800.0, 700.0, 600.0, 650.0, 990.0, 4.0],
        "grade": ["A", "A", "B", "C", "B", "A", "D"]})
    why = pd.DataFrame({
        "customer_id": lost["customer_id"],
        "reason": ["competitor", "competitor", "price", "price", "price", "price", "price"],
        "sub_reason": ["competitor", "competitor", "price", "price", "price", "price", "price"],
        "reason_source": ["classified"] * 2 + ["structured"] * 5,
        "competitor": ["Rivalo", None, None, None, None, None, None]})
    out = plan_lost(lost, why, policy).set_index("customer_id")
    assert out.loc["rival", ["action", "offer"]].tolist() == ["offer", "rivalo_match"]
    assert "lost to Rivalo" in out.loc["rival", "why"]
    assert out.loc["other", ["action", "offer"]].tolist() == ["offer", "competitor_switch_back"]
    # the cap of two offers is used by the two highest SLTV: price_a (B) is nurtured
    assert out.loc["price_a", "action"] == "nurture" and "cap" in out.loc["price_a", "why"]
    assert out.loc["price_late", "action"] == "nurture"
    # grade C gets no offer
    assert out.loc["price_c", "action"] == "nurture" and "grade C" in out.loc["price_c", "why"]
    assert out.loc["old", "action"] == "skip" and "365 days" in out.loc["old", "why"]
    assert out.loc["tiny", "action"] == "skip" and "SLTV" in out.loc["tiny", "why"]
    assert (out["action"] == "offer").sum() == 2


def test_fast_saves_follow_the_reason_plan() -> None:
    cancelling = pd.DataFrame({
        "customer_id": ["p", "u", "n", "q", "r"],
        "signal": ["cancel_prompt", "subscription_ending", "cancel_prompt", "exit_survey",
                   "subscription_ended"],
        "signal_at": pd.to_datetime(["2026-06-25"] * 5, utc=True),
        "value_at_stake": [100.0, 900.0, 50.0, 300.0, 200.0]})
    why = pd.DataFrame({"customer_id": ["p", "u", "n", "r"],
                        "reason": ["price", "deliberate", "migration", "migration"],
                        "sub_reason": ["price", "unprofitable", "no_longer_needed",
                                       "relocation"],
                        "reason_source": "structured"})
    out = plan_fast_saves(cancelling, why, WinbackSection()).set_index("customer_id")
    assert out.index.tolist() == ["u", "q", "r", "p", "n"]  # value at stake, highest first
    assert out.loc["p", ["action", "offer", "channel", "contact_every_days"]].tolist() == [
        "fast_save", "winback_discount", "call", 2]
    assert out.loc["q", ["action", "offer"]].tolist() == ["fast_save", "save_call"]  # unknown
    assert out.loc["u", "action"] == "skip" and out.loc["r", "action"] == "skip"
    assert out.loc["n", ["action", "contact_every_days"]].tolist() == ["nurture", 180]
    assert out.loc["p", "why"].startswith("Cancelling now: asked to cancel on 2026-06-25")


def test_bad_frames_are_refused() -> None:
    with pytest.raises(InputError, match="need the columns"):
        plan_lost(pd.DataFrame({"customer_id": ["a"]}), _reasons([]), WinbackSection())
    bad = _reasons(["price"]).assign(reason="cheap")
    with pytest.raises(InputError, match="unknown reason codes"):
        plan_lost(_lost(1), bad, WinbackSection())
    with pytest.raises(InputError, match=r"unknown sub-reason codes \['cheap'\]"):
        plan_lost(_lost(1), _reasons(["price"]).assign(sub_reason="cheap"), WinbackSection())
    with pytest.raises(InputError, match="reason_source"):
        plan_lost(_lost(1), _reasons(["price"], source="guess"), WinbackSection())


# -- the [winback] section of churnguard.toml -----------------------------------------------

def _load(tmp_path: Path, text: str) -> WorkspaceConfig:
    path = tmp_path / "churnguard.toml"
    path.write_text(text, encoding="utf-8")
    return WorkspaceConfig.load(path)


def test_toml_overrides_merge_with_the_defaults(tmp_path: Path) -> None:
    cfg = _load(tmp_path, """
[winback]
max_offers = 50
[winback.reasons.price]
offer = "price_lock_12m"
[winback.reasons.over_marketing]
action = "nurture"
contact_every_days = 120
[winback.nurture]
channel = "sms"
[winback.competitors]
"云客通" = "yunke_match"
""")
    wb = cfg.winback
    price = resolve_plan(wb, "price", "price")
    assert (price.action, price.offer, price.channel) == ("offer", "price_lock_12m", "email")
    om = resolve_plan(wb, "service_failure", "over_marketing")
    assert (om.action, om.channel, om.contact_every_days) == ("nurture", "sms", 120)
    assert resolve_plan(wb, "unknown", "unknown").channel == "sms"
    assert wb.competitors == {"云客通": "yunke_match"} and wb.max_offers == 50
    assert WorkspaceConfig().winback.offer_grades == ["A", "B", "C"]


@pytest.mark.parametrize(("text", "match"), [
    ('[winback.reasons.price]\naction = "discount"', r"\[winback\.reasons\.price\.action\]"),
    ('[winback.reasons.prise]\naction = "skip"', r"\[winback\.reasons\].*unknown reason 'prise'"),
    ("[winback.nurture]\ncontact_every_days = 0",
     r"\[winback\.nurture\.contact_every_days\].*greater than 0"),
    ('[winback]\noffer_grades = ["A", "E"]', r"\[winback\.offer_grades\.1\]"),
    ("[winback]\nmax_offer = 3", r"\[winback\.max_offer\] Extra inputs"),
    ('[winback.fast_save]\nchannel = "pigeon"', r"\[winback\.fast_save\.channel\]"),
])
def test_toml_errors_name_the_key(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, text)


def test_an_offer_without_a_name_is_refused(tmp_path: Path) -> None:
    cfg = _load(tmp_path, '[winback.nurture]\naction = "offer"\n')
    with pytest.raises(ConfigError, match=r"\[winback.nurture\] action = \"offer\" needs an "
                                          "offer name"):
        check_policy(cfg.winback)
    cfg = _load(tmp_path, '[winback.competitors]\nRivalo = " "\n')
    with pytest.raises(ConfigError, match=r"\[winback\.competitors\]"):
        check_policy(cfg.winback)


# -- a hand-made workspace, end to end ------------------------------------------------------

AS_OF = "2026-07-01"
#: id, started, ended, mrr, cancel_reason, cancel_text (one subscription per row)
SUBSCRIPTIONS = [
    ("P1", "2025-01-01", "2026-03-01", 100, "Too expensive", None),
    ("C1", "2025-01-01", "2026-04-01", 90, "competitor", "We moved to Rivalo."),
    ("C2", "2025-02-01", "2026-05-01", 70, "竞争对手", "我们换成了云客通"),
    ("C3", "2025-02-01", "2026-05-10", 60, "Competition", None),
    ("K1", "2025-02-01", "2026-05-20", 40, None, "Far too expensive, the price is too high"),
    ("U1", "2025-01-01", "2026-02-01", 50, None, None),
    ("R1", "2025-01-01", "2026-01-15", 55, "moved", None),
    ("O1", "2025-01-01", "2026-03-15", 45, "too many emails", None),
    ("N1", "2025-01-01", "2026-02-15", 35, None, None),
    ("E1", "2024-01-01", "2024-06-01", 30, "price", None),      # lost once for price ...
    ("E1", "2024-09-01", "2026-02-01", 30, None, None),          # ... came back, lost again
    ("L1", "2023-01-01", "2024-01-01", 80, "price", None),       # lost too long ago
    ("A1", "2025-01-01", None, 40, None, None),                  # active
    ("F1", "2025-01-01", None, 120, None, None),                 # cancel prompt last week
    ("F2", "2025-07-05", "2026-07-05", 60, "Too expensive", None),  # ends in 4 days
    ("F3", "2025-07-05", "2026-07-05", 60, None, None),          # ends, but renewal booked
    ("F3", "2026-07-05", None, 60, None, None),
    ("F4", "2025-01-01", None, 30, None, None),                  # prompt without a reason
    ("F5", "2025-01-01", None, 25, None, None),                  # leaving: relocation
    ("G1", "2025-01-01", None, 20, None, None),                  # prompt two months ago
]
#: id, customer, at, source, text, reason, sub_reason
FEEDBACK = [
    ("FB1", "U1", "2026-02-01", "cancel_prompt", "You ended our contract.", "deliberate",
     "unprofitable"),
    ("FB2", "F1", "2026-06-25", "cancel_prompt", "Too expensive for us now", "price", "price"),
    ("FB3", "F4", "2026-06-28", "cancel_prompt", None, None, None),
    ("FB4", "F5", "2026-06-20", "cancel_prompt", None, "migration", "relocation"),
    ("FB5", "G1", "2026-05-01", "cancel_prompt", None, "price", "price"),
]
TOML = """
[winback]
offer_grades = ["A", "B", "C", "D"]
[winback.competitors]
Rivalo = "rivalo_match"
"云客通" = "yunke_match"
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case of the policy in one small contractual workspace, ingested from CSV."""
    root = tmp_path_factory.mktemp("winback") / "shop"
    files = root.parent
    ids = sorted({s[0] for s in SUBSCRIPTIONS})
    pd.DataFrame({"customer_id": ids,
                  "signup_at": ["2022-06-01" if c == "L1" else "2023-12-01" for c in ids],
                  "plan": "Pro"}).to_csv(files / "customers.csv", index=False)
    pd.DataFrame(SUBSCRIPTIONS, columns=["customer_id", "started_at", "ended_at", "mrr",
                                         "cancel_reason", "cancel_text"]).assign(
        subscription_id=[f"S{i}" for i in range(len(SUBSCRIPTIONS))]).to_csv(
        files / "subscriptions.csv", index=False)
    pd.DataFrame(FEEDBACK, columns=["feedback_id", "customer_id", "at", "source", "text",
                                    "reason", "sub_reason"]).to_csv(files / "feedback.csv",
                                                                    index=False)
    with Workspace.init(root) as ws:
        for table in ("customers", "subscriptions", "feedback"):
            ingest_file(ws, table, files / f"{table}.csv")
        texts = ["too expensive", "the price is too high", "costs too much money",
                 "cheaper elsewhere", "we moved away", "relocated to another city",
                 "moving abroad", "our office moved"]
        ReasonClassifier(min_df=1, threshold=0.5).fit(
            texts, ["price"] * 4 + ["relocation"] * 4).save(model_dir(ws))
    with open(root / "churnguard.toml", "a", encoding="utf-8") as fh:
        fh.write(TOML)
    return root


def test_winback_on_a_workspace(shop: Path) -> None:
    with Workspace.open(shop, read_only=True) as ws:
        df = winback(ws, as_of=AS_OF)
    assert list(df.columns) == list(WINBACK_COLUMNS)
    rows = df.set_index("customer_id")
    assert "A1" not in rows.index and "F3" not in rows.index and "G1" not in rows.index
    # fast saves first, by a year of MRR at stake (hand-computed: 12 x MRR)
    fast = df[df["action"] == "fast_save"]
    assert fast["customer_id"].tolist() == ["F1", "F2", "F4"]
    assert fast["value_at_stake"].tolist() == [1440.0, 720.0, 360.0]
    assert fast["priority"].tolist() == [1, 2, 3]
    assert rows.loc["F1", ["offer", "channel", "signal", "reason_source"]].tolist() == [
        "winback_discount", "call", "cancel_prompt", "structured"]
    assert rows.loc["F2", ["signal", "sub_reason"]].tolist() == ["subscription_ending", "price"]
    assert rows.loc["F4", ["offer", "reason_source"]].tolist() == ["save_call", "unknown"]
    assert rows.loc["F5", "action"] == "skip"  # relocating: no save attempt
    expect = {
        "P1": ("offer", "winback_discount", "price", "structured"),
        "C1": ("offer", "rivalo_match", "competitor", "structured"),
        "C2": ("offer", "yunke_match", "competitor", "structured"),
        "C3": ("offer", "competitor_switch_back", "competitor", "structured"),
        "K1": ("offer", "winback_discount", "price", "classified"),
        "U1": ("skip", None, "unprofitable", "structured"),
        "R1": ("skip", None, "relocation", "structured"),
        "O1": ("skip", None, "over_marketing", "structured"),
        "N1": ("nurture", None, "unknown", "unknown"),
        "E1": ("nurture", None, "unknown", "unknown"),  # the earlier loss's reason is not used
        "L1": ("skip", None, "price", "structured"),    # lost 912 days ago
    }
    got = {c: (rows.loc[c, "action"], rows.loc[c, "offer"], rows.loc[c, "sub_reason"],
               rows.loc[c, "reason_source"]) for c in expect}
    assert got == expect
    assert rows.loc["C1", "competitor"] == "Rivalo" and rows.loc["C2", "competitor"] == "云客通"
    # days lost, hand-computed from 2026-07-01
    assert rows.loc["P1", "days_lost"] == 122 and rows.loc["L1", "days_lost"] == 912
    assert rows.loc["P1", "churned_at"] == pd.Timestamp("2026-03-01", tz="UTC")
    # offers by SLTV, then nurture; skips carry no priority
    offers = df[df["action"] == "offer"]
    assert offers["sltv"].is_monotonic_decreasing
    assert offers["priority"].tolist() == list(range(4, 4 + len(offers)))
    assert df.loc[df["action"] == "skip", "priority"].isna().all()
    assert df["why"].str.len().gt(20).all()


def test_winback_is_point_in_time(shop: Path) -> None:
    with Workspace.open(shop, read_only=True) as ws:
        early = winback(ws, as_of="2026-03-10", model=None).set_index("customer_id")
    # C1 (ended 2026-04-01) was still a customer then; P1 was lost 9 days before
    assert "C1" not in early.index and early.loc["P1", "days_lost"] == 9
    assert "F1" not in early.index  # the cancel prompt of 2026-06-25 had not happened


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(CHURNGUARD), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def test_cli_writes_csv_and_parquet(shop: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    res = run("winback", shop, "--as-of", AS_OF, "--out", tmp_path / "winback.csv")
    assert res.returncode == 0, res.stderr
    assert "Win-back plan" in res.stdout and "First" in res.stdout
    assert "F1: Cancelling now" in res.stdout
    csv = pd.read_csv(tmp_path / "winback.csv")
    assert list(csv.columns) == list(WINBACK_COLUMNS)
    assert csv["customer_id"].iloc[0] == "F1" and len(csv) == 15
    code, _ = main(["winback", shop, "--as-of", AS_OF, "--out", tmp_path / "w.parquet",
                    "--no-fast-saves"], monkeypatch, capsys)
    assert code == 0
    pq = pd.read_parquet(tmp_path / "w.parquet")
    assert "fast_save" not in set(pq["action"]) and len(pq) == 11
    assert pq.set_index("customer_id").loc["C1", "offer"] == "rivalo_match"


def main(args: list[str | Path], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``churnguard.cli.main`` in-process (as the script does): exit code and stderr."""
    from churnguard.cli import main as cli_main

    monkeypatch.setattr(sys, "argv", ["churnguard", *map(str, args)])
    code = 0
    try:
        cli_main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, " ".join(err.split())


def test_cli_bad_input_is_one_red_line(shop: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    broken, empty = tmp_path / "broken", tmp_path / "empty"
    with Workspace.init(broken), Workspace.init(empty):
        pass
    with open(broken / "churnguard.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[winback.reasons.price]\naction = "bribe"\n')
    for args, match in [
        (["winback", shop, "--out", tmp_path / "w.txt"], "unknown output format"),
        (["winback", shop, "--as-of", "2026-13-01"], "is not a date"),
        (["winback", tmp_path / "nowhere"], "not a churnguard workspace"),
        (["winback", broken], "[winback.reasons.price.action] Input should be 'offer', "
                              "'nurture' or 'skip' (got 'bribe')"),
        (["winback", empty], "the workspace is empty"),
    ]:
        code, err = main(args, monkeypatch, capsys)
        assert code == 2 and err.startswith("error:") and match in err, err
    assert not (tmp_path / "w.txt").exists()


# -- the policy against the simulator's truth -----------------------------------------------

@pytest.mark.slow
def test_pursued_customers_truly_come_back_more(tmp_path_factory: pytest.TempPathFactory
                                                ) -> None:
    from churnguard.act.winback_eval import truth_check
    from churnguard.simulate.load import simulate_into

    root = tmp_path_factory.mktemp("winback_sim") / "shop"
    simulate_into(root, customers=4_000, months=30, seed=5)
    with Workspace.open(root, read_only=True) as ws:
        by_action = truth_check(ws).set_index(["campaign_id", "action"])
        pursued = truth_check(ws, by="pursued").set_index(["campaign_id", "pursued"])
    print(by_action.round(3).to_string())  # noqa: T201  (the figures, shown with -s)
    overall = pursued.loc["all"]
    assert overall.loc[True, "n"] > 100 and overall.loc[False, "n"] >= 20
    # customers the policy pursues gain far more from a win-back offer than those it skips
    assert overall.loc[True, "mean_uplift"] > 2 * overall.loc[False, "mean_uplift"]
    assert by_action.loc[("all", "offer"), "mean_uplift"] > \
        by_action.loc[("all", "skip"), "mean_uplift"] + 0.05
    # and in every campaign on its own
    for cid in {c for c, _ in pursued.index} - {"all"}:
        assert pursued.loc[(cid, True), "mean_uplift"] > pursued.loc[(cid, False), "mean_uplift"]
    # the skipped are mostly truly migrated (relocated never come back)
    assert by_action.loc[("all", "skip"), "share_true_migration"] > 0.5


def test_the_documented_toml_is_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "winback.md").read_text(encoding="utf-8")
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    wb = _load(tmp_path, block).winback
    check_policy(wb)
    assert resolve_plan(wb, "price", "price").offer == "price_lock_12m"
    assert resolve_plan(wb, "service_failure", "over_marketing").contact_every_days == 180
    assert wb.competitors["Rivalo"] == "rivalo_switch_back"
