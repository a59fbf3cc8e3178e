"""Win-back ``why`` sentences in English, Simplified Chinese and Persian: every kind of plan
row from its catalogue key and parameters, with the customer's numbers in the language's
digits; the /winback page, its CSV export, /api/winback and ``churnguard winback --lang``."""

from __future__ import annotations

import io
import json
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from churnguard.act.winback import (
    WINBACK_COLUMNS,
    plan_fast_saves,
    plan_lost,
    why_in,
    why_text,
    winback,
)
from churnguard.contract.reasons import MAIN_REASONS, SUB_REASONS
from churnguard.errors import InputError
from churnguard.i18n.ui import ui_catalog
from churnguard.warehouse import Workspace
from churnguard.warehouse.config import WinbackSection
from decide.test_winback import AS_OF, main, shop  # noqa: F401  (shop: the fixture)

PASSWORD = "correct-horse-battery"
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
HAN = re.compile(r"[\u4e00-\u9fff]")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")
POLICY = WinbackSection.model_validate({
    "offer_grades": ["A", "B"], "max_offers": 3, "max_days_lost": 365, "min_sltv": 50,
    "competitors": {"Rivalo": "rivalo_match"},
    "reasons": {"product_gap": {"action": "nurture", "contact_every_days": 45}}})

# -- every kind of row, on a hand-made plan ------------------------------------------------

#: customer, days lost, SLTV, grade, reason, sub-reason (None: no reason row) and the key
#: the policy above gives them (offers by SLTV: the cap of 3 goes to o1, o2, rv)
LOST = [
    ("o1", 31, 2150.0, "A", "price", "price", "wbwhy.lost.offer"),
    ("o2", 32, 1875.0, "A", "service_failure", "poor_service", "wbwhy.lost.offer"),
    ("rv", 33, 1640.0, "B", "competitor", "competitor", "wbwhy.lost.offer_competitor"),
    ("cap", 34, 1520.0, "A", "price", "price", "wbwhy.lost.cap"),
    ("gc", 35, 1410.0, "C", "price", "price", "wbwhy.lost.grade_no_offer"),
    ("nn", 36, 1300.0, "B", "migration", "no_longer_needed", "wbwhy.lost.nurture_note"),
    ("uk", 37, 1190.0, "B", None, None, "wbwhy.lost.nurture"),
    ("old", 412, 3080.0, "A", "price", "price", "wbwhy.lost.too_long"),
    ("low", 39, 45.0, "D", "price", "price", "wbwhy.lost.low_sltv"),
    ("del", 41, 960.0, "A", "deliberate", "unprofitable", "wbwhy.lost.skip"),
    ("om", 43, 870.0, "B", "service_failure", "over_marketing", "wbwhy.lost.skip"),
    ("rel", 47, 760.0, "C", "migration", "relocation", "wbwhy.lost.skip"),
]
#: customer, signal, value at stake, reason, sub-reason and the key of their row
CANCELLING = [
    ("fp", "cancel_prompt", 1236.0, "price", "price", "wbwhy.cancel.fast_save"),
    ("fu", "exit_survey", 3372.0, None, None, "wbwhy.cancel.fast_save"),
    ("fs", "subscription_ending", 2604.0, "deliberate", "unprofitable", "wbwhy.cancel.skip"),
    ("fn", "subscription_ended", 1848.0, "migration", "no_longer_needed",
     "wbwhy.cancel.nurture_note"),
    ("fg", "interview", 2916.0, "service_failure", "product_gap", "wbwhy.cancel.nurture"),
]


def _plan() -> pd.DataFrame:
    lost = pd.DataFrame([r[:4] for r in LOST],
                        columns=["customer_id", "days_lost", "sltv", "grade"])
    why = pd.DataFrame([(c, r, s, "structured", "Rivalo" if c == "rv" else None)
                        for c, *_, r, s, _k in LOST if r],
                       columns=["customer_id", "reason", "sub_reason", "reason_source",
                                "competitor"])
    cancelling = pd.DataFrame({"customer_id": [c[0] for c in CANCELLING],
                               "signal": [c[1] for c in CANCELLING],
                               "signal_at": pd.Timestamp("2026-06-25", tz="UTC"),
                               "value_at_stake": [c[2] for c in CANCELLING]})
    cwhy = pd.DataFrame([(c, r, s, "classified") for c, _, _, r, s, _k in CANCELLING if r],
                        columns=["customer_id", "reason", "sub_reason", "reason_source"])
    return pd.concat([plan_fast_saves(cancelling, cwhy, POLICY), plan_lost(lost, why, POLICY)],
                     ignore_index=True).set_index("customer_id")


@pytest.fixture(scope="module")
def plan() -> pd.DataFrame:
    return _plan()


def _numbers(cid: str) -> tuple[list[int], list[float]]:
    """The customer's whole numbers (days) and amounts, hand-copied from the tables."""
    for c, days, sltv, *_ in LOST:
        if c == cid:
            return [days], [sltv]
    value = next(c[2] for c in CANCELLING if c[0] == cid)
    return [], [value]


def _grouped(value: float, lang: str) -> str:
    """An amount as written by hand: 2150 -> 2,150 (en, zh) or ۲٬۱۵۰ (fa)."""
    text = f"{value:,.0f}"
    return text.translate(PERSIAN_DIGITS).replace(",", "\u066c") if lang == "fa" else text


def test_every_kind_of_row_has_the_expected_key(plan: pd.DataFrame) -> None:
    want = {c: k for c, *_, k in LOST} | {c[0]: c[-1] for c in CANCELLING}
    assert plan["why_key"].to_dict() == want
    kinds = {k for k in ui_catalog("en") if k.startswith(("wbwhy.lost.", "wbwhy.cancel."))}
    assert set(want.values()) == kinds
    assert set(plan["action"]) == {"fast_save", "offer", "nurture", "skip"}


@pytest.mark.parametrize("lang", ["zh", "fa"])
def test_every_row_has_a_sentence_with_its_numbers_in_the_language(
        plan: pd.DataFrame, lang: str) -> None:
    text = why_in(plan.reset_index(), lang).set_axis(plan.index)
    for cid, sentence in text.items():
        assert sentence and sentence != plan.loc[cid, "why"], cid
        assert not PLACEHOLDER.search(sentence), (cid, sentence)
        days, amounts = _numbers(cid)
        for d in days:
            assert (str(d).translate(PERSIAN_DIGITS) if lang == "fa" else f"{d}天") in \
                sentence, (cid, sentence)
        for a in amounts:
            assert _grouped(a, lang) in sentence, (cid, sentence)
        if lang == "fa":
            assert ARABIC_SCRIPT.search(sentence) and not re.search("[0-9]", sentence), sentence
        else:
            assert HAN.search(sentence) and not re.search("[۰-۹]", sentence), sentence
    # the plan's own numbers: pace, caps and limits (hand-copied from POLICY and defaults)
    if lang == "zh":
        assert "每30天一次，持续90天" in text["o1"] and "通过邮件" in text["o1"]
        assert "流失超过365天" in text["old"] and "SLTV 未超过 50" in text["low"]
        assert "3 个优惠名额" in text["cap"] and "等级 A、B" in text["gc"]
        assert "2026年6月25日" in text["fp"] and "每2天" in text["fp"]
        assert "价格" in text["o1"] and "服务差" in text["o2"]  # the catalogue's labels
        assert "每45天一次，持续365天" in text["fg"]  # nurture plan, pace of [reasons]
    else:
        assert "هر ۳۰ روز به مدت ۹۰ روز" in text["o1"] and "ایمیل" in text["o1"]
        assert "بیش از ۳۶۵ روز" in text["old"] and "بیشتر از ۵۰ نیست" in text["low"]
        assert "سقف ۳ پیشنهاد" in text["cap"] and "A، B" in text["gc"]
        assert "۱۴۰۵/۰۴/۰۴" in text["fp"] and "هر ۲ روز" in text["fp"]  # Solar Hijri date
        assert "قیمت" in text["o1"] and "خدمات ضعیف" in text["o2"]
        assert "هر ۴۵ روز به مدت ۳۶۵ روز" in text["fg"]
    # names are shown as written
    assert "Rivalo" in text["rv"] and "rivalo_match" in text["rv"]
    assert "winback_discount" in text["o1"] and "save_call" in text["fu"]


def test_english_is_rendered_from_the_same_key_and_parameters(plan: pd.DataFrame) -> None:
    for cid, r in plan.iterrows():
        params = json.loads(r["why_params"])
        assert why_text(r["why_key"], params, "en") == r["why"], cid
    assert plan.loc["o1", "why"] == (
        "Lost 31 days ago (price: price too high or raised; stated at cancellation); "
        "SLTV 2,150 (grade A): offer winback_discount by email every 30 days for 90 days.")
    assert plan.loc["rv", "why"].endswith("lost to Rivalo: offer rivalo_match by email "
                                          "every 30 days for 90 days.")
    assert plan.loc["fs", "why"] == (
        "Cancelling now: subscription ends without renewal on 2026-06-25; unprofitable: cost "
        "to serve exceeded the margin; read from their words; 2,604 a year at stake: we let "
        "them go on purpose (unprofitable); no save attempt.")


def test_english_descriptions_are_the_taxonomy() -> None:
    en = ui_catalog("en")
    assert {k[10:]: v for k, v in en.items() if k.startswith("wbwhy.sub.")} == {
        c: s.description for c, s in SUB_REASONS.items()}
    assert {k[11:]: v for k, v in en.items() if k.startswith("wbwhy.main.")} == MAIN_REASONS


def test_bad_language_and_key_are_refused(plan: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="language 'de'"):
        why_in(plan.reset_index(), "de")
    with pytest.raises(InputError, match="not a win-back sentence"):
        why_text("reason.price", {}, "zh")
    # a frame without the key columns keeps its English sentence
    old = plan.reset_index().drop(columns=["why_key", "why_params"])
    assert why_in(old, "fa").tolist() == old["why"].tolist()


# -- the CLI ---------------------------------------------------------------------------------

def _reference(root: Path, lang: str) -> pd.Series:
    from churnguard.reasons import load_model

    with Workspace.open(root, read_only=True) as ws:
        df = winback(ws, as_of=AS_OF, model=load_model(ws))
    return why_in(df, lang).set_axis(df["customer_id"])


def test_cli_writes_the_why_in_persian(shop: Path, tmp_path: Path,  # noqa: F811
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.csv"
    code, err = main(["winback", shop, "--as-of", AS_OF, "--lang", "fa", "--out", out],
                     monkeypatch, capsys)
    assert code == 0, err
    csv = pd.read_csv(out).set_index("customer_id")
    assert list(csv.reset_index().columns) == list(WINBACK_COLUMNS)
    want = _reference(shop, "fa")
    assert csv["why"].to_dict() == want.to_dict()
    assert all(ARABIC_SCRIPT.search(w) and not re.search("[0-9]", w) for w in csv["why"])
    # P1: lost 2026-03-01, 122 days before 2026-07-01 (hand-computed)
    assert "۱۲۲ روز پیش" in csv.loc["P1", "why"]
    code, err = main(["winback", shop, "--as-of", AS_OF, "--out", tmp_path / "en.csv"],
                     monkeypatch, capsys)
    assert code == 0, err  # the default stays English
    en = pd.read_csv(tmp_path / "en.csv").set_index("customer_id")
    assert en.loc["P1", "why"].startswith("Lost 122 days ago")


def test_cli_refuses_an_unknown_language(shop: Path, tmp_path: Path,  # noqa: F811
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, err = main(["winback", shop, "--lang", "de", "--out", tmp_path / "w.csv"],
                     monkeypatch, capsys)
    assert code == 2 and err.startswith("error:") and "--lang 'de': use one of en, zh, fa" \
        in err, err
    assert not (tmp_path / "w.csv").exists()


# -- the dashboard page, its export and the API ----------------------------------------------

@pytest.fixture(scope="module")
def shop_app(shop: Path, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
             ) -> Iterator[TestClient]:
    """The app on a copy of the hand-made workspace, with an analyst reading Persian."""
    from churnguard.api import create_app
    from churnguard.api.accounts import add_user

    base = tmp_path_factory.mktemp("winback_app")
    root = base / "shop"
    shutil.copytree(shop, root)
    app = create_app(root, database_url=f"sqlite:///{base / 'app.db'}")
    with app.state.cg.db.session() as s:
        add_user(s, "wang", PASSWORD, role="analyst", language="zh")
        add_user(s, "sara", PASSWORD, role="analyst", language="fa")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = TestClient(app)
    yield client
    app.state.cg.close()


def _server_reference(shop_app: TestClient, lang: str) -> pd.DataFrame:
    """The library's list as the server computes it (its as-of and saved classifier),
    with ``why`` in ``lang``, by customer."""
    from churnguard.reasons import load_model

    root = shop_app.app.state.cg.settings.workspace  # type: ignore[attr-defined]
    with Workspace.open(root, read_only=True) as ws:
        df = winback(ws, model=load_model(ws))
    return df.assign(why=why_in(df, lang)).set_index("customer_id")


def _login(shop_app: TestClient, user: str) -> TestClient:
    c = TestClient(shop_app.app)
    r = c.post("/login", data={"username": user, "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 303
    return c


def test_page_shows_the_chinese_and_persian_sentences(shop_app: TestClient) -> None:
    c = _login(shop_app, "sara")
    zh = c.get("/winback?lang=zh")
    assert zh.status_code == 200 and 'lang="zh"' in zh.text
    want = _server_reference(shop_app, "zh")["why"]
    assert len(want) > 5
    for cid, sentence in want.items():
        assert str(escape(sentence)) in zh.text, cid
    assert "Lost " not in zh.text and "Cancelling now" not in zh.text
    assert 'href="/winback.csv?lang=zh"' in zh.text
    # without ?lang the user's own language (Persian) is used
    fa = c.get("/winback?action=offer")
    assert fa.status_code == 200 and 'lang="fa"' in fa.text
    ref = _server_reference(shop_app, "fa")
    offers = ref.loc[ref["action"] == "offer", "why"]
    assert len(offers) >= 3 and all(str(escape(w)) in fa.text for w in offers)
    assert not any(str(escape(w)) in fa.text for w in ref.loc[ref["action"] == "skip", "why"])


def test_export_writes_the_why_in_the_page_language(shop_app: TestClient) -> None:
    c = _login(shop_app, "sara")
    csv = pd.read_csv(io.StringIO(c.get("/winback.csv?lang=zh").text)).set_index("customer_id")
    assert csv["why"].to_dict() == _server_reference(shop_app, "zh")["why"].to_dict()
    own = pd.read_csv(io.StringIO(c.get("/winback.csv").text)).set_index("customer_id")
    assert own["why"].to_dict() == _server_reference(shop_app, "fa")["why"].to_dict()


def test_api_winback_follows_lang(shop_app: TestClient) -> None:
    from churnguard.api.accounts import create_api_key

    with shop_app.app.state.cg.db.session() as s:  # type: ignore[attr-defined]
        key = create_api_key(s, "wang")[1]
    auth = {"Authorization": f"Bearer {key}"}
    body = shop_app.get("/api/winback?limit=1000&lang=fa", headers=auth).json()
    assert body["language"] == "fa"
    want = _server_reference(shop_app, "fa")["why"]
    assert {d["customer_id"]: d["why"] for d in body["data"]} == want.to_dict()
    first = body["data"][0]
    assert first["why_key"].startswith("wbwhy.") and isinstance(first["why_params"], dict)
    assert why_text(first["why_key"], first["why_params"], "fa") == first["why"]
    # no lang: the user's language (Chinese); a bad one is refused
    own = shop_app.get("/api/winback?limit=5", headers=auth).json()
    assert own["language"] == "zh" and all(HAN.search(d["why"]) for d in own["data"])
    bad = shop_app.get("/api/winback?lang=de", headers=auth)
    assert bad.status_code == 422
