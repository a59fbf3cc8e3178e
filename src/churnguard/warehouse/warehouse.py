"""The warehouse: the contract tables behind an Ibis connection (DuckDB by default).

DuckDB rules of the house: one writer process (ingest, simulate, run); readers open the
file read-only; extensions are never downloaded at run time (icu, json and parquet are
built into the wheel); the session time zone is UTC.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import ibis

from churnguard.contract import TABLES, get_contract
from churnguard.errors import InputError, WorkspaceError
from churnguard.warehouse import sharing

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from churnguard.warehouse.config import WarehouseSection

log = logging.getLogger(__name__)

META_DDL = (
    """CREATE TABLE IF NOT EXISTS _ingest_log (
        batch_id VARCHAR, table_name VARCHAR, file VARCHAR, started_at TIMESTAMPTZ,
        finished_at TIMESTAMPTZ, rows_read BIGINT, inserted BIGINT, updated BIGINT,
        unchanged BIGINT, rejected BIGINT, status VARCHAR, message VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS _quarantine (
        batch_id VARCHAR, table_name VARCHAR, file VARCHAR, row_number BIGINT,
        column_name VARCHAR, value VARCHAR, rule VARCHAR, message VARCHAR, raw_row JSON,
        quarantined_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS _attributes (
        name VARCHAR PRIMARY KEY, kind VARCHAR, first_seen TIMESTAMPTZ)""",
)


@dataclass(frozen=True)
class TableStatus:
    table: str
    rows: int
    first_at: datetime | None
    last_at: datetime | None
    last_ingest_at: datetime | None
    rejected_rows: int


class Warehouse:
    """Contract tables in one database, reachable as DuckDB SQL (``con``) and Ibis (``ibis``)."""

    def __init__(self, backend: Any, con: duckdb.DuckDBPyConnection | None, url: str) -> None:
        """``backend``: the Ibis backend, or a function making it on first use (wrapping a
        DuckDB cursor in Ibis costs about 1 ms: a dashboard request that only runs plain
        queries should not pay it)."""
        self._ibis = backend
        self.con = con
        self.url = url

    @property
    def ibis(self) -> Any:
        """The Ibis backend on this warehouse."""
        if not hasattr(self._ibis, "table"):  # a factory, not yet called
            self._ibis = self._ibis()
        return self._ibis

    @classmethod
    def connect(cls, cfg: WarehouseSection, *, root: Path, read_only: bool = False) -> Warehouse:
        url = cfg.url
        if url.startswith("duckdb://"):
            target = url.removeprefix("duckdb://")
            path = ":memory:" if target in ("", ":memory:") else str((root / target).resolve())
            return cls(*cls._open_duckdb(path, cfg, root, read_only), url)
        try:
            backend = ibis.connect(url)
        except Exception as exc:  # the backend's own error says what is wrong with the URL
            raise WorkspaceError(f"cannot connect to warehouse {url!r}: {exc}") from None
        return cls(backend, None, url)

    @staticmethod
    def _open_duckdb(
        path: str, cfg: WarehouseSection, root: Path, read_only: bool
    ) -> tuple[Any, duckdb.DuckDBPyConnection]:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": cfg.memory_limit,
        }
        if cfg.threads:
            config["threads"] = cfg.threads
        if not read_only:
            config["temp_directory"] = str(root / ".tmp")
        try:
            if read_only or path == ":memory:":
                con = duckdb.connect(path, read_only=read_only, config=config)
            else:  # a dashboard server holding the file lets go when asked (see .sharing)
                con = sharing.open_as_writer(
                    root, lambda: duckdb.connect(path, read_only=False, config=config),
                    lambda e: isinstance(e, duckdb.IOException) and "lock" in str(e).lower(),
                    lambda pid: WorkspaceError(
                        f"{path}: the dashboard server (pid {pid}) has the warehouse open "
                        f"and did not let go within {sharing.lock_wait():.0f} s (it does "
                        "when its requests pause). Retry, raise $CHURNGUARD_LOCK_WAIT, or "
                        "stop the server."))
        except duckdb.IOException as exc:
            msg = str(exc)
            if "lock" in msg.lower():
                pid = re.search(r"PID (\d+)", msg)
                who = f" (process {pid.group(1)})" if pid else ""
                raise WorkspaceError(
                    f"{path}: the warehouse is open for writing by another process{who}. "
                    "Wait for it to finish (one writer at a time), or stop it."
                ) from None
            raise WorkspaceError(f"{path}: cannot open the warehouse: {msg}") from None
        except duckdb.Error as exc:
            raise WorkspaceError(f"{path}: cannot open the warehouse: {exc}") from None
        con.execute("SET TimeZone = 'UTC'")
        return ibis.duckdb.from_connection(con), con

    # -- schema -------------------------------------------------------------------------
    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection; a clear error on other backends."""
        if self.con is None:
            raise WorkspaceError(
                f"this needs a DuckDB warehouse; {self.url!r} is another engine. Load that "
                "engine's tables with its own tools and point churnguard at them for analytics."
            )
        return self.con

    def ensure_tables(self) -> None:
        """Create every contract table and the bookkeeping tables if missing."""
        con = self.duck
        for contract in TABLES.values():
            con.execute(contract.ddl())
        for ddl in META_DDL:
            con.execute(ddl)

    def has_table(self, name: str) -> bool:
        return name in self.ibis.list_tables()

    def table(self, name: str) -> ir.Table:
        """The Ibis expression of a contract table (empty tables exist from ``init`` on)."""
        get_contract(name)
        if not self.has_table(name):
            raise WorkspaceError(f"table {name!r} does not exist in the warehouse {self.url}")
        return self.ibis.table(name)

    def row_count(self, name: str) -> int:
        return int(self.duck.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # type: ignore[index]

    # -- loading trusted data ------------------------------------------------------------
    def load_trusted(self, name: str, data: pa.Table, *, replace: bool = False,
                     source: str = "trusted load") -> int:
        """Bulk-load rows produced by churnguard itself (simulator, dataset loaders).

        The columns must be the contract's; rows are not re-validated row by row (use
        :func:`churnguard.warehouse.ingest.ingest_file` for outside data). Keys must not
        collide with existing rows unless ``replace`` empties the table first.
        """
        contract = get_contract(name)
        expected = contract.column_names + (
            [contract.attributes_column] if contract.attributes_column else []
        )
        missing = [c for c in contract.column_names if c not in data.column_names]
        extra = [c for c in data.column_names if c not in expected]
        if missing or extra:
            raise InputError(
                f"{name}: trusted load has missing columns {missing} / unknown columns {extra}"
            )
        con = self.duck
        self.ensure_tables()
        cols = [c for c in expected if c in data.column_names]
        col_sql = ", ".join(f'"{c}"' for c in cols)
        con.execute("BEGIN TRANSACTION")
        try:
            if replace:
                con.execute(f'DELETE FROM "{name}"')
            con.register("_trusted_batch", data)
            key = contract.key
            clash = con.execute(
                f'SELECT count(*) FROM _trusted_batch b JOIN "{name}" t USING ("{key}")'
            ).fetchone()[0]  # type: ignore[index]
            if clash:
                raise InputError(
                    f"{name}: {clash} rows already exist with the same {key}; "
                    "load into a fresh workspace or pass replace=True"
                )
            con.execute(
                f'INSERT INTO "{name}" ({col_sql}, _ingested_at) '
                f"SELECT {col_sql}, now() FROM _trusted_batch"
            )
            con.unregister("_trusted_batch")
            con.execute(
                "INSERT INTO _ingest_log VALUES (?, ?, ?, now(), now(), ?, ?, 0, 0, 0, "
                "'loaded', NULL)",
                [f"{name}-{uuid.uuid4().hex[:10]}", name, source, data.num_rows, data.num_rows],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return data.num_rows

    # -- status -------------------------------------------------------------------------
    def status(self) -> list[TableStatus]:
        con = self.duck
        out = []
        for contract in TABLES.values():
            if not self.has_table(contract.name):
                continue
            tcol = contract.time_column
            rows, first, last = con.execute(
                f'SELECT count(*), min("{tcol}"), max("{tcol}") FROM "{contract.name}"'
            ).fetchone()  # type: ignore[misc]
            last_ingest, rejected = con.execute(
                "SELECT max(finished_at) FILTER (WHERE status <> 'refused'), "
                "coalesce(sum(rejected), 0) FROM _ingest_log WHERE table_name = ?",
                [contract.name],
            ).fetchone()  # type: ignore[misc]
            out.append(TableStatus(contract.name, rows, first, last, last_ingest, int(rejected)))
        return out

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
