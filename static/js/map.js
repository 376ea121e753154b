// popcase maps: progressive enhancement of <div data-map>. Without JavaScript (or when Leaflet
// cannot load) the element's own fallback text and the plain form fields stay as they are.
//
// Markup contract:
//   <div class="app-map" data-map aria-label="Map of the target area"
//        data-geojson="/cases/1/map.geojson [/more.geojson ...]"   space-separated, may be empty
//        data-tiles="https://tiles.example/{z}/{x}/{y}.png"        empty: no tile layer at all
//        data-attribution="© OpenStreetMap contributors"          plain text, never HTML
//        data-draw="target_area-geojson"                          optional: id of a <textarea>
//        data-point="target_area">                                optional: #P-lat #P-lng #P-radius_m
//     Fallback text for people without JavaScript.
//   </div>
//
// Each URL answers a GeoJSON FeatureCollection (a Feature or a bare geometry also works). A
// feature's properties.role picks its style: target, buffer, control, candidate (tooltip: label),
// cell (hotspot grid cell: colour by z, opacity by count, popup: label + "Details" link to href),
// bin (grey-to-dark by count, popup when it has a label or href), point (small circle marker),
// outline (the local policing area's boundary: a line, never framed), street (a Point whose label
// is a street name, drawn as text: the most frequent first, see placeLabels).
// A Point with properties.radius_m is drawn as a circle of that radius in metres. Server text
// (label, attribution) is only ever used as text, never as HTML.
//
// Without tiles the map says so under it (.app-map__notice), and what it shows instead: the
// area's outline and street names from the crime data, when the server sent them.
// The notice and the drawing toolbar may come with the page, in the markup this script would
// build: it adopts them, so nothing below the map moves when the map starts (a tap aimed at a
// button below it would land elsewhere).

const LEAFLET_JS = new URL("../vendor/leaflet/leaflet.js", import.meta.url).href;
const LEAFLET_CSS = new URL("../vendor/leaflet/leaflet.css", import.meta.url).href;

const FIT_MAX_ZOOM = 17;
const MAP_MAX_ZOOM = 18;
// Room for the zoom buttons (top left) and the scale and attribution (bottom).
const FIT_PADDING = { paddingTopLeft: [20, 20], paddingBottomRight: [20, 40] };
const FIT_ROLES = new Set(["target", "buffer", "control", "cell"]);
// Drawn bottom to top: area data underneath, the case's own areas and points on top.
const ROLE_ORDER = ["outline", "bin", "cell", "candidate", "buffer", "control", "target",
                    "point"];
const DEFAULT_VIEW = { center: [54.0, -2.5], zoom: 5 };  // Great Britain, when there is nothing

const ROLE_STYLES = {
  target: { color: "#003078", weight: 3, fillColor: "#1d70b8", fillOpacity: 0.15 },
  buffer: { color: "#f47738", weight: 2.5, dashArray: "8 6", fill: false },
  control: { color: "#00703c", weight: 3, fillColor: "#00703c", fillOpacity: 0.08 },
  candidate: { color: "#00703c", weight: 1.5, dashArray: "4 5", fillColor: "#00703c",
               fillOpacity: 0.04 },
  cell: { weight: 1, opacity: 0.7 },
  bin: { weight: 0.5, color: "#b1b4b6", opacity: 0.6, fillOpacity: 0.65 },
  point: { radius: 5, color: "#0b0c0c", weight: 2, fillColor: "#ffdd00", fillOpacity: 1 },
  outline: { color: "#505a5f", weight: 2, dashArray: "12 4 2 4", fill: false },
  other: { color: "#1d70b8", weight: 2, fillOpacity: 0.1 },
};
const DRAWN_STYLE = { color: "#4c2c92", weight: 3, fillColor: "#4c2c92", fillOpacity: 0.12,
                      interactive: false, className: "app-map__drawn" };
const SKETCH_STYLE = { color: "#4c2c92", weight: 2, dashArray: "6 4", fillOpacity: 0.08,
                       interactive: false, className: "app-map__sketch" };
const VERTEX_STYLE = { radius: 5, color: "#0b0c0c", weight: 2, fillColor: "#ffffff",
                       fillOpacity: 1, interactive: false, className: "app-map__vertex" };
const POINT_AREA_STYLE = { color: "#003078", weight: 3, fillColor: "#1d70b8", fillOpacity: 0.15,
                           interactive: false, className: "app-map__point-area" };

// Street names: at most this many on a map, none within LABEL_GAP pixels of another, and the
// same name not again within SAME_NAME_GAP pixels (a long street has several points).
const MAX_LABELS = 60;
const LABEL_GAP = 4;
const SAME_NAME_GAP = 160;
const LABEL_FONT = "700 12px";
const NO_TILES = "No street map: no tile server is set. In its place: the area's outline and "
  + "street names from crime data, where there are any.";

// Hotspot cells: the Getis-Ord z thresholds for p < 0.05, 0.01 and 0.001.
function cellColour(z) {
  if (z >= 3.29) return "#a50f15";
  if (z >= 2.58) return "#de2d26";
  if (z >= 1.96) return "#fb6a4a";
  return "#b1b4b6";
}

// Bins: from light grey to near black; the square root keeps small counts visible.
function binColour(share) {
  const t = Math.sqrt(Math.min(Math.max(share, 0), 1));
  const light = [243, 242, 241];
  const dark = [11, 12, 12];
  const rgb = light.map((c, i) => Math.round(c + (dark[i] - c) * t));
  return `rgb(${rgb.join(", ")})`;
}

const maps = new Set();        // live map instances, to tidy up those htmx has swapped away
const started = new WeakSet(); // containers already enhanced (WeakSet: nothing in the markup)
let leafletReady = null;

export function initMaps(root = document) {
  sweep();
  const containers = [...root.querySelectorAll("[data-map]")];
  if (root instanceof Element && root.matches("[data-map]")) containers.unshift(root);
  for (const container of containers) {
    if (started.has(container)) continue;
    started.add(container);
    startMap(container);
  }
}

function sweep() {
  for (const instance of maps) {
    if (!instance.container.isConnected) {
      instance.destroy();
      maps.delete(instance);
    }
  }
}

function loadLeaflet() {
  if (!leafletReady) {
    leafletReady = Promise.all([loadStylesheet(), loadScript()]).then(() => {
      if (!window.L) throw new Error("Leaflet did not load");
      return window.L;
    });
    leafletReady.catch(() => { leafletReady = null; });  // let a later page try again
  }
  return leafletReady;
}

function loadScript() {
  if (window.L) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = LEAFLET_JS;
    script.onload = () => resolve();
    script.onerror = () => { script.remove(); reject(new Error("Leaflet did not load")); };
    document.head.append(script);
  });
}

// Pages should link leaflet.css themselves; a page that does not gets it here.
function loadStylesheet() {
  const wanted = new URL(LEAFLET_CSS).pathname;
  const present = [...document.querySelectorAll('link[rel="stylesheet"]')]
    .some((link) => new URL(link.href, document.baseURI).pathname === wanted);
  if (present) return Promise.resolve();
  return new Promise((resolve) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = LEAFLET_CSS;
    link.onload = () => resolve();
    link.onerror = () => resolve();  // the map still works, only less tidy
    document.head.append(link);
  });
}

async function startMap(container) {
  let L;
  try {
    L = await loadLeaflet();
  } catch {
    const note = document.createElement("p");
    note.className = "app-map__fallback-note";
    note.textContent = "The interactive map could not be loaded.";
    container.append(note);
    return;
  }
  if (!container.isConnected) return;
  const instance = new MapInstance(L, container);
  maps.add(instance);
  instance.load();
}

function round6(value) {
  return Math.round(value * 1e6) / 1e6;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function safeHref(value) {
  if (typeof value !== "string" || !value.trim()) return null;
  try {
    const url = new URL(value, document.baseURI);
    return url.protocol === "http:" || url.protocol === "https:" ? value : null;
  } catch {
    return null;
  }
}

function roleOf(feature) {
  const role = feature?.properties?.role;
  return typeof role === "string" && Object.hasOwn(ROLE_STYLES, role) ? role : "other";
}

function featuresOf(data) {
  if (!data || typeof data !== "object") throw new Error("not GeoJSON");
  if (data.type === "FeatureCollection") return Array.isArray(data.features) ? data.features : [];
  if (data.type === "Feature") return [data];
  if (typeof data.type === "string" && ("coordinates" in data || "geometries" in data)) {
    return [{ type: "Feature", properties: {}, geometry: data }];
  }
  throw new Error("not GeoJSON");
}

function parseGeometry(text) {
  if (!text || !text.trim()) return null;
  try {
    const data = JSON.parse(text);
    const geometry = data?.type === "Feature" ? data.geometry : data;
    if (geometry && (geometry.type === "Polygon" || geometry.type === "MultiPolygon")
        && Array.isArray(geometry.coordinates)) {
      return geometry;
    }
  } catch {
    // not (yet) valid JSON: show nothing
  }
  return null;
}

// Extend bounds without asking Leaflet for a circle's bounds (which needs a projected map).
function extendBounds(L, bounds, layer) {
  if (layer instanceof L.Circle) {
    bounds.extend(layer.getLatLng().toBounds(layer.getRadius() * 2));
  } else if (layer.getLatLng) {
    bounds.extend(layer.getLatLng());
  } else if (layer.eachLayer) {
    layer.eachLayer((child) => extendBounds(L, bounds, child));
  } else if (layer.getBounds) {
    bounds.extend(layer.getBounds());
  }
}

function overlaps(a, b) {
  return a.left < b.right + LABEL_GAP && b.left < a.right + LABEL_GAP
    && a.top < b.bottom + LABEL_GAP && b.top < a.bottom + LABEL_GAP;
}

function fireInput(element) {
  element.dispatchEvent(new Event("input", { bubbles: true }));
}

// Check a radio of the form (as a click would, so GOV.UK conditional reveals follow).
function chooseKind(form, value) {
  const radio = form?.querySelector(`input[type="radio"][value="${value}"]`);
  if (radio && !radio.checked && !radio.disabled) radio.click();
}

class MapInstance {
  constructor(L, container) {
    this.L = L;
    this.container = container;
    this.controller = new AbortController();
    this.features = null;
    this.streets = [];
    this.labels = null;
    this.drawn = null;
    this.pointArea = null;
    this.fitPending = false;

    const tiles = (container.dataset.tiles || "").trim();
    const attribution = (container.dataset.attribution || "").trim();

    container.replaceChildren();  // the fallback text gives way to the map
    if (!container.getAttribute("role")) container.setAttribute("role", "region");
    if (!container.getAttribute("aria-label")) container.setAttribute("aria-label", "Map");
    container.classList.add("app-map--ready", tiles ? "app-map--tiles" : "app-map--plain");

    // Without tiles nothing blurs at fractional zoom levels, so the fit can be tighter.
    this.map = L.map(container, { maxZoom: MAP_MAX_ZOOM, zoomSnap: tiles ? 1 : 0.25,
                                  scrollWheelZoom: false, zoomControl: true,
                                  attributionControl: true });
    if (tiles) {
      L.tileLayer(tiles, { attribution: attribution ? escapeHtml(attribution) : "",
                           maxZoom: MAP_MAX_ZOOM }).addTo(this.map);
    } else if (attribution) {
      this.map.attributionControl.addAttribution(escapeHtml(attribution));
    }
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(this.map);

    // The mouse wheel zooms only once the map has focus, so that scrolling the page is not caught.
    const signal = this.controller.signal;
    container.addEventListener("focus", () => this.map.scrollWheelZoom.enable(), { signal });
    container.addEventListener("blur", () => this.map.scrollWheelZoom.disable(), { signal });
    this.map.on("click", (event) => this.onClick(event));
    this.map.on("moveend", () => this.placeLabels());

    if (typeof ResizeObserver === "function") {
      this.resizer = new ResizeObserver(() => this.onResize());
      this.resizer.observe(container);
    }

    this.setUpPoint();
    this.setUpDraw();
    if (!tiles) this.setUpNotice();
  }

  destroy() {
    this.controller.abort();
    this.resizer?.disconnect();
    this.toolbar?.remove();
    this.notice?.remove();
    // Leaflet ends a zoom animation from a timer (250 ms) and the next animation frame; removing
    // the map before then makes those throw. A map that is off the page can wait a little.
    const map = this.map;
    setTimeout(() => map.remove(), 600);
  }

  // --- data ------------------------------------------------------------------------------------

  async load() {
    const urls = (this.container.dataset.geojson || "").split(/\s+/).filter(Boolean);
    if (!urls.length) {
      this.fit();
      this.container.classList.add("app-map--loaded");
      return;
    }
    this.showMessage("Loading the map…");
    const results = await Promise.allSettled(urls.map((url) => this.fetchFeatures(url)));
    if (!this.container.isConnected) return;
    const sources = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
    const failed = results.length - sources.length;
    if (!failed) this.showMessage("");
    else if (!sources.length) this.showMessage("The map data could not be loaded.");
    else this.showMessage("Some of the map data could not be loaded.");
    const unreadable = this.addFeatures(sources);
    if (unreadable && !failed) this.showMessage("Some of the map data could not be shown.");
    this.fit();
    this.placeLabels();
    // Fitted to its data: what a click lands on no longer moves (scripts and tests wait on it).
    this.container.classList.add("app-map--loaded");
  }

  async fetchFeatures(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/geo+json, application/json" },
      signal: this.controller.signal,
    });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return featuresOf(await response.json());
  }

  addFeatures(sources) {
    const L = this.L;
    const scale = new WeakMap();  // feature -> the largest count of its role in its source
    const all = [];
    for (const features of sources) {
      const most = { cell: 0, bin: 0 };
      for (const feature of features) {
        const role = roleOf(feature);
        if (role in most) most[role] = Math.max(most[role], Number(feature.properties.count) || 0);
      }
      for (const feature of features) {
        if (!feature || typeof feature !== "object") continue;
        feature.properties = feature.properties && typeof feature.properties === "object"
          ? feature.properties : {};
        if (feature.properties.role === "street") {
          this.addStreet(feature);
          continue;
        }
        scale.set(feature, most[roleOf(feature)] || 0);
        all.push(feature);
      }
    }
    const rank = (feature) => {
      const i = ROLE_ORDER.indexOf(roleOf(feature));
      return i === -1 ? ROLE_ORDER.length : i;
    };
    all.sort((a, b) => rank(a) - rank(b));  // stable: the server's order within a role

    this.features = L.geoJSON(null, {
      style: (feature) => this.styleFor(feature, scale.get(feature) || 0),
      pointToLayer: (feature, latlng) => {
        const radius = Number(feature.properties.radius_m);
        if (Number.isFinite(radius) && radius > 0) return L.circle(latlng, { radius });
        return L.circleMarker(latlng, { radius: ROLE_STYLES.point.radius });
      },
      onEachFeature: (feature, layer) => this.bindInfo(feature, layer),
    }).addTo(this.map);
    let unreadable = 0;
    for (const feature of all) {
      try {
        this.features.addData(feature);
      } catch {
        unreadable += 1;  // one bad feature does not cost the others their place on the map
      }
    }
    this.streets.sort((a, b) => b.count - a.count || a.text.localeCompare(b.text));
    // Keep the area being edited on top of what came from the server (once all are drawn).
    this.map.whenReady(() => {
      this.drawn?.bringToFront();
      this.pointArea?.bringToFront();
    });
    return unreadable;
  }

  styleFor(feature, most) {
    const role = roleOf(feature);
    const props = feature.properties;
    const style = { ...ROLE_STYLES[role], className: `app-map__feature app-map__feature--${role}` };
    delete style.radius;  // a circle marker keeps the radius it was made with
    const count = Number(props.count) || 0;
    if (role === "cell") {
      const colour = cellColour(Number(props.z));
      style.color = colour;
      style.fillColor = colour;
      style.fillOpacity = most > 0 ? 0.15 + 0.6 * Math.min(count / most, 1) : 0.45;
    } else if (role === "bin") {
      style.fillColor = binColour(most > 0 ? count / most : 0);
    }
    style.interactive = this.isInteractive(role, props);
    return style;
  }

  isInteractive(role, props) {
    if (role === "cell") return true;
    if (role === "candidate") return props.label != null && props.label !== "";
    if (["target", "buffer", "control", "outline"].includes(role)) return false;
    return (props.label != null && props.label !== "") || safeHref(props.href) !== null;
  }

  bindInfo(feature, layer) {
    const role = roleOf(feature);
    const props = feature.properties;
    if (!this.isInteractive(role, props)) return;
    if (role === "candidate") {
      const text = document.createElement("span");
      text.textContent = String(props.label);
      layer.bindTooltip(text, { sticky: true, className: "app-map__tooltip" });
      return;
    }
    layer.bindPopup(() => this.popupContent(props),
                    { minWidth: 140, maxWidth: 260, className: "app-map__popup" });
  }

  popupContent(props) {
    const box = document.createElement("div");
    const label = props.label == null ? "" : String(props.label);
    if (label) {
      const text = document.createElement("p");
      text.className = "app-map__popup-label";
      text.textContent = label;
      box.append(text);
    }
    const href = safeHref(props.href);
    if (href) {
      const para = document.createElement("p");
      para.className = "app-map__popup-link";
      const link = document.createElement("a");
      link.className = "govuk-link";
      link.setAttribute("href", href);
      link.textContent = "Details";
      if (label) {
        const hidden = document.createElement("span");
        hidden.className = "govuk-visually-hidden";
        hidden.textContent = ` about ${label}`;
        link.append(hidden);
      }
      para.append(link);
      box.append(para);
    }
    if (!box.childElementCount) box.textContent = "No details.";
    return box;
  }

  showMessage(text) {
    if (!this.message) {
      this.message = document.createElement("p");
      this.message.className = "app-map__message";
      this.message.setAttribute("role", "status");
      this.L.DomEvent.disableClickPropagation(this.message);
      this.container.append(this.message);
    }
    this.message.textContent = text;
    this.message.hidden = !text;
  }

  // --- without tiles: the notice and the street names --------------------------------------------

  setUpNotice() {
    this.notice = this.sibling("app-map__notice") || document.createElement("p");
    this.notice.className = "govuk-body-s app-map__notice";
    this.notice.textContent = NO_TILES;
    if (!this.notice.isConnected) this.container.after(this.notice);
  }

  // The notice or toolbar that follows the map: sent with the page, or left by an earlier copy
  // of this markup (a restored snapshot); either way this map makes it its own.
  sibling(className) {
    let next = this.container.nextElementSibling;
    for (let i = 0; next && i < 2; i += 1, next = next.nextElementSibling) {
      if (next.classList.contains(className)) return next;
    }
    return null;
  }

  addStreet(feature) {
    const coordinates = feature.geometry?.coordinates;
    const text = String(feature.properties.label ?? "").trim();
    if (feature.geometry?.type !== "Point" || !Array.isArray(coordinates) || !text) return;
    const [lng, lat] = coordinates.map(Number);
    if (!Number.isFinite(lat) || !Number.isFinite(lng)) return;
    this.streets.push({ latlng: this.L.latLng(lat, lng), text,
                        count: Number(feature.properties.count) || 0 });
  }

  // The street names in view, the most frequent first, each where it overlaps no other.
  placeLabels() {
    if (!this.streets.length || !this.map._loaded) return;
    const L = this.L;
    if (!this.labels) this.labels = L.layerGroup().addTo(this.map);
    this.labels.clearLayers();
    const size = this.map.getSize();
    const view = this.map.getBounds();
    const placed = [];
    for (const street of this.streets) {
      if (placed.length >= MAX_LABELS) break;
      if (!view.contains(street.latlng)) continue;
      const at = this.map.latLngToContainerPoint(street.latlng);
      const width = this.textWidth(street.text) + 8;
      const box = { left: at.x - width / 2, right: at.x + width / 2, top: at.y - 9,
                    bottom: at.y + 9, at, text: street.text };
      if (box.left < 0 || box.top < 0 || box.right > size.x || box.bottom > size.y) continue;
      if (placed.some((other) => overlaps(box, other)
                      || (other.text === box.text && other.at.distanceTo(at) < SAME_NAME_GAP))) {
        continue;
      }
      placed.push(box);
      const label = document.createElement("span");
      label.textContent = street.text;
      L.marker(street.latlng, {
        icon: L.divIcon({ className: "app-map__street", html: label, iconSize: null }),
        interactive: false, keyboard: false,
      }).addTo(this.labels);
    }
  }

  textWidth(text) {
    if (!this.measure) {
      const family = getComputedStyle(this.container).fontFamily || "sans-serif";
      this.measure = document.createElement("canvas").getContext("2d");
      this.measure.font = `${LABEL_FONT} ${family}`;
    }
    return this.measure ? this.measure.measureText(text).width : text.length * 7.5;
  }

  // --- view ------------------------------------------------------------------------------------

  bounds(onlyMain) {
    const L = this.L;
    const bounds = L.latLngBounds([]);
    if (this.drawn) extendBounds(L, bounds, this.drawn);
    if (this.pointArea) extendBounds(L, bounds, this.pointArea);
    this.features?.eachLayer((layer) => {
      if (!onlyMain || FIT_ROLES.has(roleOf(layer.feature))) extendBounds(L, bounds, layer);
    });
    return bounds;
  }

  fit() {
    if (!this.container.clientWidth || !this.container.clientHeight) {
      this.fitPending = true;  // hidden (a closed section, a tab): fit once it has a size
      return;
    }
    this.fitPending = false;
    const main = this.bounds(true);
    const bounds = main.isValid() ? main : this.bounds(false);
    if (bounds.isValid()) {
      this.map.fitBounds(bounds, { maxZoom: FIT_MAX_ZOOM, animate: false, ...FIT_PADDING });
    } else {
      this.map.setView(DEFAULT_VIEW.center, DEFAULT_VIEW.zoom, { animate: false });
    }
  }

  onResize() {
    if (!this.container.clientWidth || !this.container.clientHeight) return;
    this.map.invalidateSize({ pan: false });
    if (this.fitPending) this.fit();
  }

  onClick(event) {
    const latlng = event.latlng.wrap();
    if (this.drawing) {
      this.addVertex(latlng);
    } else if (this.pointInputs) {
      this.placePoint(latlng);
    }
  }

  // --- a point and a radius ---------------------------------------------------------------------

  setUpPoint() {
    const prefix = this.container.dataset.point;
    if (!prefix) return;
    const lat = document.getElementById(`${prefix}-lat`);
    const lng = document.getElementById(`${prefix}-lng`);
    if (!lat || !lng) return;
    const radius = document.getElementById(`${prefix}-radius_m`);
    this.pointInputs = { lat, lng, radius };
    const signal = this.controller.signal;
    for (const input of [lat, lng, radius]) {
      if (!input) continue;
      input.addEventListener("input", () => this.showPoint(false), { signal });
      // A value typed by hand: bring the circle into view once the field is left.
      input.addEventListener("change", (event) => this.showPoint(event.isTrusted), { signal });
    }
    this.showPoint(false);
  }

  readPoint() {
    const { lat, lng, radius } = this.pointInputs;
    const y = Number.parseFloat(lat.value);
    const x = Number.parseFloat(lng.value);
    if (!Number.isFinite(y) || !Number.isFinite(x) || Math.abs(y) > 90 || Math.abs(x) > 180) {
      return null;
    }
    const r = radius ? Number.parseFloat(radius.value) : Number.NaN;
    return { latlng: this.L.latLng(y, x), radius: Number.isFinite(r) && r > 0 ? r : null };
  }

  showPoint(bringIntoView) {
    const L = this.L;
    const point = this.readPoint();
    this.pointArea?.remove();
    this.pointArea = null;
    if (!point) return;
    this.pointArea = point.radius
      ? L.circle(point.latlng, { ...POINT_AREA_STYLE, radius: point.radius })
      : L.circleMarker(point.latlng, { ...POINT_AREA_STYLE, radius: 6 });
    this.pointArea.addTo(this.map);
    if (bringIntoView && this.map._loaded) {
      const bounds = L.latLngBounds([]);
      extendBounds(L, bounds, this.pointArea);
      if (!this.map.getBounds().contains(bounds)) {
        this.map.fitBounds(bounds, { maxZoom: FIT_MAX_ZOOM, ...FIT_PADDING });
      }
    }
  }

  placePoint(latlng) {
    const { lat, lng } = this.pointInputs;
    lat.value = latlng.lat.toFixed(6);
    lng.value = latlng.lng.toFixed(6);
    chooseKind(lat.form || this.container.closest("form"), "point");
    fireInput(lat);
    fireInput(lng);
  }

  // --- drawing a polygon ------------------------------------------------------------------------

  setUpDraw() {
    const id = this.container.dataset.draw;
    if (!id) return;
    const textarea = document.getElementById(id);
    if (!textarea) return;
    this.textarea = textarea;
    this.drawing = false;
    this.vertices = [];
    const signal = this.controller.signal;
    textarea.addEventListener("input", () => this.showDrawn(), { signal });
    textarea.addEventListener("change", () => this.showDrawn(), { signal });
    this.showDrawn();
    this.buildToolbar();
  }

  showDrawn() {
    const geometry = parseGeometry(this.textarea.value);
    this.drawn?.remove();
    this.drawn = null;
    if (!geometry) return;
    try {
      this.drawn = this.L.geoJSON(geometry, { style: () => DRAWN_STYLE, interactive: false })
        .addTo(this.map);
    } catch {
      this.drawn = null;  // coordinates Leaflet cannot read: the server will say what is wrong
    }
  }

  buildToolbar() {
    const bar = this.sibling("app-map-draw") || document.createElement("div");
    bar.replaceChildren();  // rebuilt with its buttons wired, in the same shape
    bar.className = "app-map-draw";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Draw an area on the map");
    const button = (text, action, extra = "") => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `govuk-button govuk-button--secondary app-map-draw__button ${extra}`.trim();
      b.textContent = text;
      b.addEventListener("click", action);
      bar.append(b);
      return b;
    };
    this.buttons = {
      start: button("Draw an area", () => this.startDrawing()),
      centre: button("Add point at centre", () => this.addVertex(this.map.getCenter())),
      undo: button("Undo point", () => this.undoVertex()),
      finish: button("Finish", () => this.finishDrawing(), "app-map-draw__button--finish"),
      cancel: button("Cancel", () => this.stopDrawing("Drawing cancelled.")),
    };
    this.status = document.createElement("p");
    this.status.className = "govuk-body-s app-map-draw__status";
    this.status.setAttribute("aria-live", "polite");
    bar.append(this.status);
    bar.addEventListener("keydown", (event) => this.onKey(event));
    this.container.addEventListener("keydown", (event) => this.onKey(event),
                                    { signal: this.controller.signal });
    if (!bar.isConnected) this.container.after(bar);
    this.toolbar = bar;
    this.sketch = this.L.layerGroup().addTo(this.map);
    this.updateToolbar();
  }

  onKey(event) {
    if (event.key === "Escape" && this.drawing) {
      event.preventDefault();
      this.stopDrawing("Drawing cancelled.");
    }
  }

  updateToolbar() {
    const { start, centre, undo, finish, cancel } = this.buttons;
    start.hidden = this.drawing;
    for (const b of [centre, undo, finish, cancel]) b.hidden = !this.drawing;
    this.setDisabled(undo, this.vertices.length === 0);
    this.setDisabled(finish, this.vertices.length < 3);
    this.container.classList.toggle("app-map--drawing", this.drawing);
  }

  setDisabled(button, disabled) {
    button.disabled = disabled;
    button.setAttribute("aria-disabled", String(disabled));
  }

  say(text) {
    this.status.textContent = text;
  }

  startDrawing() {
    if (!this.map._loaded) this.fit();
    this.drawing = true;
    this.vertices = [];
    this.map.closePopup();
    this.map.doubleClickZoom.disable();
    this.drawSketch();
    this.updateToolbar();
    this.say("Tap the map at each corner of the area, then choose Finish.");
    this.buttons.centre.focus({ preventScroll: true });
  }

  addVertex(latlng) {
    if (!this.drawing) return;
    this.vertices.push(latlng.wrap());
    this.drawSketch();
    this.updateToolbar();
    const n = this.vertices.length;
    this.say(n < 3 ? `${n} ${n === 1 ? "point" : "points"}: add at least ${3 - n} more.`
                   : `${n} points. Add more or choose Finish.`);
  }

  undoVertex() {
    this.vertices.pop();
    this.drawSketch();
    this.updateToolbar();
    const n = this.vertices.length;
    this.say(`${n} ${n === 1 ? "point" : "points"}.`);
    if (!n) this.buttons.centre.focus({ preventScroll: true });
  }

  drawSketch() {
    const L = this.L;
    this.sketch.clearLayers();
    if (this.vertices.length > 1) L.polygon(this.vertices, SKETCH_STYLE).addTo(this.sketch);
    for (const v of this.vertices) L.circleMarker(v, VERTEX_STYLE).addTo(this.sketch);
  }

  stopDrawing(message) {
    this.drawing = false;
    this.vertices = [];
    this.sketch.clearLayers();
    this.map.doubleClickZoom.enable();
    this.updateToolbar();
    this.say(message);
    this.buttons.start.focus({ preventScroll: true });
  }

  finishDrawing() {
    if (this.vertices.length < 3) return;
    const ring = this.vertices.map((v) => [round6(v.lng), round6(v.lat)]);
    // RFC 7946: the outer ring runs anticlockwise. Keep the first corner first.
    let twiceArea = 0;
    for (let i = 0; i < ring.length; i += 1) {
      const [x1, y1] = ring[i];
      const [x2, y2] = ring[(i + 1) % ring.length];
      twiceArea += x1 * y2 - x2 * y1;
    }
    if (twiceArea < 0) ring.splice(1, ring.length - 1, ...ring.slice(1).reverse());
    ring.push([...ring[0]]);
    const geometry = { type: "Polygon", coordinates: [ring] };
    const corners = this.vertices.length;
    this.textarea.value = JSON.stringify(geometry);
    chooseKind(this.textarea.form || this.container.closest("form"), "polygon");
    fireInput(this.textarea);
    this.stopDrawing(`Area drawn with ${corners} corners.`);
  }
}
