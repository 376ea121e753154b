"""WGS84 longitude and latitude to and from the British National Grid (EPSG:27700), on its own
so that the importer projects its points without loading the geometry libraries (numpy,
shapely) that areas need."""

from __future__ import annotations

from pyproj import Transformer

# WGS84 <-> British National Grid through OSGB36 by the Ordnance Survey's 7-parameter Helmert
# transformation (EPSG:1314, about 2 m), as explicit PROJ pipelines. Two reasons not to ask for
# Transformer.from_crs(4326, 27700): it would switch to the OSTN15 grid on a machine that has
# it, so that two machines stored different coordinates for the same crime; and pyproj builds
# a transformer per thread, which from CRS codes takes some 45 ms (a database search) on the
# first request each server thread serves, against 0.5 ms from a pipeline.
_HELMERT = ("step proj=push v_3 step proj=cart ellps={from_ellps} step {inv}proj=helmert "
            "x=446.448 y=-125.157 z=542.06 rx=0.15 ry=0.247 rz=0.842 s=-20.489 "
            "convention=position_vector step inv proj=cart ellps={to_ellps} step proj=pop v_3")
_GRID = "proj=tmerc lat_0=49 lon_0=-2 k=0.9996012717 x_0=400000 y_0=-100000 ellps=airy"
TO_BNG = Transformer.from_pipeline(
    "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad "
    + _HELMERT.format(from_ellps="WGS84", inv="inv ", to_ellps="airy") + f" step {_GRID}")
TO_WGS84 = Transformer.from_pipeline(
    f"proj=pipeline step inv {_GRID} "
    + _HELMERT.format(from_ellps="airy", inv="", to_ellps="WGS84")
    + " step proj=unitconvert xy_in=rad xy_out=deg")
