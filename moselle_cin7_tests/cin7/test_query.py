"""The where-clause builders: quoting, literals and how clauses combine."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from moselle_cin7.cin7.query import (
    and_,
    eq,
    field_name,
    ge,
    gt,
    in_,
    is_not_null,
    is_null,
    le,
    like,
    literal,
    lt,
    ne,
    or_,
    quote_literal,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("O'Brien", "'O''Brien'"),
        ("#1050", "'#1050'"),
        ("50%OFF", "'50%OFF'"),
        ("''", "''''''"),
        ("", "''"),
    ],
)
def test_quote_literal_doubles_embedded_quotes(text: str, expected: str) -> None:
    assert quote_literal(text) == expected


def test_comparisons_render_without_spaces_like_the_known_working_examples() -> None:
    assert eq("reference", "#1050") == "reference='#1050'"
    assert eq("id", 16526) == "id=16526"
    assert ne("status", "Void") == "status<>'Void'"
    assert gt("id", 7) == "id>7"
    assert le("total", Decimal("12.50")) == "total<=12.50"
    assert eq("total", 2.5) == "total=2.5"
    assert eq("invoiceDate", date(2026, 2, 3)) == "invoiceDate='2026-02-03'"


def test_datetimes_are_sent_as_utc_without_fraction() -> None:
    """13:00 on 1 Jan in Auckland is NZDT (+13), i.e. midnight UTC."""
    auckland_one_pm = datetime(2026, 1, 1, 13, 0, 0, 999_999, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert ge("modifiedDate", auckland_one_pm) == "modifiedDate>='2026-01-01T00:00:00Z'"
    assert lt("modifiedDate", datetime(2026, 1, 2, tzinfo=UTC)) == (
        "modifiedDate<'2026-01-02T00:00:00Z'"
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ge("modifiedDate", datetime(2026, 1, 1))


def test_in_quotes_strings_and_leaves_numbers_bare() -> None:
    assert in_("branchId", [1, 2, 3]) == "branchId IN (1,2,3)"
    assert in_("reference", ["A1", "O'B"]) == "reference IN ('A1','O''B')"
    with pytest.raises(ValueError, match="at least one value"):
        in_("branchId", [])


def test_like_and_null_tests() -> None:
    assert like("code", "%ABC%") == "code LIKE '%ABC%'"
    assert is_null("integrationRef") == "integrationRef IS NULL"
    assert is_not_null("dispatchedDate") == "dispatchedDate IS NOT NULL"


@pytest.mark.parametrize("bad", ["id; DROP", "id=1", "", "1id", "a b", "code'"])
def test_field_names_must_be_plain_identifiers(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Cin7 field name"):
        field_name(bad)


def test_unsupported_literals_are_refused() -> None:
    """Cin7 does not document boolean literals; a guess could silently match nothing."""
    with pytest.raises(TypeError, match="boolean"):
        literal(True)
    with pytest.raises(ValueError, match="cannot filter"):
        literal(float("nan"))
    with pytest.raises(TypeError, match="no Cin7 literal"):
        literal(None)  # type: ignore[arg-type]


def test_and_parenthesises_clauses_holding_or() -> None:
    assert and_("branchId=5", None, "", "reference='A1' OR reference='A2'") == (
        "branchId=5 AND (reference='A1' OR reference='A2')"
    )
    # Already enclosed as a whole: not wrapped twice.
    assert and_("(a=1 OR b=2)", "c=3") == "(a=1 OR b=2) AND c=3"
    # Two parenthesised groups joined by OR are not enclosed as a whole.
    assert and_("(a=1) OR (b=2)", "c=3") == "((a=1) OR (b=2)) AND c=3"


def test_and_ignores_or_inside_quoted_literals() -> None:
    assert and_("company='Salt OR Pepper'", "id>3") == "company='Salt OR Pepper' AND id>3"
    assert and_("company='it''s OR'", "id>3") == "company='it''s OR' AND id>3"


def test_or_and_empty_joins() -> None:
    assert or_("a=1", None, "b=2") == "a=1 OR b=2"
    assert and_() == ""
    assert and_(None, "  ") == ""
