"""CDNOW music store purchases (Fader, Hardie & Lee): customers + orders.

The master file holds every purchase of the 23,570 customers who first bought in the first
quarter of 1997, to the end of June 1998; the 1/10 sample (2,357 customers) is the one the
papers fit. Each customer's first purchase is their signup; CDNOW is non-contractual.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from churnguard.datasets.paths import shared_data_dir
from churnguard.errors import InputError
from churnguard.warehouse.ingest import IngestResult, ingest_file
from churnguard.warehouse.workspace import Workspace

MASTER = "CDNOW_master.txt"
SAMPLE = "CDNOW_sample.txt"


@dataclass(frozen=True)
class CdnowTables:
    customers: pa.Table
    orders: pa.Table


def read_cdnow(data_dir: str | Path | None = None, *, sample: bool = False) -> CdnowTables:
    """Parse the CDNOW master file (or the 1/10 sample) into contract-shaped Arrow tables.

    Order ids are ``<customer>-<n>``, n counting the customer's rows in file order; amounts
    are US dollars; quantity is the number of CDs.
    """
    folder = shared_data_dir(data_dir) / "cdnow"
    path = folder / (SAMPLE if sample else MASTER)
    if not path.exists():
        raise InputError(f"{path}: not found; is {folder} the CDNOW dataset folder?")
    cids: list[str] = []
    dates: list[datetime] = []
    qty: list[int] = []
    amount: list[float] = []
    oids: list[str] = []
    seen: dict[str, int] = {}
    first: dict[str, datetime] = {}
    with path.open(encoding="ascii") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts or parts[0] == "customer_id":
                continue
            if sample:  # customer id, id within the sample, date, CDs, dollars
                parts = [parts[0], *parts[2:]]
            if len(parts) != 4:
                raise InputError(f"{path} line {lineno}: expected 4 fields, got {len(parts)}")
            cid, day, n, dollars = parts
            try:
                when = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
                k, value = int(n), float(dollars)
            except ValueError as exc:
                raise InputError(f"{path} line {lineno}: {exc}") from None
            seen[cid] = seen.get(cid, 0) + 1
            first.setdefault(cid, when)
            first[cid] = min(first[cid], when)
            cids.append(cid)
            oids.append(f"{cid}-{seen[cid]}")
            dates.append(when)
            qty.append(k)
            amount.append(value)
    ts = pa.timestamp("us", tz="UTC")
    orders = pa.table({
        "order_id": pa.array(oids, pa.string()),
        "customer_id": pa.array(cids, pa.string()),
        "ordered_at": pa.array(dates, ts),
        "amount": pa.array(amount, pa.float64()),
        "currency": pa.array(["USD"] * len(cids), pa.string()),
        "quantity": pa.array(qty, pa.int64()),
    })
    ids = sorted(first)
    customers = pa.table({
        "customer_id": pa.array(ids, pa.string()),
        "signup_at": pa.array([first[c] for c in ids], ts),
        "acquisition_channel": pa.array(["cdnow_1997q1"] * len(ids), pa.string()),
        "contract_type": pa.array(["none"] * len(ids), pa.string()),
    })
    return CdnowTables(customers=customers, orders=orders)


def load_cdnow(ws: Workspace, data_dir: str | Path | None = None, *,
               sample: bool = False) -> list[IngestResult]:
    """Load CDNOW into a workspace through the validated ingest path (idempotent)."""
    tables = read_cdnow(data_dir, sample=sample)
    results = []
    with tempfile.TemporaryDirectory(prefix="churnguard-cdnow-") as tmp:
        for name, table in (("customers", tables.customers), ("orders", tables.orders)):
            out = Path(tmp) / f"cdnow_{name}.parquet"
            pq.write_table(table, out)
            source = f"{(SAMPLE if sample else MASTER)} ({name})"
            results.append(ingest_file(ws, name, out, source_name=source))
    return results
