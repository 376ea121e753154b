"""What the case page shows of the impact assessment: the form (periods proposed from the
response's start), the saved snapshot with its chart and readings, what changed since the one
before, and the process evaluation's facts from the record."""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from app.assessment import service
from app.assessment.process import process_record
from app.assessment.schemas import SnapshotRead
from app.assessment.views import snapshot_read
from app.cases.models import Case
from app.charts import monthly_lines
from app.crime.picture import case_force
from app.crime.queries import data_months


def impact_context(db: Session, case: Case, shown: int | None = None,
                   values: dict[str, Any] | None = None) -> dict[str, Any]:
    span = data_months(db, case_force(case))
    proposal = service.proposal_for(db, case, span)
    saved = service.snapshots(db, case)
    index = next((i for i, s in enumerate(saved) if s.number == shown), 0)
    snapshot = snapshot_read(saved[index], saved[index + 1] if index + 1 < len(saved)
                             else None) if saved else None
    form = values or {
        "before_first": snapshot.before_first.strftime("%Y-%m") if snapshot
        else proposal.before_first,
        "before_last": snapshot.before_last.strftime("%Y-%m") if snapshot
        else proposal.before_last,
        "after_first": snapshot.after_first.strftime("%Y-%m") if snapshot
        else proposal.after_first,
        "after_last": snapshot.after_last.strftime("%Y-%m") if snapshot
        else proposal.after_last,
        "categories": snapshot.categories if snapshot else proposal.categories,
    }
    return {
        "proposal": proposal, "snapshot": snapshot, "saved": saved,
        "impact_values": form,
        "impact_months": [(f"{m:%Y-%m}", f"{m:%b %Y}") for m in (span.months() if span else [])],
        "impact_chart": impact_chart(snapshot) if snapshot else None,
        "process": process_record(db, case),
    }


def impact_chart(snapshot: SnapshotRead) -> Markup:
    months = [date.fromisoformat(f"{m}-01") for m in snapshot.monthly.months]
    series: dict[str, tuple[str, list[int]]] = {
        "target": (f"Target: {snapshot.target.name}", snapshot.monthly.target)}
    if snapshot.monthly.buffer is not None:
        series["buffer"] = ("Buffer ring", snapshot.monthly.buffer)
    if snapshot.monthly.control is not None and snapshot.control:
        series["control"] = (f"Control: {snapshot.control.name}", snapshot.monthly.control)
    return monthly_lines(
        months, series, chart_id=f"impact-chart-{snapshot.number}",
        title=f"Crimes a month, {snapshot.before_first:%b %Y} to {snapshot.after_last:%b %Y}",
        periods=((snapshot.before_first, snapshot.before_last),
                 (snapshot.after_first, snapshot.after_last)),
        marker=snapshot.response_start or snapshot.after_first,
        marker_label="Response began" if snapshot.response_start else "After period")
