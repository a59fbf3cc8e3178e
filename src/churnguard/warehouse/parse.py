"""SQL that turns a staged column (text or typed) into its contract type.

Each builder returns ``(value_sql, present_sql)``: the parsed value (NULL when it cannot be
parsed) and whether the source held a value at all; a value present but unparsable is a
``type`` violation. Timestamps with an offset keep it; naive ones are read in the
workspace time zone; everything is stored as a UTC instant.
"""

from __future__ import annotations

from churnguard.contract import Column
from churnguard.contract.schema import DEFAULT_TIMESTAMP_FORMATS, FALSE_WORDS, TRUE_WORDS

_OFFSET_RE = (
    r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$"
)
_TEXT_TYPES = ("VARCHAR", "JSON")
_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
              "UINTEGER", "UBIGINT")
_NUM_TYPES = (*_INT_TYPES, "FLOAT", "DOUBLE", "REAL")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_text(src_type: str) -> bool:
    return src_type.upper() in _TEXT_TYPES


def _is_numeric(src_type: str) -> bool:
    t = src_type.upper()
    return t in _NUM_TYPES or t.startswith("DECIMAL")


def present_sql(x: str, src_type: str) -> str:
    if _is_text(src_type):
        return f"({x} IS NOT NULL AND trim({x}) <> '')"
    return f"({x} IS NOT NULL)"


def _text(x: str, src_type: str) -> str:
    return f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"


_THOUSANDS_RE = "[+-]?[0-9]{1,3}(,[0-9]{3})+(\\.[0-9]+)?"


def number_sql(x: str) -> str:
    """DOUBLE of text ``x``, thousands separators allowed ('1,234.5'); NULL if not a number.

    The plain cast runs first; the separator pattern only on the values it could not read.
    """
    t = f"trim({x})"
    return (f"COALESCE(TRY_CAST({t} AS DOUBLE), CASE WHEN regexp_full_match({t}, "
            f"'{_THOUSANDS_RE}') THEN TRY_CAST(replace({t}, ',', '') AS DOUBLE) END)")


def int_sql(x: str) -> str:
    """BIGINT of text ``x``: a whole number ('12', '12.0', '1,200', '1e3'); NULL otherwise."""
    t = f"trim({x})"
    d = number_sql(x)
    return (f"CASE WHEN {d} = floor({d}) THEN COALESCE(TRY_CAST({t} AS BIGINT), "
            f"TRY_CAST(replace({t}, ',', '') AS BIGINT)) END")


def _in_zone(ts: str, tz: str) -> str:
    """Naive TIMESTAMP ``ts`` read as wall time in ``tz``, as TIMESTAMPTZ.

    The warehouse session time zone is UTC, so for UTC a plain cast does it (and skips the
    per-row time zone lookup).
    """
    if tz == "UTC":
        return f"CAST({ts} AS TIMESTAMPTZ)"
    return f"timezone({quote_literal(tz)}, {ts})"


def value_sql(col: Column, x: str, src_type: str, *, tz: str, formats: list[str]) -> str:
    """SQL expression parsing source expression ``x`` (DuckDB type ``src_type``) into ``col``."""
    t = src_type.upper()
    if col.dtype == "string":
        base = _text(x, src_type)
        if col.allowed is None:
            return base
        low = f"lower({base})"
        if not col.synonyms:
            return low
        cases = " ".join(
            f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in col.synonyms.items()
        )
        return f"CASE {low} {cases} ELSE {low} END"
    if col.dtype == "float":
        if _is_numeric(t):
            return f"CAST({x} AS DOUBLE)"
        if _is_text(t):
            return number_sql(x)
        return "CAST(NULL AS DOUBLE)"
    if col.dtype == "int":
        if t in _INT_TYPES:
            return f"CAST({x} AS BIGINT)"
        if _is_numeric(t):
            return f"CASE WHEN {x} = floor({x}) THEN TRY_CAST({x} AS BIGINT) END"
        if _is_text(t):
            return int_sql(x)
        return "CAST(NULL AS BIGINT)"
    if col.dtype == "bool":
        if t == "BOOLEAN":
            return x
        if _is_numeric(t):
            return f"CASE WHEN {x} = 1 THEN true WHEN {x} = 0 THEN false END"
        if _is_text(t):
            low = f"lower(trim({x}))"
            yes = ", ".join(quote_literal(w) for w in TRUE_WORDS)
            no = ", ".join(quote_literal(w) for w in FALSE_WORDS)
            return f"CASE WHEN {low} IN ({yes}) THEN true WHEN {low} IN ({no}) THEN false END"
        return "CAST(NULL AS BOOLEAN)"
    if col.dtype == "timestamp":
        if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
            return x
        if t.startswith("TIMESTAMP") or t == "DATE":
            return _in_zone(f"CAST({x} AS TIMESTAMP)", tz)
        if _is_text(t):
            v = f"trim({x})"
            fmts = ", ".join(quote_literal(f) for f in (*DEFAULT_TIMESTAMP_FORMATS, *formats))
            with_offset = (f"COALESCE(TRY_CAST({v} AS TIMESTAMPTZ), "
                           f"try_strptime({v}, ['%Y-%m-%d %H:%M%z', '%Y-%m-%dT%H:%M%z']))")
            naive = _in_zone(f"COALESCE(TRY_CAST({v} AS TIMESTAMP), try_strptime({v}, [{fmts}]))",
                             tz)
            return (f"CASE WHEN regexp_matches({v}, {quote_literal(_OFFSET_RE)}) "
                    f"THEN {with_offset} ELSE {naive} END")
        return "CAST(NULL AS TIMESTAMPTZ)"
    raise ValueError(f"no parser for {col.dtype}")  # json columns are built, not parsed
