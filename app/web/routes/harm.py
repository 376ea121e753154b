"""A force's harm-weight tables on a page: the one in use and older versions, and (for analysts
and administrators) loading a new version from its CSV file."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.context import Actor
from app.auth.permissions import Perm, has
from app.bounds import file_name_problem
from app.errors import ValidationFailed
from app.harm import service
from app.reference.models import Force
from app.sara.problem import CATEGORIES
from app.web import forms
from app.web.deps import Db, PageActor, csrf_protect
from app.web.routes.data import Upload
from app.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
ForceId = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$")]
MAX_BYTES = 100_000  # fourteen rows and comments


@router.get("/data/forces/{force_id}/harm-weights")
def harm_page(request: Request, actor: PageActor, db: Db, force_id: ForceId,
              flash: str = "") -> Response:
    return _page(request, db, actor, force_id, flash=flash)


@router.post("/data/forces/{force_id}/harm-weights")
def load_table(request: Request, actor: PageActor, db: Db, force_id: ForceId,
               form: Upload) -> Response:
    upload = form.get("weights_file")
    values = {name: forms.text(form, name) for name in ("name", "version", "source", "note")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, db, actor, force_id, values=values, status_code=422,
                     errors={"weights_file": "Choose the table's CSV file."})
    if problem := file_name_problem(upload.filename):
        return _page(request, db, actor, force_id, values=values, status_code=400,
                     errors={"weights_file": problem})
    content = upload.file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        return _page(request, db, actor, force_id, values=values, status_code=422,
                     errors={"weights_file": "A harm-weight table is a few rows: this file is "
                                             "over 100 KB."})
    try:
        service.load_csv(db, actor, force_id, content=content, **values)
    except ValidationFailed as exc:
        db.rollback()
        errors: dict[str, str] = {}
        for error in exc.errors:  # a bad file has several problems: keep them all
            field = "weights_file" if error.field in ("file", "weights") else error.field
            errors[field] = (errors[field] + " " if field in errors else "") + error.message
        return _page(request, db, actor, force_id, values=values, errors=errors,
                     status_code=422, file_name=FilePath(upload.filename).name)
    return RedirectResponse(f"/data/forces/{force_id}/harm-weights?flash=loaded",
                            status_code=303)


def _page(request: Request, db: Session, actor: Actor, force_id: str, *, flash: str = "",
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status_code: int = 200, file_name: str = "") -> Response:
    tables = service.tables(db, actor, force_id)  # another force's: not found
    user = actor.user
    return render(request, "data/harm.html", {
        "active_nav": "data", "force": db.get(Force, force_id), "tables": tables,
        "categories": CATEGORIES, "values": values or {}, "errors": errors or {},
        "file_name": file_name,
        "may_load": user is not None and (has(user, Perm.DATA_IMPORT)
                                          or has(user, Perm.FORCE_MANAGE)),
        "flash": "The table is loaded and in use from now on." if flash == "loaded" else ""},
        status_code=status_code)
