"""What the API and the dashboard show, computed once per data version (see :mod:`.cache`).

:class:`Analytics` wraps one request's read-only workspace view and the server's frame
cache. The central frame is :meth:`Analytics.customers`: one row per customer with the
profile, value (CLV, P(alive), RFM segment), the latest model score (when a model has
scored) and the last contact. Lists, the at-risk view and exports filter it; owner scoping
is applied by the callers through :func:`scoped`.

When the pipeline has built the serving tables for the current data version
(:mod:`churnguard.api.serving`), the per-request reads — one customer, a page of the
at-risk list, a timeline — are index or zone-map lookups in them and the customer frame
is loaded from ``app_customers`` instead of being recomputed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnguard.api import serving as srv
from churnguard.api.cache import FrameCache
from churnguard.errors import ChurnguardError

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

PROFILE = ("customer_id", "name", "owner", "region", "industry", "acquisition_channel",
           "first_offer", "plan", "contract_type", "signup_at")
SEGMENT_DIMENSIONS = ("region", "acquisition_channel", "plan", "contract_type", "industry")
VALUE_BANDS = ("high", "medium", "low")
RISK_BANDS = ("high", "medium", "low")


def scoped(frame: pd.DataFrame, owner: str | None) -> pd.DataFrame:
    """Only the rows of ``owner``'s customers (``owner`` None: all rows)."""
    if owner is None:
        return frame
    return frame[frame["owner"] == owner]


#: rows of the unfiltered at-risk list kept in memory per data version (its first pages)
AT_RISK_HEAD = 1000
#: filters whose matching at-risk ranks are kept in memory per data version
AT_RISK_FILTERS_KEPT = 32


class Analytics:
    """The numbers of one workspace as of its data; cached per data version."""

    def __init__(self, ws: Workspace, cache: FrameCache, *, serving: bool = True) -> None:
        self.ws = ws
        self.cache = cache
        self.version = cache.version(ws)
        #: the serving tables are current: per-request reads go to them
        self.serving = serving and cache.memo(
            self.version, "serving", lambda: srv.built_version(ws.warehouse.duck) == self.version)
        self._rows: dict[str, dict[str, Any] | None] = {}

    @property
    def serving_meta(self) -> dict[str, Any]:
        """``app_meta`` of the current serving tables (read once per data version)."""
        return self.cache.memo(self.version, "serving_meta",
                               lambda: srv.meta(self.ws.warehouse.duck))

    # -- helpers ----------------------------------------------------------------------------
    def _sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.ws.warehouse.duck.execute(sql, params or []).df()

    def has_table(self, name: str) -> bool:
        return bool(self.ws.warehouse.duck.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0])  # type: ignore[index]

    def count(self, table: str) -> int:
        if not self.has_table(table):
            return 0
        return int(self.ws.warehouse.duck.execute(
            f'SELECT count(*) FROM "{table}"').fetchone()[0])  # type: ignore[index]

    def as_of(self) -> dt.datetime | None:
        """The day after the last order or interaction: "today" of the data."""
        row = self.ws.warehouse.duck.execute(
            "SELECT greatest((SELECT max(ordered_at) FROM orders), "
            "(SELECT max(\"at\") FROM interactions), (SELECT max(started_at) FROM subscriptions))"
        ).fetchone()
        last = row[0] if row else None
        if last is None:
            return None
        day = pd.Timestamp(last).tz_convert("UTC").normalize() + pd.Timedelta(days=1)
        return day.to_pydatetime()

    @property
    def has_scores(self) -> bool:
        return self.cache.memo(self.version, "has_scores", lambda: self.has_table(
            "score_history") and self.count("score_history") > 0)

    @property
    def has_subscriptions(self) -> bool:
        return self.cache.memo(self.version, "has_subscriptions",
                               lambda: self.count("subscriptions") > 0)

    # -- one customer -----------------------------------------------------------------------
    def customer(self, customer_id: str, owner: str | None = None) -> dict[str, Any] | None:
        """One customer's row of :meth:`customers` (plus ``profile``, ``history`` and the
        reason sentences when serving), or None when absent or not ``owner``'s."""
        if customer_id not in self._rows:
            if self.serving:
                row = srv.customer_row(self.ws.warehouse.duck, customer_id)
            else:
                base = self.customers()
                hit = base[base["customer_id"] == customer_id]
                row = hit.iloc[0].to_dict() if len(hit) else None
                if row is not None:
                    prof = self._sql("SELECT * EXCLUDE (_ingested_at) FROM customers "
                                     "WHERE customer_id = ?", [customer_id])
                    row["profile"] = prof.iloc[0].to_dict() if len(prof) else {}
            self._rows[customer_id] = row
        row = self._rows[customer_id]
        if row is None or (owner is not None and row.get("owner") != owner):
            return None
        return row

    # -- the at-risk list -------------------------------------------------------------------
    def at_risk(self, owner: str | None = None, filters: dict[str, str | None] | None = None,
                *, limit: int = 50, offset: int = 0) -> tuple[pd.DataFrame, int, str]:
        """A page of the at-risk list (rows, rows matching, risk source)."""
        filters = {k: v for k, v in (filters or {}).items() if v}
        if self.serving:
            m = self.serving_meta
            con = self.ws.warehouse.duck
            # the list's first rows (what the dashboard opens on, and most filtered pages:
            # the riskiest customers come first) are read once per data version
            head = self.cache.memo(self.version, "at_risk_head", lambda: srv.rows_by_rank(
                con, np.arange(1, min(AT_RISK_HEAD, int(m["at_risk"])) + 1)))
            if owner is None and not filters:
                count = int(m["at_risk"])
                ranks = np.arange(offset + 1, min(offset + limit, count) + 1)
            else:  # the matching ranks, once per filter (a few bytes per row)
                key = json.dumps([owner, sorted(filters.items())])
                every = self.cache.memo(
                    self.version, f"at_risk_ranks:{key}",
                    lambda: srv.at_risk_ranks(con, owner=owner, filters=filters),
                    keep=AT_RISK_FILTERS_KEPT)
                count, ranks = len(every), every[offset: offset + limit]
            return srv.rows_by_rank(con, ranks, head), count, str(m["risk_source"])
        frame, source = self.at_risk_frame(owner, filters)
        return frame.iloc[offset: offset + limit], len(frame), source

    def at_risk_frame(self, owner: str | None = None,
                      filters: dict[str, str | None] | None = None) -> tuple[pd.DataFrame, str]:
        """The whole at-risk list of ``owner`` (for exports and totals), filtered."""
        frame, source = srv.at_risk_rows(scoped(self.customers(), owner))
        for column, value in (filters or {}).items():
            if value:
                frame = frame[frame[column].astype("string") == value]
        return frame, source

    def at_risk_summary(self, owner: str | None = None) -> dict[str, Any]:
        """High-risk customers, value at stake and risk source of the list."""
        if self.serving and owner is None:
            m = self.serving_meta
            return {"high": int(m["high_risk"]), "value_at_stake": float(m["value_at_stake"]),
                    "source": str(m["risk_source"])}
        frame, source = self.at_risk_frame(owner)
        return {"high": int((frame["risk_band"] == "high").sum()) if len(frame) else 0,
                "value_at_stake": float(frame["expected_loss"].sum()) if len(frame) else 0.0,
                "source": source}

    # -- the customer frame --------------------------------------------------------------
    def customers(self) -> pd.DataFrame:
        """One row per customer: profile, status, value, latest score, last contact."""
        if self.serving:
            return self.cache.get(self.version, "customers", lambda: self._sql(
                f"SELECT * EXCLUDE (profile, history) FROM {srv.CUSTOMERS} "
                "ORDER BY customer_id"))
        return self.cache.get(self.version, "customers", self._customers)

    def _customers(self) -> pd.DataFrame:
        base = self._sql(f"SELECT {', '.join(PROFILE)} FROM customers ORDER BY customer_id")
        base["customer_id"] = base["customer_id"].astype(str)
        base = base.merge(self._status(), on="customer_id", how="left")
        base["status"] = base["status"].fillna("active")
        base = base.merge(self._value(), on="customer_id", how="left")
        base = base.merge(self._rfm(), on="customer_id", how="left")
        base = base.merge(self._scores(), on="customer_id", how="left")
        contact = self._sql(
            "SELECT customer_id, max(\"at\") AS last_contact_at FROM interactions "
            "WHERE direction = 'outbound' GROUP BY customer_id")
        contact["customer_id"] = contact["customer_id"].astype(str)
        base = base.merge(contact, on="customer_id", how="left")
        prob = base["churn_probability"].astype("float64")
        fallback = base["inactivity_probability"].astype("float64")
        source = pd.Series(None, index=base.index, dtype=object)
        source[fallback.notna()] = "value_model"
        source[prob.notna()] = "model"
        base["risk_source"] = source
        base["risk"] = prob.fillna(fallback)
        for col in ("reason_1", "reason_2", "reason_3", "model_version"):
            base[col] = base[col].astype(object).where(base[col].notna(), None)
        base["expected_loss"] = base["risk"] * base["clv"].astype("float64")
        if base["risk_band"].isna().any():
            base["risk_band"] = base["risk_band"].fillna(base.pop("value_risk_band"))
        else:
            base = base.drop(columns=["value_risk_band"])
        return base

    def _status(self) -> pd.DataFrame:
        from churnguard.measure import labels

        try:
            lab = labels(self.ws, as_of=self.as_of())
            df = lab.select("customer_id", "episode", "churned", "churn_at").to_pandas()
        except (ChurnguardError, ValueError) as exc:
            log.info("no churn labels: %s", exc)
            return pd.DataFrame(columns=["customer_id", "status", "churned_at"])
        df = df.sort_values(["customer_id", "episode"]).groupby("customer_id").tail(1)
        return pd.DataFrame({
            "customer_id": df["customer_id"].astype(str),
            "status": np.where(df["churned"].fillna(False).astype(bool), "churned", "active"),
            "churned_at": df["churn_at"].where(df["churned"].fillna(False).astype(bool)),
        })

    def _value(self) -> pd.DataFrame:
        cols = ["customer_id", "clv", "p_alive", "value_band", "inactivity_probability",
                "value_risk_band"]
        as_of = self.as_of()
        if as_of is None or self.count("orders") == 0:
            return pd.DataFrame(columns=cols)
        from churnguard.value.pipeline import clv

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = clv(self.ws, as_of=as_of)
        except (ChurnguardError, ValueError, ArithmeticError) as exc:
            log.info("no CLV: %s", exc)
            return pd.DataFrame(columns=cols)
        return pd.DataFrame({
            "customer_id": df["customer_id"].astype(str), "clv": df["clv"],
            "p_alive": df["p_alive"], "value_band": df["value_band"].astype(str),
            "inactivity_probability": df["churn_probability"],
            "value_risk_band": df["risk_band"].astype(str),
        })

    def _rfm(self) -> pd.DataFrame:
        as_of = self.as_of()
        if as_of is None or self.count("orders") == 0:
            return pd.DataFrame(columns=["customer_id", "rfm_segment", "rfm_score"])
        from churnguard.value.rfm import rfm

        df = rfm(self.ws, as_of=as_of).select("customer_id", "segment", "rfm_score").to_pandas()
        return pd.DataFrame({"customer_id": df["customer_id"].astype(str),
                             "rfm_segment": df["segment"], "rfm_score": df["rfm_score"]})

    def _scores(self) -> pd.DataFrame:
        cols = ["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2",
                "reason_3", "scored_at", "model_version"]
        if not self.has_scores:
            return pd.DataFrame(columns=cols)
        df = self._sql(
            "SELECT customer_id, churn_probability, risk_band, reason_1, reason_2, reason_3, "
            "as_of AS scored_at, model_version FROM score_history "
            "QUALIFY row_number() OVER (PARTITION BY customer_id "
            "ORDER BY as_of DESC, scored_at DESC) = 1")
        df["customer_id"] = df["customer_id"].astype(str)
        return df[cols]

    def score_history(self, customer_id: str) -> pd.DataFrame:
        """Every kept score of one customer, oldest first (empty without scores)."""
        if self.serving:
            row = self.customer(customer_id)
            hist = list(row.get("history") or []) if row else []
            return pd.DataFrame(hist, columns=["as_of", "churn_probability", "risk_band",
                                               "model_version"])
        if not self.has_scores:
            return pd.DataFrame(columns=["as_of", "churn_probability", "risk_band"])
        return self._sql(
            "SELECT as_of, churn_probability, risk_band, model_version FROM score_history "
            "WHERE customer_id = ? ORDER BY as_of, scored_at", [customer_id])

    def score_points(self, customer_id: str) -> list[dict[str, Any]]:
        """:meth:`score_history` as plain dicts (``as_of, churn_probability, risk_band``)."""
        if self.serving:
            row = self.customer(customer_id)
            hist = list(row.get("history") or []) if row else []
            if all(isinstance(h, dict) for h in hist):
                return [{k: h.get(k) for k in ("as_of", "churn_probability", "risk_band")}
                        for h in hist]
        return [{"as_of": r.as_of, "churn_probability": float(r.churn_probability),
                 "risk_band": r.risk_band} for r in self.score_history(customer_id).itertuples()]

    def timeline_items(self, customer_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        """:meth:`timeline` as plain dicts (``at, kind, summary``), without a DataFrame when
        the serving tables are current."""
        if self.serving and self.serving_meta.get("timeline"):
            return [{"at": a, "kind": k, "summary": t}
                    for a, k, t in srv.timeline_rows(self.ws.warehouse.duck, customer_id,
                                                     int(limit))]
        frame = self.timeline(customer_id, limit=limit)
        return [{"at": None if pd.isna(a) else a, "kind": k,
                 "summary": None if t is None or (isinstance(t, float) and np.isnan(t)) else t}
                for a, k, t in frame[["at", "kind", "summary"]].itertuples(index=False)]

    # -- time lines -------------------------------------------------------------------------
    def timeline(self, customer_id: str, *, limit: int = 200) -> pd.DataFrame:
        """Orders, subscriptions, interactions, tickets and feedback of one customer, newest
        first: columns ``at, kind, summary``."""
        if self.serving and self.serving_meta.get("timeline"):
            return srv.timeline(self.ws.warehouse.duck, customer_id, int(limit))
        sql = """
        SELECT * FROM (
          SELECT ordered_at AS "at", 'order' AS kind,
                 concat_ws(' ', CAST(round(amount, 2) AS VARCHAR), currency, product) AS summary
            FROM orders WHERE customer_id = $1
          UNION ALL SELECT started_at, 'subscription',
                 concat_ws(' ', plan, CAST(mrr AS VARCHAR), cancel_reason) FROM subscriptions
            WHERE customer_id = $1
          UNION ALL SELECT ended_at, 'subscription_end', concat_ws(' ', plan, cancel_reason)
            FROM subscriptions WHERE customer_id = $1 AND ended_at IS NOT NULL
          UNION ALL SELECT "at", 'interaction', concat_ws(' ', channel, kind, direction)
            FROM interactions WHERE customer_id = $1
          UNION ALL SELECT opened_at, 'ticket',
                 concat_ws(' ', category, CASE WHEN is_complaint THEN 'complaint' END)
            FROM tickets WHERE customer_id = $1
          UNION ALL SELECT "at", 'feedback', concat_ws(' ', source, CAST(score AS VARCHAR), text)
            FROM feedback WHERE customer_id = $1
        ) ORDER BY "at" DESC NULLS LAST LIMIT $2"""
        return self._sql(sql, [customer_id, int(limit)])

    # -- aggregates -------------------------------------------------------------------------
    def rates(self, period: str, owner: str | None = None) -> pd.DataFrame:
        """Churn rates per period (of one owner's customers when ``owner`` is given)."""
        from churnguard.measure import rates

        revenue = self.has_subscriptions

        def compute() -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    return rates(self.ws, period=period, by="owner", revenue=revenue)
                except ChurnguardError:
                    return rates(self.ws, period=period, by="owner")

        def total() -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    return rates(self.ws, period=period, revenue=revenue)
                except ChurnguardError:
                    return rates(self.ws, period=period)

        if owner is None:
            return self.cache.get(self.version, f"rates_{period}", total)
        df = self.cache.get(self.version, f"rates_{period}_by_owner", compute)
        return df[df["owner"] == owner].reset_index(drop=True)

    def cohorts(self) -> pd.DataFrame:
        from churnguard.measure import cohorts

        return self.cache.get(self.version, "cohorts", lambda: cohorts(self.ws))

    def survival(self, by: str | None) -> pd.DataFrame:
        """Kaplan-Meier curves (``segment, duration_days, survival`` ...) ``by`` a dimension."""
        from churnguard.measure import survival

        def compute() -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return survival(self.ws, by=by).curves

        return self.cache.get(self.version, f"survival_{by or 'all'}", compute)

    def churn_by(self, dimension: str) -> pd.DataFrame:
        """Customers, churned and churn share per value of a customer column."""
        base = self.customers()
        g = base.groupby(base[dimension].fillna("(missing)"))
        out = pd.DataFrame({"customers": g.size(),
                            "churned": g["status"].apply(lambda s: int((s == "churned").sum()))})
        out["churn_share"] = out["churned"] / out["customers"]
        return out.reset_index().rename(columns={dimension: "value"})

    def segment_migrations(self) -> pd.DataFrame:
        """RFM segment moves between 90 days ago and now (long form)."""
        from churnguard.value.rfm import rfm, segment_migrations

        def compute() -> pd.DataFrame:
            now = self.as_of()
            if now is None or self.count("orders") == 0:
                return pd.DataFrame(columns=["from_segment", "to_segment", "customers"])
            before = rfm(self.ws, as_of=now - dt.timedelta(days=90))
            return segment_migrations(before, rfm(self.ws, as_of=now)).to_pandas()

        return self.cache.get(self.version, "rfm_migrations", compute)

    def lost(self) -> pd.DataFrame:
        """Churned customers with SLTV, grade and reason (empty when none can be graded)."""
        from churnguard.value.sltv import sltv

        def compute() -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    df = sltv(self.ws)
                except ChurnguardError as exc:
                    log.info("no SLTV: %s", exc)
                    return pd.DataFrame(columns=["customer_id", "reason", "churn_at", "sltv",
                                                 "grade"])
            df["customer_id"] = df["customer_id"].astype(str)
            return df

        return self.cache.get(self.version, "lost", compute)
