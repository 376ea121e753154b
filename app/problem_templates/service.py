"""Problem template use cases: read, create, version, retire, copy to a force, and apply to a
case being opened. Each public call that changes something is one transaction with its audit
entry."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.service import AuditAction
from app.auth.context import Actor
from app.auth.models import User
from app.auth.permissions import Perm, covers_force, has, require
from app.cases.access import acting_user
from app.cases.models import Action, Case, Hypothesis
from app.db import utcnow
from app.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.problem_templates.schemas import (
    TemplateContentInput,
    TemplateCopy,
    TemplateCreate,
    TemplateVersionCreate,
)
from app.sara.analysis import HypothesisStatus
from app.sara.responses import ActionStatus, Partner
from app.usecase import use_case

# --- who may do what ---------------------------------------------------------------------------

def may_read(user: User, template: CaseTemplate) -> bool:
    """Everyone who reads cases reads the national templates and their own force's."""
    return has(user, Perm.CASE_READ) and (
        template.force_id is None or covers_force(user, template.force_id))


def may_manage(user: User, template: CaseTemplate) -> bool:
    """A force's supervisors and analysts manage its templates; national ones are managed by
    accounts without a force."""
    return has(user, Perm.TEMPLATE_MANAGE) and user.force_id == template.force_id


def _template(db: Session, user: User, slug: str) -> CaseTemplate:
    slug = slug.strip().lower()
    template = db.scalar(select(CaseTemplate).where(CaseTemplate.slug == slug))
    if template is None or not may_read(user, template):
        raise NotFound(f"There is no template {slug}.")
    return template


def _managed(db: Session, user: User, slug: str) -> CaseTemplate:
    template = _template(db, user, slug)
    require(user, Perm.TEMPLATE_MANAGE)
    if not may_manage(user, template):
        raise Forbidden("Only the people of the template's own force can change it"
                        if template.force_id else
                        "National templates are managed by accounts without a force: copy it "
                        "to your force to adapt it.")
    return template


# --- read --------------------------------------------------------------------------------------

def list_templates(db: Session, actor: Actor, *, include_retired: bool = False,
                   ) -> list[CaseTemplate]:
    user = acting_user(actor)
    require(user, Perm.CASE_READ)
    query = select(CaseTemplate).order_by(CaseTemplate.name, CaseTemplate.slug)
    if user.force_id is not None:
        query = query.where(or_(CaseTemplate.force_id.is_(None),
                                CaseTemplate.force_id == user.force_id))
    if not include_retired:
        query = query.where(CaseTemplate.retired_at.is_(None))
    return list(db.scalars(query))


def view_template(db: Session, actor: Actor, slug: str) -> CaseTemplate:
    return _template(db, acting_user(actor), slug)


def managed_template(db: Session, actor: Actor, slug: str) -> CaseTemplate:
    """The template, if the actor may change it (for its forms): else NotFound or Forbidden."""
    return _managed(db, acting_user(actor), slug)


def view_version(db: Session, actor: Actor, slug: str, number: int) -> CaseTemplateVersion:
    template = _template(db, acting_user(actor), slug)
    found = next((v for v in template.versions if v.version == number), None)
    if found is None:
        raise NotFound(f"Template {template.slug} has no version {number}.")
    return found


# --- change ------------------------------------------------------------------------------------

def create_template(db: Session, actor: Actor, data: TemplateCreate) -> CaseTemplate:
    """A new template of the user's force (national for an account without a force)."""
    user = acting_user(actor)
    require(user, Perm.TEMPLATE_MANAGE)
    with use_case(db, actor, AuditAction.TEMPLATE_CREATE, object_type="template") as done:
        template = _new_template(db, user, data.slug, data, "First version.")
        done.object_ref = template.slug
    return template


def _new_template(db: Session, user: User, slug: str, content: TemplateContentInput,
                  note: str) -> CaseTemplate:
    if db.scalar(select(CaseTemplate.id).where(CaseTemplate.slug == slug)) is not None:
        raise ValidationFailed.one("slug", f"A template called {slug} already exists: choose "
                                           "another short name.")
    now = utcnow()
    template = CaseTemplate(slug=slug, name=content.name, force_id=user.force_id,
                            current_version=1, created_at=now, created_by_id=user.id)
    template.versions.append(CaseTemplateVersion(
        version=1, change_note=note, created_at=now, created_by_id=user.id, **content.stored()))
    db.add(template)
    _flush_or_conflict(db, "slug", f"A template called {slug} already exists.")
    return template


def add_version(db: Session, actor: Actor, slug: str,
                data: TemplateVersionCreate) -> CaseTemplate:
    """Write version N+1. Versions are never updated, so cases opened from an earlier one keep
    pointing at exactly what they were given."""
    user = acting_user(actor)
    template = _managed(db, user, slug)
    if data.version != template.current_version:
        raise StaleVersion(
            f"Template {template.slug} has changed since you opened it (you had version "
            f"{data.version}, it is now at version {template.current_version}).",
            current_version=template.current_version)
    number = template.current_version + 1
    with use_case(db, actor, AuditAction.TEMPLATE_VERSION, object_type="template",
                  object_ref=template.slug, details={"version": number}) as done:
        db.add(CaseTemplateVersion(
            template_id=template.id, version=number, change_note=data.change_note,
            created_at=utcnow(), created_by_id=user.id, **data.stored()))
        template.current_version, template.name = number, data.name
        try:
            done.flush()
        except IntegrityError as exc:  # someone else wrote version N+1 first
            raise StaleVersion(f"Template {slug} was changed by someone else at the same "
                               "moment.", current_version=number) from exc
    db.refresh(template)
    return template


def set_retired(db: Session, actor: Actor, slug: str, retired: bool) -> CaseTemplate:
    """Retire a template (it can no longer be chosen for a new case) or bring it back. Cases
    already opened from it are untouched."""
    user = acting_user(actor)
    template = _managed(db, user, slug)
    with use_case(db, actor,
                  AuditAction.TEMPLATE_RETIRE if retired else AuditAction.TEMPLATE_RESTORE,
                  object_type="template", object_ref=template.slug):
        if retired and template.retired_at is None:
            template.retired_at, template.retired_by_id = utcnow(), user.id
        elif not retired:
            template.retired_at, template.retired_by_id = None, None
    return template


def copy_to_force(db: Session, actor: Actor, slug: str, data: TemplateCopy) -> CaseTemplate:
    """A copy of a template's current version as version 1 of a new template of the user's
    force, to adapt there."""
    user = acting_user(actor)
    source = _template(db, user, slug)
    require(user, Perm.TEMPLATE_MANAGE)
    if user.force_id is None:
        raise ValidationFailed.one("slug", "Your account works for no one force: change the "
                                           "template itself instead of copying it.")
    current = source.current
    content = TemplateContentInput.model_validate({
        "name": data.name or current.name, "category": current.category,
        "priority": current.priority, "summary": current.summary,
        "cheers_prompts": current.cheers_prompts, "hypotheses": current.hypotheses,
        "responses": current.responses, "actions": current.actions,
        "review_every_days": current.review_every_days})
    with use_case(db, actor, AuditAction.TEMPLATE_CREATE, object_type="template",
                  details={"copied_from": source.slug, "version": current.version}) as done:
        template = _new_template(db, user, data.slug, content,
                                 f"Copied from {current.label} ({source.slug}).")
        done.object_ref = template.slug
    return template


def _flush_or_conflict(db: Session, field: str, message: str) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise ValidationFailed.one(field, message) from exc


# --- opening a case from a template -------------------------------------------------------------

def version_for_new_case(db: Session, user: User, slug: str) -> CaseTemplateVersion:
    """The current version of a template the user may open a case from (422 on ``template``
    otherwise: unknown, another force's, or retired)."""
    try:
        template = _template(db, user, slug)
    except NotFound:
        raise ValidationFailed.one("template", f"There is no template {slug}.") from None
    if template.retired:
        raise ValidationFailed.one("template", f"The template {template.name} is retired: "
                                               "choose another.")
    return template.current


def apply_template(case: Case, version: CaseTemplateVersion, opened_on: date) -> None:
    """Copy a template version's hypotheses and starting actions onto a new case, and its review
    date when the version sets a cadence (else the force's cadence table decides later)."""
    case.template_version_id = version.id
    case.hypotheses = [Hypothesis(statement=s, status=HypothesisStatus.OPEN)
                       for s in version.hypotheses]
    case.actions = [Action(title=a["title"], tactic=a.get("tactic"),
                           partner=Partner(a.get("partner") or Partner.POLICE),
                           due_date=opened_on + timedelta(days=int(a["due_in_days"])),
                           status=ActionStatus.PLANNED)
                    for a in version.actions]
    if version.review_every_days:
        case.next_review_on = opened_on + timedelta(days=version.review_every_days)
