"""Warning rules (R9, R15, R25): named boolean expressions over features and model outputs.

Rules come from the workspace TOML (``[[rules]]``) on top of the built-in
:data:`DEFAULT_RULES`: a TOML rule with a default's name overrides only the keys it sets
(``enabled = false`` switches a default off), any other name adds a rule. Every rule is
parsed and checked at load time (:func:`load_rules`), so a typo in a feature name fails
before anything runs, with the closest names suggested.

>>> rules = load_rules([])
>>> [r.name for r in rules][:3]
['purchase frequency drop', 'interaction drop', 'complaints rising']
>>> import pandas as pd
>>> frame = pd.DataFrame({"customer_id": ["a", "b"], "complaints_90d": [2, 1],
...                       "unresolved_complaints": [1, 0],
...                       "resolution_days_mean_90d": [0.5, 1.0]})
>>> hits, notes = evaluate_rules([r for r in rules if r.name == "complaints rising"], frame)
>>> hits[["customer_id", "rule", "severity"]].to_dict("records")
[{'customer_id': 'a', 'rule': 'complaints rising', 'severity': 'high'}]
>>> for reason in hits.loc[0, "reasons"]:
...     print(reason.split(" (rule")[0])
Complaints opened in the 90 days before as_of: 2
Complaints opened before as_of and not resolved before it: 1
Mean days to resolution of the tickets resolved in the 90 days before as_of: 0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from churnguard.act.expr import Expression, RuleError
from churnguard.predict.features import FEATURES
from churnguard.warehouse.config import RuleConfig

#: outputs of the model and value layers rules may use: name -> (layer, description)
OUTPUTS: dict[str, tuple[str, str]] = {
    "churn_probability": ("model", "Churn probability from the active churn model"),
    "risk_band": ("model", "Risk band of the active churn model (low, medium, high)"),
    "clv": ("value", "Customer lifetime value over 12 months (BG/NBD + Gamma-Gamma)"),
    "p_alive": ("value", "Probability the customer is still active (BG/NBD)"),
    "value_band": ("value", "Value band by CLV (low, medium, high)"),
    "rfm_segment": ("rfm", "RFM segment (e.g. Champions, At risk, Hibernating)"),
    "r_score": ("rfm", "RFM recency score (5 = most recent)"),
    "f_score": ("rfm", "RFM frequency score (5 = most frequent)"),
    "m_score": ("rfm", "RFM monetary score (5 = highest spend)"),
    "value_at_stake": ("value", "Value at stake (see the alert's basis)"),
    "owner": ("customers", "The customer's owner (account manager)"),
}

#: what to say when a layer a rule needs has not produced its columns
MISSING_LAYER = {
    "model": "no churn model is active (train one with `churnguard train <workspace>`); "
             "rules on churn_probability / risk_band are skipped, not guessed",
    "value": "the value models (CLV) could not be fitted on this workspace's orders",
    "rfm": "there are no orders to compute RFM scores from",
    "customers": "the customers table has no owner column",
}

#: the brief's signals as rules. Thresholds are per-customer relative changes with a minimum
#: of past activity (so a "drop" is one), tuned on simulated shops of seeds 11 and 17 and
#: measured on seeds 23 and 5 (see :mod:`churnguard.act.evaluate` and
#: docs/rules-evaluation.md for precision, recall and lift per rule)
DEFAULT_RULES: tuple[RuleConfig, ...] = (
    RuleConfig(
        name="purchase frequency drop", severity="medium", playbook="reengage_offer",
        when="orders_prev_90d >= 3 and orders_90d * 2 <= orders_prev_90d "
             "and days_since_last_order >= 45",
        description="A regular buyer (3+ orders in the 90 days before last) ordered half as "
                    "often or less in the last 90 days, and not at all for 45 days."),
    RuleConfig(
        name="interaction drop", severity="medium", playbook="check_in_call",
        when="interactions_prev_90d >= 9 and interactions_90d * 2 <= interactions_prev_90d "
             "and interactions_30d * 6 <= interactions_90d",
        description="Logins, visits and other own interactions halved over 90 days and "
                    "are still falling: the last 30 days are well under the pace of the 60 "
                    "before (an active customer: 9+ in the 90 days before)."),
    RuleConfig(
        name="complaints rising", severity="high", playbook="service_recovery",
        when="complaints_90d >= 1 and (unresolved_complaints >= 1 "
             "or resolution_days_mean_90d >= 2)",
        description="A complaint in the last 90 days that is still open, or tickets that "
                    "took two days or more on average to resolve."),
    RuleConfig(
        name="no contact", severity="low", playbook="check_in_call",
        when="(days_since_last_contact >= 120 or isnull(days_since_last_contact)) "
             "and tenure_days >= 120 and interactions_prev_90d >= 6 "
             "and interactions_90d * 2 <= interactions_prev_90d",
        description="Nobody has contacted the customer in person for 120 days or more "
                    "(newsletters do not count) while their own activity halved."),
    RuleConfig(
        name="request not followed up", severity="high", playbook="sales_follow_up",
        when="open_requests >= 1 and days_oldest_open_request >= 3 "
             "and days_oldest_open_request < 180",
        description="A quote or information request has waited three days or more without "
                    "anyone answering it in person (older than 180 days: stale, not alerted)."),
    RuleConfig(
        name="high value at high risk", severity="high", playbook="executive_save",
        route="best_retention_staff", cooldown_days=30,
        when="value_band in ['high', 'medium'] and risk_band == 'high'",
        description="A customer in the upper two value bands (12-month CLV) whom the churn "
                    "model puts in its high-risk band."),
)


def known_names(extra: Iterable[str] = ()) -> dict[str, str]:
    """Every name a rule may use, with its description (features, outputs, ``extra``)."""
    out = {name: f.description for name, f in FEATURES.items()}
    out.update({k: v[1] for k, v in OUTPUTS.items()})
    out.update({k: "custom column" for k in extra if k not in out})
    return out


@dataclass(frozen=True)
class Rule:
    """A loaded, checked rule."""

    config: RuleConfig
    expression: Expression

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def layers(self) -> set[str]:
        """Layers besides the features the rule needs (``model``, ``value``, ``rfm``)."""
        return {OUTPUTS[n][0] for n in self.expression.names if n in OUTPUTS}


def merge_rules(configured: Sequence[RuleConfig], *,
                defaults: Sequence[RuleConfig] = DEFAULT_RULES) -> list[RuleConfig]:
    """Defaults overridden (only the keys set in TOML) or extended by the configured rules."""
    by_name = {r.name: r for r in defaults}
    order = [r.name for r in defaults]
    seen: set[str] = set()
    for cfg in configured:
        if cfg.name in seen:
            raise RuleError(f"[[rules]] {cfg.name!r} is defined twice; rule names must be "
                            "unique")
        seen.add(cfg.name)
        if cfg.name in by_name:
            update = {k: getattr(cfg, k) for k in cfg.model_fields_set if k != "name"}
            by_name[cfg.name] = by_name[cfg.name].model_copy(update=update)
        else:
            by_name[cfg.name] = cfg
            order.append(cfg.name)
    return [by_name[n] for n in order]


def load_rules(configured: Sequence[RuleConfig], *, extra_names: Iterable[str] = (),
               channels: Iterable[str] | None = None,
               defaults: Sequence[RuleConfig] = DEFAULT_RULES) -> list[Rule]:
    """Merge, parse and check the rules; disabled rules are left out.

    ``channels`` (names of configured channels) makes a rule notifying an unknown channel
    an error too. Raises :class:`RuleError`.
    """
    names = known_names(extra_names)
    chan = set(channels) if channels is not None else None
    out = []
    for cfg in merge_rules(configured, defaults=defaults):
        if not cfg.enabled:
            continue
        expr = Expression.parse(cfg.when, names, rule=f"[[rules]] {cfg.name!r}")
        if chan is not None:
            for c in cfg.notify:
                if c not in chan:
                    raise RuleError(f"[[rules]] {cfg.name!r}: notify names channel {c!r}, "
                                    f"which is not a [[channels]] name (have: "
                                    f"{', '.join(sorted(chan)) or 'none'})")
        out.append(Rule(cfg, expr))
    return out


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "unknown"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}".rstrip("0").rstrip(".")
    return str(v)


def reasons_in_words(rule: Rule, row: Mapping[str, Any],
                     descriptions: Mapping[str, str]) -> list[str]:
    """One sentence per comparison of the rule, with the customer's value."""
    out = []
    for c in rule.expression.conditions:
        if c.name not in row:
            continue
        desc = descriptions.get(c.name, c.name).rstrip(".")
        others = [f"{o} = {_fmt(row[o])}" for o in rule.expression.names
                  if o != c.name and o in row and o in c.text.split(c.name, 1)[-1]]
        extra = f"; {', '.join(others)}" if others else ""
        out.append(f"{desc}: {_fmt(row[c.name])} (rule: {c.text}{extra})")
    if not out:
        out.append(rule.config.description or f"matches {rule.expression.source}")
    return out


def evaluate_rules(rules: Sequence[Rule], frame: pd.DataFrame, *,
                   missing: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Evaluate every rule over the customers of ``frame`` (vectorised).

    Returns ``(hits, notes)``: ``hits`` has one row per customer x rule that fires with
    ``customer_id, rule, severity, playbook, route, notify, cooldown_days, reasons`` (list
    of sentences) and ``values`` (dict of the columns the rule read); ``notes`` says which
    rules were skipped because a layer they need is missing (``missing`` maps a layer to
    why; default :data:`MISSING_LAYER`).
    """
    why = dict(MISSING_LAYER, **(missing or {}))
    descriptions = known_names(frame.columns)
    frame = frame.reset_index(drop=True)
    parts: list[pd.DataFrame] = []
    notes: list[str] = []
    for rule in rules:
        absent = [n for n in rule.expression.names if n not in frame.columns]
        if absent:
            layers = sorted({OUTPUTS[n][0] for n in absent if n in OUTPUTS})
            reason = "; ".join(why[lay] for lay in layers) or f"no column {', '.join(absent)}"
            notes.append(f"rule {rule.name!r} skipped: it needs {', '.join(absent)}, and "
                         f"{reason}")
            continue
        mask = rule.expression.evaluate(frame)
        if not mask.any():
            continue
        sub = frame.loc[mask, ["customer_id", *rule.expression.names]]
        rows = sub.to_dict("records")
        cfg = rule.config
        parts.append(pd.DataFrame({
            "customer_id": sub["customer_id"].astype(str).to_numpy(),
            "rule": cfg.name, "severity": cfg.severity, "playbook": cfg.playbook,
            "route": cfg.route, "notify": [list(cfg.notify)] * len(sub),
            "cooldown_days": cfg.cooldown_days,
            "reasons": [reasons_in_words(rule, r, descriptions) for r in rows],
            "values": [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                        for k, v in r.items() if k != "customer_id"} for r in rows],
        }))
    cols = ["customer_id", "rule", "severity", "playbook", "route", "notify",
            "cooldown_days", "reasons", "values"]
    hits = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return hits, notes


__all__ = ["DEFAULT_RULES", "OUTPUTS", "Rule", "RuleError", "evaluate_rules", "known_names",
           "load_rules", "merge_rules", "reasons_in_words"]
