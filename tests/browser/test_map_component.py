"""The map component (static/js/map.js with the vendored Leaflet) in headless Chromium, without the
app: a small server of its own serves ``static/``, test pages and GeoJSON under the app's
Content-Security-Policy, and any violation of it fails the test (conftest's ``PageProblems``)."""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.middleware import CSP
from app.web.templating import env
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE, PageProblems, assert_fits_phone

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "static"
TILE = (STATIC / "vendor" / "leaflet" / "images" / "layers.png").read_bytes()
XSS_LABEL = 'Cell <img src=x onerror="document.title=\'pwned\'"> & more'

HEAD = """<!DOCTYPE html>
<html lang="en-GB" class="govuk-template">
<head>
  <meta charset="utf-8">
  <title>map test</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">
  <meta name="htmx-config" content='{"includeIndicatorCSS": false, "defaultSettleDelay": 0}'>
  <link rel="stylesheet" href="/static/vendor/govuk-frontend/govuk-frontend.min.css">
  <link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
  <link rel="stylesheet" href="/static/css/app.css">
  <script src="/static/vendor/htmx/htmx.min.js" defer></script>
  <script type="module" src="/static/js/app.js"></script>
</head>
<body class="govuk-template__body">
<div class="govuk-width-container"><main class="govuk-main-wrapper" id="main-content">
"""
FOOT = "\n</main></div>\n</body>\n</html>\n"

# Around a point in London; squares of about 110 m (0.001 degrees of latitude).
LNG, LAT = -0.17, 51.52


def square(x0: float, y0: float, size: float = 0.001) -> list[list[float]]:
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


# Target in the middle, a buffer ring around it, a control area (point + radius) to the east,
# candidates to the south-east and far west, three hotspot cells to the south; bins and points
# come from a second file.
AREA = collection(
    feature(polygon(square(LNG, LAT, 0.002)), role="target"),
    feature(polygon(square(LNG - 0.002, LAT - 0.002, 0.006), square(LNG, LAT, 0.002)),
            role="buffer"),
    feature(point(LNG + 0.008, LAT + 0.001), role="control", radius_m=150),
    feature(polygon(square(LNG + 0.004, LAT - 0.0035, 0.0015)), role="candidate",
            label="Candidate A: Bell Street"),
    feature(polygon(square(LNG - 0.009, LAT - 0.0005, 0.0015)), role="candidate",
            label="Candidate B"),
    feature(polygon(square(LNG - 0.002, LAT - 0.006)), role="cell", z=3.5, count=12,
            label="12 crimes", href="/cells/1"),
    feature(polygon(square(LNG, LAT - 0.006)), role="cell", z=2.0, count=6, label="6 crimes"),
    feature(polygon(square(LNG + 0.002, LAT - 0.006)), role="cell", z=0.4, count=3,
            label=XSS_LABEL, href="/cells/3"),
)
EXTRA = collection(
    feature(polygon(square(LNG + 0.004, LAT + 0.004)), role="bin", count=1),
    feature(polygon(square(LNG + 0.005, LAT + 0.004)), role="bin", count=9),
    feature(polygon(square(LNG + 0.006, LAT + 0.004)), role="bin", count=30),
    feature(point(LNG + 0.001, LAT + 0.006), role="point"),
    feature(point(LNG + 0.002, LAT + 0.006), role="point", label="Crime: burglary"),
)
# A map without tiles: the local policing area's outline around the target, and street names
# (the server sends the most frequent first; the map orders them again). "Busy Street" and
# "Hidden Lane" share a point: only the more frequent is drawn. "Long Road" comes twice, close.
STREETS = [("Quiet Mews", 2, 0.0006, 0.0003), ("Busy Street", 40, 0.001, 0.001),
           ("Hidden Lane", 3, 0.001, 0.001), ("Long Road", 12, 0.0012, 0.0018),
           ("Long Road", 11, 0.0016, 0.0019), ("Far Away Close", 50, 0.5, 0.5)]
PLAIN = collection(
    feature(polygon(square(LNG - 0.006, LAT - 0.004, 0.012)), role="outline",
            label="Westminster"),
    feature(polygon(square(LNG, LAT, 0.002)), role="target"),
    *(feature(point(LNG + dx, LAT + dy), role="street", label=name, count=n)
      for name, n, dx, dy in STREETS),
)
NOTICE = ("No street map: no tile server is set. In its place: the area's outline and "
          "street names from crime data, where there are any.")
PREFILLED = polygon([[LNG, LAT], [LNG + 0.002, LAT], [LNG + 0.001, LAT + 0.002], [LNG, LAT]])

PAGES = {
    "roles.html": """
<h1 class="govuk-heading-l">Roles</h1>
<div class="app-map" id="map" data-map data-geojson="/area.geojson /extra.geojson" data-tiles=""
     data-attribution="Crime data: police.uk" aria-label="Map of the area">
  <p>The map needs JavaScript.</p>
</div>""",
    "plain.html": """
<div class="app-map" id="map" data-map data-geojson="/plain.geojson" data-tiles=""
     aria-label="Map of the case's areas"><p>The map needs JavaScript.</p></div>
<p class="govuk-body" id="after">After the map.</p>""",
    "plain-tiles.html": """
<div class="app-map" id="map" data-map data-geojson="/area.geojson"
     data-tiles="/tiles/{z}/{x}/{y}.png" aria-label="Map with tiles">
  <p>The map needs JavaScript.</p></div>
<p class="govuk-body" id="after">After the map.</p>""",
    "tiles.html": """
<div class="app-map" id="map" data-map data-geojson="/area.geojson"
     data-tiles="/tiles/{z}/{x}/{y}.png" data-attribution="Tiles <b>test</b> & co"
     aria-label="Map with tiles"><p>The map needs JavaScript.</p></div>""",
    "draw.html": """
<form method="post" action="/save">
  <div class="app-map" id="map" data-map data-geojson="/area.geojson" data-tiles=""
       data-draw="area-geojson" aria-label="Map to draw the area on">
    <p>The map needs JavaScript: type the GeoJSON below.</p>
  </div>
  <input type="radio" name="kind" id="kind-point" value="point" checked>
  <label for="kind-point">Point</label>
  <input type="radio" name="kind" id="kind-polygon" value="polygon">
  <label for="kind-polygon">Polygon</label>
  <label for="area-geojson">GeoJSON</label>
  <textarea id="area-geojson" name="geojson" rows="3"></textarea>
</form>""",
    "prefilled.html": """
<form method="post" action="/save">
  <div class="app-map" id="map" data-map data-geojson="/area.geojson" data-tiles=""
       data-draw="area-geojson" aria-label="Map of the area">Needs JavaScript.</div>
  <textarea id="area-geojson" name="geojson">PREFILLED</textarea>
</form>""".replace("PREFILLED", json.dumps(PREFILLED)),
    "point.html": """
<form method="post" action="/save">
  <input type="radio" name="spot-kind" id="spot-kind" value="point">
  <label for="spot-kind">Point</label>
  <input type="radio" name="spot-kind" id="spot-kind-2" value="polygon" checked>
  <label for="spot-kind-2">Polygon</label>
  <div class="app-map" id="map" data-map data-geojson="" data-tiles="" data-point="spot"
       aria-label="Map of the point">Needs JavaScript.</div>
  <label for="spot-lat">Latitude</label><input id="spot-lat" name="lat" value="51.52">
  <label for="spot-lng">Longitude</label><input id="spot-lng" name="lng" value="-0.17">
  <label for="spot-radius_m">Radius</label><input id="spot-radius_m" name="r" value="200">
</form>""",
    # What the app sends with a drawing map (its own macros): the script adopts both.
    "served.html": """
<form method="post" action="/save">
  <div class="app-map" id="map" data-map data-geojson="/plain.geojson" data-tiles=""
       data-draw="area-geojson" aria-label="Map to draw the area on">Needs JavaScript.</div>
  NOTICE TOOLBAR
  <label for="area-geojson">GeoJSON</label>
  <textarea id="area-geojson" name="geojson" rows="3"></textarea>
  <a href="/after" id="after" class="govuk-link">Cancel</a>
</form>""".replace("NOTICE", str(env.get_template("_macros.html").module.map_notice(""))
                   ).replace("TOOLBAR", str(env.get_template("_macros.html").module
                                            .map_draw_toolbar())),
    "missing.html": """
<div class="app-map" id="map" data-map data-geojson="/missing.geojson" data-tiles=""
     aria-label="Map">Needs JavaScript.</div>""",
    "swap.html": """
<button type="button" class="govuk-button" hx-get="/fragment.html" hx-target="#slot"
        hx-swap="innerHTML">Show the map</button>
<div id="slot"></div>""",
    "hidden.html": """
<button type="button" class="govuk-button" id="show">Show</button>
<div id="wrap" hidden>
  <div class="app-map" id="map" data-map data-geojson="/area.geojson" data-tiles=""
       aria-label="Map">Needs JavaScript.</div>
</div>""",
    "fragment.html": """<div class="app-map" id="swapped" data-map data-geojson="/area.geojson"
     data-tiles="" aria-label="Swapped map">Needs JavaScript.</div>""",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    """``/static/...`` from the repository, ``/tiles/...`` a PNG, anything else from the tmp dir,
    all with the app's Content-Security-Policy."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".geojson": "application/geo+json", ".js": "text/javascript",
                      ".html": "text/html; charset=utf-8"}

    def __init__(self, *args: Any, pages: Path, **kwargs: Any) -> None:
        self.pages = pages
        super().__init__(*args, directory=str(pages), **kwargs)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/static/"):
            relative = clean.removeprefix("/static/")
            target = (STATIC / relative).resolve()
            if STATIC in target.parents:
                return str(target)
            return str(self.pages / "nothing-here")
        return super().translate_path(path)

    def do_GET(self) -> None:
        if self.path.startswith("/tiles/"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(TILE)))
            self.end_headers()
            self.wfile.write(TILE)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pages = tmp_path_factory.mktemp("map-pages")
    for name, body in PAGES.items():
        head = HEAD
        if name == "hidden.html":  # map.js adds leaflet.css itself when a page forgets it
            head = re.sub(r' *<link [^>]*leaflet\.css">\n', "", HEAD)
            assert head != HEAD
        text = body if name == "fragment.html" else head + body + FOOT
        (pages / name).write_text(text, encoding="utf-8")
    (pages / "area.geojson").write_text(json.dumps(AREA), encoding="utf-8")
    (pages / "extra.geojson").write_text(json.dumps(EXTRA), encoding="utf-8")
    (pages / "plain.geojson").write_text(json.dumps(PLAIN), encoding="utf-8")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, pages=pages))
    thread = threading.Thread(target=server.serve_forever, name="map-test-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def map_page(browser: Any, map_server: str, page_problems: PageProblems,
             context_options: dict[str, Any]) -> Iterator[Page]:
    """Like conftest's ``page`` (phone viewport; console errors and CSP violations fail the
    test), on our server."""
    context = browser.new_context(**{"viewport": PHONE, "base_url": map_server,
                                     "locale": "en-GB", **context_options})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page_problems.watch(page)
    try:
        yield page
    finally:
        context.close()


def open_map(page: Page, name: str, selector: str = "#map") -> None:
    page.goto(f"/{name}")
    expect(page.locator(f"{selector}.leaflet-container")).to_be_visible()
    expect(page.locator(f"{selector} .leaflet-map-pane")).to_have_count(1)
    # Its data loaded and the view fitted to it: until then a click lands on the whole of
    # Great Britain (the view with nothing to show).
    expect(page.locator(f"{selector}.app-map--loaded")).to_be_visible()


def count(page: Page, selector: str) -> int:
    return page.locator(selector).count()


def click_at(page: Page, selector: str, fx: float, fy: float) -> None:
    """Click at a fraction (fx, fy) of the element's box."""
    box = page.locator(selector).bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def click_centre(page: Page, selector: str) -> None:
    click_at(page, selector, 0.5, 0.5)


def count_events(page: Page, selector: str, kind: str = "input") -> None:
    page.evaluate("""([selector, kind]) => {
        const el = document.querySelector(selector);
        el.dataset.events = "0";
        el.addEventListener(kind, () => { el.dataset.events = String(+el.dataset.events + 1); });
    }""", [selector, kind])


def events(page: Page, selector: str) -> int:
    return int(page.locator(selector).get_attribute("data-events") or 0)


# --- the tests ---------------------------------------------------------------------------------

def test_every_role_renders_without_tiles(map_page: Page) -> None:
    images: list[str] = []
    map_page.on("request", lambda r: images.append(r.url)
                if r.resource_type == "image" and "favicon" not in r.url else None)
    open_map(map_page, "roles.html")
    expected = {"target": 1, "buffer": 1, "control": 1, "candidate": 2, "cell": 3, "bin": 3,
                "point": 2}
    for role, n in expected.items():
        expect(map_page.locator(f"#map path.app-map__feature--{role}")).to_have_count(n)

    expect(map_page.locator("#map")).not_to_contain_text("The map needs JavaScript")
    expect(map_page.locator("#map")).to_have_class(re.compile(r"\bapp-map--plain\b"))
    expect(map_page.locator("#map .leaflet-control-scale")).to_be_visible()
    expect(map_page.locator("#map .leaflet-control-attribution")).to_contain_text(
        "Crime data: police.uk")
    assert count(map_page, "#map img") == 0
    assert count(map_page, "#map .leaflet-tile-pane *") == 0
    assert images == [], f"a map without tiles asked for images: {images}"

    # Styling follows the properties: the buffer is a dashed unfilled ring (with its hole), the
    # control a circle, the hottest cell the darkest red at full strength.
    buffer = map_page.locator("#map path.app-map__feature--buffer")
    assert buffer.get_attribute("fill") == "none"
    assert buffer.get_attribute("stroke-dasharray")
    assert buffer.get_attribute("d").count("M") == 2
    assert map_page.locator("#map path.app-map__feature--control").get_attribute("d").count(
        "a") >= 2  # an SVG arc: a circle in metres
    cells = map_page.locator("#map path.app-map__feature--cell")
    assert [cells.nth(i).get_attribute("fill") for i in range(3)] == [
        "#a50f15", "#fb6a4a", "#b1b4b6"]
    opacities = [float(cells.nth(i).get_attribute("fill-opacity") or 0) for i in range(3)]
    assert opacities[0] == pytest.approx(0.75) and opacities[0] > opacities[1] > opacities[2]
    bins = map_page.locator("#map path.app-map__feature--bin")
    fills = [bins.nth(i).get_attribute("fill") or "" for i in range(3)]
    darkness = [sum(int(c) for c in re.findall(r"\d+", f)) for f in fills]
    assert darkness[0] > darkness[1] > darkness[2], fills

    # The map frames the target, buffer, control and cells, and has a phone-friendly size.
    box = map_page.locator("#map").bounding_box()
    assert box and 240 <= box["height"] <= 421
    left, right = box["x"] - 1, box["x"] + box["width"] + 1
    top, bottom = box["y"] - 1, box["y"] + box["height"] + 1
    for role in ("target", "buffer", "control", "cell"):
        shapes = map_page.locator(f"#map path.app-map__feature--{role}")
        for i in range(shapes.count()):
            b = shapes.nth(i).bounding_box()
            assert b and left <= b["x"] and b["x"] + b["width"] <= right, role
            assert top <= b["y"] and b["y"] + b["height"] <= bottom, role
    assert_fits_phone(map_page)


def test_popup_text_is_text_not_html(map_page: Page) -> None:
    open_map(map_page, "roles.html")
    cells = map_page.locator("#map path.app-map__feature--cell")
    click_centre(map_page, "#map path.app-map__feature--cell >> nth=2")
    popup = map_page.locator("#map .leaflet-popup-content")
    expect(popup).to_be_visible()
    expect(popup.locator(".app-map__popup-label")).to_have_text(XSS_LABEL)
    assert map_page.evaluate("document.querySelectorAll('img').length") == 0
    assert map_page.title() == "map test"
    link = popup.get_by_role("link", name=re.compile(r"^Details"))
    assert link.get_attribute("href") == "/cells/3"

    # A cell without href has no link; its label is there. (Escape closes the open popup.)
    map_page.keyboard.press("Escape")
    expect(map_page.locator("#map .leaflet-popup")).to_have_count(0)
    click_centre(map_page, "#map path.app-map__feature--cell >> nth=1")
    expect(popup.locator(".app-map__popup-label")).to_have_text("6 crimes")
    expect(popup.get_by_role("link")).to_have_count(0)
    assert cells.count() == 3

    # Candidates show their label as a tooltip.
    box = map_page.locator("#map path.app-map__feature--candidate >> nth=0").bounding_box()
    assert box
    map_page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(map_page.locator("#map .leaflet-tooltip")).to_have_text("Candidate A: Bell Street")


def label_boxes(page: Page) -> dict[str, dict[str, float]]:
    boxes = {}
    labels = page.locator("#map .app-map__street span")
    for i in range(labels.count()):
        box = labels.nth(i).bounding_box()
        assert box
        boxes[labels.nth(i).inner_text()] = box
    return boxes


def apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("context_options", [{"viewport": PHONE}, {"viewport": DESKTOP}],
                         ids=["phone", "desktop"], indirect=True)
def test_without_tiles_the_map_says_so_and_draws_the_outline_and_street_names(
        map_page: Page, context_options: dict[str, Any]) -> None:
    open_map(map_page, "plain.html")
    notice = map_page.locator("#map + .app-map__notice")
    expect(notice).to_have_text(NOTICE)
    expect(map_page.locator(".app-map__notice")).to_have_count(1)
    outline = map_page.locator("#map path.app-map__feature--outline")
    expect(outline).to_have_count(1)
    assert outline.get_attribute("fill") == "none"
    assert "leaflet-interactive" not in (outline.get_attribute("class") or "")
    # The map frames the target, not the whole outline (which runs off every side).
    target = map_page.locator("#map path.app-map__feature--target").bounding_box()
    assert target and target["width"] > 100

    # The names in view, each once, none over another; the more frequent of two at one point.
    expect(map_page.locator("#map .app-map__street span").first).to_be_visible()
    boxes = label_boxes(map_page)
    assert {"Busy Street", "Quiet Mews", "Long Road"} <= set(boxes)
    assert "Hidden Lane" not in boxes and "Far Away Close" not in boxes
    assert map_page.locator("#map .app-map__street").count() == len(boxes)
    names = list(boxes.values())
    assert all(apart(a, b) for i, a in enumerate(names) for b in names[i + 1:])
    frame = map_page.locator("#map").bounding_box()
    assert frame
    for name, box in boxes.items():
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
        assert 10 <= box["height"] <= 24, name
    # Labels never take a click: the target beneath a label is still the map's.
    assert map_page.locator("#map .app-map__street").first.evaluate(
        "(el) => getComputedStyle(el).pointerEvents") == "none"

    # Zoomed out, the names are placed again for the new view, still none over another.
    map_page.locator("#map .leaflet-control-zoom-out").click()
    map_page.wait_for_timeout(400)
    names = list(label_boxes(map_page).values())
    assert names and all(apart(a, b) for i, a in enumerate(names) for b in names[i + 1:])
    assert_accessible(map_page, "a map without tiles")
    if context_options["viewport"] == PHONE:
        assert_fits_phone(map_page)


@pytest.mark.parametrize("context_options", [{"viewport": PHONE}, {"viewport": DESKTOP}],
                         ids=["phone", "desktop"], indirect=True)
def test_the_notice_and_toolbar_sent_with_the_page_are_adopted_and_nothing_below_moves(
        map_page: Page) -> None:
    """A tap aimed below the map must not land elsewhere because the map started meanwhile."""
    map_page.route("**/static/vendor/leaflet/leaflet.js", lambda route: (
        map_page.wait_for_timeout(300), route.continue_()))  # the page settles first
    map_page.goto("/served.html")
    before = map_page.locator("#after").bounding_box()
    expect(map_page.locator("#map.app-map--loaded")).to_be_visible()
    assert map_page.locator("#after").bounding_box() == before
    expect(map_page.locator(".app-map__notice")).to_have_count(1)
    expect(map_page.locator("#map + .app-map__notice")).to_have_text(NOTICE)
    expect(map_page.locator(".app-map-draw")).to_have_count(1)
    # The adopted toolbar works: the map's own buttons, wired.
    map_page.get_by_role("button", name="Draw an area").click()
    expect(map_page.get_by_role("button", name="Finish")).to_be_visible()
    map_page.keyboard.press("Escape")
    expect(map_page.get_by_role("button", name="Draw an area")).to_be_visible()


@pytest.mark.parametrize("context_options", [{"viewport": PHONE}, {"viewport": DESKTOP}],
                         ids=["phone", "desktop"], indirect=True)
def test_with_tiles_no_notice(map_page: Page) -> None:
    open_map(map_page, "plain-tiles.html")
    expect(map_page.locator("#map img.leaflet-tile-loaded").first).to_be_visible()
    expect(map_page.locator("#map path.app-map__feature--target")).to_have_count(1)
    assert count(map_page, ".app-map__notice") == 0
    assert map_page.locator("#map + *").get_attribute("id") == "after"


def test_tiles_when_configured(map_page: Page) -> None:
    open_map(map_page, "tiles.html")
    expect(map_page.locator("#map img.leaflet-tile-loaded").first).to_be_visible()
    assert re.fullmatch(r"/tiles/\d+/\d+/\d+\.png",
                        map_page.locator("#map img.leaflet-tile").first.get_attribute("src") or "")
    expect(map_page.locator("#map")).to_have_class(re.compile(r"\bapp-map--tiles\b"))
    attribution = map_page.locator("#map .leaflet-control-attribution")
    expect(attribution).to_contain_text("Tiles <b>test</b> & co")
    assert attribution.locator("b").count() == 0


def test_draw_an_area(map_page: Page) -> None:
    open_map(map_page, "draw.html")
    count_events(map_page, "#area-geojson")
    draw = map_page.get_by_role("button", name="Draw an area")
    finish = map_page.get_by_role("button", name="Finish")
    undo = map_page.get_by_role("button", name="Undo point")
    expect(finish).to_be_hidden()

    # Keyboard: the control is reachable and works with Enter.
    draw.focus()
    map_page.keyboard.press("Enter")
    expect(finish).to_be_disabled()
    expect(draw).to_be_hidden()

    click_at(map_page, "#map", 0.30, 0.30)
    click_at(map_page, "#map", 0.70, 0.30)
    expect(finish).to_be_disabled()
    click_at(map_page, "#map", 0.50, 0.90)  # a stray point, taken back
    expect(map_page.locator("#map path.app-map__vertex")).to_have_count(3)
    expect(finish).to_be_enabled()
    undo.click()
    expect(map_page.locator("#map path.app-map__vertex")).to_have_count(2)
    # The last corner lands on a hotspot cell: drawing takes it as a corner, no popup opens.
    click_centre(map_page, "#map path.app-map__feature--cell >> nth=1")
    expect(map_page.locator("#map path.app-map__sketch")).to_have_count(1)
    assert count(map_page, "#map .leaflet-popup") == 0
    finish.click()

    geometry = json.loads(map_page.locator("#area-geojson").input_value())
    assert geometry["type"] == "Polygon"
    (ring,) = geometry["coordinates"]
    assert len(ring) == 4 and ring[0] == ring[-1]
    for lng, lat in ring:
        assert round(lng, 6) == lng and round(lat, 6) == lat
        assert -0.2 < lng < -0.14 and 51.5 < lat < 51.54
    twice_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    assert twice_area > 0, "the outer ring runs anticlockwise (RFC 7946)"
    assert map_page.locator("#kind-polygon").is_checked()
    assert events(map_page, "#area-geojson") >= 1
    expect(map_page.locator("#map path.app-map__drawn")).to_have_count(1)
    expect(map_page.locator("#map path.app-map__sketch")).to_have_count(0)
    expect(draw).to_be_visible()
    expect(map_page.locator(".app-map-draw__status")).to_have_text("Area drawn with 3 corners.")

    # Cancel (here with Escape) leaves the area as it was.
    draw.click()
    click_at(map_page, "#map", 0.2, 0.2)
    map_page.keyboard.press("Escape")
    expect(draw).to_be_visible()
    assert json.loads(map_page.locator("#area-geojson").input_value()) == geometry


def test_an_area_already_in_the_textarea_is_shown(map_page: Page) -> None:
    open_map(map_page, "prefilled.html")
    expect(map_page.locator("#map path.app-map__drawn")).to_have_count(1)
    expect(map_page.locator("#map path.app-map__feature--target")).to_have_count(1)
    drawn = map_page.locator("#map path.app-map__drawn").bounding_box()
    assert drawn and drawn["width"] > 30
    # The area being edited lies on top of the features from the server.
    top = map_page.locator("#map .leaflet-overlay-pane path").last
    assert (top.get_attribute("class") or "").startswith("app-map__drawn")
    # Editing the textarea redraws it; nonsense removes it.
    map_page.locator("#area-geojson").fill("not json")
    expect(map_page.locator("#map path.app-map__drawn")).to_have_count(0)


def test_point_and_radius(map_page: Page) -> None:
    open_map(map_page, "point.html")
    circle = map_page.locator("#map path.app-map__point-area")
    expect(circle).to_have_count(1)
    small = circle.bounding_box()
    map_page.locator("#spot-radius_m").fill("400")
    big = circle.bounding_box()
    assert small and big and big["width"] > small["width"] * 1.8

    count_events(map_page, "#spot-lat")
    count_events(map_page, "#spot-lng")
    click_at(map_page, "#map", 0.8, 0.75)
    lat = map_page.locator("#spot-lat").input_value()
    lng = map_page.locator("#spot-lng").input_value()
    assert re.fullmatch(r"-?\d+\.\d{6}", lat) and re.fullmatch(r"-?\d+\.\d{6}", lng)
    assert float(lat) < 51.52 and float(lng) > -0.17  # south-east of the old centre
    assert events(map_page, "#spot-lat") == 1 and events(map_page, "#spot-lng") == 1
    assert map_page.locator("#spot-kind").is_checked()
    moved = circle.bounding_box()
    assert moved and moved["x"] > big["x"] and moved["y"] > big["y"]


def test_a_failed_fetch_says_so_in_the_map(map_page: Page,
                                           page_problems: PageProblems) -> None:
    page_problems.allow(r"status of 404")
    open_map(map_page, "missing.html")
    expect(map_page.locator("#map .app-map__message")).to_have_text(
        "The map data could not be loaded.")


def test_a_map_that_starts_hidden_fits_once_shown(map_page: Page) -> None:
    map_page.goto("/hidden.html")
    expect(map_page.locator("#map.leaflet-container")).to_be_attached()
    map_page.evaluate("""() => document.getElementById("wrap").hidden = false""")
    target = map_page.locator("#map path.app-map__feature--target")
    expect(target).to_have_count(1)
    expect(target).to_be_visible()
    box = map_page.locator("#map").bounding_box()
    shape = target.bounding_box()
    assert box and shape and shape["width"] > 20
    assert box["x"] < shape["x"] < box["x"] + box["width"]
    assert box["y"] < shape["y"] < box["y"] + box["height"]
    # The stylesheet map.js added is in force: Leaflet's panes are positioned.
    assert map_page.locator("#map .leaflet-pane").first.evaluate(
        "(pane) => getComputedStyle(pane).position") == "absolute"


def test_maps_in_swapped_content_start_once(map_page: Page) -> None:
    map_page.goto("/swap.html")
    map_page.get_by_role("button", name="Show the map").click()
    expect(map_page.locator("#swapped.leaflet-container")).to_be_visible()
    expect(map_page.locator("#swapped path.app-map__feature--target")).to_have_count(1)
    # Another htmx:after:process over the same content does not start a second map.
    map_page.evaluate("""() => document.getElementById("slot").dispatchEvent(
        new CustomEvent("htmx:after:process", { bubbles: true }))""")
    map_page.wait_for_timeout(300)
    assert count(map_page, "#swapped .leaflet-map-pane") == 1
    assert count(map_page, "#swapped path.app-map__feature--target") == 1
    # Swapped again: the new copy gets its own map.
    map_page.get_by_role("button", name="Show the map").click()
    expect(map_page.locator("#swapped path.app-map__feature--target")).to_have_count(1)
    # The old map is taken down a moment after its swap (see map.js): wait for it.
    expect(map_page.locator(".leaflet-map-pane")).to_have_count(1)


def test_a_map_swapped_away_while_zooming_goes_quietly(map_page: Page) -> None:
    open_map(map_page, "point.html")
    # A zoom animation is running when htmx takes the map away and processes the new content:
    # the map is removed without Leaflet's pending animation steps throwing afterwards.
    map_page.evaluate("""async () => {
        document.querySelector("#map .leaflet-control-zoom-in").click();
        await new Promise((resolve) => setTimeout(resolve, 50));
        document.getElementById("map").remove();
        document.querySelector("main").dispatchEvent(
            new CustomEvent("htmx:after:process", { bubbles: true }));
    }""")
    map_page.wait_for_timeout(800)
    assert count(map_page, ".leaflet-container") == 0


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}], ids=["without-js"],
                         indirect=True)
def test_without_javascript_the_fallback_stays(map_page: Page) -> None:
    map_page.goto("/draw.html")
    expect(map_page.locator("#map")).to_contain_text("The map needs JavaScript")
    assert "leaflet-container" not in (map_page.locator("#map").get_attribute("class") or "")
    expect(map_page.locator("#area-geojson")).to_be_editable()
    assert count(map_page, ".app-map-draw") == 0
