"""The Content-Security-Policy in the browser: the listener that fails every browser test on a
violation really sees one; the htmx swaps of a case page (saving CHEERS, starting and ending a
patrol, recording outputs) stay within the policy even when something else in the browser (a
password manager, a grammar checker, Playwright hiding the caret) has styled the form controls;
the pages each kind of user reaches, and every form a case page swaps in, hold to it; and the
API docs (Swagger UI) work under the same policy as every other page.

htmx "settles" a swap by copying the class and style attributes of each old element onto its
new twin of the same id; a style attribute set from script is an inline style, which the policy
refuses. popcase turns settling off (``defaultSettleDelay: 0`` in base.html's htmx-config).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from app.demo import DEMO_PASSWORD
from tests.browser.a11y import settle
from tests.browser.conftest import LiveServer, PageProblems, assert_fits_phone
from tests.browser.test_case_flow import CHEERS, fill_cheers, marker_survived, set_marker
from tests.browser.test_journeys import live_db, response_case, unique
from tests.browser.test_patrol_on_a_phone import as_if_started_minutes_ago

pytestmark = pytest.mark.browser

# What an extension's content script does to the page's form controls, here from the page's
# own world: a style set through the CSSOM, which the policy allows, now and on every control
# a swap brings in.
STYLE_EVERY_CONTROL = """() => {
  const paint = (root) => {
    for (const el of root.querySelectorAll("input, textarea, select, button")) {
      el.style.backgroundImage = "none";
    }
  };
  paint(document);
  new MutationObserver(() => paint(document)).observe(document.body,
                                                      { childList: true, subtree: true });
}"""


def violate(page: Page, script: str, *, console: bool = True) -> None:
    """Run ``script`` in the page and wait for the listener (and the console) to see the
    violation it makes."""
    before = page.evaluate("() => window.__cspViolations.length")
    if console:
        with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
            page.evaluate(script)
    else:
        page.evaluate(script)
    page.wait_for_function("(n) => window.__cspViolations.length > n", arg=before)


def test_the_listener_sees_every_kind_of_violation(page: Page,
                                                   page_problems: PageProblems) -> None:
    page.goto("/sign-in")
    assert page_problems.csp_violations() == []
    violate(page, "() => document.body.setAttribute('style', 'color: red')")
    violate(page, "() => document.head.append(Object.assign(document.createElement('style'),"
                  " {textContent: 'body { color: red }'}))")
    violate(page, "() => document.body.append(Object.assign(document.createElement('script'),"
                  " {textContent: 'window.ran = true'}))")
    # Later, outside the evaluation: DevTools lets its own evaluations use eval.
    # (Caught, a refused eval is an exception in the page, not a console message.)
    violate(page, "() => { setTimeout(() => { try { window.eval('1') } catch (e) {} }) }",
            console=False)
    # So does one in a page it opened.
    with page.expect_popup() as opened:
        page.evaluate("() => { window.open('/sign-in') }")
    popup = opened.value
    popup.wait_for_load_state()
    violate(popup, "() => document.body.setAttribute('style', 'color: blue')")
    popup.close()
    # A violation on a page the test has left still counts.
    page.goto("/health")
    found = page_problems.csp_violations()
    for directive in ("style-src-attr", "style-src-elem", "script-src-elem"):
        assert any(f"CSP violation: {directive} refused" in v for v in found), (directive, found)
    assert any("script-src refused eval" in v for v in found), found
    assert sum("style-src-attr refused" in v for v in found) == 2, found
    assert sum("Content Security Policy" in v for v in found) == 4, found
    with pytest.raises(AssertionError, match="Content-Security-Policy violated on the test"):
        page_problems.assert_no_csp_violations("the test")
    # No allowance excuses one: the test would fail at its end.
    page_problems.allow(".*")
    assert len(page_problems.unexpected()) == 9
    # Done with them: this test itself passes.
    page_problems.clear()
    assert page_problems.unexpected() == []


def test_case_page_swaps_keep_the_policy_with_styled_controls(
        page: Page, sign_in: Callable[[str], None], live_server: LiveServer,
        page_problems: PageProblems) -> None:
    title = unique("Cycle thefts by the canal footbridge")
    with live_db(live_server) as db:
        ref = response_case(db, title)  # the patrol panel's stage
    sign_in("pc.shah")
    page.goto(f"/cases/{ref}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.evaluate(STYLE_EVERY_CONTROL)
    set_marker(page)  # every step below swaps part of the page: no full page load

    # Saving CHEERS, in the Scanning stage opened in place.
    page.locator("#stage-scanning .app-stage-group__open").click()
    page.evaluate(STYLE_EVERY_CONTROL)
    cheers = page.locator("#section-cheers")
    cheers.get_by_role("link", name="Change").click()
    fill_cheers(cheers, "seen at the racks")
    cheers.get_by_role("button", name="Save CHEERS").click()
    expect(cheers.locator(".govuk-tag--green")).to_have_count(len(CHEERS))
    page_problems.assert_no_csp_violations("saving CHEERS")

    # Starting and ending a patrol.
    panel = page.locator("#patrol-panel")
    panel.get_by_role("button", name="Start patrol").click()
    expect(panel).to_contain_text("Patrol started.")
    page_problems.assert_no_csp_violations("starting a patrol")
    as_if_started_minutes_ago(live_server, 11)
    panel.get_by_role("button", name="End patrol").click()
    expect(panel).to_contain_text("Patrol ended.")
    page_problems.assert_no_csp_violations("ending a patrol")

    # Recording outputs, once refused (a bad count) and once accepted.
    page_problems.allow("status of 422")
    panel.locator("summary", has_text="Record outputs").click()
    panel.get_by_label("Arrests").fill("two")
    panel.get_by_role("button", name="Record outputs").click()
    expect(panel.locator(".govuk-error-message").first).to_be_visible()
    page_problems.assert_no_csp_violations("refusing outputs")
    panel.get_by_label("Arrests").fill("2")
    panel.get_by_label("Stop and searches").fill("1")
    panel.get_by_role("button", name="Record outputs").click()
    expect(panel).to_contain_text("Recorded 2 arrests and 1 stop and search.")
    page_problems.assert_no_csp_violations("recording outputs")
    assert marker_survived(page)
    assert_fits_phone(page)



OPENING_AN_OPERATION_MS = 40_000


def test_the_api_docs_keep_the_same_policy(page: Page, sign_in: Callable[[str], None]) -> None:
    """Swagger UI styles its elements through the CSSOM: /docs needs no 'unsafe-inline'."""
    sign_in("sgt.okafor")
    with page.expect_response(lambda r: r.url.endswith("/docs")) as docs:
        page.goto("/docs")
    assert "'unsafe-inline'" not in docs.value.headers["content-security-policy"]
    expect(page.get_by_role("link", name="Back to popcase")).to_be_visible()
    # An operation opened, tried out, and its response's schema shown: all of it within the
    # policy (the fixture fails the test on any violation).
    operation = page.locator(".opblock", has_text="/api/v1/cases").first
    # Swagger UI 5 reads an OpenAPI 3.1 document through ApiDOM each time an operation opens:
    # 3.5 s of the page's one thread here when idle, 5 s beside three busy cores, more in a
    # loaded CI run (swagger-api/swagger-ui#10748, open upstream). The click, and the button
    # that appears after it, wait for that thread, so they get a budget that covers it.
    operation.locator(".opblock-summary").click(timeout=OPENING_AN_OPERATION_MS)
    operation.get_by_role("button", name="Try it out").click(timeout=OPENING_AN_OPERATION_MS)
    expect(operation.get_by_role("button", name="Execute")).to_be_visible()
    operation.get_by_role("tab", name="Schema").first.click()
    expect(operation.locator(".model-box").first).to_be_visible()



# Links a crawl must not follow: files to download, signing out, /docs (tested above).
NOT_PAGES = re.compile(r"^/(static/|docs|sign-out|api/)|\.(csv|zip|json|geojson|html)(\?|$)"
                       r"|[?&]format=|/export|/download|/attachments/\d+/")  # files
LINKS = """() => [...document.querySelectorAll("a[href^='/']")]
  .map((a) => a.getAttribute("href"))"""


def kind(path: str, seen: list[str]) -> str:
    """Pages of one kind (every case, user, force or import batch) look alike: a crawl opens
    two. A part with a digit names one item, and so does the last part below a listing."""
    parts = path.split("?")[0].strip("/").split("/")
    return "/".join(
        "N" if re.search(r"\d", part) or (
            i == len(parts) - 1 and i > 0 and part not in ("new", "edit")
            and "/" + "/".join(parts[:i]) in seen) else part
        for i, part in enumerate(parts))


def crawl(page: Page, problems: PageProblems, start: str, limit: int) -> list[str]:
    """Open ``start`` and the pages its links lead to, breadth first (two of each kind), each
    with its lazy fragments loaded (htmx swaps), and check the policy on each."""
    seen: list[str] = []
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0).split("#")[0]
        if (path in seen or NOT_PAGES.search(path)
                or sum(kind(p, seen) == kind(path, seen) for p in seen) >= 2):
            continue
        seen.append(path)
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        settle(page)
        problems.assert_no_csp_violations(path)
        queue += page.evaluate(LINKS)
    return seen


@pytest.mark.parametrize("username", ["pc.shah", "sgt.byrne", "analyst.lee", "admin"])
def test_the_pages_a_user_reaches_keep_the_policy(
        page: Page, page_problems: PageProblems, username: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    seen = crawl(page, page_problems, "/", limit=40)
    assert len(seen) >= 8, seen


# The next form to open: two of each section (its own form, or its items': patrols, actions...).
NEXT_EDIT = """(done) => {
  const section = (url) => new URL(url, location.href).searchParams.get("section");
  return [...document.querySelectorAll("main a[hx-get*='edit=']")]
    .map((a) => a.getAttribute("hx-get"))
    .find((url) => !done.includes(url)
          && done.filter((d) => section(d) === section(url)).length < 2) || null;
}"""


def open_every_part(page: Page) -> None:
    """Open every folded stage (each a swap of its own) and every closed <details>."""
    folded = page.locator("main .app-stage-group__open")
    while folded.count():
        opener = folded.first.element_handle()
        opener.click()
        # The swap replaces the opener. Wait for that, not only for no request in flight: htmx
        # starts the request a moment after the click, so under load settle() could return
        # first and the swap land during the next click, whose link it then replaces.
        page.wait_for_function("(el) => !el.isConnected", arg=opener, timeout=20_000)
        settle(page)
    page.evaluate("""() => { for (const d of document.querySelectorAll("main details"))
                               d.open = true; }""")
    settle(page)


def test_every_form_a_case_page_swaps_in_keeps_the_policy(
        page: Page, sign_in: Callable[[str], None], page_problems: PageProblems) -> None:
    """Every stage opened, then each section's and each item's form swapped in and out."""
    sign_in("sgt.okafor")
    page.get_by_label("Search").fill("Church Street market")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name="Street violence around Church Street market").click()
    open_every_part(page)
    page_problems.assert_no_csp_violations("the case page, every part open")
    done: list[str] = []
    while (url := page.evaluate(NEXT_EDIT, done)) is not None:
        done.append(url)
        open_every_part(page)  # a swap may have brought a part back closed
        link = page.locator(f"main a[hx-get='{url}']").first
        target = link.get_attribute("hx-target")
        with page.expect_response(lambda r, url=url: r.url.endswith(url)):
            link.click()
        settle(page)
        page_problems.assert_no_csp_violations(f"the form of {url}")
        cancel = page.locator(f"{target} a[hx-get]", has_text="Cancel")
        if cancel.count():
            with page.expect_response(lambda r: "edit=" not in r.url):
                cancel.first.click()
            settle(page)
            page_problems.assert_no_csp_violations(f"cancelling {url}")
    assert len({url.split("&")[0] for url in done}) >= 10, done  # sections
