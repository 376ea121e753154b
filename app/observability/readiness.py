"""Readiness: the database answers, and its schema is at the code's migration level.

``/health`` (liveness) never touches the database: a load balancer that restarted processes
whenever the database blinked would make an outage worse. ``/ready`` tells it whether to send
traffic to this process now."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    revision: str | None
    expected: str

    def as_dict(self) -> dict[str, str | None]:
        body: dict[str, str | None] = {
            "status": "ready" if self.ready else "not ready",
            "database_revision": self.revision, "code_revision": self.expected}
        if not self.ready:
            body["reason"] = self.reason
        return body


@lru_cache(maxsize=1)
def code_head() -> str:
    """The newest migration this code carries."""
    from alembic.script import ScriptDirectory

    from app.resources import resource_dir

    head = ScriptDirectory(str(resource_dir("migrations"))).get_current_head()
    assert head is not None, "the migrations have no head"
    return head


NOT_MIGRATED = "the database has no migration level: run `popcase db upgrade`"
UNREACHABLE = "the database cannot be reached"


def check(factory: sessionmaker[Session]) -> Readiness:
    expected = code_head()
    try:
        with factory() as db:
            revision = _revision(db)
    except ProgrammingError:  # PostgreSQL: no alembic_version table
        return Readiness(False, NOT_MIGRATED, None, expected)
    except OperationalError as exc:
        missing = "no such table" in str(exc.orig).lower()  # SQLite's word for the same
        return Readiness(False, NOT_MIGRATED if missing else UNREACHABLE, None, expected)
    except SQLAlchemyError:
        return Readiness(False, UNREACHABLE, None, expected)
    if revision != expected:
        return Readiness(False, f"the database is at migration {revision or 'none'}, the code "
                         f"needs {expected}: run `popcase db upgrade`", revision, expected)
    return Readiness(True, "", revision, expected)


def _revision(db: Session) -> str | None:
    rows = db.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None
