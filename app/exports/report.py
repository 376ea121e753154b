"""``report.html``: the case file as a problem-solving write-up, in one self-contained file
(inline styles, SVG chart and map, no scripts, no links out), readable in any browser and in
print. It is drawn from ``case.json`` alone, so an imported case file reports the same."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from app import __version__
from app.charts import monthly_lines
from app.clock import local
from app.crime.geometry import area_shape, to_bng
from app.exports.schemas import AreaRecord, CaseFile, CaseRecord
from app.sara.areas import AreaError
from app.sara.assessment import Outcome
from app.sara.cheers import CheersElement
from app.sara.patrols import OutputKind, VisitBand, band_counts, format_minutes
from app.sara.problem import CATEGORIES
from app.sara.stages import Stage
from app.sara.triangle import TriangleSide

TEMPLATES = Path(__file__).parent / "templates"
MAP_WIDTH, MAP_MAX_HEIGHT = 640, 440

_env = Environment(loader=FileSystemLoader(TEMPLATES),
                   autoescape=select_autoescape(["html"]), trim_blocks=True,
                   lstrip_blocks=True)


def _when(value: datetime | str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return local(moment).strftime("%-d %b %Y, %H:%M")


def _day(value: date | str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return day.strftime("%-d %b %Y")


def _number(value: float | None, digits: int = 2) -> str:
    return "not defined" if value is None else f"{value:,.{digits}f}"


def _month(value: date | str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return day.strftime("%b %Y")


_env.filters.update(when=_when, day=_day, number=_number, month=_month,
                    category=lambda slug: CATEGORIES.get(slug, slug))


def render_report(file: CaseFile, manifest: dict[str, Any]) -> str:
    case = file.case
    latest = case.assessments[-1] if case.assessments else None
    return _env.get_template("report.html").render(
        case=case, manifest=manifest, latest=latest, version=__version__,
        stage_labels={s.value: s.label for s in Stage},
        cheers_labels={e.value: e.label for e in CheersElement},
        side_labels={s.value: s.label for s in TriangleSide},
        outcome_label=Outcome(case.outcome).label if case.outcome else "",
        output_totals=output_totals(case), patrols=patrol_totals(case),
        chart=_chart(latest.results, latest) if latest else None,
        area_map=areas_map(case, latest.areas if latest else None),
        format_minutes=format_minutes,
        kinds=list(OutputKind), evidence=evidence(case))


def evidence(case: CaseRecord) -> dict[str, Any]:
    """Before and after photos paired in the order they were added (side by side in the
    report), and the rest: other photos, documents, and what was corrected."""
    corrected = {a.supersedes for a in case.attachments if a.supersedes is not None}
    current = [a for a in case.attachments if a.key not in corrected]
    befores = [a for a in current if a.phase == "before"]
    afters = [a for a in current if a.phase == "after"]
    paired = {a.key for a in befores + afters}
    return {"pairs": list(zip_longest(befores, afters)),
            "others": [a for a in case.attachments if a.key not in paired],
            "corrected": corrected}


def output_totals(case: CaseRecord) -> list[tuple[OutputKind, int]]:
    """Totals of the entries in force: an entry another one corrects counts in none."""
    corrected = {o.corrects for o in case.outputs if o.corrects is not None}
    totals: Counter[OutputKind] = Counter()
    for output in case.outputs:
        if output.key not in corrected:
            totals[output.kind] += output.count
    return [(kind, totals[kind]) for kind in OutputKind]


def patrol_totals(case: CaseRecord) -> dict[str, Any]:
    minutes = [p.minutes for p in case.patrols if p.minutes is not None]
    bands = band_counts(minutes)
    return {"visits": len(minutes), "minutes": sum(minutes),
            "in_band": bands[VisitBand.IN_BAND], "short": bands[VisitBand.SHORT],
            "long": bands[VisitBand.LONG], "running": len(case.patrols) - len(minutes)}


def _chart(results: dict[str, Any], latest: Any) -> Markup:
    monthly = results["monthly"]
    months = [date.fromisoformat(f"{m}-01") for m in monthly["months"]]
    areas = results["areas"]
    series = {"target": (f"Target: {areas['target']['name']}", monthly["target"])}
    if monthly.get("buffer") is not None:
        series["buffer"] = ("Buffer ring", monthly["buffer"])
    if monthly.get("control") is not None and areas.get("control"):
        series["control"] = (f"Control: {areas['control']['name']}", monthly["control"])
    start = results.get("response_start")
    return monthly_lines(
        months, series, chart_id="report-chart", title="Crimes a month in the three areas",
        periods=((latest.before_first, latest.before_last),
                 (latest.after_first, latest.after_last)),
        marker=date.fromisoformat(start) if start else latest.after_first,
        marker_label="Response began" if start else "After period")


# --- the map -----------------------------------------------------------------------------------

def _shape(record: AreaRecord | dict[str, Any] | None) -> BaseGeometry | None:
    if record is None:
        return None
    data = record if isinstance(record, dict) else record.model_dump()
    try:
        return area_shape(data["geometry"], data.get("radius_m"))
    except (AreaError, KeyError, TypeError, ValueError):
        return None


def areas_map(case: CaseRecord, counted: dict[str, Any] | None) -> Markup | None:
    """The target, buffer ring and control area on a plain background, north up, with a
    scale bar: as the latest assessment counted them, else as the case has them."""
    layers: list[tuple[str, str, BaseGeometry]] = []
    if counted:
        for role in ("target", "buffer", "control"):
            record = counted.get(role)
            if not record:
                continue
            geom = _shape(record) if role != "buffer" else to_bng(shape(record["geometry"]))
            if geom is not None:
                label = record.get("name") or f"{record.get('width_m', '')} m buffer ring"
                layers.append((role, label, geom))
    else:
        for role, record in (("target", case.target_area), ("control", case.control_area)):
            geom = _shape(record)
            if geom is not None and record is not None:
                layers.append((role, record.name or role.capitalize(), geom))
    if not layers:
        return None
    min_x = min(g.bounds[0] for _r, _l, g in layers)
    min_y = min(g.bounds[1] for _r, _l, g in layers)
    max_x = max(g.bounds[2] for _r, _l, g in layers)
    max_y = max(g.bounds[3] for _r, _l, g in layers)
    pad = max(max_x - min_x, max_y - min_y) * 0.08 + 20
    min_x, min_y, max_x, max_y = min_x - pad, min_y - pad, max_x + pad, max_y + pad
    scale = MAP_WIDTH / (max_x - min_x)
    height = min(MAP_MAX_HEIGHT, (max_y - min_y) * scale)
    scale = min(scale, height / (max_y - min_y))

    def point(x: float, y: float) -> str:
        return f"{(x - min_x) * scale:.1f},{(max_y - y) * scale:.1f}"

    def path(geom: BaseGeometry) -> str:
        parts = []
        polygons = getattr(geom, "geoms", [geom])
        for polygon in polygons:
            for ring in [polygon.exterior, *polygon.interiors]:
                coords = list(ring.coords)
                parts.append("M" + " L".join(point(x, y) for x, y in coords) + " Z")
        return " ".join(parts)

    metres = _scale_metres(max_x - min_x)
    out = [f'<svg class="map" viewBox="0 0 {MAP_WIDTH} {height + 30:.0f}" role="img" '
           'aria-labelledby="map-title"><title id="map-title">Map of the case\'s areas '
           '(British National Grid, north up)</title>',
           f'<rect class="map__ground" x="0" y="0" width="{MAP_WIDTH}" height="{height:.0f}"/>']
    for role, label, geom in sorted(layers, key=lambda item: item[0] != "buffer"):
        out.append(f'<path class="map__area map__area--{role}" fill-rule="evenodd" '
                   f'd="{path(geom)}"><title>{_escape(label)}</title></path>')
    bar = metres * scale
    out.append(f'<line class="map__scale" x1="10" x2="{10 + bar:.1f}" y1="{height + 15:.0f}" '
               f'y2="{height + 15:.0f}"/><text class="map__label" x="{14 + bar:.1f}" '
               f'y="{height + 19:.0f}">{metres:,} m</text>')
    legend_x = 40 + bar + 60
    for role, _label, _geom in layers:
        out.append(f'<rect class="map__area map__area--{role}" x="{legend_x:.0f}" '
                   f'y="{height + 8:.0f}" width="14" height="12"/><text class="map__label" '
                   f'x="{legend_x + 18:.0f}" y="{height + 19:.0f}">{_escape(role.capitalize())}'
                   '</text>')
        legend_x += 90
    out.append("</svg>")
    return Markup("".join(out))


def _scale_metres(span: float) -> int:
    for metres in (50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if metres >= span / 5:
            return metres
    return 20000


def _escape(text: str) -> str:
    return str(Markup.escape(text))
