"""A snippet's matches made visible without trusting the case text: the database marks each
match with two private-use characters; the text between them is escaped, then wrapped."""

from __future__ import annotations

from markupsafe import Markup, escape

from app.search.index import ANGLES, MARK_END, MARK_START

# What the index stored for angle brackets, turned back before escaping.
_RESTORE = {ord(stored): chr(char) for char, stored in ANGLES.items()}


def highlighted(snippet: str) -> Markup:
    """Safe HTML: the snippet's text escaped, its matches in ``<mark>``."""
    out: list[str] = []
    for i, piece in enumerate(snippet.translate(_RESTORE).split(MARK_START)):
        if i == 0:
            out.append(str(escape(piece.replace(MARK_END, ""))))
            continue
        match, _, rest = piece.partition(MARK_END)
        out.append(f"<mark>{escape(match)}</mark>{escape(rest.replace(MARK_END, ''))}")
    return Markup("".join(out))
