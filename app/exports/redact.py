"""Redaction of a case file for sharing outside the force.

Officers (every user named in the file) become "Officer 1", "Officer 2", ...; the members of
the public who raised concerns become "Member of the public 1", ...; action owners become
"Action owner 1", ...; their contact details are removed. The placeholders are stable within
a file: the same person is the same placeholder everywhere. Their names (whole, and each
given name or surname) are then replaced wherever free text mentions them, and so are e-mail
addresses and telephone numbers. Places, dates, counts and codes are kept: they are the
evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.exports.schemas import CaseFile

TITLES = {"pc", "psc", "dc", "ds", "sgt", "insp", "ci", "supt", "dr", "mr", "mrs", "ms",
          "miss", "cllr", "prof", "pcso", "di", "dci"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<!\w)(?:\+44\s?|0)(?:\d[\s-]?){9,10}(?!\w)")
# Keys whose values are never personal: codes, enums, shapes, figures.
KEPT = {"geometry", "code", "category", "kind", "status", "partner", "tactic", "stage",
        "from_stage", "to_stage", "priority", "source", "channel", "raised_by_kind",
        "triage_outcome", "outcome", "sha256", "format", "categories", "crime_types"}


@dataclass
class Placeholders:
    officers: dict[str, str] = field(default_factory=dict)  # username -> placeholder
    names: dict[str, str] = field(default_factory=dict)  # a person's name -> placeholder
    public: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def officer(self, username: str, name: str) -> str:
        if username not in self.officers:
            self.officers[username] = f"Officer {len(self.officers) + 1}"
        self.names.setdefault(name, self.officers[username])
        return self.officers[username]

    def member_of_public(self, name: str) -> str:
        return self.public.setdefault(name, f"Member of the public {len(self.public) + 1}")

    def owner(self, name: str) -> str:
        return self.owners.setdefault(name, f"Action owner {len(self.owners) + 1}")


def redact(file: CaseFile) -> tuple[CaseFile, dict[str, Any]]:
    """The redacted file, and what the manifest says of the redaction."""
    data = file.model_dump(mode="json")
    found = Placeholders()
    _people(data, found)
    case = data["case"]
    for concern in case["concerns"]:
        if concern["raised_by"]:
            concern["raised_by"] = found.member_of_public(concern["raised_by"])
        concern["contact"] = "[removed]" if concern["contact"] else ""
    for action in case["actions"]:
        if action["owner"]:
            action["owner"] = found.owner(action["owner"])
    for patrol in case["patrols"]:
        officers = [p.strip() for p in patrol["officers"].split(",") if p.strip()]
        patrol["officers"] = ", ".join(_known(found, name) for name in officers)
    replace = _replacer(found)
    redacted = CaseFile.model_validate(_strings(data, replace))
    return redacted, {
        "applied": True,
        "officers": len(found.officers), "members_of_the_public": len(found.public),
        "action_owners": len(found.owners),
        "method": "Officers, members of the public and action owners replaced by stable "
                  "placeholders, and their names (and the action owners named with a title, "
                  "such as Mr or PC) replaced in free text; contact details, e-mail "
                  "addresses and telephone numbers removed.",
    }


def _people(value: Any, found: Placeholders) -> None:
    """Every Person object ({"username", "name"}) in place, in document order."""
    if isinstance(value, dict):
        if set(value) == {"username", "name"}:
            placeholder = found.officer(value["username"], value["name"])
            value["username"] = placeholder.lower().replace(" ", "-")
            value["name"] = placeholder
            return
        for item in value.values():
            _people(item, found)
    elif isinstance(value, list):
        for item in value:
            _people(item, found)


def _known(found: Placeholders, name: str) -> str:
    """A name typed into a patrol's officers: the placeholder of the person it names, or a
    placeholder of its own."""
    words = _words(name)
    for known, placeholder in found.names.items():
        if words & _words(known):
            return placeholder
    return found.officer(f"typed:{name.lower()}", name)


def _personal(owner: str) -> bool:
    """An action owner that names a person ("Mr Tariq Osei", "PC Jones"), not a team: its
    words are then redacted wherever they stand."""
    first = owner.strip().split(" ", 1)[0].lower().rstrip(".")
    return first in TITLES


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text)
            if len(w) >= 3 and w.lower() not in TITLES}


def _replacer(found: Placeholders) -> Callable[[str], str]:
    """Replace each known name (whole, then each name word) by its placeholder."""
    phrases: dict[str, str] = {}
    for username, placeholder in found.officers.items():
        if not username.startswith("typed:"):  # typed names are in ``names``
            phrases[username] = placeholder
    for table in (found.names, found.public, found.owners):
        for name, placeholder in table.items():
            phrases[name] = placeholder
    for name, placeholder in [*found.names.items(), *found.public.items(),
                              *((o, p) for o, p in found.owners.items() if _personal(o))]:
        for word in _words(name):
            phrases.setdefault(word, placeholder)
    ordered = sorted((p for p in phrases if p.strip()), key=len, reverse=True)
    if not ordered:
        pattern = None
    else:
        pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(p) for p in ordered)
                             + r")(?![\w])", re.IGNORECASE)
    lookup = {p.lower(): v for p, v in phrases.items()}

    def replace(text: str) -> str:
        text = EMAIL.sub("[e-mail removed]", text)
        text = PHONE.sub("[telephone removed]", text)
        if pattern is None:
            return text
        return pattern.sub(lambda m: lookup[m.group(0).lower()], text)

    return replace


def _strings(value: Any, replace: Callable[[str], str], key: str = "") -> Any:
    if key in KEPT:
        return value
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, dict):
        return {k: _strings(v, replace, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, replace, key) for v in value]
    return value
