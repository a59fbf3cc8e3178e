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
from churnguard.warehouse.parse import quote_ident, quote_literal

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
        try:
            with path.open("r", encoding=encoding, newline="") as src, out.open(
                "w", encoding="utf-8", newline=""
            ) as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: not readable as {encoding} text ({exc.reason} at byte {exc.start} "
                "of a block). Save it as UTF-8, or pass --encoding with the file's encoding."
            ) from None
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
        raise InputError(
            "reading Excel needs python-calamine: pip install python-calamine"
        ) from None
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
        which = f"line {line.group(1)}" if line else "a line"
        return InputError(f"{path}: {which} is longer than the limit "
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
    return _rename_reserved(con, _describe(con, name, fmt))


_DELIMS = (",", ";", "\t", "|")
_SNIFF_FAILED = "error when sniffing file"


def _header_line(path: Path) -> str:
    """The first line of a UTF-8 file (at most ``MAX_LINE_BYTES``), without BOM or newline."""
    with path.open("rb") as fh:
        raw = fh.read(MAX_LINE_BYTES)
    line = re.split(rb"\r\n|\n|\r", raw, maxsplit=1)[0]
    return line.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _guess_delimiter(header: str) -> str | None:
    """The candidate delimiter most frequent in the header line, or None if it has none."""
    counts = {d: header.count(d) for d in _DELIMS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def _header_columns(header: str, delim: str) -> dict[str, str]:
    """Column names of the header line, made unique the way DuckDB does (``a``, ``a_1``)."""
    try:
        fields = next(csv.reader([header], delimiter=delim, quotechar='"'), [])
    except csv.Error:  # a stray quote or NUL: the strict read reports the real problem
        fields = header.split(delim)
    out: dict[str, str] = {}
    for i, f in enumerate(fields):
        base = f.strip() or f"column{i}"
        name, n = base, 0
        while name.lower() in (k.lower() for k in out):
            n += 1
            name = f"{base}_{n}"
        out[name] = "VARCHAR"
    return out or {"column0": "VARCHAR"}


def _stage_csv(con: duckdb.DuckDBPyConnection, shown: Path, path: Path, name: str,
               delimiter: str | None) -> StagedFile:
    """Stage a UTF-8 CSV; every column is text.

    DuckDB's sniffer is tried first (fast, handles escapes and odd dialects). The quote is
    always ``"``: a sniffer allowed to pick "no quote" silently accepts a truncated file
    with an open quote. When the sniffer gives up, or finds one column in a header that
    holds a delimiter, the file is read again strictly with the delimiter of its header so
    the error names the real problem (ragged row, open quote) and its line.
    """
    base = ["header = true", "all_varchar = true", f"max_line_size = {MAX_LINE_BYTES}",
            "strict_mode = true", "null_padding = false", "quote = '\"'"]
    header = _header_line(path)
    guessed = delimiter or _guess_delimiter(header)

    def read(opts: list[str], delim: str | None) -> None:
        params: list[object] = [str(path)]
        if delim:
            opts = [*opts, "delim = ?"]
            params.append(delim)
        con.execute(f'DROP TABLE IF EXISTS temp.{quote_ident(name)}')
        con.execute(
            f"CREATE TEMP TABLE {quote_ident(name)} AS "
            f"SELECT * FROM read_csv(?, {', '.join(opts)})",
            params,
        )

    try:
        try:
            read(base, delimiter)
            staged = _describe(con, name, "csv")
            if delimiter or len(staged.columns) > 1 or guessed is None:
                return _rename_reserved(con, staged)
        except duckdb.Error as exc:
            if _SNIFF_FAILED not in str(exc).lower() or guessed is None:
                raise
        try:  # the sniffer failed or saw one column where the header has several
            read(base, guessed)
        except duckdb.Error as exc:
            if _SNIFF_FAILED not in str(exc).lower():
                raise
            cols = _header_columns(header, guessed)  # type: ignore[arg-type]
            spec = ", ".join(f"{quote_literal(k)}: 'VARCHAR'" for k in cols)
            read([*base, "auto_detect = false", "escape = '\"'", f"columns = {{{spec}}}"],
                 guessed)
    except duckdb.Error as exc:
        con.execute(f'DROP TABLE IF EXISTS temp.{quote_ident(name)}')
        raise _duck_error(shown, exc) from None
    return _rename_reserved(con, _describe(con, name, "csv"))


#: DuckDB pseudo-columns a file column would hide (``rowid`` numbers the file's rows)
_RESERVED = ("rowid",)


def _rename_reserved(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> StagedFile:
    """Rename a file column called ``rowid`` to ``rowid_`` so the row order stays reachable."""
    clash = [c for c in staged.columns if c.lower() in _RESERVED]
    if not clash:
        return staged
    for c in clash:
        new, n = f"{c}_", 1
        while new.lower() in (x.lower() for x in staged.columns):
            new, n = f"{c}_{n}", n + 1
        con.execute(f"ALTER TABLE {quote_ident(staged.table)} "
                    f"RENAME COLUMN {quote_ident(c)} TO {quote_ident(new)}")
    return _describe(con, staged.table, staged.format)


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
