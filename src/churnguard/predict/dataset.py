"""Training examples of the churn model: point-in-time features plus a horizon label.

An *example* is a customer active at an origin ``t`` (their latest churn episode, from
:func:`churnguard.measure.labels.label_episodes`, is not churned as of ``t``), the
features as of ``t`` (only rows before ``t``), and the label *churned within the horizon*:
the same episode churns with ``churn_at`` in ``(t, t + horizon]``, read from the labels as
of ``t + horizon`` (so the label, too, uses nothing after ``t + horizon``).

An episode still undecided at ``t + horizon`` (a subscription that ended inside the horizon
whose grace period has not run out) is *censored within the horizon* and left out of
training; so is every customer when ``t + horizon`` lies after the end of the data.

Snapshot-only workspaces (a customer table with a ``churned`` column and no events) have
no time axis: the examples are every customer with a known ``churned`` flag.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from churnguard.errors import InputError
from churnguard.measure.definitions import ChurnRules
from churnguard.measure.labels import label_episodes, to_utc
from churnguard.predict.features import compute_features, feature_registry
from churnguard.predict.features.registry import Feature

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

#: event tables and the column that dates their rows
EVENT_TABLES = {"orders": "ordered_at", "interactions": "at", "subscriptions": "started_at",
                "tickets": "opened_at"}
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_horizon_days(text: str | int) -> int:
    """A horizon in days from ``90d``, ``13w``, ``3m`` (30 days each), ``1y`` or a number.

    >>> parse_horizon_days("90d"), parse_horizon_days("13w"), parse_horizon_days(30)
    (90, 91, 30)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        days = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*([dwmy]?)\s*", str(text).lower())
        if m is None:
            raise InputError(f"horizon {text!r} is not a duration; write e.g. 90d, 13w, 3m, 1y")
        days = int(m.group(1)) * _UNIT_DAYS[m.group(2) or "d"]
    if days < 7 or days > 3 * 365:
        raise InputError(f"horizon {text!r} must be between 7 days and 3 years")
    return days


def parse_as_of(value: str | date | datetime | None) -> datetime | None:
    """``as_of`` as aware UTC; ``today`` is today's midnight UTC, None stays None.

    >>> parse_as_of("2024-07-01").isoformat()
    '2024-07-01T00:00:00+00:00'
    """
    if isinstance(value, str) and value.strip().lower() in ("today", "now"):
        now = datetime.now(UTC)
        return datetime(now.year, now.month, now.day, tzinfo=UTC)
    return to_utc(value)


def workspace_tables(ws: Workspace) -> dict[str, Any]:
    """The contract tables of a workspace by name, plus ``_attributes`` when present."""
    wh = ws.warehouse
    names = set(wh.ibis.list_tables())
    out = {n: wh.table(n) for n in ("customers", *EVENT_TABLES, "feedback") if n in names}
    if "_attributes" in names:
        out["_attributes"] = wh.ibis.table("_attributes")
    return out


def _empty(kind: str) -> Any:
    schemas = {
        "orders": {"customer_id": "string", "ordered_at": "timestamp('UTC')", "amount": "float64"},
        "interactions": {"customer_id": "string", "at": "timestamp('UTC')",
                         "direction": "string"},
        "subscriptions": {"customer_id": "string", "subscription_id": "string",
                          "started_at": "timestamp('UTC')", "ended_at": "timestamp('UTC')"},
    }
    return ibis.memtable(pd.DataFrame({c: pd.Series(dtype="object") for c in schemas[kind]}),
                         schema=schemas[kind])


@dataclass
class DataRange:
    """What the workspace holds: event rows, their time span, and customers."""

    customers: int
    event_rows: int
    first_at: datetime | None
    last_at: datetime | None
    labelled_customers: int = 0

    @property
    def snapshot(self) -> bool:
        """True for a snapshot-only workspace: no events, customers with a churned flag."""
        return self.event_rows == 0 and self.labelled_customers > 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO dates)."""
        return {"customers": self.customers, "event_rows": self.event_rows,
                "first_at": self.first_at.isoformat() if self.first_at else None,
                "last_at": self.last_at.isoformat() if self.last_at else None,
                "snapshot": self.snapshot}


def data_range(tables: Mapping[str, Any]) -> DataRange:
    """Row counts and time span of the event tables, customer count and churned flags."""
    cust = tables["customers"]
    flag = cust.churned.notnull().sum() if "churned" in cust.columns else ibis.literal(0)
    row = cust.aggregate(n=cust.count(), flagged=flag).to_pyarrow().to_pylist()[0]
    rows, firsts, lasts = 0, [], []
    for name, col in EVENT_TABLES.items():
        if name not in tables:
            continue
        t = tables[name]
        r = t.aggregate(n=t.count(), lo=t[col].min(), hi=t[col].max()).to_pyarrow().to_pylist()[0]
        rows += int(r["n"])
        if r["n"]:
            firsts.append(r["lo"])
            lasts.append(r["hi"])
    def utc(v: datetime | None) -> datetime | None:
        return None if v is None else (v.replace(tzinfo=UTC) if v.tzinfo is None
                                       else v.astimezone(UTC))
    return DataRange(int(row["n"]), rows, utc(min(firsts)) if firsts else None,
                     utc(max(lasts)) if lasts else None, int(row["flagged"] or 0))


def end_of_data(rng: DataRange) -> datetime:
    """Midnight UTC after the last event: the latest origin whose past is fully known."""
    if rng.last_at is None:
        raise InputError("the workspace has no orders, interactions, subscriptions or tickets")
    d = rng.last_at.date() + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


@dataclass
class Examples:
    """Feature rows with labels: ``frame`` has ``customer_id``, ``origin``, the features, and
    ``churned`` (0/1; missing for scoring rows)."""

    frame: pd.DataFrame
    registry: dict[str, Feature]
    censored: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


class ExampleBuilder:
    """Builds (and caches) feature rows and horizon labels at origins of one workspace.

    Parameters
    ----------
    tables : mapping of str to ibis.Table
        The contract tables (see :func:`workspace_tables`).
    rules : ChurnRules
        The churn definition (the workspace's ``[churn]`` section).
    horizon_days : int
        Length of the horizon after each origin.
    """

    def __init__(self, tables: Mapping[str, Any], *, rules: ChurnRules,
                 horizon_days: int) -> None:
        self.tables = dict(tables)
        self.rules = rules
        self.horizon_days = horizon_days
        self.registry = feature_registry(self.tables)
        self._labels: dict[datetime, pd.DataFrame] = {}
        self._features: dict[datetime, pd.DataFrame] = {}

    def episodes(self, as_of: datetime) -> pd.DataFrame:
        """The label episodes as of a date (cached), as a pandas frame."""
        if as_of not in self._labels:
            t = self.tables
            lab = label_episodes(
                t["customers"], t.get("orders", _empty("orders")),
                t.get("interactions", _empty("interactions")),
                t.get("subscriptions", _empty("subscriptions")), rules=self.rules, as_of=as_of)
            self._labels[as_of] = lab.select(
                "customer_id", "episode", "churned", "churn_at", "definition",
                "last_activity_at", "observed_until").to_pandas()
        return self._labels[as_of]

    def active(self, as_of: datetime) -> pd.DataFrame:
        """Customers whose latest episode is not churned as of the date (event-defined only):
        ``customer_id, episode``."""
        e = self.episodes(as_of)
        e = e[e["definition"] != "snapshot"]
        last = e.sort_values(["customer_id", "episode"]).groupby("customer_id").tail(1)
        return last.loc[~last["churned"].astype(bool), ["customer_id", "episode"]]

    def features(self, as_of: datetime) -> pd.DataFrame:
        """The feature table as of a date (cached)."""
        if as_of not in self._features:
            self._features[as_of] = compute_features(self.tables, as_of)
        return self._features[as_of]

    def labelled(self, origin: datetime) -> Examples:
        """Active customers at ``origin`` with features and the label churned-in-horizon.

        Episodes undecided at ``origin + horizon`` are dropped (counted in ``censored``).
        """
        end = origin + timedelta(days=self.horizon_days)
        pop = self.active(origin)
        later = self.episodes(end)
        j = pop.merge(later, on=["customer_id", "episode"], how="left")
        churn_at = pd.to_datetime(j["churn_at"], utc=True)
        churned = j["churned"].fillna(False).astype(bool) & (churn_at <= end)
        undecided = (~j["churned"].fillna(False).astype(bool)
                     & (j["definition"] == "contractual")
                     & (pd.to_datetime(j["last_activity_at"], utc=True)
                        < pd.to_datetime(j["observed_until"], utc=True)))
        keep = j.loc[~undecided, ["customer_id"]].assign(churned=churned[~undecided].astype(int))
        feats = self.features(origin)
        frame = feats.merge(keep, on="customer_id", how="inner")
        frame.insert(1, "origin", origin)
        return Examples(frame.drop(columns=["as_of"]), self.registry,
                        censored=int(undecided.sum()))

    def unlabelled(self, origin: datetime) -> pd.DataFrame:
        """Active customers at ``origin`` with their features (for scoring)."""
        pop = self.active(origin)
        feats = self.features(origin)
        frame = feats.merge(pop[["customer_id"]], on="customer_id", how="inner")
        frame.insert(1, "origin", origin)
        return frame.drop(columns=["as_of"])


def stack(parts: list[Examples]) -> Examples:
    """Several origins' examples as one (rows in origin order)."""
    if not parts:
        raise InputError("no training examples: no active customers at any origin")
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    return Examples(frame, parts[0].registry, censored=sum(p.censored for p in parts))


def snapshot_examples(tables: Mapping[str, Any], as_of: datetime | None = None) -> Examples:
    """Every customer with a known ``churned`` flag, with features (profile and attributes)."""
    as_of = as_of or datetime.now(UTC)
    feats = compute_features(tables, as_of)
    cust = tables["customers"]
    flags = cust.filter(cust.churned.notnull()).select("customer_id", "churned").to_pandas()
    frame = feats.merge(flags, on="customer_id", how="inner")
    frame["churned"] = frame["churned"].astype(bool).astype(int)
    frame.insert(1, "origin", as_of)
    return Examples(frame.drop(columns=["as_of"]), feature_registry(tables))


def label_rate(y: np.ndarray) -> float:
    """Share of positives (0 for an empty array)."""
    return float(np.mean(y)) if len(y) else 0.0
