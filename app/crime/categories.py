"""police.uk "Crime type" labels and the category slugs cases use.

Street files carry the label; the API and the cases use the slug, so a case maps straight onto
the data. Older files (before 2013) used two labels that were later split or renamed.
"""

from __future__ import annotations

from app.sara.problem import CATEGORIES

SLUG_BY_LABEL: dict[str, str] = {label: slug for slug, label in CATEGORIES.items()} | {
    "Violent crime": "violent-crime",
    "Public disorder and weapons": "public-order",
}


def category_slug(label: str) -> str | None:
    return SLUG_BY_LABEL.get(label.strip())
