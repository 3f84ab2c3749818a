"""The list-call parameters of Cin7 Omni: ``where``, ``order``, ``fields``, ``page`` and ``rows``.

``where`` is SQL-like text over header fields (never line items)::

    modifiedDate >= '2026-01-01T00:00:00Z' AND (stage = 'Dispatched' OR stage LIKE 'Fully%')
    reference IN ('#1050', 'SO-2001') AND company IS NOT NULL AND isVoid = false

It follows SQL semantics where Cin7's behaviour is unknown, as the service sits on a SQL database:
a comparison with a null is *unknown* (neither true nor false, so ``x <> 'A'`` skips nulls), text
compares without regard to case (a case-insensitive collation; see ``QueryRules``), ``LIKE`` knows
``%``, ``_`` and ``[...]``, and in ascending order nulls come first. Fields whose name ends in
``Date`` compare as instants: both sides are parsed, whatever their text form.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moselle_cin7.sandbox.timestamps import TimestampError, parse_ticks

if TYPE_CHECKING:
    from moselle_cin7.sandbox.account import Table

MAX_ROWS = 250
DEFAULT_ROWS = 50

Predicate = Callable[[Any], bool | None]


class QueryError(ValueError):
    """A list call's parameters that Cin7 would answer with 400 Bad Request."""


@dataclass(frozen=True)
class QueryRules:
    """Behaviour of the query language where Cin7's is unverified.

    Attributes:
        default_descending: an ``order`` term without ASC/DESC sorts descending, as reported.
        case_insensitive_text: ``=``, ``<>``, ``LIKE`` and sorting ignore case, as a SQL Server
            default collation does; set False to make text comparisons exact.
    """

    default_descending: bool = True
    case_insensitive_text: bool = True


@dataclass(frozen=True)
class ListQuery:
    # The parsed filter, as the key its answer is remembered under: a keyset scan's first page
    # and the base of its later pages (see ``KeysetResume``) share one evaluation.
    where_key: str
    order_text: str
    predicate: Predicate | None
    bounds: tuple[str, Any, bool, Any, bool] | None
    order: tuple[tuple[str, bool], ...]
    page: int
    rows: int
    projection: tuple[tuple[str, tuple[str, ...] | None], ...] | None
    # Set when the call is the next page of a keyset scan (see ``_keyset_resume``).
    keyset: KeysetResume | None = None


@dataclass(frozen=True)
class KeysetResume:
    """``<base filter> AND key > last ORDER BY key ASC``: a keyset scan's next page.

    Ordered by ``key`` alone, the rows past ``last`` are a tail of the base filter's answer, so the
    base answer is worked out once per scan and each page starts where ``last`` falls in it,
    instead of filtering the whole table again for every page.
    """

    base_key: str
    base_predicate: Predicate | None
    base_bounds: tuple[str, Any, bool, Any, bool] | None
    start_value: tuple


# --------------------------------------------------------------------------- paging


def parse_int_param(params: dict[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise QueryError(f"The request is invalid: '{name}' must be a whole number.") from None


def parse_paging(params: dict[str, str]) -> tuple[int, int]:
    page = parse_int_param(params, "page", 1)
    rows = parse_int_param(params, "rows", DEFAULT_ROWS)
    if page < 1:
        raise QueryError("The request is invalid: 'page' must be 1 or more.")
    if rows < 1 or rows > MAX_ROWS:
        raise QueryError(f"The request is invalid: 'rows' must be between 1 and {MAX_ROWS}.")
    return page, rows


# --------------------------------------------------------------------------- where: tokens

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<badstring>'|")
    | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
    | (?P<op><>|!=|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*|\[[A-Za-z_][A-Za-z0-9_]*\])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "like", "in", "is", "null", "true", "false", "between"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, op, punct, name, keyword, end
    text: str
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise QueryError(f"Invalid where clause: unexpected text at {text[position:][:20]!r}.")
        kind = match.lastgroup
        raw = match.group(kind)
        position = match.end()
        if kind == "badstring":
            if raw == '"':
                raise QueryError("Invalid where clause: quote text with single quotes, not double.")
            raise QueryError("Invalid where clause: unterminated quoted text.")
        if kind == "string":
            tokens.append(_Token("string", raw, raw[1:-1].replace("''", "'")))
        elif kind == "number":
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", raw, number))
        elif kind == "name":
            name = raw.strip("[]")
            if raw[0] != "[" and name.casefold() in _KEYWORDS:
                tokens.append(_Token("keyword", name.casefold()))
            else:
                tokens.append(_Token("name", name))
        else:
            tokens.append(_Token(kind, raw))
    tokens.append(_Token("end", ""))
    return tokens


# --------------------------------------------------------------------------- where: syntax tree

# Nodes are tuples: ("and", [nodes]) ("or", [nodes]) ("not", node) ("cmp", field, op, literal)
# ("like", field, pattern, negated) ("in", field, [literals], negated) ("null", field, negated)
# ("between", field, low, high, negated). A literal is (kind, value) with kind in
# {"string", "number", "bool", "null"}.


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.text == word

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.error(f"expected {word.upper()}")
        self.take()

    def expect_punct(self, char: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != char:
            raise QueryError(f"Invalid where clause: expected '{char}' but found {token.text!r}.")

    def error(self, message: str) -> QueryError:
        found = self.peek().text or "the end"
        return QueryError(f"Invalid where clause: {message} but found {found!r}.")

    def parse(self) -> tuple:
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error("expected AND, OR or the end")
        return node

    def parse_or(self) -> tuple:
        items = [self.parse_and()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else ("or", items)

    def parse_and(self) -> tuple:
        items = [self.parse_not()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else ("and", items)

    def parse_not(self) -> tuple:
        if self.at_keyword("not"):
            self.take()
            return ("not", self.parse_not())
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            node = self.parse_or()
            self.expect_punct(")")
            return node
        return self.parse_predicate()

    def literal(self) -> tuple[str, Any]:
        token = self.take()
        if token.kind in ("string", "number"):
            return (token.kind, token.value)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return ("bool", token.text == "true")
        if token.kind == "keyword" and token.text == "null":
            return ("null", None)
        raise QueryError(
            f"Invalid where clause: expected a value ('text', a number, true or false) "
            f"but found {token.text or 'the end'!r}."
        )

    def parse_predicate(self) -> tuple:
        token = self.take()
        if token.kind != "name":
            found = token.text or "the end"
            raise QueryError(f"Invalid where clause: expected a field name but found {found!r}.")
        field = token.text
        if self.at_keyword("is"):
            self.take()
            negated = self.at_keyword("not")
            if negated:
                self.take()
            self.expect_keyword("null")
            return ("null", field, negated)
        negated = self.at_keyword("not")
        if negated:
            self.take()
        if self.at_keyword("like"):
            self.take()
            pattern = self.literal()
            if pattern[0] != "string":
                raise QueryError("Invalid where clause: LIKE needs a quoted pattern.")
            return ("like", field, pattern[1], negated)
        if self.at_keyword("in"):
            self.take()
            self.expect_punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.literal())
            self.expect_punct(")")
            return ("in", field, values, negated)
        if self.at_keyword("between"):
            self.take()
            low = self.literal()
            self.expect_keyword("and")
            high = self.literal()
            return ("between", field, low, high, negated)
        if negated:
            raise self.error("expected LIKE, IN or BETWEEN after NOT")
        operator_token = self.take()
        if operator_token.kind != "op":
            raise QueryError(
                f"Invalid where clause: expected an operator after {field!r} "
                f"but found {operator_token.text or 'the end'!r}."
            )
        op = "<>" if operator_token.text == "!=" else operator_token.text
        return ("cmp", field, op, self.literal())


def parse_where(text: str) -> tuple:
    """The syntax tree of a ``where`` text (raises ``QueryError`` on bad syntax)."""
    return _Parser(text).parse()


# --------------------------------------------------------------------------- where: evaluation

_COMPARE = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def is_date_field(name: str) -> bool:
    return name.casefold().endswith("date")


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise QueryError(
            f"Invalid where clause: {field} is a number and {text!r} is not one."
        ) from None


class _Evaluator:
    """Compiles a syntax tree to a predicate over stored rows, with SQL's three-valued logic."""

    def __init__(self, table: Table, rules: QueryRules) -> None:
        self.table = table
        self.rules = rules

    def field(self, name: str) -> str:
        canonical = self.table.header_field(name)
        if canonical is None:
            if self.table.nested_field_of(name):
                raise QueryError(
                    f"Invalid where clause: {name!r} is a line-item field; "
                    f"where filters {self.table.endpoint} header fields only."
                )
            raise QueryError(
                f"Invalid where clause: unknown field {name!r} for {self.table.endpoint}."
            )
        if canonical == self.table.nested_field or canonical == "customFields":
            raise QueryError(f"Invalid where clause: {canonical!r} cannot be filtered.")
        return canonical

    def compile(self, node: tuple) -> Predicate:
        kind = node[0]
        if kind in ("and", "or"):
            parts = [self.compile(item) for item in node[1]]
            return _all(parts) if kind == "and" else _any(parts)
        if kind == "not":
            inner = self.compile(node[1])

            def negation(row: Any) -> bool | None:
                result = inner(row)
                return None if result is None else not result

            return negation
        if kind == "cmp":
            return self.comparison(self.field(node[1]), node[2], node[3])
        if kind == "between":
            field = self.field(node[1])
            inside = _all(
                [self.comparison(field, ">=", node[2]), self.comparison(field, "<=", node[3])]
            )
            return self.maybe_negate(inside, node[4])
        if kind == "in":
            field = self.field(node[1])
            choices = _any([self.comparison(field, "=", literal) for literal in node[2]])
            return self.maybe_negate(choices, node[3])
        if kind == "like":
            return self.maybe_negate(self.like(self.field(node[1]), node[2]), node[3])
        if kind == "null":
            getter = self.table.value_getter(self.field(node[1]))
            if node[2]:
                return lambda row: getter(row) is not None
            return lambda row: getter(row) is None
        raise AssertionError(kind)

    @staticmethod
    def maybe_negate(predicate: Predicate, negated: bool) -> Predicate:
        if not negated:
            return predicate

        def negation(row: Any) -> bool | None:
            result = predicate(row)
            return None if result is None else not result

        return negation

    def comparison(self, field: str, op: str, literal: tuple[str, Any]) -> Predicate:
        literal_kind, literal_value = literal
        if literal_kind == "null":
            # `x = NULL` is never true in SQL, whatever x holds.
            return lambda row: None
        compare = _COMPARE[op]
        if is_date_field(field):
            if literal_kind != "string":
                raise QueryError(
                    f"Invalid where clause: {field} is a date; compare it with a quoted "
                    f"date/time such as '2026-01-31T00:00:00Z'."
                )
            try:
                target = parse_ticks(literal_value)
            except TimestampError:
                raise QueryError(
                    f"Invalid where clause: {literal_value!r} is not a date/time for {field}."
                ) from None
            ticks_of = self.table.ticks_getter(field)

            def date_predicate(row: Any) -> bool | None:
                ticks = ticks_of(row)
                return None if ticks is None else compare(ticks, target)

            return date_predicate

        getter = self.table.value_getter(field)
        folded = self.rules.case_insensitive_text
        text_target = literal_value if literal_kind == "string" else None
        if text_target is not None and op in ("=", "<>"):
            # SQL Server ignores trailing spaces when comparing text for (in)equality.
            text_target = text_target.rstrip()
        if text_target is not None and folded:
            text_target = text_target.casefold()

        def value_predicate(row: Any) -> bool | None:
            value = getter(row)
            if value is None:
                return None
            if isinstance(value, bool):
                return compare(int(value), _as_bit(literal_kind, literal_value, field))
            if isinstance(value, int | float):
                if literal_kind == "number":
                    return compare(value, literal_value)
                if literal_kind == "bool":
                    return compare(value, int(literal_value))
                return compare(value, _number(literal_value, field))
            if isinstance(value, str):
                if text_target is not None:
                    text = value.rstrip() if op in ("=", "<>") else value
                    return compare(text.casefold() if folded else text, text_target)
                if literal_kind == "number":
                    # SQL Server converts the text to a number, and fails on text that is not one.
                    try:
                        return compare(float(value.strip()), literal_value)
                    except ValueError:
                        raise QueryError(
                            f"Invalid where clause: {field} is text and {value!r} cannot be "
                            f"compared with the number {literal_value}."
                        ) from None
                raise QueryError(f"Invalid where clause: {field} is text; compare it with text.")
            raise QueryError(f"Invalid where clause: {field!r} cannot be filtered.")

        return value_predicate

    def like(self, field: str, pattern: str) -> Predicate:
        if is_date_field(field):
            raise QueryError(f"Invalid where clause: LIKE does not apply to the date {field}.")
        flags = re.DOTALL | (re.IGNORECASE if self.rules.case_insensitive_text else 0)
        matcher = re.compile(like_to_regex(pattern), flags)
        getter = self.table.value_getter(field)

        def like_predicate(row: Any) -> bool | None:
            value = getter(row)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise QueryError(f"Invalid where clause: LIKE does not apply to {field}.")
            return matcher.fullmatch(str(value)) is not None

        return like_predicate


def _as_bit(kind: str, value: Any, field: str) -> int:
    if kind == "bool":
        return int(value)
    if kind == "number":
        return int(value != 0)
    text = str(value).strip().casefold()
    if text in ("true", "1"):
        return 1
    if text in ("false", "0"):
        return 0
    raise QueryError(f"Invalid where clause: {field} is true/false and {value!r} is neither.")


def _all(parts: list[Predicate]) -> Predicate:
    def conjunction(row: Any) -> bool | None:
        unknown = False
        for part in parts:
            result = part(row)
            if result is False:
                return False
            if result is None:
                unknown = True
        return None if unknown else True

    return conjunction


def _any(parts: list[Predicate]) -> Predicate:
    def disjunction(row: Any) -> bool | None:
        unknown = False
        for part in parts:
            result = part(row)
            if result is True:
                return True
            if result is None:
                unknown = True
        return None if unknown else False

    return disjunction


def like_to_regex(pattern: str) -> str:
    """SQL ``LIKE`` to a regular expression: ``%`` any run, ``_`` one character, ``[...]`` a set."""
    parts = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "[" and "]" in pattern[position + 2 :]:
            end = pattern.index("]", position + 2)
            body = pattern[position + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\^]" else c for c in body)
            parts.append(f"[{'^' if negate else ''}{escaped}]")
            position = end
        else:
            parts.append(re.escape(char))
        position += 1
    return "".join(parts)


def _range_bounds(node: tuple, table: Table) -> tuple[str, Any, bool, Any, bool] | None:
    """A range on one indexed field that every matching row must satisfy, if the filter's
    top-level AND holds one: (field, low, low_inclusive, high, high_inclusive), ``None`` for an
    open end. The full filter is still applied to each candidate, so this only saves work."""
    conjuncts = node[1] if node[0] == "and" else [node]
    lows: dict[str, tuple[Any, bool]] = {}
    highs: dict[str, tuple[Any, bool]] = {}
    for item in conjuncts:
        if item[0] == "cmp" and item[2] != "<>":
            pairs = [(item[2], item[3])]
        elif item[0] == "between" and not item[4]:
            pairs = [(">=", item[2]), ("<=", item[3])]
        else:
            continue
        field = table.header_field(item[1])
        if field is None or not table.indexable(field):
            continue
        for op, literal in pairs:
            value = _index_value(field, literal)
            if value is None:
                continue
            if op in (">", ">=", "="):
                lows[field] = _tighter(lows.get(field), (value, op != ">"), larger=True)
            if op in ("<", "<=", "="):
                highs[field] = _tighter(highs.get(field), (value, op != "<"), larger=False)
    fields = set(lows) | set(highs)
    if not fields:
        return None

    def bounds_of(field: str) -> tuple[str, Any, bool, Any, bool]:
        low, low_inclusive = lows.get(field, (None, True))
        high, high_inclusive = highs.get(field, (None, True))
        return (field, low, low_inclusive, high, high_inclusive)

    return min(
        (bounds_of(field) for field in sorted(fields)), key=lambda b: table.count_in_range(*b)
    )


def _index_value(field: str, literal: tuple[str, Any]) -> Any:
    kind, raw = literal
    if is_date_field(field):
        if kind != "string":
            return None
        try:
            return parse_ticks(raw)
        except TimestampError:
            return None
    return raw if kind == "number" else None


def _tighter(
    current: tuple[Any, bool] | None, candidate: tuple[Any, bool], larger: bool
) -> tuple[Any, bool]:
    """The narrower of two range ends; at the same value an exclusive end is the narrower."""
    if current is None:
        return candidate
    if candidate[0] == current[0]:
        return (current[0], current[1] and candidate[1])
    if (candidate[0] > current[0]) == larger:
        return candidate
    return current


# --------------------------------------------------------------------------- order and fields


def parse_order(text: str, table: Table, rules: QueryRules) -> tuple[tuple[str, bool], ...]:
    """``field [ASC|DESC], ...`` to (canonical field, descending) pairs."""
    terms = []
    for part in text.split(","):
        words = part.split()
        if not words:
            raise QueryError(f"Invalid order: empty term in {text!r}.")
        if len(words) > 2:
            raise QueryError(f"Invalid order: {part.strip()!r} is not 'field ASC' or 'field DESC'.")
        field = table.header_field(words[0])
        if field is None:
            raise QueryError(f"Invalid order: unknown field {words[0]!r} for {table.endpoint}.")
        if field == table.nested_field or field == "customFields":
            raise QueryError(f"Invalid order: cannot sort by {field!r}.")
        descending = rules.default_descending
        if len(words) == 2:
            direction = words[1].upper()
            if direction not in ("ASC", "DESC"):
                raise QueryError(f"Invalid order: direction {words[1]!r} is not ASC or DESC.")
            descending = direction == "DESC"
        terms.append((field, descending))
    return tuple(terms)


def parse_fields(text: str, table: Table) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """``id,reference,lineItems(code,qty)`` to (field, nested fields or None) pairs."""
    items: list[tuple[str, tuple[str, ...] | None]] = []
    for raw in _split_top_level(text):
        raw = raw.strip()
        if not raw:
            continue
        nested_names: tuple[str, ...] | None = None
        name = raw
        if "(" in raw:
            if not raw.endswith(")"):
                raise QueryError(f"Invalid fields: {raw!r} is missing a closing parenthesis.")
            name, inner = raw[:-1].split("(", 1)
            name = name.strip()
            nested_names = tuple(part.strip() for part in inner.split(",") if part.strip())
        field = table.header_field(name)
        if field is None:
            raise QueryError(f"Invalid fields: unknown field {name!r} for {table.endpoint}.")
        if nested_names is not None:
            if field != table.nested_field:
                raise QueryError(f"Invalid fields: {field!r} has no nested fields to choose.")
            resolved = []
            for nested in nested_names:
                canonical = table.nested_field_of(nested)
                if canonical is None:
                    raise QueryError(f"Invalid fields: unknown field {nested!r} in {field}.")
                resolved.append(canonical)
            nested_names = tuple(table.sort_nested_fields(resolved))
        items.append((field, nested_names))
    if not items:
        raise QueryError("Invalid fields: no field named.")
    ordered = {}
    for field, nested in items:
        ordered[field] = nested if field not in ordered or nested is None else ordered[field]
    return tuple((field, ordered[field]) for field in table.sort_header_fields(ordered))


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("Invalid fields: unbalanced parentheses.")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise QueryError("Invalid fields: unbalanced parentheses.")
    parts.append("".join(current))
    return parts


def project(
    record: dict[str, Any], projection: tuple[tuple[str, tuple[str, ...] | None], ...] | None
) -> dict[str, Any]:
    """The record cut down to the chosen fields; a field the record lacks comes back as null."""
    if projection is None:
        return record
    result = {}
    for field, nested in projection:
        value = record.get(field)
        if nested is not None and isinstance(value, list):
            value = [
                {name: item.get(name) for name in nested} if isinstance(item, dict) else item
                for item in value
            ]
        result[field] = value
    return result


def sort_value(value: Any, case_insensitive: bool) -> tuple:
    """A sort key in which nulls come first, then numbers, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.casefold() if case_insensitive else value)
    return (3, str(value))


# --------------------------------------------------------------------------- running a list call


def parse_list_query(params: dict[str, str], table: Table, rules: QueryRules) -> ListQuery:
    page, rows = parse_paging(params)
    where_text = (params.get("where") or "").strip()
    predicate = None
    bounds = None
    if where_text:
        tree = parse_where(where_text)
        predicate = _Evaluator(table, rules).compile(tree)
        bounds = _range_bounds(tree, table)
    order_text = (params.get("order") or "").strip()
    order = parse_order(order_text, table, rules) if order_text else ()
    fields_text = (params.get("fields") or "").strip()
    projection = parse_fields(fields_text, table) if fields_text else None
    keyset = _keyset_resume(tree, order, table, rules) if where_text else None
    where_key = repr(tree) if where_text else ""
    return ListQuery(
        where_key, order_text, predicate, bounds, order, page, rows, projection, keyset
    )


def _keyset_resume(
    tree: tuple, order: tuple[tuple[str, bool], ...], table: Table, rules: QueryRules
) -> KeysetResume | None:
    """The keyset shape of a call, if it has one: a top-level AND whose last term is
    ``key > number`` (or ``>=``) on a plain field, with the answer ordered by that field alone,
    ascending."""
    if len(order) != 1 or order[0][1]:
        return None
    conjuncts = list(tree[1]) if tree[0] == "and" else [tree]
    last = conjuncts[-1]
    if last[0] != "cmp" or last[2] not in (">", ">=") or last[3][0] != "number":
        return None
    field = table.header_field(last[1])
    if field is None or field != order[0][0] or is_date_field(field):
        return None
    base = conjuncts[:-1]
    base_tree = None if not base else base[0] if len(base) == 1 else ("and", base)
    return KeysetResume(
        base_key="" if base_tree is None else repr(base_tree),
        base_predicate=None if base_tree is None else _Evaluator(table, rules).compile(base_tree),
        base_bounds=None if base_tree is None else _range_bounds(base_tree, table),
        start_value=sort_value(last[3][1], rules.case_insensitive_text),
    )


def matching_keys(table: Table, query: ListQuery, rules: QueryRules) -> list[Any]:
    """Keys of every matching row in answer order; remembered until the table changes, so paging
    through a large result costs one evaluation."""
    return _matching_keys(table, query.where_key, query.predicate, query.bounds, query.order, rules)


def _matching_keys(
    table: Table,
    where_key: str,
    predicate: Predicate | None,
    bounds: tuple[str, Any, bool, Any, bool] | None,
    order: tuple[tuple[str, bool], ...],
    rules: QueryRules,
) -> list[Any]:
    cache_key = (where_key, order, rules)
    cached = table.cached_result(cache_key)
    if cached is not None:
        return cached

    if bounds is not None:
        candidates: Iterable[Any] = table.keys_in_range(*bounds)
    else:
        candidates = table.rows.keys()
    rows = table.rows
    if predicate is None:
        keys = list(candidates)
    else:
        keys = [key for key in candidates if predicate(rows[key]) is True]

    if order:
        # Ties keep ascending key order; each term is a stable sort, the last term applied first.
        keys.sort()
        for field, descending in reversed(order):
            keys.sort(
                key=table.sort_key_getter(field, rules.case_insensitive_text), reverse=descending
            )
    else:
        # Unordered calls come back newest id first: stable here, not promised by Cin7.
        keys.sort(reverse=table.keyed_by_id)

    table.remember_result(cache_key, keys)
    return keys


def run_list_query(table: Table, query: ListQuery, rules: QueryRules) -> list[dict[str, Any]]:
    if query.keyset is not None:
        page_keys = _keyset_page(table, query, rules)
    else:
        keys = matching_keys(table, query, rules)
        start = (query.page - 1) * query.rows
        page_keys = keys[start : start + query.rows]
    return [project(table.materialize(table.rows[key]), query.projection) for key in page_keys]


def _keyset_page(table: Table, query: ListQuery, rules: QueryRules) -> list[Any]:
    """The page of a keyset call, read from the tail of its base answer (see ``KeysetResume``).

    Every candidate still passes the call's whole filter, so the page is the one a full
    evaluation gives: rows before the tail sort at or below ``last`` and fail ``key > last``.
    """
    resume = query.keyset
    assert resume is not None and query.predicate is not None
    field = query.order[0][0]
    cache_key = ("keyset", resume.base_key, field, rules)
    cached = table.cached_result(cache_key)
    if cached is None:
        keys = _matching_keys(
            table, resume.base_key, resume.base_predicate, resume.base_bounds, query.order, rules
        )
        sort_key = table.sort_key_getter(field, rules.case_insensitive_text)
        cached = [keys, [sort_key(key) for key in keys]]
        table.remember_result(cache_key, cached)
    keys, values = cached
    skip = (query.page - 1) * query.rows
    page_keys: list[Any] = []
    rows = table.rows
    predicate = query.predicate
    for position in range(bisect_left(values, resume.start_value), len(keys)):
        key = keys[position]
        if predicate(rows[key]) is not True:
            continue
        if skip:
            skip -= 1
            continue
        page_keys.append(key)
        if len(page_keys) == query.rows:
            break
    return page_keys


def bisect_range(
    values: list[Any], low: Any, low_inclusive: bool, high: Any, high_inclusive: bool
) -> tuple[int, int]:
    start = 0
    end = len(values)
    if low is not None:
        start = bisect_left(values, low) if low_inclusive else bisect_right(values, low)
    if high is not None:
        end = bisect_right(values, high) if high_inclusive else bisect_left(values, high)
    return start, max(start, end)
