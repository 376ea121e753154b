"""Two people writing the next version of one template at the same moment, on a real,
committed database: one version 2 is written, the other writer is told it is stale."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.context import Actor, Channel
from app.auth.models import User
from app.auth.roles import Role
from app.errors import StaleVersion
from app.problem_templates import service
from app.problem_templates.models import CaseTemplate, CaseTemplateVersion
from app.problem_templates.schemas import TemplateVersionCreate
from tests.api.test_templates_api import template_body
from tests.test_concurrency import _together


def _analysts(factory: sessionmaker[Session]) -> list[Actor]:
    with factory() as db:
        users = [User(username=f"analyst.{n}", display_name=f"Analyst {n}", role=Role.ANALYST)
                 for n in range(2)]
        db.add_all(users)
        db.commit()
        return [Actor(user, Channel.API) for user in users]


def test_two_new_versions_at_once_write_one(fresh_factory: sessionmaker[Session]) -> None:
    outcomes: dict[str, str] = {}
    body = {k: v for k, v in template_body().items() if k != "slug"}

    def write(actor: Actor, note: str) -> Callable[[], object]:
        def job() -> None:
            with fresh_factory() as db:
                try:
                    service.add_version(db, actor, "street-drinking", TemplateVersionCreate(
                        **body, version=1, change_note=note))
                    outcomes[note] = "saved"
                except StaleVersion:
                    outcomes[note] = "stale"
        return job

    first, second = _analysts(fresh_factory)
    assert _together([write(first, "First edit"), write(second, "Second edit")]) == []
    assert sorted(outcomes.values()) == ["saved", "stale"]
    saved = next(note for note, outcome in outcomes.items() if outcome == "saved")
    with fresh_factory() as db:
        template = db.scalars(select(CaseTemplate).where(
            CaseTemplate.slug == "street-drinking")).one()
        assert template.current_version == 2
        assert db.scalar(select(func.count()).select_from(CaseTemplateVersion).where(
            CaseTemplateVersion.template_id == template.id)) == 2
        assert template.current.change_note == saved
