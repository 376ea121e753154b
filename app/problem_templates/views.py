"""Templates as API answers (the pages show the models directly)."""

from __future__ import annotations

from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.problem_templates.schemas import (
    TemplateRead,
    TemplateSummary,
    TemplateVersionRead,
    TemplateVersionSummary,
)


def version_read(version: CaseTemplateVersion) -> TemplateVersionRead:
    return TemplateVersionRead(
        version=version.version, name=version.name, category=version.category,
        priority=version.priority, summary=version.summary,
        cheers_prompts=version.cheers_prompts, hypotheses=version.hypotheses,
        responses=version.responses, actions=version.actions,
        review_every_days=version.review_every_days, change_note=version.change_note,
        created_at=version.created_at,
        created_by=version.created_by.username if version.created_by else None)


def template_summary(template: CaseTemplate) -> TemplateSummary:
    return TemplateSummary(slug=template.slug, name=template.name, force=template.force_id,
                           category=template.current.category,
                           current_version=template.current_version, retired=template.retired)


def template_read(template: CaseTemplate) -> TemplateRead:
    return TemplateRead(
        **template_summary(template).model_dump(), retired_at=template.retired_at,
        created_at=template.created_at, current=version_read(template.current),
        versions=[TemplateVersionSummary(
            version=v.version, name=v.name, change_note=v.change_note, created_at=v.created_at,
            created_by=v.created_by.username if v.created_by else None)
            for v in template.versions])

