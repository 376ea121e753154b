"""Captured log lines, rendered by the production JSON formatter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from app.observability.logs import configure_logging, json_formatter


class LogLines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def parsed(self) -> list[dict[str, Any]]:
        """Every line, as JSON (a line that is not JSON fails the test here)."""
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.parsed() if line.get("event") == "request"]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    configure_logging()
    lines = LogLines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
