"""The Jinja environment for pages: autoescaped ``*.html`` templates, htmx fragments by block."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import HTMLResponse, Response

from app import __version__
from app.auth.permissions import Perm, has
from app.clock import local
from app.crime.hotspots import cell_centre
from app.crime.queries import month_ranges
from app.sara.analysis import HypothesisStatus
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES, Priority, ProblemSource
from app.sara.responses import TACTICS, ActionStatus, Partner, tactic_groups
from app.sara.stages import STAGES, Stage
from app.sara.triangle import TriangleSide
from app.web import forms

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Blocks(directory=TEMPLATES_DIR)
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True
# Templates ship with the package: no file-system check on every render and import.
env.auto_reload = False


def _when(value: datetime | None) -> str:
    return local(value).strftime("%-d %b %Y, %H:%M") if value else ""


def _hm(value: datetime | None) -> str:
    return local(value).strftime("%H:%M") if value else ""


def _day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _iso(value: datetime | date | None) -> str:
    return value.isoformat() if value else ""


def _percent(value: float | None, digits: int = 1) -> str:
    return "not defined" if value is None else f"{value:.{digits}%}"


def _number(value: float | None, digits: int = 2) -> str:
    return "not defined" if value is None else f"{value:,.{digits}f}"


def _pvalue(value: float | None) -> str:
    if value is None:
        return "not defined"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _month_label(value: date) -> str:
    return value.strftime("%b %Y")


def _months_text(months: set[date]) -> str:
    """Imported months as their runs: "Oct 2023 to Dec 2025 (27 months)"."""
    if not months:
        return ""
    runs = ", ".join(run.first.strftime("%b %Y") if run.first == run.last else run.label
                     for run in month_ranges(months))
    return f"{runs} ({len(months)} month{'s' if len(months) != 1 else ''})"


def _category_label(slug: str) -> str:
    return CATEGORIES.get(slug, slug)


env.filters.update(when=_when, hm=_hm, day=_day, iso=_iso, percent=_percent, number=_number,
                   pvalue=_pvalue, month_label=_month_label, months_text=_months_text,
                   centre=cell_centre,
                   category_label=_category_label)
env.globals.update(
    app_version=__version__, STAGES=STAGES, Stage=Stage, CATEGORIES=CATEGORIES,
    Priority=Priority, ProblemSource=ProblemSource, CheersElement=CheersElement,
    TriangleSide=TriangleSide, HypothesisStatus=HypothesisStatus, ActionStatus=ActionStatus,
    Partner=Partner, Outcome=Outcome, TACTICS=TACTICS, tactic_groups=tactic_groups(), Perm=Perm,
    date_anchor=forms.date_anchor, date_parts=forms.date_parts,
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, block: str | None = None,
           blocks: list[str] | None = None) -> Response:
    """Render a page, or only some of its blocks (for htmx). Adds who is signed in."""
    ctx = _page_globals(request, context)
    kwargs: dict[str, Any] = {"status_code": status_code}
    if block:
        kwargs["block_name"] = block
    elif blocks:
        kwargs["block_names"] = blocks
    response = templates.TemplateResponse(request, name, ctx, **kwargs)
    response.headers["Vary"] = "HX-Request"
    return response


def render_parts(request: Request, names: list[str], context: dict[str, Any], *,
                 status_code: int = 200) -> Response:
    """htmx fragments: partial templates rendered one after the other into one answer (the
    first swapped into the target, the others ``<hx-partial>``s)."""
    ctx = _page_globals(request, context) | {"request": request}
    html = "".join(env.get_template(name).render(ctx) for name in names)
    return HTMLResponse(html, status_code=status_code, headers={"Vary": "HX-Request"})


def _page_globals(request: Request, context: dict[str, Any] | None) -> dict[str, Any]:
    """Who is signed in, and the deployment's settings pages show."""
    user = getattr(request.state, "signed_in", None)
    settings = request.app.state.settings
    return {
        "user": user,
        "csrf_token": user.csrf_token if user else "",
        "can": (lambda perm: has(user, perm)) if user else (lambda perm: False),
        "demo": settings.environment == "demo",
        "map_tiles": settings.map_tiles_url, "map_attribution": settings.map_attribution,
        "request_id": getattr(request.state, "request_id", ""),
        **(context or {}),
    }
