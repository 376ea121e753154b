"""Areas in the British National Grid: points in polygons with holes and in multipolygons, a
point and radius near its edge, the buffer ring, and the round trip to WGS84."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from shapely.geometry import Point

from app.crime.geometry import (
    AreaError,
    area_shape,
    bng_to_lonlat,
    buffer_ring,
    geojson_wgs84,
    inside,
    lonlat_to_bng,
)

# A square 1 km across in the British National Grid around Church Street, Westminster.
E0, N0 = 527000, 182000


def square(e: float, n: float, size: float) -> list[list[float]]:
    corners = [(e, n), (e + size, n), (e + size, n + size), (e, n + size), (e, n)]
    return [list(bng_to_lonlat(x, y)) for x, y in corners]


def points(*pairs: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([p[0] for p in pairs], dtype=float),
            np.array([p[1] for p in pairs], dtype=float))


def test_polygon_with_a_hole() -> None:
    outer = square(E0, N0, 1000)
    hole = square(E0 + 400, N0 + 400, 200)
    shape = area_shape({"type": "Polygon", "coordinates": [outer, hole]})
    e, n = points((E0 + 100, N0 + 100), (E0 + 500, N0 + 500), (E0 + 1500, N0 + 500),
                  (E0 + 300, N0 + 500))
    assert inside(shape, e, n).tolist() == [True, False, False, True]
    assert shape.area == pytest.approx(1000 * 1000 - 200 * 200, rel=1e-4)


def test_multipolygon_counts_points_in_either_part() -> None:
    shape = area_shape({"type": "MultiPolygon", "coordinates": [
        [square(E0, N0, 100)], [square(E0 + 500, N0, 100)]]})
    e, n = points((E0 + 50, N0 + 50), (E0 + 550, N0 + 50), (E0 + 300, N0 + 50))
    assert inside(shape, e, n).tolist() == [True, True, False]


def test_a_point_on_the_edge_belongs_to_the_area() -> None:
    shape = area_shape({"type": "Polygon", "coordinates": [square(E0, N0, 1000)]})
    e, n = points((E0 + 1000, N0 + 500), (E0 + 1000.5, N0 + 500))
    assert inside(shape, e, n).tolist() == [True, False]


def test_point_and_radius_near_the_edge() -> None:
    lon, lat = bng_to_lonlat(E0, N0)
    shape = area_shape({"type": "Point", "coordinates": [lon, lat]}, radius_m=250)
    e, n = points((E0 + 249.5, N0), (E0 + 250.5, N0), (E0, N0 - 249.5), (E0 + 176, N0 + 176),
                  (E0 + 178, N0 + 178))
    assert inside(shape, e, n).tolist() == [True, False, True, True, False]
    assert shape.area == pytest.approx(np.pi * 250 ** 2, rel=1e-3)


def test_buffer_ring_excludes_the_target() -> None:
    target = area_shape({"type": "Polygon", "coordinates": [square(E0, N0, 100)]})
    ring = buffer_ring(target, 50)
    e, n = points((E0 + 50, N0 + 50), (E0 + 120, N0 + 50), (E0 + 160, N0 + 50))
    assert inside(ring, e, n).tolist() == [False, True, False]


def test_round_trip_to_wgs84_moves_no_corner_more_than_15_cm() -> None:
    shape = area_shape({"type": "Polygon", "coordinates": [square(E0, N0, 1000)]})
    back = area_shape(geojson_wgs84(shape))  # six decimals of a degree: about 10 cm
    assert back.hausdorff_distance(shape) < 0.15
    assert lonlat_to_bng(*bng_to_lonlat(E0, N0)) == pytest.approx((E0, N0), abs=0.01)


def test_invalid_areas_are_refused_with_the_reason() -> None:
    with pytest.raises(AreaError, match="needs a radius"):
        area_shape({"type": "Point", "coordinates": [-0.17, 51.52]})
    with pytest.raises(AreaError, match="did you mean"):
        area_shape({"type": "Point", "coordinates": [51.52, -0.17]}, 100)


def test_a_self_intersecting_polygon_is_repaired_not_refused() -> None:
    e, n = E0, N0
    bow_tie = [list(bng_to_lonlat(x, y)) for x, y in
               ((e, n), (e + 100, n + 100), (e + 100, n), (e, n + 100), (e, n))]
    shape = area_shape({"type": "Polygon", "coordinates": [bow_tie]})
    assert shape.is_valid and shape.area == pytest.approx(5000, rel=1e-3)
    assert not shape.contains(Point(e + 50, n + 90))


def test_the_projection_is_the_ordnance_surveys_helmert_transformation_both_ways() -> None:
    """The pipelines are EPSG:1314 (OSGB36 to WGS 84 (6)) with the British National Grid,
    exactly what PROJ itself builds for that operation, whatever grids a machine has."""
    from pyproj.transformer import TransformerGroup

    def helmert(source: int, target: int) -> Any:
        with warnings.catch_warnings():  # "best transformation (OSTN15 grid) not available"
            warnings.simplefilter("ignore", UserWarning)
            group = TransformerGroup(source, target, always_xy=True)
        return next(t for t in group.transformers if "OSGB36 to WGS 84 (6)" in t.description)

    forward, back = helmert(4326, 27700), helmert(27700, 4326)
    for lon, lat in [(-0.1276, 51.5072), (-3.1883, 55.9533), (-5.7, 50.07), (1.75, 52.48)]:
        assert lonlat_to_bng(lon, lat) == pytest.approx(forward.transform(lon, lat), abs=1e-6)
        easting, northing = forward.transform(lon, lat)
        assert bng_to_lonlat(easting, northing) == pytest.approx(
            back.transform(easting, northing), abs=1e-9)
    # The OS's published worked example is within the transformation's 2 m or so: Caister
    # Water Tower, ETRS89 52 39' 28.71" N 1 42' 57.79" E, OSGB36 651409.903, 313177.270.
    east, north = lonlat_to_bng(1 + 42 / 60 + 57.79 / 3600, 52 + 39 / 60 + 28.71 / 3600)
    assert abs(east - 651409.903) < 5 and abs(north - 313177.270) < 5
