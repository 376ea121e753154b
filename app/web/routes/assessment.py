"""Impact assessment pages: work out and save an assessment from the case page, add the
record's facts to the process evaluation, and an operation's evaluation (page and CSV)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response, StreamingResponse

from app import csvfile
from app.assessment import service
from app.assessment.process import process_record
from app.assessment.schemas import AssessmentRequest
from app.assessment.views import CSV_COLUMNS, evaluate_operation, evaluation_csv
from app.auth.permissions import Perm
from app.cases import service as cases
from app.cases.access import case_for, ensure_open, ensure_version
from app.cases.schemas import CaseUpdate
from app.errors import Conflict, StaleVersion, ValidationFailed
from app.operations.service import get_operation
from app.sara.stages import Stage
from app.validation import validate
from app.web import forms
from app.web.case_page import render_case
from app.web.deps import Db, Form, PageActor, Ref, csrf_protect, redirect
from app.web.impact import impact_context
from app.web.templating import is_htmx, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MONTH_FIELDS = ("before_first", "before_last", "after_first", "after_last")


@router.post("/cases/{ref}/assessments")
def run_assessment(request: Request, actor: PageActor, db: Db, form: Form,
                   ref: Ref) -> Response:
    values: dict[str, Any] = {name: forms.text(form, name) for name in MONTH_FIELDS}
    values |= {"categories": [c for c in form.getlist("categories") if c],
               "note": forms.text(form, "note")}
    try:
        service.run_assessment(db, actor, ref, validate(AssessmentRequest, {
            **values, "categories": values["categories"] or None}))
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        case = case_for(db, actor, ref)
        errors = forms.errors_by_field(exc.errors) if isinstance(exc, ValidationFailed) \
            else {"before_first": exc.message}
        return render_case(request, db, actor, case,
                           ["section_impact"] if is_htmx(request) else None,
                           status_code=422 if isinstance(exc, ValidationFailed) else 409,
                           open_stage=Stage.ASSESSMENT,
                           **impact_context(db, case, values=values), impact_errors=errors)
    if not is_htmx(request):
        return redirect(f"/cases/{ref.upper()}?section=impact&flash=assessed#section-impact")
    case = case_for(db, actor, ref)
    return render_case(request, db, actor, case, ["section_impact", "refresh_partials"],
                       open_stage=Stage.ASSESSMENT, **impact_context(db, case))


@router.post("/cases/{ref}/process-evaluation")
def add_process_record(request: Request, actor: PageActor, db: Db, form: Form,
                       ref: Ref) -> Response:
    """Append the record's facts (actions, patrols, outputs, concerns) to the process
    evaluation, as the crime picture's figures are pinned into the analysis summary."""
    case = case_for(db, actor, ref, Perm.CASE_EDIT)
    ensure_open(case)
    try:
        ensure_version(case, validate(CaseUpdate, {"version": forms.version(form)}).version)
    except (StaleVersion, ValidationFailed):
        return redirect(f"/cases/{case.ref}?section=impact#process-record")
    text = process_record(db, case).text
    merged = "\n\n".join(p for p in (case.process_evaluation, text) if p)
    cases.update_case(db, actor, case.ref, CaseUpdate(version=case.version,
                                                      process_evaluation=merged))
    return redirect(f"/cases/{case.ref}?section=assessment&flash=process"
                    "#section-assessment")


@router.get("/operations/{operation_id}/evaluation")
def evaluation_page(request: Request, actor: PageActor, db: Db,
                    operation_id: OperationId) -> Response:
    result = evaluate_operation(db, actor, operation_id)
    return render(request, "operations/evaluation.html", {
        "active_nav": "operations", "operation": get_operation(db, actor, operation_id),
        "result": result})


@router.get("/operations/{operation_id}/evaluation.csv")
def evaluation_download(actor: PageActor, db: Db, operation_id: OperationId) -> Response:
    operation = get_operation(db, actor, operation_id)
    result = evaluate_operation(db, actor, operation_id)

    name = "".join(c if c.isalnum() else "-" for c in operation.name.lower())
    rows = csvfile.lines(CSV_COLUMNS, evaluation_csv(result))
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="operation-{name}-evaluation.csv"'})
