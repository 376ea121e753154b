"""Logs as one JSON object per line on standard error, for a log shipper to read.

``structlog`` renders every line, ours and those of ``logging.getLogger(...)`` calls (uvicorn's
too): a request line per HTTP request (``event="request"``) and a job line per import,
notification run and checkpoint (``event="job"``). Lines carry ids, route templates, counts and
timings only: never names, case text, contact details or query strings (a search's ``q=``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.engine import Engine

_HANDLER_NAME = "popcase-json"
_TIMING_START = "popcase.statement_started"
QUIET = ("httpx", "httpx2", "httpcore", "httpcore2")


@dataclass
class DatabaseTime:
    """Time spent in SQL statements by one request. The object is shared, not copied, by the
    threads a request's sync handlers and dependencies run in (they copy the context)."""

    seconds: float = 0.0
    statements: int = 0


database_time: ContextVar[DatabaseTime | None] = ContextVar("popcase_db_time", default=None)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at each line (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _add_pid(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict["pid"] = os.getpid()  # which worker of `popcase serve --workers N`
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _add_pid,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]


def json_formatter() -> logging.Formatter:
    """The formatter of every line: JSON, exceptions as a ``exception`` text field."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure_logging(level: int = logging.INFO) -> None:
    """Once per process (later calls do nothing): JSON lines on standard error for every
    logger. Handlers others added (a test runner's) are left in place."""
    root = logging.getLogger()
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    _configure_structlog()
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(json_formatter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    for name in QUIET:
        # Their INFO lines name whole URLs, query strings and all (the identity provider's).
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Through the root's handler: uvicorn's own access line would carry query strings,
        # and `popcase serve` turns it off (the request line replaces it).
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _configure_structlog() -> None:
    """structlog's events go through stdlib logging (whose handler renders them)."""
    structlog.configure(
        processors=[*_shared_processors(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    # Used before configure_logging (a library caller): still through stdlib logging, never
    # structlog's own default of printing to standard output.
    if not structlog.is_configured():
        _configure_structlog()
    return structlog.stdlib.get_logger(name)


def time_statements(engine: Engine) -> None:
    """Add each statement's time on ``engine`` to the current request's database time."""
    if getattr(engine, "_popcase_timed", False):
        return
    engine._popcase_timed = True  # type: ignore[attr-defined]  # once per engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, _statement: str, _parameters: Any, _context: Any,
                _executemany: bool) -> None:
        conn.info.setdefault(_TIMING_START, []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, _statement: str, _parameters: Any, _context: Any,
               _executemany: bool) -> None:
        started = conn.info.get(_TIMING_START)
        if not started:
            return
        spent = time.perf_counter() - started.pop()
        timing = database_time.get()
        if timing is not None:
            timing.seconds += spent
            timing.statements += 1


@contextmanager
def job(kind: str, /, **fields: Any) -> Iterator[dict[str, Any]]:
    """One ``job`` line when the block ends: its kind, outcome, duration and database time.
    The block may add fields (counts, ids) to the dictionary it is given."""
    timing = DatabaseTime()
    token = database_time.set(timing)
    started = time.perf_counter()
    status = "failed"
    try:
        yield fields
        status = fields.pop("status", "done")
    finally:
        database_time.reset(token)
        get_logger("popcase.jobs").info(
            "job", job=kind, status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            db_ms=round(timing.seconds * 1000, 1), **fields)


def job_line(kind: str, /, **fields: Any) -> None:
    """A ``job`` line for work whose timing the caller does not hold."""
    get_logger("popcase.jobs").info("job", job=kind, **fields)
