"""Check a win-back policy against a simulated business's ground truth (evaluation only).

The simulator ran win-back campaigns with randomised control groups and records, for every
assigned customer, the true effect of the offer: ``true_treatment_effect`` = P(still lost
90 days later | offer) - P(still lost | no offer), known for both arms (negative = the offer
brings them back). Its causal story is the taxonomy's: price churners come back for a
discount, competitor and personalisation churners somewhat, relocated ones never, the
over-marketed are pushed further away.

:func:`truth_check` re-runs :func:`churnguard.act.winback.winback` as of each win-back
campaign's start (only rows before it, and a reason classifier trained only on feedback
labelled before it) and compares the true uplift (``-true_treatment_effect``, in
probability) of the customers the policy pursues with those it skips. A policy that reads
reasons well pursues the customers an offer actually wins back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from churnguard.act.winback import winback
from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.reasons.classifier import ReasonClassifier
    from churnguard.warehouse.config import WinbackSection
    from churnguard.warehouse.workspace import Workspace

#: fewest labelled texts before a campaign to train its point-in-time classifier
MIN_LABELLED = 30


def _model_before(ws: Workspace, cut: pd.Timestamp) -> ReasonClassifier | None:
    """A reason classifier trained only on feedback labelled before ``cut``."""
    from churnguard.reasons.classifier import ReasonClassifier

    fb = ws.warehouse.table("feedback")
    fb = fb.filter(fb.text.notnull(), fb.sub_reason.notnull(), fb.at < cut.to_pydatetime())
    data = fb.select("text", "sub_reason").to_pandas()
    if len(data) < MIN_LABELLED or data["sub_reason"].nunique() < 2:
        return None
    return ReasonClassifier().fit(data["text"].tolist(), data["sub_reason"].tolist())


def truth_assignments(ws: Workspace) -> pd.DataFrame:
    """The simulator's true effects of win-back assignments, with the campaign start."""
    path = ws.truth_dir / "assignments.parquet"
    if not path.is_file():
        raise InputError(f"{path}: no ground truth; this works on simulated workspaces "
                         "(`churnguard simulate`)")
    truth = pd.read_parquet(path)
    truth = truth[truth["goal"] == "winback"]
    camp = ws.warehouse.table("campaigns").select("campaign_id", "started_at").to_pandas()
    return truth.merge(camp, on="campaign_id")


def truth_check(ws: Workspace, *, policy: WinbackSection | None = None,
                by: str = "action") -> pd.DataFrame:
    """True win-back uplift of the customers the policy pursues vs those it skips.

    One row per win-back campaign and value of ``by`` (``action``, or ``pursued``: True for
    offer and nurture), plus ``all`` campaigns together: ``n`` assigned customers the policy
    listed as lost, ``mean_uplift`` (mean ``-true_treatment_effect``: the gain in the
    probability of coming back within 90 days) and ``share_true_<reason>`` columns (the
    simulator's true reason of their latest churn before the campaign).
    """
    truth = truth_assignments(ws)
    if truth.empty:
        raise InputError(f"{ws.root}: the simulation ran no win-back campaign; simulate at "
                         "least 15 months")
    events = pd.read_parquet(ws.truth_dir / "churn_events.parquet",
                             columns=["customer_id", "churn_at", "true_reason"])
    parts = []
    for cid, group in truth.groupby("campaign_id", sort=True):
        cut = pd.Timestamp(group["started_at"].iloc[0])
        plan = winback(ws, as_of=cut, policy=policy, model=_model_before(ws, cut),
                       fast_saves=False)
        plan = plan[["customer_id", "action"]].assign(pursued=plan["action"] != "skip")
        j = group[["customer_id", "true_treatment_effect"]].merge(plan, on="customer_id")
        # the true reason of the customer's latest churn before the campaign
        ev = events[events["churn_at"] < cut].sort_values("churn_at")
        ev = ev.drop_duplicates("customer_id", keep="last")[["customer_id", "true_reason"]]
        parts.append(j.merge(ev, on="customer_id", how="left").assign(campaign_id=cid))
    rows = pd.concat(parts, ignore_index=True)
    rows["uplift"] = -rows["true_treatment_effect"]
    rows = pd.concat([rows, rows.assign(campaign_id="all")], ignore_index=True)
    out = rows.groupby(["campaign_id", by]).agg(n=("uplift", "size"),
                                                 mean_uplift=("uplift", "mean")).reset_index()
    shares = pd.crosstab([rows["campaign_id"], rows[by]], rows["true_reason"].fillna("none"),
                         normalize="index").add_prefix("share_true_").reset_index()
    return out.merge(shares, on=["campaign_id", by])
