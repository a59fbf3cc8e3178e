"""Score every active customer with the active model, in streamed batches.

Per customer: the churn probability (calibrated), the risk band, the three main reasons
(codes plus sentences in English, Chinese and Persian), CLV from the value layer when it
can be fitted, and the expected loss = probability x CLV. The feature query streams
Arrow batches (bounded memory); each batch is scored and written to the output file
without a pandas round trip: one LightGBM pass finds every customer's leaves, which give
both the probability and the path-attribution reasons (:mod:`.attribution`), and the
sentences are written once per distinct set of shown values and stored
dictionary-encoded (:func:`~churnguard.predict.reasons.sentence_columns`). The
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
from churnguard.predict.attribution import PathAttribution
from churnguard.predict.dataset import _empty, parse_as_of, workspace_tables
from churnguard.predict.features import build_features, feature_registry
from churnguard.predict.reasons import TOP_REASONS, ReasonPlan, sentence_columns
from churnguard.predict.registry import ModelRegistry, SavedModel
from churnguard.predict.rules import RULE_FEATURES, rule_risk, segment_risk

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
#: how reasons are attributed: ``path`` (per-tree path contributions, fast; see
#: :mod:`.attribution`) or ``shap`` (LightGBM's exact TreeSHAP, ~100x slower)
Method = Literal["path", "shap"]
BANDS = ("high", "medium", "low")


def _band_codes(p: np.ndarray, thresholds: Mapping[str, float]) -> np.ndarray:
    """Index into :data:`BANDS` per probability."""
    return np.where(p >= thresholds["high"], 0,
                    np.where(p >= thresholds["medium"], 1, 2)).astype(np.int8)


class BatchScorer:
    """Scores feature batches with one saved model.

    Built once per run: the model's path-attribution tables and its reason plan (feature
    -> reason group) do not change between batches. :meth:`score` takes an Arrow batch
    (as the feature query streams them) or a pandas frame and returns an Arrow table;
    the reason columns are dictionary-encoded (distinct sentences once).
    """

    def __init__(self, saved: SavedModel, registry: Mapping[str, Any], *,
                 method: Method = "path") -> None:
        if method not in ("path", "shap"):
            raise InputError(f"reason method {method!r}: use path or shap")
        self.saved, self.method = saved, method
        self.meta = saved.meta
        model = saved.model
        # a snapshot workspace's rule: its segments' churn rates (see .rules)
        self.segments = (self.meta.get("params") or {}).get("segments") if model is None \
            else None
        # the rule's parts whose feature this workspace has (a snapshot lacks the events)
        self.rule_keep = [j for j, f in enumerate(RULE_FEATURES) if f in registry]
        if self.segments is not None:
            self.rule_keep = list(range(len(self.segments["features"])))
            feats = [t["name"] for t in self.segments["features"]]
        else:
            feats = (model.encoder_.features if model is not None
                     else [RULE_FEATURES[j] for j in self.rule_keep])
        self.plan = ReasonPlan.of(feats, registry)
        self.weights = self.plan.matrix()
        self.sentences: dict[tuple[Any, ...], tuple[str, ...]] = {}  # across batches
        self.paths: PathAttribution | None = None
        if model is not None and method == "path":
            self.paths = PathAttribution(model.booster_, model.best_iteration_)
            self.table = self.paths.project(self.weights, dtype=np.float32)

    def _probabilities(self, frame: pa.RecordBatch | pd.DataFrame, explain: bool
                       ) -> tuple[np.ndarray, tuple[str, np.ndarray]]:
        """Calibrated probabilities, and what the reasons are computed from: the rule's
        ``parts``, the customers' ``leaves`` or the encoded ``matrix``."""
        model = self.saved.model
        if model is None:
            pdf = frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()
            p, parts = (segment_risk(pdf, self.segments) if self.segments is not None
                        else rule_risk(pdf, int(self.meta["params"]["window_days"])))
            return p, ("parts", parts)
        m = model.matrix(frame)
        if explain and self.paths is not None and self.paths.sigmoid_output:
            leaves = self.paths.leaves(m)  # one pass over the trees serves both
            raw = 1.0 / (1.0 + np.exp(-self.paths.raw_score(leaves)))
            return model.calibrator_.transform(raw), ("leaves", leaves)
        return model.predict_proba(m), ("matrix", m)

    def contributions(self, state: tuple[str, np.ndarray], pick: np.ndarray) -> np.ndarray:
        """The :meth:`ReasonPlan.matrix` columns (group sums, then the extra features) of
        the picked rows, in log-odds (rule: risk points)."""
        kind, data = state
        if kind == "parts":
            return data[pick][:, self.rule_keep] @ self.weights
        if self.paths is not None:
            leaves = data[pick] if kind == "leaves" else self.paths.leaves(data[pick])
            return self.paths.contributions(leaves, self.table)
        assert self.saved.model is not None
        shap = self.saved.model.contributions(data[pick])
        return shap[:, :len(self.plan.features)] @ self.weights

    def score(self, frame: pa.RecordBatch | pd.DataFrame, *, reasons: Reasons = "all"
              ) -> pa.Table:
        """``customer_id, churn_probability, risk_band`` and, unless ``reasons`` is
        ``none``, ``reason_i`` and ``reason_i_<lang>`` for i = 1..3."""
        n = len(frame)
        p, state = self._probabilities(frame, reasons != "none")
        band = _band_codes(p, self.meta["risk_bands"])
        ids = (frame["customer_id"].astype(str).to_numpy() if isinstance(frame, pd.DataFrame)
               else frame.column("customer_id"))
        cols: dict[str, Any] = {
            "customer_id": pa.array(ids, pa.string()) if isinstance(ids, np.ndarray)
            else ids.cast(pa.string()),
            "churn_probability": pa.array(p, pa.float64()),
            "risk_band": pa.DictionaryArray.from_arrays(pa.array(band, pa.int8()),
                                                        pa.array(BANDS)),
        }
        if reasons != "none":
            pick = np.flatnonzero(band < 2) if reasons == "at_risk" else np.arange(n)
            grp = np.full((n, TOP_REASONS), -1, dtype=np.int64)
            feat = np.full((n, TOP_REASONS), -1, dtype=np.int64)
            if len(pick):
                g, _, f = self.plan.top(self.contributions(state, pick))
                grp[pick], feat[pick] = g, f
            cols.update(sentence_columns(
                grp, feat, self.plan, _column_getter(frame),
                horizon_days=int(self.meta.get("horizon_days", 90)), cache=self.sentences))
        return pa.table(cols)


def _column_getter(frame: pa.RecordBatch | pd.DataFrame) -> Any:
    """``name -> values`` (NumPy; None-filled when the frame lacks the column)."""
    n = len(frame)
    if isinstance(frame, pd.DataFrame):
        def get(name: str) -> np.ndarray:
            return frame[name].to_numpy() if name in frame.columns else \
                np.full(n, None, dtype=object)
    else:
        names = set(frame.schema.names)

        def get(name: str) -> np.ndarray:
            return (frame.column(name).to_numpy(zero_copy_only=False) if name in names
                    else np.full(n, None, dtype=object))
    return get


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """An output table as pandas, text columns as the ``string`` dtype (not categorical)."""
    plain = pa.table({name: (col.cast(pa.string())
                             if pa.types.is_dictionary(col.type) else col)
                      for name, col in zip(table.column_names, table.columns, strict=True)})
    df = plain.to_pandas()
    for c in df.columns:
        if c.startswith("reason_") or c in ("risk_band", "model_version"):
            df[c] = df[c].astype("string")
    df["customer_id"] = df["customer_id"].astype(object)  # plain str, as the tables hold
    return df


def score_frame(saved: SavedModel, frame: pd.DataFrame, registry: Mapping[str, Any], *,
                reasons: Reasons | bool = "all", method: Method = "path") -> pd.DataFrame:
    """Probability, band and reasons for a feature frame (one batch), as pandas.

    ``reasons``: ``all`` customers, only those ``at_risk`` (high and medium band), or
    ``none``. ``method``: see :data:`Method`. For many batches build one
    :class:`BatchScorer` instead (this builds it per call).
    """
    mode: Reasons = ("all" if reasons else "none") if isinstance(reasons, bool) else reasons
    return _to_pandas(BatchScorer(saved, registry, method=method).score(frame, reasons=mode))


def _batches(expr: ir.Table, batch_size: int) -> Iterator[pa.RecordBatch]:
    reader = expr.to_pyarrow_batches(chunk_size=batch_size)
    for batch in reader:
        if batch.num_rows:
            yield batch


class _ValueLookup:
    """CLV per customer id, looked up batch by batch without a pandas merge."""

    def __init__(self, clv: pd.DataFrame | None) -> None:
        self.ids: pa.Array | None = None
        if clv is not None:
            clv = clv.drop_duplicates("customer_id")
            self.ids = pa.array(clv["customer_id"].astype(str).to_numpy(), pa.string())
            self.values = np.append(clv["clv"].to_numpy(dtype=np.float64), np.nan)

    def __call__(self, ids: pa.Array) -> np.ndarray:
        if self.ids is None:
            return np.full(len(ids), np.nan)
        import pyarrow.compute as pc

        pos = pc.index_in(ids, value_set=self.ids).fill_null(len(self.values) - 1)
        return self.values[pos.to_numpy(zero_copy_only=False)]


def score(ws: Workspace, *, as_of: str | date | datetime | None = "today",
          out: str | Path | None = None, version: str | None = None,
          batch_size: int = 100_000, history: bool = True, reasons: Reasons | bool = "all",
          customers: list[str] | None = None, value: bool = True,
          method: Method = "path") -> ScoreResult:
    """Score the active customers as of a date with the active (or given) model.

    Without ``out`` the rows come back in ``ScoreResult.frame``; with it they are streamed
    to a ``.parquet`` or ``.csv`` file. Memory stays bounded by the batch size, except for
    the run's slim history rows, which are inserted in one go at the end.
    """
    import pyarrow.parquet as pq

    cut = parse_as_of(as_of)
    if cut is None:
        raise InputError("score needs --as-of (a date, or 'today')")
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in OUT_FORMATS:
        raise InputError(f"{out_path}: write scores as {' or '.join(OUT_FORMATS)}")
    mode: Reasons = ("all" if reasons else "none") if isinstance(reasons, bool) else reasons
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
    lookup = _ValueLookup(clv)
    scorer = BatchScorer(saved, registry, method=method)
    scored_at = datetime.now(UTC)
    ts = pa.timestamp("us", tz="UTC")
    if history:
        ensure_history(ws)
    writer: Any = None
    parts: list[pa.Table] = []
    kept: list[pa.Table] = []
    n = 0
    counts = np.zeros(len(BANDS), dtype=np.int64)
    try:
        for batch in _batches(expr, batch_size):
            s = scorer.score(batch, reasons=mode)
            rows = s.num_rows
            ids = s.column("customer_id").combine_chunks()
            clv_v = lookup(ids)
            p = s.column("churn_probability").to_numpy()
            s = s.add_column(1, "as_of", pa.array(np.full(rows, cut), ts))
            s = s.append_column("clv", pa.array(clv_v, pa.float64(), from_pandas=True))
            s = s.append_column("expected_loss", pa.array(p * clv_v, pa.float64(),
                                                          from_pandas=True))
            s = s.append_column("model_version", pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(rows, np.int8)), pa.array([saved.version])))
            counts += np.bincount(s.column("risk_band").combine_chunks().indices
                                  .to_numpy(zero_copy_only=False), minlength=len(BANDS))
            n += rows
            if history:  # kept until the stream ends: a write would cut the open stream
                kept.append(pa.table({
                    name: (s.column(name).cast(pa.string()) if name in s.column_names
                           and pa.types.is_dictionary(s.column(name).type)
                           else s.column(name) if name in s.column_names
                           else pa.nulls(rows, pa.string()))
                    for name in HISTORY_SCHEMA.names if name != "scored_at"}
                ).add_column(2, "scored_at", pa.array(np.full(rows, scored_at), ts)))
            if out_path is None:
                parts.append(s)
            elif out_path.suffix.lower() == ".csv":
                plain = _to_pandas(s)  # CSV has no dictionaries; text is written plain
                plain.to_csv(out_path, mode="w" if writer is None else "a",
                             header=writer is None, index=False)
                writer = True
            else:
                if writer is None:
                    writer = pq.ParquetWriter(out_path, s.schema, store_schema=False)
                writer.write_table(s)
    finally:
        if writer is not None and writer is not True:
            writer.close()
    if kept:  # one insert: the run lands whole in score_history or not at all
        ws.warehouse.ibis.insert(HISTORY_TABLE, ibis.memtable(
            pa.concat_tables(kept).select(list(HISTORY_SCHEMA.names))))
    frame_out = (_to_pandas(pa.concat_tables(parts)) if parts else None) \
        if out_path is None else None
    bands = {b: int(c) for b, c in zip(BANDS, counts, strict=True)}
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
            version: str | None = None, method: Method = "path") -> dict[str, Any]:
    """Why one customer is at risk: probability, band, reasons in three languages, and the
    contribution of every reason group (log-odds), by the same attribution ``method`` as
    ``score`` so both name the same reasons (``shap`` for exact TreeSHAP values)."""
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
    scorer = BatchScorer(saved, registry, method=method)
    s = _to_pandas(scorer.score(frame)).iloc[0].to_dict()
    _, state = scorer._probabilities(frame, True)
    sums = scorer.contributions(state, np.arange(1))[0, :len(scorer.plan.codes)]
    groups = sorted(zip(scorer.plan.codes, sums.tolist(), strict=True), key=lambda g: -g[1])
    pop = active_customers(tables, ChurnRules.from_config(ws.config.churn), cut,
                           saved.meta.get("mode") == "snapshot")
    active = pop.filter(pop.customer_id == customer_id).count().to_pyarrow().as_py() > 0
    return {**s, "as_of": cut, "model_version": saved.version, "model_kind": saved.kind,
            "active": active, "groups": groups}
