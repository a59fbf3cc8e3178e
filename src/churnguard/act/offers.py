"""Retention offers: what may be offered, at what cost, to whom (``offers.toml``).

::

    [[offers]]
    name = "discount_20pct"
    cost = 60                          # per accepted customer, workspace currency
    eligible = "contract_type == 'month-to-month'"
    campaign_offer = "discount_20pct"  # the past campaigns' offer it is learned from
    acceptance_rate = 0.45             # optional; default: measured in past campaigns

``eligible`` is a rule over the per-customer inputs (features, ``churn_probability``,
``clv``, RFM, ...: the names warning rules use), parsed by the safe expression language
of :mod:`churnguard.act.expr`; an unknown name is an error listing the closest names.
``campaign_offer`` defaults to ``name``. A missing ``eligible`` means everyone.

>>> offers = parse_offers({"offers": [{"name": "call", "cost": 30,
...     "eligible": "complaints_90d >= 1"}]}, {"complaints_90d"})
>>> offers[0].name, offers[0].cost, offers[0].campaign_offer
('call', 30.0, 'call')
>>> parse_offers({"offers": [{"name": "call", "cost": 30, "eligible": "complaint_90d > 0"}]},
...              {"complaints_90d"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
churnguard.act.expr.RuleError: offers.toml: offer 'call', key eligible: unknown name ...
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from churnguard.act.expr import Expression
from churnguard.errors import InputError

KEYS = ("name", "cost", "eligible", "campaign_offer", "acceptance_rate", "description")


@dataclass(frozen=True)
class Offer:
    """One retention offer."""

    name: str
    cost: float
    eligible: Expression | None = None
    campaign_offer: str = ""
    acceptance_rate: float | None = None
    description: str = ""

    def eligible_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array of shape (n_customers,): who may get this offer."""
        if self.eligible is None:
            return np.ones(len(frame), dtype=bool)
        return self.eligible.evaluate(frame)


def load_offers(path: str | Path, known: Collection[str]) -> list[Offer]:
    """Read and check an offers file; ``known`` are the names ``eligible`` may use."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: offers file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_offers(data, known, source=str(path))


def parse_offers(data: Mapping[str, Any], known: Collection[str], *,
                 source: str = "offers.toml") -> list[Offer]:
    """Offers from parsed TOML (``{"offers": [...]}``); errors name file, offer and key."""
    extra = [k for k in data if k != "offers"]
    if extra:
        raise InputError(f"{source}: unknown top-level key {extra[0]!r}; write each offer "
                         "as an [[offers]] table")
    items = data.get("offers")
    if not isinstance(items, list) or not items:
        raise InputError(f"{source}: no offers; add at least one [[offers]] table with "
                         "name and cost")
    out: list[Offer] = []
    seen: set[str] = set()
    for i, item in enumerate(items, start=1):
        where = f"{source}: offer #{i}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: must be a table ([[offers]])")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{where}: missing key name (a non-empty string)")
        name = name.strip()
        where = f"{source}: offer {name!r}"
        for k in item:
            if k not in KEYS:
                near = difflib.get_close_matches(k, KEYS, n=1)
                hint = f"did you mean {near[0]}?" if near else f"allowed: {', '.join(KEYS)}"
                raise InputError(f"{where}: unknown key {k!r}; {hint}")
        if name in seen:
            raise InputError(f"{where}: defined twice; offer names must be unique")
        seen.add(name)
        if "cost" not in item:
            raise InputError(f"{where}: missing key cost (cost per accepted customer)")
        cost = item["cost"]
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(
                cost) or cost < 0:
            raise InputError(f"{where}, key cost: {cost!r} is not a number >= 0")
        rule = item.get("eligible")
        expr = None
        if rule is not None:
            if not isinstance(rule, str):
                raise InputError(f"{where}, key eligible: {rule!r} is not a string rule")
            expr = Expression.parse(rule, known, rule=f"{where}, key eligible")
        acc = item.get("acceptance_rate")
        if acc is not None and (isinstance(acc, bool) or not isinstance(acc, int | float)
                                or not 0 < acc <= 1):
            raise InputError(f"{where}, key acceptance_rate: {acc!r} must be in (0, 1]")
        camp = item.get("campaign_offer", name)
        if not isinstance(camp, str) or not camp.strip():
            raise InputError(f"{where}, key campaign_offer: {camp!r} is not a name")
        desc = item.get("description", "")
        out.append(Offer(name, float(cost), expr, camp.strip(),
                         None if acc is None else float(acc), str(desc)))
    return out


__all__ = ["KEYS", "Offer", "load_offers", "parse_offers"]
