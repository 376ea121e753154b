"""Problem templates over JSON: read by every case reader; created, versioned, retired and
copied by supervisors and analysts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES, ConflictBody
from app.problem_templates import service
from app.problem_templates.schemas import (
    TemplateCopy,
    TemplateCreate,
    TemplateList,
    TemplateRead,
    TemplateRetirement,
    TemplateVersionCreate,
    TemplateVersionRead,
)
from app.problem_templates.views import template_read, template_summary, version_read

router = APIRouter(prefix="/templates", tags=["problem templates"], responses=ERROR_RESPONSES)

SlugPath = Annotated[str, Path(min_length=1, max_length=60, examples=["street-drug-market"])]
STALE: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictBody, "description": "The version given is stale"}}


@router.get("", response_model=TemplateList, summary="List problem templates")
def list_templates(actor: ApiActor, db: Db,
                   include_retired: Annotated[bool, Query(description="Also retired ones")]
                   = False) -> TemplateList:
    """The national templates and those of the user's force."""
    items = [template_summary(t) for t in service.list_templates(
        db, actor, include_retired=include_retired)]
    return TemplateList(items=items, total=len(items))


@router.post("", response_model=TemplateRead, status_code=status.HTTP_201_CREATED,
             summary="Create a template (of your force; national without one)")
def create_template(actor: ApiActor, db: Db, data: TemplateCreate) -> TemplateRead:
    return template_read(service.create_template(db, actor, data))


@router.get("/{slug}", response_model=TemplateRead, summary="Read a template and its history")
def read_template(actor: ApiActor, db: Db, slug: SlugPath) -> TemplateRead:
    return template_read(service.view_template(db, actor, slug))


@router.patch("/{slug}", response_model=TemplateRead, responses=STALE,
              summary="Change a template: writes a new version")
def new_version(actor: ApiActor, db: Db, slug: SlugPath,
                data: TemplateVersionCreate) -> TemplateRead:
    """Give the whole content and the `version` last read. Cases opened from earlier versions
    keep what they were given."""
    return template_read(service.add_version(db, actor, slug, data))


@router.get("/{slug}/versions/{number}", response_model=TemplateVersionRead,
            summary="Read one version of a template")
def read_version(actor: ApiActor, db: Db, slug: SlugPath,
                 number: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> TemplateVersionRead:
    return version_read(service.view_version(db, actor, slug, number))


@router.post("/{slug}/retirement", response_model=TemplateRead,
             summary="Retire a template, or bring it back")
def retire(actor: ApiActor, db: Db, slug: SlugPath, data: TemplateRetirement) -> TemplateRead:
    return template_read(service.set_retired(db, actor, slug, data.retired))


@router.post("/{slug}/copies", response_model=TemplateRead,
             status_code=status.HTTP_201_CREATED, summary="Copy a template to your force")
def copy_template(actor: ApiActor, db: Db, slug: SlugPath, data: TemplateCopy) -> TemplateRead:
    return template_read(service.copy_to_force(db, actor, slug, data))
