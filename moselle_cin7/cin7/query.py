"""Builders for Cin7 Omni ``where`` clauses.

Cin7's filter language is SQL-like text: string and date literals in single quotes (an embedded
quote doubled), numbers bare, clauses joined with ``AND``/``OR``. The builders return plain text;
URL encoding is the client's job and happens once, on the whole query string, so a ``#`` or a
``%`` inside a literal reaches Cin7 intact.

Operators are written without spaces (``id>5``, ``modifiedDate>='...'``) because that is the form
seen working against the real API; keywords (``AND``, ``IN``, ``LIKE``, ``IS NULL``) are spaced.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from moselle_cin7.timeutil import format_cin7_filter

Literal = str | int | float | Decimal | datetime | date

# Field names go into the query unquoted, so anything but a plain identifier is refused rather than
# escaped: a name is code, never user text.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_OR_KEYWORD = re.compile(r"\bOR\b", re.IGNORECASE)


def field_name(name: str) -> str:
    """Check that ``name`` is a plain field identifier and return it."""
    if not isinstance(name, str) or not _FIELD_NAME.match(name):
        raise ValueError(f"not a Cin7 field name: {name!r}")
    return name


def quote_literal(text: str) -> str:
    """A quoted string literal, embedded quotes doubled: ``O'Brien`` -> ``'O''Brien'``."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: Literal) -> str:
    """The ``where`` form of a Python value.

    Strings are quoted, numbers bare, datetimes become quoted UTC ``yyyy-MM-ddTHH:mm:ssZ``
    (aware only) and dates quoted ``yyyy-MM-dd``. Booleans are refused: Cin7 does not document how
    it spells them, so a guess here could silently filter out everything.
    """
    if isinstance(value, bool):
        raise TypeError("Cin7's boolean literal syntax is undocumented; filter booleans locally")
    if isinstance(value, str):
        return quote_literal(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot filter on {value!r}")
        return str(value)
    if isinstance(value, datetime):
        return quote_literal(format_cin7_filter(value))
    if isinstance(value, date):
        return quote_literal(value.isoformat())
    raise TypeError(f"no Cin7 literal for {type(value).__name__} value {value!r}")


def _compare(name: str, operator: str, value: Literal) -> str:
    return f"{field_name(name)}{operator}{literal(value)}"


def eq(name: str, value: Literal) -> str:
    """``name=value``."""
    return _compare(name, "=", value)


def ne(name: str, value: Literal) -> str:
    """``name<>value``."""
    return _compare(name, "<>", value)


def gt(name: str, value: Literal) -> str:
    """``name>value``."""
    return _compare(name, ">", value)


def ge(name: str, value: Literal) -> str:
    """``name>=value``; a datetime is sent as UTC."""
    return _compare(name, ">=", value)


def lt(name: str, value: Literal) -> str:
    """``name<value``; a datetime is sent as UTC."""
    return _compare(name, "<", value)


def le(name: str, value: Literal) -> str:
    """``name<=value``."""
    return _compare(name, "<=", value)


def like(name: str, pattern: str) -> str:
    """``name LIKE 'pattern'`` (``%`` is the wildcard and is sent encoded as ``%25``)."""
    return f"{field_name(name)} LIKE {quote_literal(pattern)}"


def in_(name: str, values: Iterable[Literal]) -> str:
    """``name IN (v1,v2,...)``; an empty list is refused, as it would match nothing."""
    rendered = [literal(value) for value in values]
    if not rendered:
        raise ValueError(f"in_({name!r}) needs at least one value")
    return f"{field_name(name)} IN ({','.join(rendered)})"


def is_null(name: str) -> str:
    """``name IS NULL``."""
    return f"{field_name(name)} IS NULL"


def is_not_null(name: str) -> str:
    """``name IS NOT NULL``."""
    return f"{field_name(name)} IS NOT NULL"


def _outside_quotes(clause: str) -> str:
    """The clause with every quoted literal blanked, so keywords inside strings are not seen."""
    return re.sub(r"'(?:[^']|'')*'", "''", clause)


def _wrapped(clause: str) -> bool:
    """Whether one pair of parentheses encloses the whole clause."""
    bare = _outside_quotes(clause)
    if not (bare.startswith("(") and bare.endswith(")")):
        return False
    depth = 0
    for position, character in enumerate(bare):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0 and position < len(bare) - 1:
            return False
    return True


def _needs_parentheses(clause: str) -> bool:
    return bool(_OR_KEYWORD.search(_outside_quotes(clause))) and not _wrapped(clause)


def and_(*clauses: str | None) -> str:
    """Join clauses with ``AND``; empty ones are dropped and any containing ``OR`` parenthesised.

    ``AND`` binds tighter than ``OR``: ``a OR b`` joined with ``c`` must be ``(a OR b) AND c``.
    """
    parts = [clause.strip() for clause in clauses if clause and clause.strip()]
    return " AND ".join(f"({part})" if _needs_parentheses(part) else part for part in parts)


def or_(*clauses: str | None) -> str:
    """Join clauses with ``OR``; empty ones are dropped."""
    parts = [clause.strip() for clause in clauses if clause and clause.strip()]
    return " OR ".join(parts)
