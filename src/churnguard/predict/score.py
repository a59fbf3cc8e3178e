"""Score every active customer with the active model, in streamed batches.

Per customer: the churn probability (calibrated), the risk band, the three main reasons
(codes plus sentences in English, Chinese and Persian), CLV from the value layer when it
can be fitted, and the expected loss = probability x CLV. The feature query streams
Arrow batches (bounded memory); each batch is scored and written to the output file. The
run's slim rows (customer, as_of, probability, band, reason codes, model version,
scored_at) are appended to the warehouse table ``score_history`` in one insert when the
stream ends (a write on the connection would cut the open stream), so risk before churn
can be analysed later.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from churnguard.errors import InputError
from churnguard.measure.definitions import ChurnRules
from churnguard.measure.labels import label_episodes
from churnguard.predict.dataset import _empty, parse_as_of, workspace_tables
from churnguard.predict.features import build_features, feature_registry
from churnguard.predict.reasons import TOP_REASONS, reason_columns, top_reasons
from churnguard.predict.registry import ModelRegistry, SavedModel
from churnguard.predict.rules import RULE_FEATURES, rule_risk

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

HISTORY_TABLE = "score_history"
HISTORY_SCHEMA = ibis.schema({
    "customer_id": "string", "as_of": "timestamp('UTC')", "scored_at": "timestamp('UTC')",
    "model_version": "string", "churn_probability": "float64", "risk_band": "string",
    "reason_1": "string", "reason_2": "string", "reason_3": "string",
})
OUT_FORMATS = (".parquet", ".csv")


@dataclass
class ScoreResult:
    """Summary of a scoring run; ``frame`` holds the rows when no output file was given."""

    version: str
    as_of: datetime
    customers: int
    bands: dict[str, int]
    out: Path | None
    frame: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def active_customers(tables: Mapping[str, Any], rules: ChurnRules, as_of: datetime,
                     snapshot: bool) -> ir.Table:
    """The customers to score as an Ibis table of ``customer_id``: those whose latest
    episode is not churned as of the date (snapshot workspaces: ``churned`` not true)."""
    cust = tables["customers"]
    if snapshot:
        return cust.filter(cust.churned.isnull() | ~cust.churned).select("customer_id")
    lab = label_episodes(cust, tables.get("orders", _empty("orders")),
                         tables.get("interactions", _empty("interactions")),
                         tables.get("subscriptions", _empty("subscriptions")),
                         rules=rules, as_of=as_of)
    lab = lab.filter(lab.definition != "snapshot")
    lab = lab.mutate(_rk=ibis.row_number().over(group_by="customer_id",
                                                order_by=ibis.desc("episode")))
    return lab.filter(lab._rk == 0, ~lab.churned).select("customer_id")


def customer_value(ws: Workspace, as_of: datetime) -> pd.DataFrame | None:
    """CLV per customer (12 months) from the value layer, or None when it cannot be fitted."""
    from churnguard.errors import ChurnguardError
    from churnguard.value.pipeline import clv

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = clv(ws, as_of=as_of)
    except (ChurnguardError, ValueError, ArithmeticError) as exc:
        log.info("no CLV: %s", exc)
        return None
    return df[["customer_id", "clv"]].assign(customer_id=lambda d: d.customer_id.astype(str))


def ensure_history(ws: Workspace) -> None:
    """Create the ``score_history`` table if the warehouse lacks it."""
    con = ws.warehouse.ibis
    if HISTORY_TABLE not in con.list_tables():
        con.create_table(HISTORY_TABLE, schema=HISTORY_SCHEMA)


def score_history(ws: Workspace, customer_id: str | None = None) -> pd.DataFrame:
    """Every kept score (of one customer), oldest first."""
    con = ws.warehouse.ibis
    if HISTORY_TABLE not in con.list_tables():
        return pd.DataFrame(columns=list(HISTORY_SCHEMA.names))
    t = con.table(HISTORY_TABLE)
    if customer_id is not None:
        t = t.filter(t.customer_id == customer_id)
    return t.order_by(["customer_id", "as_of", "scored_at"]).to_pandas()


def bands_of(p: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """``high`` / ``medium`` / ``low`` per probability."""
    return np.where(p >= thresholds["high"], "high",
                    np.where(p >= thresholds["medium"], "medium", "low"))


Reasons = Literal["all", "at_risk", "none"]


def score_frame(saved: SavedModel, frame: pd.DataFrame, registry: Mapping[str, Any], *,
                reasons: Reasons | bool = "all") -> pd.DataFrame:
    """Probability, band and reasons for a feature frame (one batch).

    ``reasons``: ``all`` customers, only those ``at_risk`` (high and medium band; the
    per-customer contributions are the costly part of scoring), or ``none``.
    """
    mode = ("all" if reasons else "none") if isinstance(reasons, bool) else reasons
    meta = saved.meta
    if saved.model is not None:
        m = saved.model.matrix(frame)
        p = saved.model.predict_proba(m)
        contrib_features = saved.model.encoder_.features
    else:
        p, parts = rule_risk(frame, int(meta["params"]["window_days"]))
        contrib_features = list(RULE_FEATURES)
    band = bands_of(p, meta["risk_bands"])
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy(),
                        "churn_probability": p, "risk_band": band})
    if mode == "none":
        return out
    pick = np.flatnonzero(band != "low") if mode == "at_risk" else np.arange(len(frame))
    contrib = saved.model.contributions(m[pick]) if saved.model is not None else parts[pick]
    rs = top_reasons(contrib, contrib_features, registry)
    rows = frame.iloc[pick].to_dict("records")
    horizon = meta.get("horizon_days", 90)
    for r in rows:
        r["_horizon_days"] = horizon
    for k, v in reason_columns(rs, rows).items():
        col = np.full(len(frame), None, dtype=object)
        col[pick] = v
        out[k] = col
    return out


def _batches(expr: ir.Table, batch_size: int) -> Iterator[pd.DataFrame]:
    reader = expr.to_pyarrow_batches(chunk_size=batch_size)
    for batch in reader:
        if batch.num_rows:
            yield batch.to_pandas()


def score(ws: Workspace, *, as_of: str | date | datetime | None = "today",
          out: str | Path | None = None, version: str | None = None,
          batch_size: int = 100_000, history: bool = True, reasons: Reasons | bool = "all",
          customers: list[str] | None = None, value: bool = True) -> ScoreResult:
    """Score the active customers as of a date with the active (or given) model.

    Without ``out`` the rows come back in ``ScoreResult.frame``; with it they are streamed
    to a ``.parquet`` or ``.csv`` file.
    """
    cut = parse_as_of(as_of)
    if cut is None:
        raise InputError("score needs --as-of (a date, or 'today')")
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"{out_path}: write scores as {' or '.join(OUT_FORMATS)}")
    saved = ModelRegistry(ws.root).load(version)
    tables = workspace_tables(ws)
    registry = feature_registry(tables)
    saved.check_schema(registry)
    rules = ChurnRules.from_config(ws.config.churn)
    snapshot = saved.meta.get("mode") == "snapshot"
    pop = active_customers(tables, rules, cut, snapshot)
    if customers is not None:
        pop = pop.filter(pop.customer_id.isin([str(c) for c in customers]))
    expr = build_features(tables, cut, customers=pop)
    clv = customer_value(ws, cut) if value and not snapshot else None
    notes = [] if clv is not None else ["no CLV: the value models could not be fitted"]
    scored_at = datetime.now(UTC)
    if history:
        ensure_history(ws)
    writer: Any = None
    parts: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []
    n = 0
    bands = {"high": 0, "medium": 0, "low": 0}
    try:
        for frame in _batches(expr, batch_size):
            s = score_frame(saved, frame, registry, reasons=reasons)
            s.insert(1, "as_of", cut)
            if clv is not None:
                s = s.merge(clv, on="customer_id", how="left")
            else:
                s["clv"] = np.nan
            s["expected_loss"] = s["churn_probability"] * s["clv"]
            s["model_version"] = saved.version
            for c in s.columns:
                if c.startswith("reason_") or c in ("risk_band", "model_version"):
                    s[c] = s[c].astype("string")
            for b, c in s["risk_band"].value_counts().items():
                bands[str(b)] += int(c)
            n += len(s)
            if history:  # kept until the stream ends: a write would cut the open stream
                h = s.reindex(columns=list(HISTORY_SCHEMA.names))
                h["scored_at"] = scored_at
                kept.append(h)
            if out_path is None:
                parts.append(s)
            elif out_path.suffix.lower() == ".csv":
                s.to_csv(out_path, mode="w" if writer is None else "a", header=writer is None,
                         index=False)
                writer = True
            else:
                import pyarrow.parquet as pq

                tbl = pa.Table.from_pandas(s, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(out_path, tbl.schema)
                writer.write_table(tbl.cast(writer.schema))
    finally:
        if writer is not None and writer is not True:
            writer.close()
    if kept:  # one insert: the run lands whole in score_history or not at all
        ws.warehouse.ibis.insert(HISTORY_TABLE, ibis.memtable(
            pd.concat(kept, ignore_index=True), schema=HISTORY_SCHEMA))
    frame_out = (pd.concat(parts, ignore_index=True) if parts else None) if out_path is None \
        else None
    return ScoreResult(saved.version, cut, n, bands, out_path, frame_out, notes)


__all__ = [
    "HISTORY_TABLE",
    "TOP_REASONS",
    "ScoreResult",
    "active_customers",
    "score",
    "score_frame",
    "score_history",
]


def explain(ws: Workspace, customer_id: str, *, as_of: str | date | datetime | None = "today",
            version: str | None = None) -> dict[str, Any]:
    """Why one customer is at risk: probability, band, reasons in three languages, and the
    contribution of every reason group (log-odds)."""
    from churnguard.predict.reasons import group_contributions

    cut = parse_as_of(as_of)
    assert cut is not None
    saved = ModelRegistry(ws.root).load(version)
    tables = workspace_tables(ws)
    registry = feature_registry(tables)
    saved.check_schema(registry)
    cust = tables["customers"]
    if cust.filter(cust.customer_id == customer_id).count().to_pyarrow().as_py() == 0:
        raise InputError(f"customer {customer_id!r} is not in the workspace")
    frame = build_features(tables, cut, customers=[customer_id]).to_pandas()
    if frame.empty:
        raise InputError(f"customer {customer_id!r} has no features as of {cut.date()} "
                         "(signed up later?)")
    s = score_frame(saved, frame, registry).iloc[0].to_dict()
    if saved.model is not None:
        feats = saved.model.encoder_.features
        contrib = saved.model.contributions(saved.model.matrix(frame))
    else:
        feats = list(RULE_FEATURES)
        contrib = rule_risk(frame, int(saved.meta["params"]["window_days"]))[1]
    codes, sums, _ = group_contributions(contrib, feats, registry)
    groups = sorted(zip(codes, sums[0].tolist(), strict=True), key=lambda g: -g[1])
    pop = active_customers(tables, ChurnRules.from_config(ws.config.churn), cut,
                           saved.meta.get("mode") == "snapshot")
    active = pop.filter(pop.customer_id == customer_id).count().to_pyarrow().as_py() > 0
    return {**s, "as_of": cut, "model_version": saved.version, "model_kind": saved.kind,
            "active": active, "groups": groups}
