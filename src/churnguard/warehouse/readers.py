"""Stage a file into a DuckDB temp table, whatever its format, without loading it into Python.

CSV (any delimiter; UTF-8, UTF-16 with BOM, GBK/GB18030), Parquet, JSON / JSON lines and
Excel (.xlsx) land in a temp table whose row order is the file's. CSV columns stay text
(leading zeros in ids survive); typed formats keep their types. Malformed input raises
:class:`InputError` with a one-line message naming the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from churnguard.errors import InputError

FORMATS = ("csv", "parquet", "json", "excel")
_EXT = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".dat": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
}
_CHUNK = 1 << 20
#: DuckDB refuses CSV lines longer than this (bytes); such a file is malformed for us
MAX_LINE_BYTES = 8_000_000


@dataclass(frozen=True)
class StagedFile:
    """A file staged as a temp table (``table``) with its source column names."""

    table: str
    columns: list[str]
    types: dict[str, str]
    rows: int
    format: str


def detect_format(path: Path) -> str:
    fmt = _EXT.get(path.suffix.lower())
    if fmt:
        return fmt
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "csv"


def _check_text(path: Path, encoding: str | None,
                progress: Callable[[int], None] | None) -> tuple[str, bool]:
    """Find the encoding of a text file in one streaming pass; (encoding, needs_transcode)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    candidates = [encoding] if encoding else ["utf-8", "gb18030"]
    last_err = ""
    for enc in candidates:
        try:
            codecs.lookup(enc)
        except LookupError:
            raise InputError(f"{path}: unknown encoding {enc!r}") from None
        decoder = codecs.getincrementaldecoder(enc)()
        offset = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    if b"\x00" in chunk and enc.replace("-", "").lower() not in ("utf16", "utf32"):
                        at = offset + chunk.index(b"\x00")
                        raise InputError(
                            f"{path}: not a text file (binary byte 0x00 at byte {at}); "
                            "expected CSV, Parquet, JSON or Excel"
                        )
                    decoder.decode(chunk)
                    offset += len(chunk)
                    if progress:
                        progress(len(chunk))
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            last_err = f"{enc} fails at byte {offset + exc.start}"
            continue
        norm = codecs.lookup(enc).name
        return norm, norm != "utf-8"
    raise InputError(
        f"{path}: not readable as {' or '.join(candidates)} text ({last_err}). "
        "Save it as UTF-8, or pass --encoding with the file's encoding."
    )


@contextmanager
def _transcoded(path: Path, encoding: str) -> Iterator[Path]:
    """Stream ``path`` into a temporary UTF-8 copy (DuckDB reads UTF-8 natively)."""
    with tempfile.TemporaryDirectory(prefix="churnguard-") as tmp:
        out = Path(tmp) / (path.stem + ".utf8.csv")
        with path.open("r", encoding=encoding, newline="") as src, out.open(
            "w", encoding="utf-8", newline=""
        ) as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)
        yield out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


@contextmanager
def _excel_as_csv(path: Path, sheet: str | None) -> Iterator[Path]:
    """Stream an Excel sheet into a temporary UTF-8 CSV (rows are never all in memory)."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("reading Excel needs python-calamine: pip install python-calamine") from None
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        name = sheet or names[0]
        if name not in names:
            raise InputError(f"{path}: no sheet {name!r}; the sheets are {names}")
        rows = wb.get_sheet_by_name(name).iter_rows()
        with tempfile.TemporaryDirectory(prefix="churnguard-") as tmp:
            out = Path(tmp) / (path.stem + ".csv")
            with out.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                for row in rows:
                    writer.writerow([_cell(v) for v in row])
            yield out
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise InputError(f"{path}: not a readable Excel workbook: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _duck_error(path: Path, exc: duckdb.Error) -> InputError:
    msg = str(exc)
    line = re.search(r"line[: ]+(\d+)", msg, flags=re.IGNORECASE)
    where = f" at line {line.group(1)}" if line else ""
    first = _first_line(exc)
    if "maximum line size" in msg.lower():
        return InputError(f"{path}: a line{where} is longer than the limit "
                          f"({MAX_LINE_BYTES:,} bytes); is a quote left open?")
    if "Expected Number of Columns" in msg or "too many columns" in msg.lower():
        return InputError(f"{path}: malformed CSV{where}: the row does not have as many "
                          "fields as the header (a stray delimiter or an unclosed quote?)")
    if "unterminated quote" in msg.lower() or "quote" in first.lower():
        return InputError(f"{path}: malformed CSV{where}: a quoted field is never closed "
                          "(truncated file?)")
    return InputError(f"{path}: cannot read the file{where}: {first}")


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> StagedFile:
    """Read ``path`` into temp table ``name``; the file's row order is kept (``rowid``)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        enc, transcode = _check_text(path, encoding, progress)
        if transcode:
            with _transcoded(path, enc) as utf8:
                return _stage_csv(con, path, utf8, name, delimiter)
        return _stage_csv(con, path, path, name, delimiter)
    if fmt == "excel":
        with _excel_as_csv(path, sheet) as as_csv:
            return _stage_csv(con, path, as_csv, name, ",")
    reader = "read_parquet(?)" if fmt == "parquet" else "read_json(?, format = 'auto')"
    try:
        con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM {reader}', [str(path)])
    except duckdb.Error as exc:
        raise _duck_error(path, exc) from None
    return _describe(con, name, fmt)


def _stage_csv(con: duckdb.DuckDBPyConnection, shown: Path, path: Path, name: str,
               delimiter: str | None) -> StagedFile:
    opts = ["header = true", "all_varchar = true", f"max_line_size = {MAX_LINE_BYTES}",
            "strict_mode = true", "null_padding = false"]
    if delimiter:
        opts.append("delim = ?")
    params: list[object] = [str(path)] + ([delimiter] if delimiter else [])
    try:
        con.execute(
            f'CREATE TEMP TABLE "{name}" AS SELECT * FROM read_csv(?, {", ".join(opts)})',
            params,
        )
    except duckdb.Error as exc:
        raise _duck_error(shown, exc) from None
    return _describe(con, name, "csv")


def _describe(con: duckdb.DuckDBPyConnection, name: str, fmt: str) -> StagedFile:
    info = con.execute(f'DESCRIBE "{name}"').fetchall()
    rows = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # type: ignore[index]
    return StagedFile(
        table=name,
        columns=[r[0] for r in info],
        types={r[0]: r[1] for r in info},
        rows=int(rows),
        format=fmt,
    )
