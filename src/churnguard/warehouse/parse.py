"""SQL that turns a staged column (text or typed) into its contract type.

Each builder returns ``(value_sql, present_sql)``: the parsed value (NULL when it cannot be
parsed) and whether the source held a value at all; a value present but unparsable is a
``type`` violation. Timestamps with an offset keep it; naive ones are read in the
workspace time zone; everything is stored as a UTC instant.
"""

from __future__ import annotations

from churnguard.contract import Column
from churnguard.contract.schema import DEFAULT_TIMESTAMP_FORMATS, FALSE_WORDS, TRUE_WORDS

_OFFSET_RE = r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$"
_TEXT_TYPES = ("VARCHAR", "JSON")
_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
              "UINTEGER", "UBIGINT")
_NUM_TYPES = _INT_TYPES + ("FLOAT", "DOUBLE", "REAL")


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


def _number_text(x: str) -> str:
    """Text of a number with thousands separators removed ('1,234.5' -> '1234.5')."""
    t = f"trim({x})"
    return (f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?') "
            f"THEN replace({t}, ',', '') ELSE {t} END")


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
            return f"TRY_CAST({_number_text(x)} AS DOUBLE)"
        return "CAST(NULL AS DOUBLE)"
    if col.dtype == "int":
        if t in _INT_TYPES:
            return f"CAST({x} AS BIGINT)"
        if _is_numeric(t):
            return f"CASE WHEN {x} = floor({x}) THEN TRY_CAST({x} AS BIGINT) END"
        if _is_text(t):
            num = _number_text(x)
            return (f"CASE WHEN regexp_full_match({num}, '[+-]?[0-9]+(\\.0*)?') "
                    f"THEN TRY_CAST(TRY_CAST({num} AS DOUBLE) AS BIGINT) END")
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
        zone = quote_literal(tz)
        if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
            return x
        if t.startswith("TIMESTAMP") or t == "DATE":
            return f"timezone({zone}, CAST({x} AS TIMESTAMP))"
        if _is_text(t):
            v = f"trim({x})"
            fmts = ", ".join(quote_literal(f) for f in (*DEFAULT_TIMESTAMP_FORMATS, *formats))
            with_offset = (f"COALESCE(TRY_CAST({v} AS TIMESTAMPTZ), "
                           f"try_strptime({v}, ['%Y-%m-%d %H:%M%z', '%Y-%m-%dT%H:%M%z']))")
            naive = (f"timezone({zone}, COALESCE(TRY_CAST({v} AS TIMESTAMP), "
                     f"try_strptime({v}, [{fmts}])))")
            return (f"CASE WHEN regexp_matches({v}, {quote_literal(_OFFSET_RE)}) "
                    f"THEN {with_offset} ELSE {naive} END")
        return "CAST(NULL AS TIMESTAMPTZ)"
    raise ValueError(f"no parser for {col.dtype}")  # json columns are built, not parsed
