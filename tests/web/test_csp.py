"""The Content-Security-Policy as the server sends it, and the markup it must hold: no page
template carries an inline style, an inline script or an event handler attribute, so the strict
policy (no 'unsafe-inline', no 'unsafe-eval', no hashes) never has anything to refuse. The
browser tests check the same in Chromium, after every swap they make."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import DOCS_PAGE
from tests.conftest import Cast, Person

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"

# What a strict policy refuses in markup: style attributes and elements, scripts written inline
# (a <script> without src), event handler attributes and javascript: URLs.
INLINE = [
    ("a style attribute", re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)),
    ("a <style> element", re.compile(r"<style[\s>]", re.IGNORECASE)),
    ("an inline <script>", re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)),
    ("an event handler attribute", re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)),
    ("a javascript: URL", re.compile(r"javascript:", re.IGNORECASE)),
    # htmx runs these through Function(), which needs 'unsafe-eval'.
    ("htmx script (hx-on, js: values, a trigger filter)",
     re.compile(r"hx-on[:-]|hx-(vals|headers)[^=]*=\s*['\"]\s*js:|hx-trigger=\"[^\"]*\[")),
]
# What the app's own scripts must not do: inline styles through markup or setAttribute, eval.
INLINE_FROM_SCRIPT = [
    ("setAttribute('style')", re.compile(r"setAttribute\(\s*[\"']style[\"']")),
    ("a style attribute in markup", re.compile(r"style\s*=\s*\\?[\"']")),
    ("cssText", re.compile(r"\.cssText\b")),
    ("eval", re.compile(r"\beval\(|new Function\(")),
]


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def inline_parts(text: str, patterns: list[tuple[str, re.Pattern[str]]]) -> list[str]:
    text = JINJA_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)  # never rendered
    return [f"{name} at line {text.count(chr(10), 0, m.start()) + 1}"
            for name, pattern in patterns for m in pattern.finditer(text)]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")),
                         ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_hold_nothing_the_policy_refuses(template: Path) -> None:
    assert inline_parts(template.read_text(encoding="utf-8"), INLINE) == []


def test_the_docs_page_holds_nothing_the_policy_refuses() -> None:
    assert inline_parts(DOCS_PAGE, INLINE) == []


@pytest.mark.parametrize("script", sorted(STATIC_JS.glob("*.js")), ids=lambda p: p.name)
def test_our_scripts_set_no_inline_style_and_evaluate_no_strings(script: Path) -> None:
    assert inline_parts(script.read_text(encoding="utf-8"), INLINE_FROM_SCRIPT) == []


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = ('<p style="color: red">x</p><style>p {}</style><script>alert(1)</script>'
           '<a href="javascript:void(0)" onclick="go()">y</a><script src="/ok.js"></script>'
           '<button hx-on:click="go()" hx-trigger="click[ctrlKey]">z</button>')
    found = inline_parts(bad, INLINE)
    assert [part.split(" at ")[0] for part in found] == [
        "a style attribute", "a <style> element", "an inline <script>",
        "an event handler attribute", "a javascript: URL",
        "htmx script (hx-on, js: values, a trigger filter)",
        "htmx script (hx-on, js: values, a trigger filter)"]
    assert len(inline_parts("el.setAttribute('style', s); x.style.cssText = s; eval(t)",
                            INLINE_FROM_SCRIPT)) == 3


def test_every_page_gets_the_same_strict_policy(pages: Callable[[Person], TestClient],
                                                 cast: Cast) -> None:
    client = pages(cast.officer)
    policies = {path: client.get(path).headers["Content-Security-Policy"]
                for path in ("/cases", "/docs", "/sign-in", "/health")}
    assert len(set(policies.values())) == 1, policies
    policy = policies["/cases"]
    assert "style-src 'self';" in policy and "script-src 'self';" in policy
    for loosening in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "sha256-", "nonce-"):
        assert loosening not in policy
