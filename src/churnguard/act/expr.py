"""A safe, vectorised expression language for warning rules.

A rule's ``when`` is parsed with :func:`ast.parse` in ``eval`` mode and checked against a
strict whitelist of node types; nothing is ever passed to :func:`eval`. Names must be known
columns (features and model outputs); an unknown name is an error at load time that lists
the closest known names. The checked tree is evaluated over whole columns with numpy.

Allowed: ``and or not``, comparisons ``== != < <= > >=`` (chained too), ``in`` / ``not in``
a list of constants, ``+ - * /``, unary minus, numbers, strings, ``True False None``, and
the functions ``abs(x)``, ``isnull(x)``, ``notnull(x)``, ``coalesce(x, default)``,
``min(a, b)``, ``max(a, b)``. Missing values follow SQL's three-valued logic: a
comparison with a missing value is *unknown*, ``not unknown`` is unknown, ``unknown or
True`` is True, and a rule fires only where its result is True (so ``not (x > 1)`` does
not fire where ``x`` is missing; write ``isnull(x) or x <= 1`` to include those).

>>> import pandas as pd
>>> e = Expression.parse("complaints_30d >= 2 and complaints_30d > complaints_prev_30d",
...                      {"complaints_30d", "complaints_prev_30d"})
>>> e.evaluate(pd.DataFrame({"complaints_30d": [3, 2, 1],
...                          "complaints_prev_30d": [1, 2, 0]})).tolist()
[True, False, False]
>>> Expression.parse("complaint_30d > 1", {"complaints_30d"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
churnguard.act.expr.RuleError: rule: unknown name 'complaint_30d' ...; did you mean complaints_30d?
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churnguard.errors import InputError


class RuleError(InputError):
    """A rule cannot be parsed, names an unknown column or uses a forbidden construct."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, int] = {"abs": 1, "isnull": 1, "notnull": 1, "coalesce": 2,
                              "min": 2, "max": 2}
_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
            ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in"}


@dataclass(frozen=True)
class Condition:
    """One comparison of a rule, kept to explain an alert in words (``name op value``)."""

    name: str
    op: str
    text: str


@dataclass(frozen=True)
class Expression:
    """A parsed, checked rule expression. Build with :meth:`parse`."""

    source: str
    tree: ast.Expression
    names: tuple[str, ...]
    conditions: tuple[Condition, ...] = field(default=())

    @classmethod
    def parse(cls, source: str, known: Collection[str], *, rule: str = "rule") -> Expression:
        """Parse and check ``source``; ``known`` are the column names it may use.

        Raises :class:`RuleError` naming the rule, the problem and the fix.
        """
        text = source.strip()
        if not text:
            raise RuleError(f"{rule}: empty 'when'; write a condition such as "
                            "\"complaints_30d >= 2\"")
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise RuleError(f"{rule}: cannot parse {text!r}: {exc.msg} at column "
                            f"{exc.offset}. Use 'and', 'or', 'not' and comparisons such "
                            "as >=, ==, in [...]") from None
        names: list[str] = []
        _check(tree.body, text, rule, set(known), names)
        conditions = tuple(_conditions(tree.body, text))
        return cls(text, tree, tuple(dict.fromkeys(names)), conditions)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean array of shape (n_rows,): where the expression holds (missing = False)."""
        frame = frame.reset_index(drop=True)
        try:
            with np.errstate(invalid="ignore"):
                out = _eval(self.tree.body, frame)
        except TypeError as exc:
            raise RuleError(f"cannot evaluate {self.source!r}: {exc} (is a text column "
                            "compared with a number?)") from None
        arr = _as_array(out, len(frame))
        if arr.dtype != bool:
            arr = np.asarray(pd.Series(arr).fillna(False).astype(bool))
        return arr


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to ``name`` (difflib), best first."""
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)


def _where(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node)
    return f"{seg!r} in {text!r}" if seg and seg != text else repr(text)


def _check(node: ast.AST, text: str, rule: str, known: set[str], names: list[str]) -> None:
    """Walk the tree; raise RuleError on anything outside the whitelist."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, rule, known, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
        _check(node.operand, text, rule, known, names)
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        _check(node.left, text, rule, known, names)
        _check(node.right, text, rule, known, names)
    elif isinstance(node, ast.Compare):
        _check(node.left, text, rule, known, names)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not (isinstance(right, ast.List | ast.Tuple | ast.Set) and all(
                        isinstance(e, ast.Constant) for e in right.elts)):
                    raise RuleError(f"{rule}: 'in' needs a list of constants, e.g. "
                                    f"segment in [\"At risk\", \"Hibernating\"]; got "
                                    f"{_where(text, right)}")
            elif type(op) not in _COMPARE:
                raise RuleError(f"{rule}: comparison not allowed in {_where(text, node)}")
            else:
                _check(right, text, rule, known, names)
    elif isinstance(node, ast.Name):
        if node.id not in known:
            near = close_matches(node.id, known)
            hint = f"did you mean {', '.join(near)}?" if near else (
                "see `churnguard alerts --help` for the names rules can use")
            raise RuleError(f"{rule}: unknown name {node.id!r} in {text!r}; {hint}")
        names.append(node.id)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str | bool | type(None)):
            raise RuleError(f"{rule}: constant {node.value!r} not allowed in {text!r}")
    elif isinstance(node, ast.Call):
        fname = node.func.id if isinstance(node.func, ast.Name) else None
        if fname not in _FUNCTIONS or node.keywords:
            raise RuleError(f"{rule}: function call not allowed in {_where(text, node)}; "
                            f"allowed: {', '.join(f'{f}()' for f in _FUNCTIONS)}")
        if len(node.args) != _FUNCTIONS[fname]:
            raise RuleError(f"{rule}: {fname}() takes {_FUNCTIONS[fname]} argument(s) in "
                            f"{_where(text, node)}")
        for a in node.args:
            _check(a, text, rule, known, names)
    else:
        raise RuleError(f"{rule}: {type(node).__name__.lower()} not allowed in "
                        f"{_where(text, node)}; rules use names, numbers, strings, "
                        "comparisons, and/or/not, + - * / and a few functions")


def _conditions(node: ast.AST, text: str) -> Iterable[Condition]:
    """The comparisons of the rule, each with the first name it reads (for the reasons)."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            yield from _conditions(v, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield from _conditions(node.operand, text)
    elif isinstance(node, ast.Compare):
        first = next((n.id for part in (node.left, *node.comparators)
                      for n in ast.walk(part) if isinstance(n, ast.Name)
                      and n.id not in _FUNCTIONS), None)
        if first is not None:
            seg = ast.get_source_segment(text, node) or ast.unparse(node)
            yield Condition(first, _SYMBOLS[type(node.ops[0])], seg)


def _as_array(value: Any, n: int) -> np.ndarray:
    """The final boolean column: unknown (missing) counts as False."""
    if isinstance(value, pd.Series):
        return _truth(value).fillna(False).to_numpy(dtype=bool)
    t = _truth(value)
    return np.full(n, False if t is pd.NA else bool(t), dtype=bool)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    s = frame[name]
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64")
    return s.astype(object).where(s.notna(), None)


def _null(v: Any) -> Any:
    if isinstance(v, pd.Series):
        return v.isna()
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _cmp(fn: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """Comparison with SQL's three-valued logic: missing on either side gives unknown."""
    if not isinstance(a, pd.Series) and not isinstance(b, pd.Series):
        return pd.NA if _null(a) or _null(b) else bool(fn(a, b))
    if (not isinstance(a, pd.Series) and _null(a)) or (not isinstance(b, pd.Series)
                                                       and _null(b)):
        ref = a if isinstance(a, pd.Series) else b
        return pd.Series(pd.NA, index=ref.index, dtype="boolean")
    missing = _null(a) if isinstance(a, pd.Series) else None
    if isinstance(b, pd.Series):
        missing = _null(b) if missing is None else missing | _null(b)
    av = a.where(~_null(a), 0) if isinstance(a, pd.Series) and a.dtype == object else a
    bv = b.where(~_null(b), 0) if isinstance(b, pd.Series) and b.dtype == object else b
    res = pd.Series(fn(av, bv)).astype("boolean")
    return res.mask(missing, pd.NA)


def _truth(v: Any) -> Any:
    """A value as three-valued logic: boolean Series (with NA) or True/False/NA."""
    if isinstance(v, pd.Series):
        if str(v.dtype) == "boolean":
            return v
        if pd.api.types.is_numeric_dtype(v.dtype):
            return (v != 0).astype("boolean").mask(v.isna(), pd.NA)
        return v.map(lambda x: pd.NA if _null(x) else bool(x)).astype("boolean")
    return pd.NA if _null(v) else bool(v)


def _eval(node: ast.AST, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.BoolOp):
        vals = [_truth(_eval(v, frame)) for v in node.values]
        acc: Any = vals[0]
        for v in vals[1:]:
            if not isinstance(acc, pd.Series) and isinstance(v, pd.Series):
                acc, v = v, acc
            acc = (acc & v) if isinstance(node.op, ast.And) else (acc | v)
        return acc
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            t = _truth(v)
            return ~t if isinstance(t, pd.Series) else (pd.NA if t is pd.NA else not t)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, frame), _eval(node.right, frame)
        if isinstance(node.op, ast.Div):
            with np.errstate(divide="ignore", invalid="ignore"):
                quot = a / b
            return quot.replace([np.inf, -np.inf], np.nan) if isinstance(quot, pd.Series) else quot
        return _ARITH[type(node.op)](a, b)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        chain: Any = None
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right: Any = None
            if isinstance(op, ast.In | ast.NotIn):
                consts = [ast.literal_eval(e) for e in right_node.elts]  # type: ignore[attr-defined]
                ser = left if isinstance(left, pd.Series) else pd.Series([left] * len(frame))
                part: Any = ser.isin(consts).astype("boolean")
                if isinstance(op, ast.NotIn):
                    part = ~part
                part = part.mask(ser.isna(), pd.NA)
            else:
                right = _eval(right_node, frame)
                part = _cmp(_COMPARE[type(op)], left, right)
            if chain is None:
                chain = part
            elif isinstance(chain, pd.Series) or isinstance(part, pd.Series):
                chain = (chain & part) if isinstance(chain, pd.Series) else (part & chain)
            else:
                chain = chain & part if chain is not pd.NA and part is not pd.NA else pd.NA
            left = right
        return chain
    if isinstance(node, ast.Name):
        return _column(frame, node.id)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_eval(a, frame) for a in node.args]
        return _call(node.func.id, args, len(frame))
    raise RuleError(f"cannot evaluate {ast.dump(node)}")  # unreachable after _check


def _call(name: str, args: list[Any], n: int) -> Any:
    if name in ("isnull", "notnull"):
        v = args[0]
        isn = v.isna() if isinstance(v, pd.Series) else pd.Series([_null(v)] * n)
        return isn if name == "isnull" else ~isn
    if name == "abs":
        return args[0].abs() if isinstance(args[0], pd.Series) else abs(args[0])
    if name == "coalesce":
        v, d = args
        return v.where(v.notna(), d) if isinstance(v, pd.Series) else (d if _null(v) else v)
    a = args[0] if isinstance(args[0], pd.Series) else pd.Series([args[0]] * n, dtype=float)
    b = args[1] if isinstance(args[1], pd.Series) else pd.Series([args[1]] * n, dtype=float)
    stacked = pd.concat([a.reset_index(drop=True), b.reset_index(drop=True)], axis=1)
    return stacked.min(axis=1) if name == "min" else stacked.max(axis=1)


def describe_names(names: Mapping[str, str]) -> str:
    """One line per name: ``name: description`` (for help texts)."""
    return "\n".join(f"{k}: {v}" for k, v in sorted(names.items()))


__all__ = ["Condition", "Expression", "RuleError", "close_matches", "describe_names"]
