"""Serving tables: what the API and the dashboard read per request, built ahead by the pipeline.

At a million customers nothing may be computed or scanned in full per request. After
scoring, :func:`refresh` materialises into the warehouse:

``app_customers``
    one row per customer: profile (as JSON), status, value (CLV, P(alive), RFM), the
    latest score, the three reasons as codes and as sentences in every catalogue language,
    the score history (a list), the last contact and the at-risk rank. Sorted by
    ``customer_id`` with a unique ART index: one customer is an index lookup.
``app_at_risk``
    the ranked at-risk list (rank 1 = largest expected loss), sorted by rank: a page of
    the list is a zone-map-pruned range read.
``app_timeline``
    orders, subscriptions, interactions, tickets and feedback as ``customer_id, at, kind,
    summary``, sorted by customer: one customer's timeline reads one row group.
``app_meta``
    the data version the tables were built for, and the list's totals.

The server uses the tables only while ``app_meta.data_version`` equals the current data
version (:func:`churnguard.api.cache.data_version`); otherwise it falls back to computing
in memory, so a stale table is never shown. ``churnguard serve`` refreshes stale tables
before it starts serving; ``churnguard app-refresh`` does it on its own (the daily
pipeline's step after scoring).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import logging
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from churnguard.api.cache import FrameCache, data_version
from churnguard.errors import ChurnguardError
from churnguard.i18n import LANGUAGES

if TYPE_CHECKING:
    from collections.abc import Callable

    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

CUSTOMERS = "app_customers"
AT_RISK = "app_at_risk"
TIMELINE = "app_timeline"
META = "app_meta"
TABLES = (CUSTOMERS, AT_RISK, TIMELINE, META)
REASON_CODES = ("reason_1", "reason_2", "reason_3")
#: reason sentences per language: reason_1_en, reason_1_zh ... (as in the score output)
SENTENCE_COLUMNS = tuple(f"{r}_{lang}" for r in REASON_CODES for lang in LANGUAGES)
#: the same text as :meth:`churnguard.api.analytics.Analytics.timeline` reads live
TIMELINE_SQL = """
  SELECT customer_id, ordered_at AS "at", 'order' AS kind,
         concat_ws(' ', CAST(round(amount, 2) AS VARCHAR), currency, product) AS summary
    FROM orders
  UNION ALL SELECT customer_id, started_at, 'subscription',
         concat_ws(' ', plan, CAST(mrr AS VARCHAR), cancel_reason) FROM subscriptions
  UNION ALL SELECT customer_id, ended_at, 'subscription_end', concat_ws(' ', plan, cancel_reason)
    FROM subscriptions WHERE ended_at IS NOT NULL
  UNION ALL SELECT customer_id, "at", 'interaction', concat_ws(' ', channel, kind, direction)
    FROM interactions
  UNION ALL SELECT customer_id, opened_at, 'ticket',
         concat_ws(' ', category, CASE WHEN is_complaint THEN 'complaint' END) FROM tickets
  UNION ALL SELECT customer_id, "at", 'feedback',
         concat_ws(' ', source, CAST(score AS VARCHAR), text) FROM feedback"""


@dataclass
class RefreshReport:
    """What :func:`refresh` did."""

    version: str
    customers: int
    at_risk: int
    sentences: int
    timeline_rows: int
    seconds: float
    skipped: bool = False


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}


def built_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The data version the serving tables were built for (None: not built)."""
    if not set(TABLES) <= _tables(con):
        return None
    row = con.execute(f"SELECT value FROM {META} WHERE key = 'data_version'").fetchone()
    return str(json.loads(row[0])) if row else None


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``app_meta`` as a dict, JSON values decoded."""
    return {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META}").fetchall()}


def is_current(ws: Workspace) -> bool:
    return built_version(ws.warehouse.duck) == data_version(ws)


def at_risk_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The at-risk list of a customer frame: active customers with a risk, by expected loss
    (then probability); ``model`` scores win over the value model's inactivity risk."""
    base = frame[(frame["status"] == "active") & frame["risk"].notna()]
    source = "model" if (base["risk_source"] == "model").any() else (
        "value_model" if len(base) else "none")
    if source == "model":
        base = base[base["risk_source"] == "model"]
    base = base.sort_values(["expected_loss", "risk"], ascending=False, na_position="last",
                            kind="stable")
    return base, source


#: most customers whose reason sentences :func:`refresh` recomputes (the top of the list)
SENTENCES_TOP = 20_000


def _sentences(ws: Workspace, frame: pd.DataFrame, top: int = SENTENCES_TOP) -> pd.DataFrame:
    """Reason sentences (``reason_i_<lang>``) of the customers whose latest score has
    reasons, filled with their own feature values as of that score.

    Read from ``score_history`` when the scoring run kept them; otherwise recomputed with
    the scoring model (same model, same date: the same reasons as the codes kept) for the
    ``top`` riskiest customers of the high and medium band, by expected loss: the ones
    the at-risk list shows first. The others show their reason codes' labels.
    """
    cols = ["customer_id", *SENTENCE_COLUMNS]
    con = ws.warehouse.duck
    kept = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = "
        "'score_history'").fetchall()}
    if set(SENTENCE_COLUMNS) <= kept:
        df = con.execute(
            f"SELECT customer_id, {', '.join(SENTENCE_COLUMNS)} FROM score_history "
            "QUALIFY row_number() OVER (PARTITION BY customer_id "
            "ORDER BY as_of DESC, scored_at DESC) = 1").df()
        df["customer_id"] = df["customer_id"].astype(str)
        return df[cols]
    need = frame[frame["reason_1"].notna() & frame["risk_band"].isin(["high", "medium"])
                 & (frame["risk_source"] == "model")]
    need = need.sort_values("expected_loss", ascending=False, na_position="last").head(top)
    if need.empty:
        return pd.DataFrame(columns=cols)
    from churnguard.predict.score import score

    out = []
    for (as_of, version), group in need.groupby(["scored_at", "model_version"]):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = score(ws, as_of=pd.Timestamp(as_of).to_pydatetime(), version=str(version),
                            history=False, reasons="all", value=False,
                            customers=group["customer_id"].tolist())
        except (ChurnguardError, ValueError, OSError) as exc:
            log.warning("no reason sentences for model %s as of %s: %s", version, as_of, exc)
            continue
        if res.frame is not None and len(res.frame):
            out.append(res.frame.reindex(columns=cols))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def _text(value: Any) -> str | None:
    """A cell of a mixed object column as text (missing values stay missing)."""
    if value is None or isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


#: the dashboard's aggregates :func:`warm_aggregates` computes ahead
PERIODS = ("week", "month", "quarter", "year")


def warm_aggregates(ws: Workspace) -> list[str]:
    """Compute the dashboard's heavy aggregates (churn rates per period, cohorts, survival,
    segment moves, lost customers) into the frame cache of the current data version, so
    no page computes them on a request. Returns the names of those that could not be
    computed (the page then says so, or computes on first view)."""
    from churnguard.api.analytics import Analytics

    an = Analytics(ws, FrameCache(ws.root, persist=True), serving=False)
    jobs: dict[str, Callable[[], object]] = {
        **{f"rates_{p}": functools.partial(an.rates, p) for p in PERIODS},
        "cohorts": an.cohorts, "survival_all": lambda: an.survival(None),
        "rfm_migrations": an.segment_migrations, "lost": an.lost}
    failed = []
    for name, job in jobs.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                job()
        except (ChurnguardError, ValueError, ArithmeticError, KeyError) as exc:
            log.warning("aggregate %s not computed: %s", name, exc)
            failed.append(name)
    return failed


#: customers per chunk of the timeline build (each chunk is sorted on its own and appended
#: in id order, so the table ends up sorted without one sort of every event at once)
TIMELINE_CHUNK = 100_000


def _build_timeline(con: duckdb.DuckDBPyConnection, ids: pd.Series, *, full: bool) -> int:
    """Fill ``app_timeline_build`` (renamed to ``app_timeline`` by the caller), sorted by
    customer then time, newest first; empty when not ``full``."""
    con.execute(f"DROP TABLE IF EXISTS {TIMELINE}_build")
    con.execute(f"CREATE TABLE {TIMELINE}_build (customer_id VARCHAR, \"at\" TIMESTAMPTZ, "
                "kind VARCHAR, summary VARCHAR)")
    if not full:
        return 0
    ordered = sorted(ids.astype(str))
    bounds = ordered[::TIMELINE_CHUNK][1:]
    edges = [None, *bounds, None]
    for lo, hi in itertools.pairwise(edges):
        cond, params = [], []
        if lo is not None:
            cond.append("customer_id >= ?")
            params.append(lo)
        if hi is not None:
            cond.append("customer_id < ?")
            params.append(hi)
        where = f"WHERE {' AND '.join(cond)}" if cond else ""
        con.execute(f"INSERT INTO {TIMELINE}_build SELECT * FROM ({TIMELINE_SQL}) {where} "
                    "ORDER BY customer_id, \"at\" DESC NULLS LAST", params)
    return int(con.execute(f"SELECT count(*) FROM {TIMELINE}_build").fetchone()[0])  # type: ignore[index]


def refresh(ws: Workspace, *, force: bool = False, timeline: bool = True,
            aggregates: bool = False) -> RefreshReport:
    """Build the serving tables of ``ws`` (opened for writing) for its current data version,
    and with ``aggregates`` warm the dashboard's aggregates (:func:`warm_aggregates`).

    Skipped when they are current already, unless ``force``.
    """
    from churnguard.api.analytics import Analytics

    started = time.perf_counter()
    con = ws.warehouse.duck
    version = data_version(ws)
    if not force and built_version(con) == version:
        m = meta(con)
        return RefreshReport(version, int(m.get("customers", 0)), int(m.get("at_risk", 0)),
                             int(m.get("sentences", 0)), int(m.get("timeline_rows", 0)), 0.0,
                             skipped=True)
    # persisted: a refresh that fails later (say, out of memory) restarts from here
    an = Analytics(ws, FrameCache(ws.root, persist=True), serving=False)
    frame = an.customers().copy()
    sentences = _sentences(ws, frame)
    frame = frame.merge(sentences, on="customer_id", how="left")
    for c in SENTENCE_COLUMNS:
        if c not in frame.columns:
            frame[c] = None
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    ranked, source = at_risk_rows(frame)
    frame["risk_rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index)
    frame["risk_rank"] = frame["risk_rank"].astype("Int64")
    for c in frame.columns:  # object columns of mixed Python values: strings for DuckDB
        if frame[c].dtype == object and c not in SENTENCE_COLUMNS:
            frame[c] = frame[c].map(_text)
    timeline_rows = _build_timeline(con, frame["customer_id"], full=timeline)
    con.register("_app_frame", frame)
    try:
        con.execute("BEGIN")
        for name in (CUSTOMERS, AT_RISK, TIMELINE, META):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        history = ("(SELECT customer_id, list({'as_of': as_of, 'churn_probability': "
                   "churn_probability, 'risk_band': risk_band, 'model_version': model_version}"
                   " ORDER BY as_of, scored_at) AS history FROM score_history GROUP BY 1)"
                   if "score_history" in _tables(con) else
                   "(SELECT NULL::VARCHAR AS customer_id, NULL AS history WHERE false)")
        con.execute(f"""
            CREATE TABLE {CUSTOMERS} AS
            SELECT f.*, to_json(p) :: VARCHAR AS profile, h.history
              FROM _app_frame f
              LEFT JOIN (SELECT * EXCLUDE (_ingested_at) FROM customers) p
                ON p.customer_id = f.customer_id
              LEFT JOIN {history} h ON h.customer_id = f.customer_id
             ORDER BY f.customer_id""")
        con.execute(f"CREATE UNIQUE INDEX {CUSTOMERS}_id ON {CUSTOMERS} (customer_id)")
        con.execute(f"""CREATE TABLE {AT_RISK} AS SELECT * EXCLUDE (profile, history)
                        FROM {CUSTOMERS} WHERE risk_rank IS NOT NULL ORDER BY risk_rank""")
        con.execute(f"ALTER TABLE {TIMELINE}_build RENAME TO {TIMELINE}")
        high = ranked["risk_band"] == "high"
        values: dict[str, Any] = {
            "data_version": version, "built_at": dt.datetime.now(dt.UTC).isoformat(),
            "customers": len(frame), "at_risk": len(ranked), "risk_source": source,
            "high_risk": int(high.sum()),
            "value_at_stake": float(ranked["expected_loss"].fillna(0).sum()),
            "sentences": int(frame["reason_1_en"].notna().sum()),
            "timeline": bool(timeline), "timeline_rows": timeline_rows,
        }
        con.execute(f"CREATE TABLE {META} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.executemany(f"INSERT INTO {META} VALUES (?, ?)",
                        [[k, json.dumps(v)] for k, v in values.items()])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_app_frame")
    if aggregates:
        warm_aggregates(ws)
    return RefreshReport(version, len(frame), len(ranked), values["sentences"], timeline_rows,
                         time.perf_counter() - started)


def customer_row(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any] | None:
    """One customer's serving row (index lookup), or None."""
    cur = con.execute(f"SELECT * FROM {CUSTOMERS} WHERE customer_id = ?", [customer_id])
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description or ()]
    out = dict(zip(names, row, strict=True))
    out["profile"] = json.loads(out["profile"]) if out.get("profile") else {}
    return out


def at_risk_ranks(con: duckdb.DuckDBPyConnection, *, owner: str | None = None,
                  filters: dict[str, str | None] | None = None) -> np.ndarray:
    """The ranks (1 = most at risk) of the at-risk rows matching ``owner`` and ``filters``,
    in order: one narrow scan, so a page and the count are slices of it."""
    where, params = [], []
    for column, value in [("owner", owner), *sorted((filters or {}).items())]:
        if value is not None and value != "":
            where.append(f'CAST("{column}" AS VARCHAR) = ?')
            params.append(value)
    cond = " AND ".join(where) or "true"
    got = con.execute(f"SELECT risk_rank FROM {AT_RISK} WHERE {cond} ORDER BY risk_rank",
                      params).fetchnumpy()["risk_rank"]
    return np.asarray(got, dtype=np.int64)


def rows_by_rank(con: duckdb.DuckDBPyConnection, ranks: np.ndarray,
                 head: pd.DataFrame | None = None) -> pd.DataFrame:
    """The at-risk rows of ``ranks`` (ascending), from ``head`` (the list's first rows,
    kept in memory) when they all fall in it, else by a range read of the sorted table."""
    if head is not None and (len(ranks) == 0 or int(ranks[-1]) <= len(head)):
        return head.iloc[np.asarray(ranks, dtype=np.int64) - 1].reset_index(drop=True)
    if len(ranks) == 0:
        return con.execute(f"SELECT * FROM {AT_RISK} WHERE false").df()
    lo, hi = int(ranks[0]), int(ranks[-1])
    if hi - lo + 1 == len(ranks):  # consecutive ranks: a plain range
        return con.execute(f"SELECT * FROM {AT_RISK} WHERE risk_rank BETWEEN ? AND ? "
                           "ORDER BY risk_rank", [lo, hi]).df()
    return con.execute(f"SELECT * FROM {AT_RISK} WHERE risk_rank BETWEEN ? AND ? "
                       "AND list_contains(?, risk_rank) ORDER BY risk_rank",
                       [lo, hi, [int(r) for r in ranks]]).df()


def timeline(con: duckdb.DuckDBPyConnection, customer_id: str, limit: int) -> pd.DataFrame:
    return pd.DataFrame(timeline_rows(con, customer_id, limit),
                        columns=["at", "kind", "summary"])


def timeline_rows(con: duckdb.DuckDBPyConnection, customer_id: str,
                  limit: int) -> list[tuple[Any, str, str | None]]:
    """One customer's timeline as plain ``(at, kind, summary)`` rows, newest first (the
    360 view's hot path: no DataFrame)."""
    return con.execute(f'SELECT "at", kind, summary FROM {TIMELINE} WHERE customer_id = ? '
                       'ORDER BY "at" DESC NULLS LAST LIMIT ?', [customer_id, limit]).fetchall()


__all__ = ["TABLES", "RefreshReport", "at_risk_ranks", "at_risk_rows", "built_version",
           "customer_row", "is_current", "meta", "refresh", "rows_by_rank", "timeline",
           "timeline_rows"]
