"""What the reasons and experiments pages and routes show, cached per data version.

Churn reasons come from :mod:`churnguard.reasons` (structured reasons as given, free text
classified by the workspace's trained model; without a model, unlabelled text stays
``unknown`` and the page says how to train one). The server never trains: it only reads.

Owner scoping: an owner sees the reasons of their own customers only (shares, trend and
examples). Campaign results are company-wide aggregates with no customer rows, so every
role reads them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from churnguard.api.analytics import scoped
from churnguard.errors import ChurnguardError

if TYPE_CHECKING:
    from churnguard.api.analytics import Analytics

log = logging.getLogger(__name__)

REASON_SEGMENTS = ("region", "acquisition_channel", "plan", "contract_type", "industry")
_EMPTY_MENTIONS = ["customer_id", "at", "month", "source", "language", "text", "given",
                   "method", "sub_reason", "reason", "confidence"]


_MODEL_IDS: dict[tuple[str, int], str | None] = {}


def reason_model_id(an: Analytics) -> str | None:
    """The id of the workspace's trained text classifier (None: there is none yet).

    Read once per version of the model file (its path and modification time)."""
    from churnguard.reasons import load_model, model_dir

    path = model_dir(an.ws) / "reasons.json"
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return None
    if key not in _MODEL_IDS:
        try:
            _MODEL_IDS[key] = str(load_model(an.ws).model_id_)
        except ChurnguardError as exc:
            log.warning("reason classifier unreadable: %s", exc)
            _MODEL_IDS[key] = None
    return _MODEL_IDS[key]


def mentions(an: Analytics) -> pd.DataFrame:
    """Every stated or written churn reason (see :func:`churnguard.reasons.reason_mentions`)."""

    def compute() -> pd.DataFrame:
        from churnguard.reasons import load_model, reason_mentions

        if not (an.has_table("feedback") and an.has_table("subscriptions")):
            return pd.DataFrame(columns=_EMPTY_MENTIONS)
        try:
            model = load_model(an.ws)
        except ChurnguardError as exc:
            log.info("no reason classifier (%s): free text stays unknown", exc)
            model = None
        m = reason_mentions(an.ws, model)
        m["at"] = pd.to_datetime(m["at"], utc=True)
        return m

    # the classifier is part of the key: training one reclassifies the text
    return an.cache.get(an.version, f"reason_mentions_{reason_model_id(an) or 'none'}", compute)


def _scope(an: Analytics, frame: pd.DataFrame, owner: str | None) -> pd.DataFrame:
    if owner is None:
        return frame
    mine = set(scoped(an.customers(), owner)["customer_id"])
    return frame[frame["customer_id"].isin(mine)]


def churn_reasons(an: Analytics, owner: str | None) -> pd.DataFrame:
    """One reason per churner and month, of ``owner``'s customers (None: all)."""
    from churnguard.reasons import churn_reasons as one_per_month

    per = an.cache.get(an.version, f"churn_reasons_{reason_model_id(an) or 'none'}",
                       lambda: one_per_month(mentions(an)))
    return _scope(an, per, owner)


def breakdown(an: Analytics, owner: str | None) -> pd.DataFrame:
    """Main reason x sub-reason counts and shares (biggest first)."""
    from churnguard.reasons import taxonomy_breakdown

    return taxonomy_breakdown(churn_reasons(an, owner))


def trend(an: Analytics, owner: str | None, months: int = 12) -> pd.DataFrame:
    """Main-reason shares per month, the last ``months`` months with any churn reason."""
    from churnguard.reasons import reason_shares

    per = churn_reasons(an, owner)
    shares = reason_shares(per, by="month")
    keep = sorted(shares["month"].unique())[-months:] if len(shares) else []
    return shares[shares["month"].isin(keep)].reset_index(drop=True)


def by_segment(an: Analytics, owner: str | None, column: str) -> pd.DataFrame:
    """Main-reason shares within each value of a customers column."""
    from churnguard.reasons import reason_shares

    if column not in REASON_SEGMENTS:
        raise ChurnguardError(f"reasons by {column!r}: use one of {', '.join(REASON_SEGMENTS)}")
    per = churn_reasons(an, owner)
    seg = an.customers()[["customer_id", column]]
    per = per.merge(seg, on="customer_id", how="left")
    per[column] = per[column].fillna("(none)").astype(str)
    return reason_shares(per, by=column)


def examples(an: Analytics, owner: str | None, *, per_reason: int = 2,
             reason: str | None = None) -> pd.DataFrame:
    """What customers wrote, in their own language: the most confident texts per sub-reason."""
    from churnguard.reasons import examples as best

    m = _scope(an, mentions(an), owner)
    if reason:
        m = m[(m["reason"] == reason) | (m["sub_reason"] == reason)]
    return best(m, per_reason=per_reason)


# -- experiments --------------------------------------------------------------------------
def campaign_table(an: Analytics) -> pd.DataFrame:
    """Every campaign, period over period: retention by arm, lift with 95 % interval."""

    def compute() -> pd.DataFrame:
        from churnguard.act.experiments import campaign_periods

        if not (an.has_table("campaigns") and an.has_table("assignments")):
            return pd.DataFrame()
        if an.count("campaigns") == 0:
            return pd.DataFrame()
        return campaign_periods(an.ws)

    return an.cache.get(an.version, "campaign_periods", compute)


def campaign_result(an: Analytics, campaign: str, by: str | None) -> dict[str, Any]:
    """The readout of one campaign (raises :class:`ChurnguardError` for an unknown one)."""
    from churnguard.act.experiments import experiment

    if by is not None and by not in REASON_SEGMENTS:
        raise ChurnguardError(f"lift by {by!r}: use one of {', '.join(REASON_SEGMENTS)}")
    key = f"experiment_{campaign}_{by or 'all'}"

    def compute() -> pd.DataFrame:
        res = experiment(an.ws, campaign, by=by)
        frame = res.to_frame()
        for k, v in res.revenue.items():
            frame[k] = v
        frame["undetermined"] = res.undetermined
        for k in ("campaign_id", "name", "goal", "started_at"):
            frame[k] = str(res.campaign.get(k, "") or "")
        return frame

    frame = an.cache.get(an.version, key.replace("/", "_"), compute)
    first = frame.iloc[0].to_dict()
    return {
        "campaign_id": first["campaign_id"], "name": first["name"], "goal": first["goal"],
        "started_at": first["started_at"], "undetermined": int(first["undetermined"]),
        "revenue": {k: float(first[k]) for k in (
            "revenue_lift", "revenue_low", "revenue_high", "net_lift", "net_low", "net_high",
            "cost_per_treated")},
        "rows": frame[["segment", "n_treated", "n_control", "treated_retention",
                       "control_retention", "lift", "low", "high", "p_value"]],
    }


# -- win-back -----------------------------------------------------------------------------
WINBACK_ACTIONS = ("fast_save", "offer", "nurture", "skip")


def winback_list(an: Analytics, owner: str | None, action: str | None = None,
                 language: str = "en") -> pd.DataFrame:
    """The win-back list (fast saves first, then lost customers by plan and SLTV) with each
    customer's name and owner; owners get their own customers only; ``why`` in
    ``language`` (en, zh or fa).

    Computed with the workspace's ``[winback]`` policy and its saved reason classifier
    (without one, written reasons stay unknown: the server does not train)."""
    from churnguard.act.winback import why_in, winback

    if action is not None and action not in WINBACK_ACTIONS:
        raise ChurnguardError(f"action {action!r}: use one of {', '.join(WINBACK_ACTIONS)}")

    def compute() -> pd.DataFrame:
        from churnguard.reasons import load_model

        try:
            model = load_model(an.ws)
        except ChurnguardError:
            model = None
        return winback(an.ws, model=model)

    # "winback2": frames cached before the why_key / why_params columns are not reused
    frame = an.cache.get(an.version, f"winback2_{reason_model_id(an) or 'none'}", compute)
    people = an.customers()[["customer_id", "name", "owner"]]
    frame = frame.merge(people, on="customer_id", how="left")
    frame = scoped(frame, owner)
    if action is not None:
        frame = frame[frame["action"] == action]
    frame = frame.reset_index(drop=True)
    if language != "en":
        frame["why"] = why_in(frame, language)
    return frame


# -- retention plan -----------------------------------------------------------------------
OFFERS_FILE = "offers.toml"


def offers_path(an: Analytics) -> Path:
    """Where the server reads the offers a plan may use: ``<workspace>/offers.toml``."""
    return an.ws.root / OFFERS_FILE


_BASE_PLANS: dict[str, tuple[tuple[str, str], Any]] = {}
_BASE_LOCK = threading.Lock()


def _base_plan(an: Analytics, path: Path, digest: str) -> Any:
    """The learned part of a plan (uplift models, candidates, segments) for this data
    version and offers file, kept in memory per workspace: budgets only re-solve."""
    from churnguard.act.target import plan

    root, key = str(an.ws.root), (an.version, digest)
    with _BASE_LOCK:  # one learning at a time; others wait for its result
        hit = _BASE_PLANS.get(root)
        if hit is None or hit[0] != key:
            _BASE_PLANS[root] = (key, plan(an.ws, 0.0, path))
        return _BASE_PLANS[root][1]


def retention_plan(an: Analytics, budget: float, owner: str | None) -> dict[str, Any]:
    """The uplift-aware plan for ``budget`` (see :func:`churnguard.act.target.plan`).

    Company-wide (the budget is the company's); an owner sees the chosen rows of their own
    customers, the totals of the whole plan. The learning step runs once per data version
    and offers file; each budget then only solves the knapsack again
    (:func:`churnguard.act.target.rebudget`). Raises :class:`ChurnguardError` when there
    is no offers file or nothing can be valued (no past campaign with a control group).
    """
    import hashlib

    from churnguard.act.target import rebudget
    from churnguard.act.target_report import offers_table
    from churnguard.act.uplift import qini_by_offer

    path = offers_path(an)
    if not path.is_file():
        raise ChurnguardError(f"{path}: no offers file. Copy examples/offers.toml there and "
                              "edit it (name, cost, eligible rule per offer)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    result = rebudget(_base_plan(an, path, digest), budget)
    curves = qini_by_offer(result.models.heldout) if result.models.heldout is not None else {}
    people = an.customers()[["customer_id", "name", "owner"]]
    rows = result.frame.merge(people, on="customer_id", how="left")
    return {
        "rows": scoped(rows, owner).reset_index(drop=True),
        "offers": offers_table(result),
        "segments": result.customers["segment"].value_counts().rename_axis(
            "segment").reset_index(name="customers"),
        "qini": pd.concat([q.assign(offer=k) for k, q in curves.items()], ignore_index=True)
        if curves else pd.DataFrame(columns=["offer", "fraction", "qini", "random"]),
        "summary": pd.DataFrame([{
            "as_of": str(result.as_of)[:10], "budget": budget, "committed": result.spent,
            "expected_cost": float(result.frame["expected_cost"].sum()),
            "value_saved": float(result.frame["value_saved"].sum()),
            "expected_profit": result.expected_profit, "customers": len(result.frame),
            "solver": result.solver, "notes": "\n".join(result.notes)}]),
    }
