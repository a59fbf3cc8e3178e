"""Validated, atomic, idempotent ingestion of a file into a contract table.

A batch lands whole or not at all: if any row breaks the contract, the table is left
unchanged and the broken rows go to the ``_quarantine`` table with the rule they broke
(unless ``allow_rejects``, which applies the good rows and quarantines the rest).
Re-ingesting the same file changes nothing; a changed row is updated (upsert by key).
Columns the file does not carry are left as they are on existing rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from churnguard.contract import TableContract, get_contract
from churnguard.errors import ConfigError, InputError, RejectedRowsError
from churnguard.warehouse.parse import (
    number_sql,
    present_sql,
    quote_ident,
    quote_literal,
    value_sql,
)
from churnguard.warehouse.readers import StagedFile, stage_file
from churnguard.warehouse.validate import violations
from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reject:
    row: int
    column: str
    value: str | None
    rule: str
    message: str

    def describe(self, file: str) -> str:
        shown = "empty" if self.value in (None, "") else repr(self.value)
        return (f"{file} row {self.row}, column {self.column}, value {shown}: "
                f"{self.message} (rule {self.rule})")


@dataclass
class IngestResult:
    """What one ingest did. ``status`` is applied, refused or partial."""

    batch_id: str
    table: str
    file: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    status: str = "applied"
    examples: list[Reject] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


class BatchRefused(RejectedRowsError):
    """Rows broke the contract and the batch was not applied; ``result`` has the details."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result
        super().__init__(
            f"{result.file}: {result.rejected} of {result.rows_read} rows break the data "
            f"contract; nothing was written to {result.table}. First: "
            + (result.examples[0].describe(result.file) if result.examples else "")
            + ". Fix the file, or pass --allow-rejects to load the good rows."
        )


def _norm(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower().replace(" ", "_").replace("-", "_")


def _shown(name: str) -> str:
    """A column name fit for a one-line message (control characters escaped)."""
    return name if name.isprintable() else repr(name)


def resolve_columns(
    contract: TableContract, source_columns: list[str], mapping: dict[str, str], file: str
) -> tuple[dict[str, str], list[str]]:
    """Map source columns to contract columns: ``({contract: source}, [extra source cols])``."""
    names = set(contract.column_names)
    for src, target in mapping.items():
        if target not in names:
            raise ConfigError(
                f"[mapping.{contract.name}] maps {src!r} to {target!r}, which is not a column of "
                f"{contract.name}; the columns are: {', '.join(contract.column_names)}"
            )
    by_norm_mapping = {_norm(k): v for k, v in mapping.items()}
    chosen: dict[str, str] = {}
    extra: list[str] = []
    for src in source_columns:
        dst = mapping.get(src) or by_norm_mapping.get(_norm(src))
        if dst is None and _norm(src) in names:
            dst = _norm(src)
        if dst is None:
            extra.append(src)
            continue
        if dst in chosen:
            raise InputError(
                f"{file}: columns {chosen[dst]!r} and {src!r} both map to {dst!r}; keep one"
            )
        chosen[dst] = src
    missing = [c for c in contract.required_columns if c not in chosen]
    if missing:
        raise InputError(
            f"{file}: missing required column(s) {', '.join(missing)} for table "
            f"{contract.name}; the file has: {', '.join(map(_shown, source_columns))}. "
            "If a column has "
            f"another name, map it in churnguard.toml under [mapping.{contract.name}]"
        )
    return chosen, extra


def ingest_file(
    ws: Workspace,
    table: str,
    path: str | Path,
    *,
    allow_rejects: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_step: Callable[[str], None] | None = None,
    max_examples: int = 10,
    source_name: str | None = None,
) -> IngestResult:
    """Ingest one file into ``table``; see the module docstring for the guarantees.

    Raises :class:`BatchRefused` (exit code 1) when rows break the contract and
    ``allow_rejects`` is false, and :class:`InputError` (exit code 2) for a file that
    cannot be read at all.
    """
    path = Path(path)
    contract = get_contract(table)
    con = ws.warehouse.duck
    ws.warehouse.ensure_tables()
    batch = f"{table}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    stg = f"_stg_{uuid.uuid4().hex[:10]}"
    step = on_step or (lambda _s: None)
    try:
        step("reading")
        staged = stage_file(con, path, stg, fmt=fmt, encoding=encoding, delimiter=delimiter,
                            sheet=sheet, progress=progress)
        return _apply(ws, contract, staged, source_name or str(path), batch,
                      allow_rejects=allow_rejects, step=step, max_examples=max_examples)
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.{quote_ident(stg + '_good')}")
        for tmp in (stg, f"{stg}_typed", f"{stg}_viol"):
            con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(tmp)}")


def _attribute_kinds(con: duckdb.DuckDBPyConnection, staged: StagedFile,
                     extra: list[str]) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for src in extra:
        x = quote_ident(src)
        if present_sql(x, staged.types[src]) == f"({x} IS NOT NULL)":
            bad = 0 if staged.types[src].upper() in ("DOUBLE", "BIGINT", "INTEGER", "FLOAT") else 1
        else:  # numbers may carry thousands separators; a leading zero (zip, code) is text
            bad = con.execute(
                f"SELECT count(*) FROM {quote_ident(staged.table)} WHERE "
                f"{present_sql(x, staged.types[src])} AND "
                f"({number_sql(x)} IS NULL "
                f"OR regexp_matches(trim({x}), '^[+-]?0[0-9]'))"
            ).fetchone()[0]  # type: ignore[index]
        kinds[src] = "numeric" if bad == 0 else "categorical"
    return kinds


def _apply(ws: Workspace, contract: TableContract, staged: StagedFile, file: str, batch: str,
           *, allow_rejects: bool, step: Callable[[str], None], max_examples: int) -> IngestResult:
    con = ws.warehouse.duck
    cfg = ws.config
    result = IngestResult(batch_id=batch, table=contract.name, file=file, rows_read=staged.rows)
    started = datetime.now(UTC)
    chosen, extra = resolve_columns(contract, staged.columns,
                                    cfg.mapping.get(contract.name, {}), file)
    attrs: dict[str, str] = {}
    if contract.attributes_column:
        attrs = _attribute_kinds(con, staged, extra)
        result.attributes = [_norm(a) for a in attrs]
    else:
        result.ignored_columns = extra
    present = list(chosen)

    # 1. parse every column into its contract type, in one pass
    step("validating")
    inner, outer = ["rowid + 1 AS _row"], ["_row"]
    for name, src in chosen.items():
        col = contract.column(name)
        x = quote_ident(src)
        parsed = value_sql(col, x, staged.types[src], tz=cfg.workspace.timezone,
                           formats=cfg.ingest.timestamp_formats)
        inner.append(f"{parsed} AS {quote_ident(name)}")
        inner.append(f"{present_sql(x, staged.types[src])} AS {quote_ident('_p_' + name)}")
        outer.append(quote_ident(name))
        outer.append(f"({quote_ident(name)} IS NULL AND {quote_ident('_p_' + name)}) AS "
                     f"{quote_ident('_perr_' + name)}")
    if attrs:
        pairs = []
        for src, kind in attrs.items():
            x = quote_ident(src)
            v = (number_sql(f"CAST({x} AS VARCHAR)")
                 if kind == "numeric"
                 else f"NULLIF(trim(CAST({x} AS VARCHAR)), '')")
            pairs.append(f"{quote_literal(_norm(src))}, {v}")
        inner.append(f"json_object({', '.join(pairs)}) AS _attrs")
        outer.append("_attrs")
    typed = f"{staged.table}_typed"
    con.execute(f"CREATE TEMP TABLE {quote_ident(typed)} AS SELECT {', '.join(outer)} "
                f"FROM (SELECT {', '.join(inner)} FROM {quote_ident(staged.table)})")

    # 2. every violation, as one Ibis expression compiled for the warehouse engine
    backend = ws.warehouse.ibis
    t = backend.sql(f"SELECT * FROM {quote_ident(typed)}")
    customers = backend.table("customers") if contract.name != "customers" else None
    viol_expr = violations(t, contract, present, customers=customers)
    viol = f"{staged.table}_viol"
    con.execute(f"CREATE TEMP TABLE {quote_ident(viol)} AS {backend.compile(viol_expr)}")
    result.rejected = con.execute(
        f"SELECT count(DISTINCT _row) FROM {quote_ident(viol)}").fetchone()[0]  # type: ignore[index]
    value_case = " ".join(
        f"WHEN {quote_literal(n)} THEN CAST(s.{quote_ident(src)} AS VARCHAR)"
        for n, src in chosen.items()
    )
    value_sql_ = f"CASE v.column_name {value_case} END" if value_case else "NULL"
    rejects_sql = (
        f"SELECT v._row, v.column_name, {value_sql_} AS value, v.rule, v.message, "
        f"to_json(s) AS raw_row FROM {quote_ident(viol)} v JOIN "
        f"(SELECT rowid + 1 AS _row, * FROM {quote_ident(staged.table)}) s USING (_row)"
    )
    if not result.rejected:  # the raw text is only needed to quarantine rows: free it
        con.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(staged.table)}")
    else:
        rows = con.execute(f"SELECT * FROM ({rejects_sql}) ORDER BY _row, column_name "
                           f"LIMIT {max_examples}").fetchall()
        result.examples = [Reject(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    # 3. apply: quarantine + log always; the table only if the batch is accepted
    refuse = result.rejected > 0 and not allow_rejects
    step("writing")
    con.execute("BEGIN TRANSACTION")
    try:
        if result.rejected:
            con.execute(
                f"INSERT INTO _quarantine SELECT ?, ?, ?, _row, column_name, value, rule, "
                f"message, raw_row, now() FROM ({rejects_sql})",
                [batch, contract.name, file],
            )
        if not refuse:
            _upsert(con, contract, typed, viol, present, bool(attrs), result)
            for src, kind in attrs.items():
                con.execute("INSERT OR IGNORE INTO _attributes VALUES (?, ?, now())",
                            [_norm(src), kind])
        result.status = "refused" if refuse else ("partial" if result.rejected else "applied")
        con.execute(
            "INSERT INTO _ingest_log VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
            [batch, contract.name, file, started, result.rows_read, result.inserted,
             result.updated, result.unchanged, result.rejected, result.status,
             result.examples[0].describe(file) if result.examples else None],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("ingest %s %s: %s", contract.name, file, result.status)
    if refuse:
        raise BatchRefused(result)
    return result


def _upsert(con: duckdb.DuckDBPyConnection, contract: TableContract, typed: str, viol: str,
            present: list[str], has_attrs: bool, result: IngestResult) -> None:
    target = quote_ident(contract.name)
    key = quote_ident(contract.key)
    good = f"{typed[:-6]}_good"
    cols = [quote_ident(c) for c in present]
    # merge-patching into {} drops null attributes, so stored JSON has one canonical form
    sel = ", ".join(cols) + (", json_merge_patch('{}', _attrs) AS _attrs" if has_attrs else "")
    # a view, not a copy: at 10M rows a second materialised batch costs seconds and memory
    rows = f"{quote_ident(typed)} ANTI JOIN {quote_ident(viol)} USING (_row)" if (
        result.rejected) else quote_ident(typed)
    con.execute(f"CREATE TEMP VIEW {quote_ident(good)} AS SELECT {sel} FROM {rows}")
    g = quote_ident(good)
    total = result.rows_read - result.rejected
    empty = con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").fetchone()[0]  # type: ignore[index]
    ins_cols = ", ".join(cols) + (f", {quote_ident(contract.attributes_column or '')}"
                                  if has_attrs else "")
    ins_sel = ", ".join(cols) + (", _attrs" if has_attrs else "")
    if empty:  # first load: nothing to compare with
        con.execute(f"INSERT INTO {target} ({ins_cols}, _ingested_at) "
                    f"SELECT {ins_sel}, now() FROM {g}")
        result.inserted, result.updated, result.unchanged = total, 0, 0
        return
    sets = [f"{c} = g.{c}" for c in cols if c != key]
    diffs = [f"{target}.{c} IS DISTINCT FROM g.{c}" for c in cols if c != key]
    if has_attrs:
        attr = quote_ident(contract.attributes_column or "attributes")
        merged = f"json_merge_patch(coalesce({target}.{attr}, '{{}}'), g._attrs)"
        sets.append(f"{attr} = {merged}")
        diffs.append(f"{target}.{attr} IS DISTINCT FROM {merged}")
    if sets:
        updated = con.execute(
            f"UPDATE {target} SET {', '.join(sets)}, _ingested_at = now() FROM {g} AS g "
            f"WHERE {target}.{key} = g.{key} AND ({' OR '.join(diffs)})"
        ).fetchone()
        result.updated = int(updated[0]) if updated else 0
    inserted = con.execute(
        f"INSERT INTO {target} ({ins_cols}, _ingested_at) SELECT {ins_sel}, now() FROM {g} "
        f"ANTI JOIN {target} USING ({key})"
    ).fetchone()
    result.inserted = int(inserted[0]) if inserted else 0
    result.unchanged = total - result.inserted - result.updated
