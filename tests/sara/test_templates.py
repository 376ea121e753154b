"""The shipped problem templates, checked without a database."""

from __future__ import annotations

import pytest

from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES
from app.sara.responses import TACTICS
from app.sara.templates import (
    SCP_TECHNIQUES,
    SHIPPED,
    ShippedTemplate,
    SuggestedResponse,
    content_as_json,
    content_problems,
)


def test_five_templates_with_distinct_slugs() -> None:
    assert [t.slug for t in SHIPPED] == [
        "street-drug-market", "transport-hub-asb", "knife-carrying-near-school",
        "retail-cluster-shoplifting", "street-drinking"]
    assert len({t.name for t in SHIPPED}) == len(SHIPPED)


@pytest.mark.parametrize("template", SHIPPED, ids=lambda t: t.slug)
def test_each_template_is_sound(template: ShippedTemplate) -> None:
    content = template.content
    assert content_problems(content) == []
    assert content.category in CATEGORIES
    assert set(content.cheers_prompts) == set(CheersElement)
    assert all(p.strip().endswith("?") for p in content.cheers_prompts.values())
    assert 3 <= len(content.hypotheses) <= 5
    assert 4 <= len(content.responses) <= 6
    # Suggested responses come from the 25 techniques, each with one sentence of why.
    assert {r.technique for r in content.responses} <= SCP_TECHNIQUES | {"diversion"}
    assert sum(r.technique in SCP_TECHNIQUES for r in content.responses) >= 4
    assert all(r.why.count(".") == 1 and r.why.endswith(".") for r in content.responses)
    assert 3 <= len(content.actions) <= 6
    assert all(a.tactic is None or a.tactic in TACTICS for a in content.actions)
    assert all(0 < a.due_in_days <= 28 for a in content.actions)
    assert content.review_every_days in (14, 28)


def test_the_25_techniques_are_all_known_tactics() -> None:
    assert len(SCP_TECHNIQUES) == 25
    assert not SCP_TECHNIQUES - set(TACTICS)


def test_problems_are_named_by_field() -> None:
    content = SHIPPED[0].content
    broken = type(content)(
        category="knife-crime", summary="", cheers_prompts={CheersElement.HARM: "?"},
        hypotheses=(), responses=(SuggestedResponse("wishful-thinking", ""),), actions=(),
        review_every_days=0)
    fields = {f for f, _m in content_problems(broken)}
    assert {"category", "cheers_prompts.community", "hypotheses", "responses.0.technique",
            "responses.0.why", "review_every_days"} <= fields
    assert "cheers_prompts.harm" not in fields


def test_stored_form_round_trips_the_content() -> None:
    stored = content_as_json(SHIPPED[0].content)
    assert stored["category"] == "drugs" and stored["priority"] == "high"
    assert set(stored["cheers_prompts"]) == {e.value for e in CheersElement}
    assert stored["actions"][0]["due_in_days"] == 7
    assert all(set(r) == {"technique", "why"} for r in stored["responses"])


def test_migration_carries_the_catalogue_as_shipped() -> None:
    """Migration 0010 inserts a frozen copy; today it matches the catalogue. (A later change to
    the catalogue needs a migration of its own to reach existing databases.)"""
    import importlib.util
    from pathlib import Path

    path = next((Path(__file__).parents[2] / "migrations" / "versions").glob("*_0010_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0010", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    catalogue = [{"slug": t.slug, "name": t.name, **content_as_json(t.content)} for t in SHIPPED]
    frozen: list[dict[str, object]] = module.SHIPPED_TEMPLATES
    assert frozen == catalogue
