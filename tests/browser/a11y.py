"""Accessibility checks run on the pages of the browser journeys.

* ``assert_accessible``: axe-core (vendored in tests/vendor/axe-core, see its README) finds no
  serious or critical violation of WCAG 2.2 A/AA or best practice. axe is evaluated through the
  DevTools protocol, which the page's Content-Security-Policy does not apply to, so the policy
  stays exactly as users get it.
* ``assert_keyboard_reachable``: pressing Tab from the top of the page reaches every control
  a pointer can use, in a single pass, and each one visibly changes when it has focus.
* ``tab_to``: moves focus with Tab alone, so a journey can operate a control by keyboard.
* ``settle``: loads the page's lazy fragments (those htmx fetches on load or when scrolled into
  view) and waits until they are in, so the checks see the page its user sees once it has
  loaded, not placeholders about to be swapped out from under them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

AXE_SOURCE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
              ).read_text(encoding="utf-8")
BLOCKING_IMPACTS = ("serious", "critical")

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE + "\n;true")
    return page.evaluate(_RUN_AXE)


def assert_accessible(page: Page, where: str) -> None:
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"axe-core on {where} ({page.url}):\n" + "\n".join(
        f"  {v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in blocking)


# Every control a pointer can use, in document order. Radios count once per group (Tab stops
# on one radio; the arrow keys move within the group). Controls hidden, or inside a closed
# <details> (Chromium keeps their boxes, under content-visibility), are not counted.
_MARK_TABBABLES = """() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[tabindex], [contenteditable=true]";
  const seenRadioGroups = new Set();
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.tabIndex < 0 || el.closest("[inert]")) continue;
    if (!el.checkVisibility({checkVisibilityCSS: true, contentVisibilityAuto: true})) continue;
    const closed = el.closest("details:not([open])");
    if (closed && !(el.matches("summary") && el.parentElement === closed)) continue;
    if (el.type === "radio") {
      const group = el.form ? el.form.id + "/" + el.name : el.name;
      if (seenRadioGroups.has(group)) continue;
      seenRadioGroups.add(group);
      el.dataset.kbGroup = group;
    }
    el.dataset.kb = String(found.length);
    found.push(el);
  }
  window.__kbBaseline = found.map((el) => window.__kbLook(el));
  return found.map((el) => window.__kbName(el));
}"""

# How an element looks: its own box and, for GOV.UK's visually hidden radio and checkbox
# inputs, the box their label draws.
_HELPERS = """() => {
  // Outline and border colours follow the text colour when unset, so they count only when
  // drawn; a change of text colour or underline alone is too faint to count as visible focus.
  const box = (s) => [
    s.outlineStyle === "none" ? "no outline"
      : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
    s.boxShadow, s.backgroundColor,
    s.borderStyle === "none" || s.borderWidth === "0px" ? "no border"
      : `${s.borderStyle} ${s.borderWidth} ${s.borderColor}`,
  ].join("|");
  window.__kbLook = (el) => {
    const parts = [box(getComputedStyle(el))];
    if (el.type === "radio" || el.type === "checkbox") {
      const label = el.labels && el.labels[0];
      if (label) {
        parts.push(box(getComputedStyle(label, "::before")),
                   box(getComputedStyle(label, "::after")));
      }
    }
    return parts.join("||");
  };
  window.__kbName = (el) => {
    const text = (el.getAttribute("aria-label") || el.innerText || el.value || el.name
                  || el.id || "").trim().replace(/\\s+/g, " ").slice(0, 60);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${text}"`;
  };
}"""

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const index = el.dataset.kb !== undefined ? Number(el.dataset.kb)
    : (el.type === "radio" ? Number((document.querySelector(
        `[data-kb-group="${CSS.escape(el.form ? el.form.id + "/" + el.name : el.name)}"]`)
        || {dataset: {kb: -1}}).dataset.kb) : -1);
  const visible = index >= 0 && window.__kbLook(el) !== window.__kbBaseline[index];
  return {index, visible, name: window.__kbName(el)};
}"""


# A placeholder htmx replaces on load or once it is scrolled into view; those inside a closed
# part of the page (another stage's sections) load only when it is opened.
_NEXT_PLACEHOLDER = """() => [...document.querySelectorAll(
    '[hx-trigger="load"], [hx-trigger^="intersect"]')].find((el) => el.checkVisibility())
    || null"""


def settle(page: Page, timeout_ms: float = 20_000) -> None:
    """Every lazy fragment in view loaded and swapped in, then back to the top."""
    while (placeholder := page.evaluate_handle(_NEXT_PLACEHOLDER).as_element()) is not None:
        # "intersect" fires once it is in view; one loading already may be gone by now.
        placeholder.evaluate("(el) => el.isConnected && el.scrollIntoView({block: 'center'})")
        page.wait_for_function("(el) => !el.isConnected", arg=placeholder, timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=timeout_ms)
    page.evaluate("() => window.scrollTo(0, 0)")


def assert_keyboard_reachable(page: Page, where: str) -> None:
    """Tab through the whole page once: every control is reached, and shows its focus."""
    settle(page)
    page.evaluate(_HELPERS)
    # Nothing focused while the unfocused looks are taken, and Tab starts from the top of the
    # document: focus the body itself (focusable for a moment).
    page.evaluate("() => { const b = document.body; b.tabIndex = -1; b.focus(); "
                  "b.removeAttribute('tabindex'); }")
    tabbables: list[str] = page.evaluate(_MARK_TABBABLES)
    reached: set[int] = set()
    invisible: list[str] = []
    previous = -1
    # Date and time inputs take a Tab per part (day, month, year), hence the allowance.
    for _ in range(3 * len(tabbables) + 10):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            break  # out of the page, to the browser's own controls
        index = focused["index"]
        if index == previous or index < 0:
            continue  # the next part of the same input; or an element the page added
        if index in reached:
            break  # round again
        reached.add(index)
        previous = index
        if not focused["visible"]:
            invisible.append(focused["name"])
    missed = [name for i, name in enumerate(tabbables) if i not in reached]
    assert not missed, f"Tab never reaches on {where}: " + ", ".join(missed[:10])
    assert not invisible, f"no visible focus on {where}: " + ", ".join(invisible[:10])


def tab_to(page: Page, target: Locator, limit: int = 400) -> None:
    """Press Tab until ``target`` has focus (and fail if it never does)."""
    handle = target.element_handle()
    assert handle is not None
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
    raise AssertionError(f"Tab never reached {target}")
