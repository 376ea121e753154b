// popcase: progressive enhancement only. Every page works without this file.
import { initAll } from "/static/vendor/govuk-frontend/govuk-frontend.min.js";
import { initMaps } from "/static/js/map.js";
import { initCharts } from "/static/js/chart.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Content that htmx swaps in gets the same GOV.UK component behaviour and our own.
document.addEventListener("htmx:after:process", (event) => {
  const root = event.target;
  if (root instanceof Element && root !== document.body) {
    initAll({ scope: root });
    enhance(root);
    initMaps(root);
    initCharts(root);
  }
});

// A page restored from the back/forward cache after signing out must not show case data.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

function showError(message) {
  const box = document.getElementById("app-error");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// The server names the problem (HX-Trigger) when it refuses to swap an error into the page.
document.addEventListener("popcase:error", (event) => {
  showError(event.detail?.message || "Something went wrong.");
});
document.addEventListener("htmx:error", (event) => {
  if (!event.detail?.ctx?.response) {
    showError("popcase could not be reached. Check the connection and try again.");
  }
});

// "Use my current location" fills the latitude and longitude of a point-and-radius area.
function enhance(root) {
  for (const button of root.querySelectorAll("[data-locate]")) {
    if (!("geolocation" in navigator)) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      const prefix = button.dataset.locate;
      button.disabled = true;
      button.textContent = "Finding you…";
      navigator.geolocation.getCurrentPosition(
        (position) => {
          for (const [part, value] of [["lat", position.coords.latitude],
                                       ["lng", position.coords.longitude]]) {
            const input = document.getElementById(`${prefix}-${part}`);
            input.value = value.toFixed(6);
            input.dispatchEvent(new Event("input", { bubbles: true }));  // the map follows
          }
          button.disabled = false;
          button.textContent = "Use my current location";
        },
        () => {
          button.disabled = false;
          button.textContent = "Use my current location";
          showError("Your location is not available: type the coordinates instead.");
        },
        { enableHighAccuracy: true, timeout: 15000 },
      );
    });
  }
}
enhance(document);
initMaps(document);
initCharts(document);
