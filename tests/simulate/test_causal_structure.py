"""The causes built into the simulation are recoverable from the observable tables alone
(truth is used only where the test is about the truth itself)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churnguard.contract import MAIN_REASONS

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def cancellations(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Observable churn of subscription customers: a subscription that ended and was not
    replaced by another one starting at the same instant."""
    subs = frames["subscriptions"]
    replaced = set(subs["previous_subscription_id"].dropna())
    ended = subs[subs["ended_at"].notna() & ~subs["subscription_id"].isin(replaced)]
    return ended[["customer_id", "ended_at"]].rename(columns={"ended_at": "churn_at"})


@pytest.fixture(scope="module")
def sub_customers(frames: dict[str, pd.DataFrame],
                  cancellations: pd.DataFrame) -> pd.DataFrame:
    cust = frames["customers"]
    cust = cust[cust["contract_type"] != "none"].copy()
    cust["churned"] = cust["customer_id"].isin(cancellations["customer_id"])
    return cust


def test_month_to_month_churns_more_than_annual(sub_customers: pd.DataFrame) -> None:
    rate = sub_customers.groupby("contract_type")["churned"].mean()
    assert rate["month-to-month"] > 1.5 * rate["annual"]
    assert rate["annual"] > rate["two-year"] * 0.8


def test_annual_customers_leave_at_renewal(frames: dict[str, pd.DataFrame],
                                           cancellations: pd.DataFrame) -> None:
    subs = frames["subscriptions"]
    annual = subs[(subs["contract_months"] == 12) & subs["ended_at"].notna()]
    ends = annual[annual["ended_at"].isin(cancellations["churn_at"])]
    term = (ends["ended_at"] - ends["started_at"]) / DAY
    at_renewal = ((term > 360) & (term < 370)).mean()
    assert at_renewal > 0.6


def test_free_and_cheap_first_offers_churn_more(sub_customers: pd.DataFrame) -> None:
    rate = sub_customers.groupby("first_offer")["churned"].mean()
    for offer in ("free_trial", "free_month", "cheap_plan"):
        assert rate[offer] > rate["none"] * 1.1, offer


def test_loyalty_tiers_churn_less(sub_customers: pd.DataFrame) -> None:
    tier = sub_customers["loyalty_tier"].fillna("none")
    rate = sub_customers.groupby(tier)["churned"].mean()
    assert rate["gold"] < rate["none"] and rate["platinum"] < rate["none"]


def _at_risk_windows(frames: dict[str, pd.DataFrame], cancellations: pd.DataFrame,
                     ) -> pd.DataFrame:
    """Subscription customers active at several reference dates, with complaints in the
    prior 90 days and churn in the next 90 days."""
    subs = frames["subscriptions"]
    tickets = frames["tickets"]
    complaints = tickets[tickets["is_complaint"]]
    rows = []
    for ref in pd.date_range("2024-03-01", "2026-01-01", freq="2MS", tz="UTC"):
        active = subs[(subs["started_at"] <= ref)
                      & (subs["ended_at"].isna() | (subs["ended_at"] > ref))]
        ids = pd.Index(active["customer_id"].unique())
        recent = complaints[(complaints["opened_at"] < ref)
                            & (complaints["opened_at"] >= ref - 90 * DAY)]
        left = cancellations[(cancellations["churn_at"] >= ref)
                             & (cancellations["churn_at"] < ref + 90 * DAY)]
        rows.append(pd.DataFrame({
            "complained": ids.isin(recent["customer_id"]),
            "churned": ids.isin(left["customer_id"]),
        }))
    return pd.concat(rows)


def test_complaints_in_prior_months_raise_churn(frames: dict[str, pd.DataFrame],
                                                cancellations: pd.DataFrame) -> None:
    w = _at_risk_windows(frames, cancellations)
    rate = w.groupby("complained")["churned"].mean()
    assert w["complained"].sum() > 500
    assert rate[True] > 1.3 * rate[False]


def test_usage_declines_before_churn(frames: dict[str, pd.DataFrame],
                                     cancellations: pd.DataFrame) -> None:
    logins = frames["interactions"]
    logins = logins[logins["kind"] == "login"][["customer_id", "at"]]
    signup = frames["customers"].set_index("customer_id")["signup_at"]
    ch = cancellations.drop_duplicates("customer_id")
    tenure = ch["churn_at"] - signup.reindex(ch["customer_id"]).set_axis(ch.index)
    ch = ch[tenure > 200 * DAY]
    m = logins.merge(ch, on="customer_id")
    before = (m["churn_at"] - m["at"]) / DAY
    late = ((before > 0) & (before <= 90)).sum()
    early = ((before > 90) & (before <= 180)).sum()
    assert late < 0.8 * early
    # customers who stay show no such decline over the last six months of the window
    end = frames["interactions"]["at"].max()
    stay = logins[~logins["customer_id"].isin(cancellations["customer_id"])]
    age = (end - stay["at"]) / DAY
    assert ((age <= 90).sum()) > 0.85 * ((age > 90) & (age <= 180)).sum()


def test_price_increases_are_followed_by_churn(frames: dict[str, pd.DataFrame],
                                               cancellations: pd.DataFrame) -> None:
    subs = frames["subscriptions"]
    prev = subs.set_index("subscription_id")
    linked = subs.dropna(subset=["previous_subscription_id"])
    p = prev.loc[linked["previous_subscription_id"]]
    rise = linked[(linked["plan"].to_numpy() == p["plan"].to_numpy())
                  & (linked["mrr"].to_numpy() > p["mrr"].to_numpy() * 1.04)
                  & (linked["contract_months"] == 1).to_numpy()]
    m2m = subs[subs["contract_months"] == 1]
    m = rise[["customer_id", "started_at"]].merge(cancellations, on="customer_id")
    after = ((m["churn_at"] > m["started_at"]) & (m["churn_at"] <= m["started_at"] + 90 * DAY))
    rate_after = after.groupby(m["customer_id"]).any().sum() / rise["customer_id"].nunique()
    # baseline: month-to-month churn within 90 days of a random active date
    baseline = m2m["customer_id"].isin(cancellations["customer_id"]).mean() / 12
    assert rate_after > 1.5 * baseline


def test_truth_reason_matches_the_observed_drivers(frames: dict[str, pd.DataFrame],
                                                   truth: dict[str, pd.DataFrame]) -> None:
    t = truth["customers"].set_index("customer_id")
    complaints = frames["tickets"].groupby("customer_id")["is_complaint"].sum()
    n_compl = complaints.reindex(t.index, fill_value=0)
    by_reason = n_compl.groupby(t["true_sub_reason"]).mean()
    assert by_reason["poor_service"] > 2 * by_reason.drop("poor_service").mean()
    cum = t.filter(like="true_cum_hazard_")
    churned = t[t["true_churned"]]
    dominant = cum.loc[churned.index].idxmax(axis=1).str.replace("true_cum_hazard_", "")
    assert (dominant == churned["true_sub_reason"]).mean() > 0.4


def test_retention_treatment_effect_is_real_and_heterogeneous(
        frames: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]) -> None:
    a = truth["assignments"]
    ret = a[a["goal"] == "retention"]
    eff = ret["true_treatment_effect"]
    assert eff.mean() < -0.005
    assert eff.std() > 0.02
    assert (eff > 0.01).mean() > 0.02 and (eff < -0.01).mean() > 0.1
    dnd = truth["customers"].set_index("customer_id")["true_do_not_disturb"]
    by_dnd = eff.groupby(dnd.reindex(ret["customer_id"]).to_numpy()).mean()
    assert by_dnd[True] > 0 > by_dnd[False]  # "do not disturb": contact hurts
    cust = frames["customers"].set_index("customer_id")
    contract = cust["contract_type"].reindex(ret["customer_id"]).to_numpy()
    by_contract = eff.groupby(contract).mean()
    assert by_contract["month-to-month"] < by_contract["annual"]


def test_winback_treatment_brings_customers_back(frames: dict[str, pd.DataFrame],
                                                 truth: dict[str, pd.DataFrame]) -> None:
    a = frames["assignments"]
    camp = frames["campaigns"].set_index("campaign_id")["goal"]
    wb = a[a["campaign_id"].map(camp) == "winback"]
    back = (wb["outcome"] == "reactivated").groupby(wb["arm"]).mean()
    assert back["treatment"] > back["control"] + 0.02
    assert set(a["outcome"]) >= {"retained", "churned", "reactivated", "unknown"}
    t = truth["assignments"]
    assert (t["true_treatment_effect"] != 0).any()


def test_reactivation_happens(frames: dict[str, pd.DataFrame],
                              truth: dict[str, pd.DataFrame]) -> None:
    t = truth["customers"]
    back = t[t["true_reactivated"]]
    assert (back["customer_type"] == "transactional").sum() > 50
    assert (back["customer_type"] == "subscription").sum() > 50
    subs = frames["subscriptions"]
    restart = subs["previous_subscription_id"].isna() & subs["customer_id"].duplicated()
    assert restart.sum() > 50


def test_requests_are_sometimes_never_followed_up(frames: dict[str, pd.DataFrame]) -> None:
    x = frames["interactions"]
    kinds = x["kind"].value_counts()
    for k in ("login", "email_open", "event_attended", "check_in", "support_chat",
              "quote_request", "info_request", "follow_up"):
        assert kinds.get(k, 0) > 100, k
    requests = kinds["quote_request"] + kinds["info_request"]
    assert 0.3 * requests < kinds["follow_up"] < 0.95 * requests
    assert x.loc[x["kind"] == "follow_up", "staff"].notna().all()
    assert x.loc[x["kind"] == "login", "staff"].isna().all()
    assert set(x["direction"]) == {"inbound", "outbound"}


def test_feedback_covers_every_reason_in_every_language(
        frames: dict[str, pd.DataFrame]) -> None:
    fb = frames["feedback"]
    family = fb["language"].str.slice(0, 2)
    labelled = fb[fb["reason"].notna()]
    for lang in ("en", "zh", "fa"):
        reasons = set(labelled.loc[family[labelled.index] == lang, "reason"])
        assert reasons == set(MAIN_REASONS), lang
    assert (fb["language"] == "zh-Hant").sum() > 100
    texts = fb[fb["text"].notna()]
    assert texts["reason"].isna().sum() > texts["reason"].notna().sum()  # most unlabelled
    assert texts["text"].nunique() > 2000  # varied wording
    assert set(fb["source"]) >= {"exit_survey", "nps", "cancel_prompt", "interview", "csat"}
    nps = fb[fb["source"] == "nps"]["score"]
    assert nps.between(0, 10).all() and nps.nunique() > 5
    assert texts["text"].str.contains("Rivalo|NovaCRM|云客通|رقیب‌یار").any()


def test_transactional_truth_has_bgnbd_parameters(truth: dict[str, pd.DataFrame]) -> None:
    t = truth["customers"]
    tr = t[t["customer_type"] == "transactional"]
    assert (tr["true_lambda"] > 0).all() and tr["true_p"].between(0, 1).all()
    assert (tr.loc[~tr["true_active_at_end"], "true_expected_purchases_12m"] == 0).all()
    assert np.isfinite(t["true_expected_revenue_12m"]).all()
