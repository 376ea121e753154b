"""Target area geometry checks: GeoJSON in WGS84, longitude first, inside Great Britain."""

from __future__ import annotations

from typing import Any

import pytest

from app.sara.areas import MAX_VERTICES, RADIUS_RANGE_M, geometry_problems

CHURCH_STREET = [-0.1707, 51.5227]  # [longitude, latitude]

NEEDS_RADIUS = "A point needs a radius in metres."
RADIUS_RANGE = "The radius must be 10 to 5000 metres."
BAD_POSITION = "Each position must be [longitude, latitude] in decimal degrees."
NOT_OBJECT = "The geometry must be a GeoJSON object."
UNKNOWN_TYPE = "The geometry must be a Point, a Polygon or a MultiPolygon."
RADIUS_ONLY_FOR_POINTS = "A radius applies only to a point."
NO_COORDINATES = "The polygon has no coordinates."
NO_RINGS = "Each polygon needs at least one ring of coordinates."
SHORT_RING = "Each polygon ring needs at least four positions (the first repeated last)."
OPEN_RING = "Each polygon ring must end where it starts."


def point(coordinates: Any = CHURCH_STREET) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coordinates}


def square(lon: float = -0.172, lat: float = 51.522, size: float = 0.002) -> list[list[float]]:
    """A closed ring: four corners and the first repeated last."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
            [lon, lat]]


def unclosed(ring: list[list[float]]) -> list[list[float]]:
    """The ring without its closing position: still four positions, but first != last."""
    return ring[:-1]


def polygon(*rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings) if rings else [square()]}


def multipolygon(*polygons: Any) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": list(polygons)}


def long_ring(positions: int) -> list[list[float]]:
    """A closed ring of exactly ``positions`` positions (the last repeats the first), in GB."""
    open_part = [[-0.2 + i * 1e-6, 51.5 + (i % 2) * 1e-6] for i in range(positions - 1)]
    return [*open_part, open_part[0]]


# --------------------------------------------------------------------------------------------
# Not a geometry at all
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("geometry", [None, "Point", [-0.17, 51.5], 42])
def test_geometry_must_be_an_object(geometry: Any) -> None:
    assert geometry_problems(geometry, 250) == [NOT_OBJECT]


@pytest.mark.parametrize(
    "geometry",
    [
        pytest.param({"type": "LineString", "coordinates": [CHURCH_STREET, [-0.17, 51.53]]},
                     id="linestring"),
        pytest.param({"type": "MultiPoint", "coordinates": [CHURCH_STREET]}, id="multipoint"),
        pytest.param({"type": "point", "coordinates": CHURCH_STREET}, id="lower-case"),
        pytest.param({"type": "Feature", "geometry": point()}, id="feature"),
        pytest.param({"coordinates": CHURCH_STREET}, id="no-type"),
        pytest.param({}, id="empty"),
    ],
)
@pytest.mark.parametrize("radius", [None, 250])
def test_unknown_geometry_type(geometry: dict[str, Any], radius: int | None) -> None:
    assert geometry_problems(geometry, radius) == [UNKNOWN_TYPE]


# --------------------------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------------------------


def test_point_with_radius_is_fine() -> None:
    assert geometry_problems(point(), 250) == []


def test_point_without_radius() -> None:
    assert geometry_problems(point(), None) == [NEEDS_RADIUS]


def test_radius_range_constant() -> None:
    assert RADIUS_RANGE_M == (10, 5000)


@pytest.mark.parametrize("radius", [10, 11, 250, 4999, 5000])
def test_radius_within_bounds(radius: int) -> None:
    assert geometry_problems(point(), radius) == []


@pytest.mark.parametrize("radius", [-250, 0, 9, 5001, 100_000])
def test_radius_out_of_bounds(radius: int) -> None:
    assert geometry_problems(point(), radius) == [RADIUS_RANGE]


def test_point_reports_position_and_radius_problems_together() -> None:
    assert geometry_problems(point(["x", "y"]), None) == [BAD_POSITION, NEEDS_RADIUS]
    assert geometry_problems(point([2.35, 48.86]), 5001) == [
        "[2.35, 48.86] lies outside Great Britain.", RADIUS_RANGE,
    ]


@pytest.mark.parametrize(
    "coordinates",
    [
        pytest.param(["-0.1707", "51.5227"], id="strings"),
        pytest.param([-0.1707, "51.5227"], id="one-string"),
        pytest.param([True, 51.5227], id="bool-longitude"),
        pytest.param([-0.1707, False], id="bool-latitude"),
        pytest.param([None, None], id="nulls"),
        pytest.param([-0.1707], id="one-number"),
        pytest.param([], id="empty"),
        pytest.param(None, id="missing"),
        pytest.param("-0.1707,51.5227", id="string"),
        pytest.param({"lon": -0.1707, "lat": 51.5227}, id="object"),
        pytest.param([[-0.1707, 51.5227]], id="nested"),
    ],
)
def test_non_numeric_or_malformed_position(coordinates: Any) -> None:
    assert geometry_problems(point(coordinates), 250) == [BAD_POSITION]


@pytest.mark.parametrize(
    "coordinates",
    [
        pytest.param([0, 52], id="integers"),
        pytest.param((-0.1707, 51.5227), id="tuple"),
        pytest.param([-0.1707, 51.5227, 35.0], id="with-altitude"),
        pytest.param([-8.7, 49.8], id="south-west-corner"),
        pytest.param([1.9, 60.9], id="north-east-corner"),
        pytest.param([-1.2577, 60.1550], id="lerwick"),
        pytest.param([-5.7150, 50.0657], id="lands-end"),
    ],
)
def test_positions_accepted(coordinates: Any) -> None:
    assert geometry_problems(point(coordinates), 250) == []


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        pytest.param([51.5227, -0.1707],
                     "[51.5227, -0.1707] lies outside Great Britain; GeoJSON puts longitude "
                     "first: did you mean [-0.1707, 51.5227]?", id="london"),
        pytest.param([53.4808, -2.2426],
                     "[53.4808, -2.2426] lies outside Great Britain; GeoJSON puts longitude "
                     "first: did you mean [-2.2426, 53.4808]?", id="manchester"),
        pytest.param([52.6309, 1.2974],
                     "[52.6309, 1.2974] lies outside Great Britain; GeoJSON puts longitude "
                     "first: did you mean [1.2974, 52.6309]?", id="norwich-east-of-greenwich"),
    ],
)
def test_swapped_latitude_and_longitude(coordinates: list[float], message: str) -> None:
    assert geometry_problems(point(coordinates), 250) == [message]


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        pytest.param([2.3522, 48.8566], "[2.3522, 48.8566] lies outside Great Britain.",
                     id="paris"),
        pytest.param([0, 0], "[0, 0] lies outside Great Britain.", id="null-island"),
        pytest.param([-0.1707, 61.0], "[-0.1707, 61.0] lies outside Great Britain.",
                     id="north-of-shetland"),
        pytest.param([-8.8, 52.0], "[-8.8, 52.0] lies outside Great Britain.", id="far-west"),
        pytest.param([2.0, 51.0], "[2.0, 51.0] lies outside Great Britain.", id="just-east"),
        pytest.param([-0.1707, 49.7], "[-0.1707, 49.7] lies outside Great Britain.",
                     id="just-south"),
        pytest.param([-74.006, 40.7128], "[-74.006, 40.7128] lies outside Great Britain.",
                     id="new-york"),
    ],
)
def test_outside_great_britain(coordinates: list[float], message: str) -> None:
    assert geometry_problems(point(coordinates), 250) == [message]
    assert "did you mean" not in message


# --------------------------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------------------------


def test_polygon_is_fine() -> None:
    assert geometry_problems(polygon(), None) == []


def test_polygon_with_a_hole_is_fine() -> None:
    outer = square(size=0.01)
    hole = square(lon=-0.168, lat=51.526, size=0.001)
    assert geometry_problems(polygon(outer, hole), None) == []


@pytest.mark.parametrize("radius", [10, 250, 0])
def test_radius_given_with_a_polygon(radius: int) -> None:
    assert geometry_problems(polygon(), radius) == [RADIUS_ONLY_FOR_POINTS]
    assert geometry_problems(multipolygon([square()]), radius) == [RADIUS_ONLY_FOR_POINTS]


def test_ring_not_closed() -> None:
    ring = unclosed(square())
    assert len(ring) == 4
    assert geometry_problems(polygon(ring), None) == [OPEN_RING]


def test_hole_not_closed() -> None:
    hole = unclosed(square(lon=-0.168, lat=51.526, size=0.001))
    assert geometry_problems(polygon(square(size=0.01), hole), None) == [OPEN_RING]


@pytest.mark.parametrize(
    "ring",
    [
        pytest.param([], id="empty"),
        pytest.param([CHURCH_STREET], id="one"),
        pytest.param([CHURCH_STREET, CHURCH_STREET], id="two"),
        pytest.param([[-0.172, 51.522], [-0.170, 51.522], [-0.172, 51.522]], id="three-closed"),
        pytest.param(CHURCH_STREET, id="a-position-not-a-ring"),
        pytest.param("ring", id="string"),
        pytest.param(None, id="null"),
    ],
)
def test_ring_too_short_or_not_a_list(ring: Any) -> None:
    assert geometry_problems(polygon(ring), None) == [SHORT_RING]


def test_four_positions_is_the_minimum() -> None:
    triangle = [[-0.172, 51.522], [-0.170, 51.522], [-0.171, 51.524], [-0.172, 51.522]]
    assert geometry_problems(polygon(triangle), None) == []


@pytest.mark.parametrize("coordinates", [[], None, "nope"])
def test_polygon_without_rings(coordinates: Any) -> None:
    geometry = {"type": "Polygon", "coordinates": coordinates}
    assert geometry_problems(geometry, None) == [NO_RINGS]


def test_polygon_vertex_with_bad_coordinates() -> None:
    ring = square()
    ring[2] = ["-0.17", 51.524]
    assert geometry_problems(polygon(ring), None) == [BAD_POSITION]
    ring[2] = [False, 51.524]
    assert geometry_problems(polygon(ring), None) == [BAD_POSITION]


def test_polygon_with_swapped_coordinates() -> None:
    ring = [[lat, lon] for lon, lat in square()]
    assert geometry_problems(polygon(ring), None) == [
        "[51.522, -0.172] lies outside Great Britain; GeoJSON puts longitude first: "
        "did you mean [-0.172, 51.522]?"
    ]


def test_polygon_vertex_outside_great_britain() -> None:
    ring = square()
    ring[1] = [2.5, 51.522]
    assert geometry_problems(polygon(ring), None) == ["[2.5, 51.522] lies outside Great Britain."]


def test_polygon_reports_only_the_first_problem() -> None:
    first = unclosed(square())
    second = [CHURCH_STREET]  # too short
    assert geometry_problems(polygon(first, second), None) == [OPEN_RING]


# --------------------------------------------------------------------------------------------
# MultiPolygons
# --------------------------------------------------------------------------------------------


def test_multipolygon_is_fine() -> None:
    west = [square(lon=-0.18)]
    east = [square(lon=-0.16), square(lon=-0.1595, lat=51.5225, size=0.0005)]
    assert geometry_problems(multipolygon(west, east), None) == []


@pytest.mark.parametrize("coordinates", [[], None, "nope", {}])
def test_multipolygon_without_coordinates(coordinates: Any) -> None:
    geometry = {"type": "MultiPolygon", "coordinates": coordinates}
    assert geometry_problems(geometry, None) == [NO_COORDINATES]


@pytest.mark.parametrize("empty", [[], None, "polygon"])
def test_multipolygon_member_without_rings(empty: Any) -> None:
    assert geometry_problems(multipolygon([square()], empty), None) == [NO_RINGS]


def test_multipolygon_checks_every_member() -> None:
    open_ring = unclosed(square())
    assert geometry_problems(multipolygon([square()], [open_ring]), None) == [OPEN_RING]
    assert geometry_problems(multipolygon([square()], [[CHURCH_STREET]]), None) == [SHORT_RING]


# --------------------------------------------------------------------------------------------
# Vertex limit
# --------------------------------------------------------------------------------------------


def test_vertex_limit_constant() -> None:
    assert MAX_VERTICES == 20000


def test_polygon_at_the_vertex_limit() -> None:
    ring = long_ring(20000)
    assert len(ring) == 20000
    assert geometry_problems(polygon(ring), None) == []


def test_polygon_over_the_vertex_limit() -> None:
    assert geometry_problems(polygon(long_ring(20001)), None) == [
        "The polygon has 20001 points; simplify it to at most 20000."
    ]


def test_vertex_limit_counts_every_ring_of_every_polygon() -> None:
    # 10000 + 5000 + 5001 = 20001: no single ring is over the limit, the whole is.
    geometry = multipolygon([long_ring(10000)], [long_ring(5000), long_ring(5001)])
    assert geometry_problems(geometry, None) == [
        "The polygon has 20001 points; simplify it to at most 20000."
    ]
