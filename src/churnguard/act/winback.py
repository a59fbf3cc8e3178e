"""Win-back (R11, R14): whom to pursue among lost customers, with what, how often, and why.

Two kinds of rows, one frame:

fast saves
    customers who are cancelling *right now* and are not yet lost (their latest episode of
    :func:`churnguard.measure.labels` has not churned): a cancellation prompt, exit survey
    or interview in the last ``fast_save.days`` days; a subscription that ended in those
    days while the renewal grace period still runs; or a subscription whose ``ended_at``
    falls in the next ``fast_save.days`` days with nothing after it (a scheduled end: the
    notice was given, the contract will not renew). They come first, ordered by the value
    at stake (MRR x 12, else the last 365 days of orders), with a call-first save offer.
lost customers
    every customer whose latest episode churned, with the SLTV and grade of
    :func:`churnguard.value.sltv.sltv_frame` and the reason of that loss: the structured
    cancellation choice when there is one (``reason_source = structured``), else the
    workspace's text classifier on what they wrote (``classified``), else ``unknown`` (see
    :mod:`churnguard.reasons.analysis`). The reason picks the plan.

The policy is the workspace's ``[winback]`` section (:class:`~churnguard.warehouse.config.
WinbackSection`) laid over :data:`DEFAULT_PLANS`: deliberately pushed-away (unprofitable)
customers are let go; price churners ("bought away") get a price offer; competitor
churners ("pulled away") a switch-back offer, a competitor-specific one when their words
name a competitor listed under ``[winback.competitors]``; service failures a service-
recovery call, except the over-marketed (more contact pushes them further away); relocated
customers are let go and those who no longer need the product get a slow nurture; the rest
(reason unknown) get the long-term nurture plan. Offers go only to the ``offer_grades`` and
at most ``max_offers`` of them (highest SLTV first); the others are nurtured.

>>> lost = pd.DataFrame({"customer_id": ["a", "b", "c"], "days_lost": [30, 40, 50],
...                      "sltv": [900.0, 500.0, 100.0], "grade": ["A", "B", "D"]})
>>> why = pd.DataFrame({"customer_id": ["a", "b", "c"], "reason": ["price", "deliberate",
...                     "price"], "sub_reason": ["price", "unprofitable", "price"],
...                     "reason_source": "structured"})
>>> plan_lost(lost, why, WinbackSection())[["customer_id", "action", "offer"]]
  customer_id   action             offer
0           a    offer  winback_discount
1           c  nurture              None
2           b     skip              None
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

import ibis
import numpy as np
import pandas as pd

from churnguard.contract.reasons import MAIN_REASONS, SUB_REASONS
from churnguard.errors import ChurnguardError, ConfigError, InputError
from churnguard.i18n import LANGUAGES
from churnguard.i18n.ui import format_date, money, t
from churnguard.reasons.analysis import CHURN_SOURCES
from churnguard.reasons.taxonomy import UNKNOWN
from churnguard.reasons.text import normalise
from churnguard.timeutil import to_utc
from churnguard.warehouse.config import WinbackPlan, WinbackSection

if TYPE_CHECKING:
    from churnguard.reasons.classifier import ReasonClassifier
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

Action = Literal["fast_save", "offer", "nurture", "skip"]
#: columns of the win-back frame, in order
WINBACK_COLUMNS = (
    "customer_id", "churned_at", "days_lost", "sltv", "grade", "reason", "sub_reason",
    "reason_source", "action", "offer", "channel", "contact_every_days", "priority", "why",
    "duration_days", "competitor", "value_at_stake", "signal", "signal_at", "segment",
    "why_key", "why_params",
)
#: order of the actions in the frame (fast saves first, those not pursued last)
ACTION_ORDER: dict[str, int] = {"fast_save": 0, "offer": 1, "nurture": 2, "skip": 3}
REASON_SOURCES = ("structured", "classified", "unknown")


@dataclass(frozen=True)
class Plan:
    """A resolved plan: every field set (``offer`` only for offers)."""

    action: str
    offer: str | None
    channel: str
    contact_every_days: int
    duration_days: int


#: churnguard's default plan per reason / sub-reason code; ``[winback.reasons.<code>]``
#: overrides them key by key. "nurture" is the plan of reasons without one (and unknown).
DEFAULT_PLANS: dict[str, WinbackPlan] = {
    "nurture": WinbackPlan(action="nurture", channel="email", contact_every_days=60,
                           duration_days=365),
    "deliberate": WinbackPlan(action="skip"),
    "service_failure": WinbackPlan(action="offer", offer="service_recovery_call",
                                   channel="call", contact_every_days=30, duration_days=90),
    "over_marketing": WinbackPlan(action="skip"),
    "competitor": WinbackPlan(action="offer", offer="competitor_switch_back", channel="email",
                              contact_every_days=30, duration_days=90),
    "price": WinbackPlan(action="offer", offer="winback_discount", channel="email",
                         contact_every_days=30, duration_days=90),
    "migration": WinbackPlan(action="skip"),
    "no_longer_needed": WinbackPlan(action="nurture", channel="email", contact_every_days=180,
                                    duration_days=730),
}
#: reasons whose customers are not pursued (skip) or only nurtured for a reason worth
#: saying: the ``wbwhy.note.<code>`` sentence of the catalogue (i18n/ui.winback.*.json)
_NOTES = frozenset({"deliberate", "unprofitable", "over_marketing", "migration", "relocation",
                    "no_longer_needed"})


def _layer(base: dict[str, object], plan: WinbackPlan | None) -> dict[str, object]:
    if plan is None:
        return base
    return {**base, **{k: getattr(plan, k) for k in plan.model_fields_set
                       if getattr(plan, k) is not None}}


def resolve_plan(policy: WinbackSection, reason: str, sub_reason: str) -> Plan:
    """The plan of customers lost for ``reason`` / ``sub_reason`` under ``policy``.

    The action is the most specific one set: ``[winback.reasons.<sub_reason>]`` or the
    default for the sub-reason, else the same for the main reason, else the nurture plan
    (``unknown`` reasons: ``[winback.reasons.unknown]``, else nurture). The other keys come
    from the most specific plan *with that same action*, then from the nurture plan
    (``[winback.nurture]`` over the default), so turning a reason into "nurture" gives it
    the nurture plan's channel and pace unless it sets its own.

    >>> resolve_plan(WinbackSection(), "price", "price").offer
    'winback_discount'
    >>> resolve_plan(WinbackSection(), "service_failure", "over_marketing").action
    'skip'
    """
    names = [f.name for f in fields(Plan)]
    nurture = _layer(_layer({}, DEFAULT_PLANS["nurture"]), policy.nurture)
    codes = [reason] if reason == UNKNOWN or sub_reason in (UNKNOWN, reason) else [
        reason, sub_reason]
    # one merged group per code (default, then the workspace's keys), specific first
    groups = []
    for code in reversed(codes):
        merged = _layer(_layer({}, DEFAULT_PLANS.get(code)), policy.reasons.get(code))
        groups.append((f"[winback.reasons.{code}]", merged))
    acted = [(where, g) for where, g in groups if g.get("action")]
    if acted:
        where, action = acted[0][0], acted[0][1]["action"]
    else:
        where, action = "[winback.nurture]", nurture["action"]
    plan: dict[str, object] = {n: None for n in names}
    same = [g for _, g in groups if g.get("action", action) == action]
    for layer in [nurture, *reversed(same)]:
        plan.update({k: v for k, v in layer.items() if v is not None})
    plan["action"] = action
    if action == "offer" and not plan.get("offer"):
        raise ConfigError(f"{where} action = \"offer\" needs an offer name, e.g. "
                          f"offer = \"winback_discount\"")
    if action != "offer":
        plan["offer"] = None
    return Plan(**plan)  # type: ignore[arg-type]


def check_policy(policy: WinbackSection) -> None:
    """Resolve every reason's plan once, so a bad policy fails before any work."""
    resolve_plan(policy, UNKNOWN, UNKNOWN)
    for sub in SUB_REASONS.values():
        resolve_plan(policy, sub.main, sub.code)
    for name, offer in policy.competitors.items():
        if not name.strip() or not str(offer).strip():
            raise ConfigError(f"[winback.competitors] {name!r} = {offer!r}: give a competitor "
                              "name and the offer for customers lost to it")


# -- the why sentence: a catalogue key and its parameters, rendered per language ----------

def _note(reason: str, sub_reason: str) -> str | None:
    """The note code of a reason (the sub-reason's first), or None."""
    return sub_reason if sub_reason in _NOTES else reason if reason in _NOTES else None


def _number(value: object) -> float | None:
    """A finite number for the parameters (JSON has no NaN), else None."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def _contact_params(plan: Plan) -> dict[str, object]:
    return {"channel": plan.channel, "every": int(plan.contact_every_days),
            "duration": int(plan.duration_days)}


def _label(key: str, code: str, language: str) -> str:
    """The catalogue's word for ``code`` (``key``), or the code as written."""
    try:
        return t(key, language)
    except InputError:
        return code


def _reason_words(p: dict[str, object], language: str) -> str:
    """The reason in words and where it came from, e.g. "price: price too high or raised;
    stated at cancellation" (other languages: the dashboard's label of the sub-reason)."""
    reason, sub = str(p.get("reason") or UNKNOWN), str(p.get("sub_reason") or UNKNOWN)
    if reason == UNKNOWN:
        return t("wbwhy.reason.unknown", language)
    source = _label(f"wbwhy.source.{p.get('reason_source')}", str(p.get("reason_source")),
                    language)
    if sub in SUB_REASONS:
        label = sub.replace("_", " ") if language == "en" else _label(
            f"subreason.{sub}", sub, language)
        return t("wbwhy.reason.sub", language, sub=label,
                 description=_label(f"wbwhy.sub.{sub}", sub, language), source=source)
    return t("wbwhy.reason.main", language,
             description=_label(f"wbwhy.main.{reason}", reason, language), source=source)


def _amount(value: object, language: str) -> str:
    v = _number(value)
    return t("value.unknown", language) if v is None else money(v, language)


def why_text(key: str, params: dict[str, object], language: str = "en") -> str:
    """The ``why`` sentence of a plan row in ``language`` (en, zh or fa).

    ``key`` is a ``wbwhy.lost.*`` or ``wbwhy.cancel.*`` entry of the catalogue
    (``i18n/ui.winback.<lang>.json``) and ``params`` its language-neutral parameters:
    codes (reason, sub-reason, note, channel, signal), names as written (offer,
    competitor, grade) and plain numbers, as kept in the ``why_key`` / ``why_params``
    columns. Numbers are written in the language's digits, amounts with its separators,
    dates in its calendar (:mod:`churnguard.i18n.ui`); codes the catalogue has a word for
    are translated, other names are shown as written.

    >>> p = {"days_lost": 30, "reason": "price", "sub_reason": "price",
    ...      "reason_source": "structured", "sltv": 1234.0, "grade": "A", "offer":
    ...      "winback_discount", "channel": "email", "every": 30, "duration": 90}
    >>> print(why_text("wbwhy.lost.offer", p, "en"))  # doctest: +NORMALIZE_WHITESPACE
    Lost 30 days ago (price: price too high or raised; stated at cancellation); SLTV 1,234
    (grade A): offer winback_discount by email every 30 days for 90 days.
    >>> print(why_text("wbwhy.lost.offer", p, "zh"))  # doctest: +NORMALIZE_WHITESPACE
    30天前流失（价格：价格过高或已上涨；取消时说明）；SLTV 1,234（等级 A）：通过邮件提供
    winback_discount，每30天一次，持续90天。
    >>> why_text("wbwhy.lost.offer", p, "fa").split(" (")[0]
    '۳۰ روز پیش از دست رفت'
    """
    if language not in LANGUAGES:
        raise InputError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    p, lang = params, language
    if key.startswith("wbwhy.lost."):
        head = t("wbwhy.head.lost", lang, days=_whole(p.get("days_lost")),
                 reason=_reason_words(p, lang), sltv=_amount(p.get("sltv"), lang),
                 grade=p.get("grade"))
    elif key.startswith("wbwhy.cancel."):
        signal = str(p.get("signal"))
        when = p.get("signal_at")
        head = t("wbwhy.head.cancelling", lang,
                 signal=_label(f"wbwhy.signal.{signal}", signal, lang),
                 date=format_date(when, lang) if when else "?",
                 reason=_reason_words(p, lang),
                 value=_amount(p.get("value_at_stake"), lang))
    else:
        raise InputError(f"why key {key!r}: not a win-back sentence (wbwhy.lost.* or "
                         "wbwhy.cancel.*)")
    values: dict[str, object] = {"head": head}
    note = p.get("note")
    if note:
        values["note"] = _label(f"wbwhy.note.{note}", str(note), lang)
    channel = p.get("channel")
    if channel:
        values["channel"] = _label(f"wbwhy.channel.{channel}", str(channel), lang)
    for name in ("every", "duration", "max_days", "max_offers"):
        if name in p:
            values[name] = _whole(p[name])
    if "min_sltv" in p:
        values["min_sltv"] = _amount(p["min_sltv"], lang)
    if "offer_grades" in p:
        grades = [str(g) for g in p["offer_grades"]]  # type: ignore[attr-defined]
        values["grades"] = (t("wbwhy.list_sep", lang).join(grades) if grades
                            else t("wbwhy.grades.none", lang))
    values["grade"] = p.get("grade")
    values["offer"] = p.get("offer")
    values["competitor"] = p.get("competitor")
    if "channel" in values and "every" in values and "duration" in values:
        kind = "wbwhy.contact.offer" if p.get("offer") else "wbwhy.contact.keep"
        values["contact"] = t(kind, lang, offer=p.get("offer"),
                              channel=values["channel"], every=values["every"],
                              duration=values["duration"])
    try:
        return t(key, lang, **values)
    except KeyError as exc:
        raise InputError(f"why key {key!r} needs the parameter {exc.args[0]}") from None


def _whole(value: object) -> object:
    """A whole number as an int (so it is written without decimals), else as given."""
    v = _number(value)
    return int(v) if v is not None and v == int(v) else value


def _why(key: str, params: dict[str, object]) -> dict[str, object]:
    """The row's ``why`` (English), ``why_key`` and ``why_params`` (JSON text)."""
    return {"why": why_text(key, params, "en"), "why_key": key,
            "why_params": json.dumps(params, ensure_ascii=False, sort_keys=True)}


def why_in(frame: pd.DataFrame, language: str) -> pd.Series:
    """The ``why`` column of a win-back frame in ``language`` (en, zh or fa).

    Rows rendered from their ``why_key`` / ``why_params``; a row without them (a frame
    written before they existed) keeps its English ``why``.
    """
    if language not in LANGUAGES:
        raise InputError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    if language == "en" or "why_key" not in frame.columns or frame.empty:
        return frame["why"].copy() if "why" in frame.columns else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
    out = []
    for key, params, why in zip(frame["why_key"], frame["why_params"], frame["why"],
                                strict=True):
        if isinstance(key, str) and key and isinstance(params, str) and params:
            out.append(why_text(key, json.loads(params), language))
        else:
            out.append(why)
    return pd.Series(out, index=frame.index, dtype=object)


def _with_reasons(frame: pd.DataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    cols = ["customer_id", "reason", "sub_reason", "reason_source", "competitor"]
    r = reasons.reindex(columns=cols).drop_duplicates("customer_id").astype(object)
    out = frame.astype({"customer_id": object}).merge(r, on="customer_id", how="left")
    out["reason"] = out["reason"].fillna(UNKNOWN)
    out["sub_reason"] = out["sub_reason"].fillna(UNKNOWN)
    out["reason_source"] = out["reason_source"].fillna("unknown")
    out.loc[out["reason"] == UNKNOWN, ["sub_reason", "reason_source"]] = [UNKNOWN, "unknown"]
    bad = set(out["reason_source"]) - set(REASON_SOURCES)
    if bad:
        raise InputError(f"reason_source {sorted(bad)}: use one of {', '.join(REASON_SOURCES)}")
    known = set(MAIN_REASONS) | {UNKNOWN}
    if not set(out["reason"]) <= known:
        raise InputError(f"unknown reason codes {sorted(set(out['reason']) - known)}; use one "
                         f"of {', '.join(sorted(known))}")
    subs = set(SUB_REASONS) | {UNKNOWN}
    if not set(out["sub_reason"]) <= subs:
        raise InputError(f"unknown sub-reason codes {sorted(set(out['sub_reason']) - subs)}; "
                         f"use one of {', '.join(sorted(subs))}")
    return out


def _competitor_offer(policy: WinbackSection, competitor: object) -> str | None:
    if not isinstance(competitor, str):
        return None
    return policy.competitors.get(competitor)


def plan_lost(lost: pd.DataFrame, reasons: pd.DataFrame, policy: WinbackSection) -> pd.DataFrame:
    """The win-back plan of lost customers (pure: frames in, frame out).

    ``lost`` has one row per lost customer: ``customer_id, days_lost, sltv, grade`` (and
    optionally ``churned_at``, ``segment``); ``reasons`` one per customer with a known
    reason: ``customer_id, reason, sub_reason, reason_source`` (and optionally
    ``competitor``, a name listed in ``[winback.competitors]``). Customers without a row
    in ``reasons`` have an unknown reason. Returns ``lost`` with the plan columns
    (``action, offer, channel, contact_every_days, duration_days, why``), highest SLTV
    first within each action.
    """
    missing = {"customer_id", "days_lost", "sltv", "grade"} - set(lost.columns)
    if missing:
        raise InputError(f"lost customers need the columns {sorted(missing)}")
    check_policy(policy)
    out = _with_reasons(lost, reasons)
    out = out.sort_values("sltv", ascending=False, kind="stable").reset_index(drop=True)
    offers = 0
    rows: list[dict[str, object]] = []
    plans = {k: resolve_plan(policy, *k) for k in
             set(zip(out["reason"], out["sub_reason"], strict=True)) | {(UNKNOWN, UNKNOWN)}}
    for r in out.itertuples(index=False):
        plan = plans[(r.reason, r.sub_reason)]
        offer = plan.offer
        if plan.action == "offer" and r.reason == "competitor":
            offer = _competitor_offer(policy, r.competitor) or offer
        base: dict[str, object] = {
            "days_lost": _whole(r.days_lost), "reason": r.reason, "sub_reason": r.sub_reason,
            "reason_source": r.reason_source, "sltv": _number(r.sltv),
            "grade": None if pd.isna(r.grade) else str(r.grade)}
        note = _note(r.reason, r.sub_reason)
        nurture = _contact_params(plans[(UNKNOWN, UNKNOWN)])
        action = plan.action
        if r.days_lost > policy.max_days_lost:
            action, key = "skip", "wbwhy.lost.too_long"
            params = {**base, "max_days": policy.max_days_lost}
        elif not float(r.sltv) > policy.min_sltv:
            action, key = "skip", "wbwhy.lost.low_sltv"
            params = {**base, "min_sltv": policy.min_sltv}
        elif action == "skip":
            key, params = "wbwhy.lost.skip", {**base, "note": note or "policy_skip_reason"}
        elif action == "offer" and r.grade not in policy.offer_grades:
            plan = plans[(UNKNOWN, UNKNOWN)]
            action, offer, key = "nurture", None, "wbwhy.lost.grade_no_offer"
            params = {**base, **nurture, "offer_grades": list(policy.offer_grades)}
        elif action == "offer" and policy.max_offers and offers >= policy.max_offers:
            plan = plans[(UNKNOWN, UNKNOWN)]
            action, offer, key = "nurture", None, "wbwhy.lost.cap"
            params = {**base, **nurture, "max_offers": policy.max_offers}
        elif action == "offer":
            offers += 1
            named = (r.reason == "competitor" and isinstance(r.competitor, str)
                     and offer != plan.offer)
            key = "wbwhy.lost.offer_competitor" if named else "wbwhy.lost.offer"
            params = {**base, **_contact_params(plan), "offer": offer,
                      **({"competitor": r.competitor} if named else {})}
        else:
            key = "wbwhy.lost.nurture_note" if note else "wbwhy.lost.nurture"
            params = {**base, **_contact_params(plan), **({"note": note} if note else {})}
        pursued = action != "skip"
        rows.append({
            "action": action, "offer": offer if action == "offer" else None,
            "channel": plan.channel if pursued else None,
            "contact_every_days": plan.contact_every_days if pursued else None,
            "duration_days": plan.duration_days if pursued else None, **_why(key, params),
        })
    table = pd.DataFrame(rows, columns=["action", "offer", "channel", "contact_every_days",
                                        "duration_days", "why", "why_key", "why_params"])
    out = pd.concat([out, table], axis=1)
    for c in ("contact_every_days", "duration_days"):
        out[c] = out[c].astype("Int64")
    order = out["action"].map(ACTION_ORDER)
    return out.assign(_o=order).sort_values(["_o", "sltv"], ascending=[True, False],
                                            kind="stable").drop(columns="_o").reset_index(
        drop=True)


def plan_fast_saves(cancelling: pd.DataFrame, reasons: pd.DataFrame,
                    policy: WinbackSection) -> pd.DataFrame:
    """The fast-save plan of customers cancelling now (pure: frames in, frame out).

    ``cancelling``: ``customer_id, signal, signal_at, value_at_stake`` (one row per
    customer); ``reasons`` as for :func:`plan_lost`. The reason's plan decides: a skipped
    reason (unprofitable, relocation, over-marketing ...) is let go, a nurtured one (no
    longer needed) gets its nurture plan and no save attempt, an offer is made now through
    ``fast_save.channel``, and a customer whose reason is unknown gets ``fast_save.offer``
    (a call to learn why and what would keep them). Highest value at stake first.
    """
    check_policy(policy)
    fs = policy.fast_save
    out = _with_reasons(cancelling, reasons)
    out = out.sort_values("value_at_stake", ascending=False, kind="stable",
                          na_position="last").reset_index(drop=True)
    rows: list[dict[str, object]] = []
    for r in out.itertuples(index=False):
        plan = resolve_plan(policy, r.reason, r.sub_reason)
        when = pd.Timestamp(r.signal_at).strftime("%Y-%m-%d") if pd.notna(r.signal_at) else None
        base: dict[str, object] = {
            "signal": r.signal, "signal_at": when, "reason": r.reason,
            "sub_reason": r.sub_reason, "reason_source": r.reason_source,
            "value_at_stake": _number(r.value_at_stake)}
        note = _note(r.reason, r.sub_reason)
        if plan.action == "skip":
            rows.append({"action": "skip", "offer": None, "channel": None,
                         "contact_every_days": None, "duration_days": None,
                         **_why("wbwhy.cancel.skip", {**base, "note": note or "policy_skip"})})
            continue
        if plan.action == "nurture" and r.reason != UNKNOWN:
            key = "wbwhy.cancel.nurture_note" if note else "wbwhy.cancel.nurture"
            rows.append({"action": "nurture", "offer": None, "channel": plan.channel,
                         "contact_every_days": plan.contact_every_days,
                         "duration_days": plan.duration_days,
                         **_why(key, {**base, **_contact_params(plan),
                                      **({"note": note} if note else {})})})
            continue
        offer = plan.offer if plan.action == "offer" else fs.offer
        if plan.action == "offer" and r.reason == "competitor":
            offer = _competitor_offer(policy, r.competitor) or offer
        rows.append({"action": "fast_save", "offer": offer, "channel": fs.channel,
                     "contact_every_days": fs.contact_every_days,
                     "duration_days": max(fs.days, fs.contact_every_days),
                     **_why("wbwhy.cancel.fast_save", {
                         **base, "channel": fs.channel, "offer": offer,
                         "every": fs.contact_every_days})})
    plans = pd.DataFrame(rows, columns=["action", "offer", "channel", "contact_every_days",
                                        "duration_days", "why", "why_key", "why_params"])
    out = pd.concat([out, plans], axis=1)
    for c in ("contact_every_days", "duration_days"):
        out[c] = out[c].astype("Int64")
    return out


# -- reading the workspace -----------------------------------------------------------------

def _best_reason(mentions: pd.DataFrame) -> pd.DataFrame:
    """One reason per customer: a known reason first, structured before classified, then
    the most confident, then the latest."""
    if mentions.empty:
        return pd.DataFrame(columns=["customer_id", "reason", "sub_reason", "reason_source"])
    m = mentions.assign(_unknown=(mentions["reason"] == UNKNOWN).astype(int),
                        _rank=(mentions["method"] != "structured").astype(int))
    m = m.sort_values(["customer_id", "_unknown", "_rank", "confidence", "at"],
                      ascending=[True, True, True, False, False], kind="stable")
    first = m.drop_duplicates("customer_id").copy()
    first["reason_source"] = np.where(
        first["reason"] == UNKNOWN, "unknown",
        np.where(first["method"] == "structured", "structured", "classified"))
    return first[["customer_id", "reason", "sub_reason", "reason_source"]].reset_index(drop=True)


def _competitors(mentions: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The first configured competitor each customer's words name (latest text first)."""
    if not names or mentions.empty:
        return pd.DataFrame(columns=["customer_id", "competitor"])
    keys = [(n, normalise(n)) for n in names if normalise(n)]
    t = mentions[mentions["text"].notna()].sort_values("at", ascending=False)
    found: dict[str, str] = {}
    for cid, text in zip(t["customer_id"], t["text"], strict=True):
        if cid in found:
            continue
        norm = f" {normalise(str(text))} "
        for name, key in keys:
            if f" {key} " in norm or (not key.isascii() and key in norm):
                found[cid] = name
                break
    return pd.DataFrame({"customer_id": list(found), "competitor": list(found.values())})


def customer_reasons(mentions: pd.DataFrame, since: pd.DataFrame,
                     competitors: list[str]) -> pd.DataFrame:
    """Reason (and named competitor) per customer from the mentions at or after ``since``.

    ``mentions`` is :func:`churnguard.reasons.analysis.reason_mentions` output;
    ``since`` has ``customer_id, since`` (the start of the episode the reason is about).
    """
    if mentions.empty or since.empty:
        return pd.DataFrame(columns=["customer_id", "reason", "sub_reason", "reason_source",
                                     "competitor"])
    m = mentions.merge(since, on="customer_id")
    m = m[pd.to_datetime(m["at"], utc=True) >= m["since"]]
    out = _best_reason(m)
    return out.merge(_competitors(m, competitors), on="customer_id", how="left")


def _load_model(ws: Workspace) -> ReasonClassifier | None:
    from churnguard.reasons.training import load_model

    try:
        return load_model(ws, train_if_missing=True)
    except ChurnguardError as exc:
        log.warning("no reason classifier (%s): written reasons stay unknown", exc)
        return None


def _cancelling(ws: Workspace, latest: pd.DataFrame, cut: pd.Timestamp,
                days: int) -> pd.DataFrame:
    """Customers not yet lost with a cancellation signal in ``[cut - days, cut + days)``."""
    active = latest.loc[~latest["churned"].astype(bool), "customer_id"]
    if active.empty or days <= 0:
        return pd.DataFrame(columns=["customer_id", "signal", "signal_at"])
    wh = ws.warehouse
    lo, hi = (cut - pd.Timedelta(days=days)).to_pydatetime(), cut.to_pydatetime()
    fb = wh.table("feedback")
    fb = fb.filter(fb.source.isin(list(CHURN_SOURCES)), fb.at >= lo, fb.at < hi)
    f = fb.select("customer_id", signal=fb.source, signal_at=fb.at).to_pandas()
    ahead = (cut + pd.Timedelta(days=days)).to_pydatetime()
    s = wh.table("subscriptions")
    s = s.filter(s.started_at < ahead)  # a renewal booked to start in the window counts
    far = ibis.literal(dt.datetime(3000, 1, 1, tzinfo=dt.UTC))
    ends = s.group_by("customer_id").aggregate(last_end=s.ended_at.fill_null(far).max())
    ends = ends.filter(ends.last_end >= lo, ends.last_end < ahead)
    e = ends.to_pandas()
    e["signal_at"] = pd.to_datetime(e["last_end"], utc=True)
    e["signal"] = np.where(e["signal_at"] < cut, "subscription_ended", "subscription_ending")
    both = pd.concat([f, e[["customer_id", "signal", "signal_at"]]], ignore_index=True)
    both = both[both["customer_id"].isin(set(active))]
    both["signal_at"] = pd.to_datetime(both["signal_at"], utc=True)
    return (both.sort_values(["customer_id", "signal_at"], ascending=[True, False])
            .drop_duplicates("customer_id").reset_index(drop=True))


def _value_at_stake(ws: Workspace, ids: list[str], cut: pd.Timestamp) -> pd.DataFrame:
    """A year of revenue per customer: latest MRR x 12 if subscribed, else last year's orders."""
    if not ids:
        return pd.DataFrame(columns=["customer_id", "value_at_stake"])
    wh = ws.warehouse
    hi = cut.to_pydatetime()
    s = wh.table("subscriptions")
    s = s.filter(s.customer_id.isin(ids), s.started_at < hi)
    mrr = s.group_by("customer_id").aggregate(
        mrr=s.mrr.cast("float64").argmax(s.started_at)).to_pandas()
    o = wh.table("orders")
    o = o.filter(o.customer_id.isin(ids), o.ordered_at < hi,
                 o.ordered_at >= (cut - pd.Timedelta(days=365)).to_pydatetime())
    rev = o.group_by("customer_id").aggregate(orders=o.amount.cast("float64").sum()).to_pandas()
    out = pd.DataFrame({"customer_id": ids}).merge(mrr, how="left").merge(rev, how="left")
    out["value_at_stake"] = (12 * out["mrr"]).where(out["mrr"].notna(), out["orders"]).fillna(0.0)
    return out[["customer_id", "value_at_stake"]]


def winback(ws: Workspace, *, as_of: str | dt.date | dt.datetime | None = None,
            policy: WinbackSection | None = None,
            model: ReasonClassifier | Literal["workspace"] | None = "workspace",
            segment_by: str | None = "plan", fast_saves: bool = True) -> pd.DataFrame:
    """The win-back list of a workspace: fast saves, then lost customers by plan and SLTV.

    ``as_of`` defaults to the latest timestamp in the data; ``policy`` to the workspace's
    ``[winback]`` section; ``model`` to the workspace's reason classifier (trained from
    labelled feedback if none is saved; None reads structured reasons only). Returns a
    pandas frame with :data:`WINBACK_COLUMNS`; ``priority`` numbers the customers to
    pursue (1 = first), customers not pursued have none.
    """
    from churnguard.measure import labels
    from churnguard.reasons.analysis import reason_mentions
    from churnguard.value.sltv import sltv_frame

    policy = policy if policy is not None else ws.config.winback
    check_policy(policy)
    lab = labels(ws, as_of=as_of)
    if as_of is None:
        top = lab.aggregate(m=lab.observed_until.max()).to_pandas()
        if top.empty or pd.isna(top["m"].iloc[0]):
            raise InputError(f"{ws.root}: no customers (the workspace is empty); ingest "
                             "customers and their orders or subscriptions first.")
        cut = pd.Timestamp(top["m"].iloc[0])
    else:
        cut = pd.Timestamp(to_utc(as_of))
    wh = ws.warehouse
    sl = sltv_frame(lab, wh.table("orders"), wh.table("subscriptions"), wh.table("feedback"),
                    wh.table("customers"), as_of=cut.to_pydatetime(), segment_by=segment_by)
    last = lab.mutate(_last=lab.episode.max().over(group_by=lab.customer_id))
    latest = last.filter(last.episode == last._last).select(
        "customer_id", "start_at", "churned", "churn_at").to_pandas()
    latest["start_at"] = pd.to_datetime(latest["start_at"], utc=True)

    if isinstance(model, str) and model != "workspace":
        raise InputError(f"model {model!r}: give a ReasonClassifier, None (structured reasons "
                         "only) or 'workspace' (the workspace's saved classifier)")
    clf = _load_model(ws) if isinstance(model, str) else model
    mentions = reason_mentions(ws, clf)
    at = pd.to_datetime(mentions["at"], utc=True)
    days = policy.fast_save.days if fast_saves else 0
    ahead = cut + pd.Timedelta(days=days)
    mentions = mentions[(at < cut) | ((mentions["source"] == "subscription") & (at < ahead))]
    names = list(policy.competitors)

    lost_ids = latest.loc[latest["churned"].astype(bool), ["customer_id", "start_at"]]
    why_lost = customer_reasons(mentions, lost_ids.rename(columns={"start_at": "since"}), names)
    lost = sl.rename(columns={"churn_at": "churned_at"}).drop(columns=["reason"])
    frames = [plan_lost(lost, why_lost, policy)]
    cancelling = _cancelling(ws, latest, cut, days) if fast_saves else pd.DataFrame()
    if len(cancelling):
        since = pd.DataFrame({"customer_id": cancelling["customer_id"],
                              "since": cut - pd.Timedelta(days=days)})
        why_now = customer_reasons(mentions, since, names)
        value = _value_at_stake(ws, cancelling["customer_id"].tolist(), cut)
        frames.insert(0, plan_fast_saves(cancelling.merge(value, on="customer_id"), why_now,
                                         policy))
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else frames[-1]
    return finish(out)


def finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Order (fast saves, offers, nurture by value; skips last), number the priorities and
    return exactly :data:`WINBACK_COLUMNS`."""
    out = frame.reindex(columns=list(WINBACK_COLUMNS)).copy()
    value = out["sltv"].where(out["action"] != "fast_save", out["value_at_stake"])
    out = out.assign(_o=out["action"].map(ACTION_ORDER), _v=value.astype(float))
    out = out.sort_values(["_o", "_v"], ascending=[True, False], kind="stable",
                          na_position="last").drop(columns=["_o", "_v"]).reset_index(drop=True)
    pursued = (out["action"] != "skip").to_numpy()
    out["priority"] = pd.array(np.where(pursued, np.cumsum(pursued), 0), dtype="Int64")
    out.loc[~pursued, "priority"] = pd.NA
    for c in ("days_lost", "contact_every_days", "duration_days"):
        out[c] = out[c].astype("Int64")
    for c in ("churned_at", "signal_at"):
        out[c] = pd.to_datetime(out[c], utc=True)
    for c in ("sltv", "value_at_stake"):
        out[c] = out[c].astype(float)
    return out


__all__ = ["ACTION_ORDER", "DEFAULT_PLANS", "WINBACK_COLUMNS", "Plan", "check_policy",
           "customer_reasons", "finish", "plan_fast_saves", "plan_lost", "resolve_plan",
           "winback"]
