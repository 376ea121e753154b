"""The ending every use case shares, written once: its changes flushed, the case's timeline
event (for a change to a case), the access-log entry, and one commit.

A service function makes its changes inside ``use_case(...)``; leaving the block writes the
entry and commits, so a use case cannot commit without its entry, nor leave its entry out. An
exception leaving the block rolls the whole transaction back: nothing half-written survives,
and no entry tells of a change that did not happen.

    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    with use_case(db, actor, AuditAction.HYPOTHESIS_ADD, case=case) as done:
        hypothesis = Hypothesis(statement=data.statement)
        case.hypotheses.append(hypothesis)
        done.flush()  # the new row's id, for the event and the entry
        done.event(EventKind.HYPOTHESIS, "Added hypothesis: ...",
                   details={"hypothesis": hypothesis.id})  # the entry's details too
    return hypothesis
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.audit.service import AuditAction, record
from app.auth.context import Actor

if TYPE_CHECKING:
    from app.cases.models import Case, CaseEvent, EventKind


@dataclass
class UseCase:
    """What the body of ``use_case`` says about its change, for the entry written at its end.
    ``action``, ``object_ref``, ``details`` and ``justification`` may be set as the body learns
    them (a new row's id, say); ``unchanged()`` ends the use case without an entry or a commit.
    """

    db: Session
    actor: Actor
    action: AuditAction
    object_type: str
    object_ref: str
    case: Case | None = None
    details: dict[str, Any] | None = None
    justification: str = ""
    commit: bool = True
    nothing_changed: bool = field(default=False, init=False)

    def flush(self) -> None:
        """Send the changes so far to the database (new rows get their ids)."""
        self.db.flush()

    def event(self, kind: EventKind, summary: str, *, case: Case | None = None,
              **fields: Any) -> CaseEvent:
        """The case's timeline event for this change, after the changes so far are flushed.
        Its ``details`` are the entry's too, unless the body sets the entry's own. ``case``:
        another case than the use case's own (the case a concern is linked to, say)."""
        from app.cases.access import add_event  # the cases package builds on this module

        about = case or self.case
        assert about is not None, "an event belongs to a case"
        self.db.flush()
        if self.details is None:
            self.details = fields.get("details")
        return add_event(self.db, about, self.actor, kind, summary, **fields)

    def also(self, action: AuditAction, *, object_type: str, object_ref: str,
             justification: str = "", details: dict[str, Any] | None = None) -> None:
        """Another entry in the same transaction, before the use case's own: an operation's
        export discloses each of its cases, and each disclosure has its entry."""
        record(self.db, self.actor, action, object_type=object_type, object_ref=object_ref,
               justification=justification, details=details)

    def unchanged(self) -> None:
        """The use case found nothing to change: no entry, and nothing to commit."""
        self.nothing_changed = True

    def finish(self) -> None:
        if self.nothing_changed:
            return
        self.db.flush()
        record(self.db, self.actor, self.action, object_type=self.object_type,
               object_ref=self.object_ref, justification=self.justification,
               details=self.details)
        if self.commit:
            self.db.commit()


@contextmanager
def use_case(db: Session, actor: Actor, action: AuditAction, *,
             case: Case | None = None, object_type: str | None = None, object_ref: str = "",
             details: dict[str, Any] | None = None, justification: str = "",
             commit: bool = True) -> Iterator[UseCase]:
    """One use case, one transaction (see the module's docstring). With ``case``, the entry is
    about that case (object type "case", its reference) unless told otherwise. ``commit``
    False: a step of an enclosing use case (opening the case a concern is triaged into), which
    writes its own entry too and commits, or rolls back, the whole."""
    done = UseCase(db, actor, action,
                   object_type if object_type is not None else ("case" if case else ""),
                   object_ref or (case.ref if case is not None else ""), case, details,
                   justification, commit)
    try:
        yield done
        done.finish()  # a failure here too (a constraint met at the flush) rolls back
    except BaseException:
        if commit:
            db.rollback()
        raise
