"""Checks on area geometry given as GeoJSON in WGS84 (longitude, latitude).

A target area is a Polygon or MultiPolygon, or a Point with a radius in metres. Positions must
fall within Great Britain's bounding box (a coarse check: it also admits parts of Ireland and
northern France). Swapped coordinates (latitude first) are the commonest mistake and land far
away, so the message says so.
"""

from __future__ import annotations

from typing import Any


class AreaError(ValueError):
    """An area that cannot be used: a shape that is not one, or a code that is not known."""

GB_LONGITUDE = (-8.7, 1.9)
GB_LATITUDE = (49.8, 60.9)
RADIUS_RANGE_M = (10, 5000)
MAX_VERTICES = 20000
MAX_PARTS = 500  # polygons of a MultiPolygon
MAX_RINGS = 2000  # outer rings and holes, all parts together


def geometry_problems(geometry: Any, radius_m: int | None) -> list[str]:
    if not isinstance(geometry, dict):
        return ["The geometry must be a GeoJSON object."]
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        problems = _position_problems(coordinates)
        if radius_m is None:
            problems.append("A point needs a radius in metres.")
        elif not RADIUS_RANGE_M[0] <= radius_m <= RADIUS_RANGE_M[1]:
            low, high = RADIUS_RANGE_M
            problems.append(f"The radius must be {low} to {high} metres.")
        return problems
    if kind not in ("Polygon", "MultiPolygon"):
        return ["The geometry must be a Point, a Polygon or a MultiPolygon."]
    if radius_m is not None:
        return ["A radius applies only to a point."]
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return ["The polygon has no coordinates."]
    if problem := _size_problem(polygons):
        return [problem]
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return ["Each polygon needs at least one ring of coordinates."]
        for ring in polygon:
            problems = _ring_problems(ring)
            if problems:
                return problems
    return []


def _size_problem(polygons: list[Any]) -> str:
    """Parts, rings and points counted before any position is looked at: a huge geometry is
    refused at the cost of counting list lengths, not of checking a million positions."""
    if len(polygons) > MAX_PARTS:
        return f"The area has {len(polygons)} parts; at most {MAX_PARTS} are accepted."
    rings = [ring for polygon in polygons if isinstance(polygon, list) for ring in polygon]
    if len(rings) > MAX_RINGS:
        return f"The area has {len(rings)} rings; at most {MAX_RINGS} are accepted."
    vertices = sum(len(ring) for ring in rings if isinstance(ring, list))
    if vertices > MAX_VERTICES:
        return f"The polygon has {vertices} points; simplify it to at most {MAX_VERTICES}."
    return ""


def _ring_problems(ring: Any) -> list[str]:
    if not isinstance(ring, list) or len(ring) < 4:
        return ["Each polygon ring needs at least four positions (the first repeated last)."]
    for position in ring:
        problems = _position_problems(position)
        if problems:
            return problems
    if ring[0] != ring[-1]:
        return ["Each polygon ring must end where it starts."]
    return []


def _position_problems(position: Any) -> list[str]:
    if (
        not isinstance(position, list | tuple)
        or len(position) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position[:2])
    ):
        return ["Each position must be [longitude, latitude] in decimal degrees."]
    lon, lat = position[0], position[1]
    if _in_gb(lon, lat):
        return []
    if _in_gb(lat, lon):
        return [f"[{lon}, {lat}] lies outside Great Britain; GeoJSON puts longitude first: "
                f"did you mean [{lat}, {lon}]?"]
    return [f"[{lon}, {lat}] lies outside Great Britain."]


def _in_gb(lon: float, lat: float) -> bool:
    return GB_LONGITUDE[0] <= lon <= GB_LONGITUDE[1] and GB_LATITUDE[0] <= lat <= GB_LATITUDE[1]

