"""The one CSV writer's cell rules (app/csvfile.py): a value's type decides how it is written."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from app.csvfile import cell, csv_bytes, line


class Kind(StrEnum):
    FOOT = "foot"
    ODD = "=odd"


@pytest.mark.parametrize(("value", "written"), [
    (-23.5, "-23.5"), (0.1 + 0.2, "0.30000000000000004"), (7, "7"), (-3, "-3"),
    (Decimal("-1.50"), "-1.50"), (float("nan"), ""), (float("-inf"), ""), (None, ""),
    (True, "true"), (False, "false"), (date(2024, 3, 1), "2024-03-01"),
    (datetime(2024, 3, 1, 17, 5, tzinfo=UTC), "2024-03-01T17:05:00+00:00"),
    (Kind.FOOT, "foot"), (Kind.ODD, "'=odd"),
])
def test_values_are_written_by_their_type(value: object, written: str) -> None:
    assert cell(value) == written


@pytest.mark.parametrize("text", ["=1+1", "+44 20 7946 0000", "-23.5", "@SUM(A1)", "\tx",
                                  "\r=x", "|cmd"])
def test_text_that_starts_like_a_formula_gets_one_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text
    assert cell(cell(text)) == cell(text)  # an apostrophe first is already safe text


@pytest.mark.parametrize("text", ["Liverpool Street", "", "23.5", "'quoted", "a=b"])
def test_other_text_is_kept(text: str) -> None:
    assert cell(text) == text


def test_a_file_reads_back_with_its_values() -> None:
    content = csv_bytes(["name", "change", "note"], [["Bank", -29.03, 'said "=no"'],
                                                      ["=Moorgate", None, "a,b\nc"]])
    assert content.endswith(b"\r\n")
    assert list(csv.reader(io.StringIO(content.decode("utf-8")))) == [
        ["name", "change", "note"], ["Bank", "-29.03", 'said "=no"'],
        ["'=Moorgate", "", "a,b\nc"]]
    assert line([1, "x"]) == "1,x\r\n"
