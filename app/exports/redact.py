"""Redaction of a case file for sharing outside the force.

Officers (every user named in the file) become "Officer 1", "Officer 2", ...; the members of
the public who raised concerns become "Member of the public 1", ...; action owners become
"Action owner 1", ...; partner agencies' contacts become "Partner contact 1", ... (their job
title kept); their contact details are removed. The placeholders are stable within
a file: the same person is the same placeholder everywhere. Their names (whole, and each
given name or surname) are then replaced wherever free text mentions them, and so are e-mail
addresses and telephone numbers. Places, dates, counts and codes are kept: they are the
evaluation. A partner contact's single name words are not replaced where they are also words
of a place or agency named in the file: "Sam London" must not turn "City of London Police"
into "City of Partner contact 1 Police" (issue 18's garbling).

Names are matched whole only: at word boundaries, and never inside a longer name the file
knows (a unit, team, place or agency). An action owner "Cycle team" is replaced where "Cycle
team" stands alone, but "City of London Police cycle team", the case's team, stays whole
(issue 18, finding 9); inside such a name only a person's whole name is still replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
        "triage_outcome", "outcome", "sha256", "format", "categories", "crime_types",
        "phase", "original_type", "original_sha256", "file", "file_sha256", "file_type"}


@dataclass
class Placeholders:
    officers: dict[str, str] = field(default_factory=dict)  # username -> placeholder
    names: dict[str, str] = field(default_factory=dict)  # a person's name -> placeholder
    public: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)
    # Words of the places and agencies the file names: never replaced one by one.
    protected: set[str] = field(default_factory=set)
    # Whole names of the units, teams, places and agencies the file names: a shorter name
    # inside one of them is part of it, not a mention of its own.
    units: set[str] = field(default_factory=set)

    def unit(self, name: str | None) -> None:
        if name and name.strip():
            self.units.add(name.strip())
            self.protected |= _words(name)

    def officer(self, username: str, name: str) -> str:
        if username not in self.officers:
            self.officers[username] = f"Officer {len(self.officers) + 1}"
        self.names.setdefault(name, self.officers[username])
        return self.officers[username]

    def member_of_public(self, name: str) -> str:
        return self.public.setdefault(name, f"Member of the public {len(self.public) + 1}")

    def owner(self, name: str) -> str:
        return self.owners.setdefault(name, f"Action owner {len(self.owners) + 1}")

    def contact(self, name: str) -> str:
        return self.contacts.setdefault(name, f"Partner contact {len(self.contacts) + 1}")


def redact(file: CaseFile, places: Iterable[str] = ()) -> tuple[CaseFile, dict[str, Any]]:
    """The redacted file, and what the manifest says of the redaction. ``places``: names of
    places and bodies known beyond the file (forces, local authorities), whose words a
    partner contact's name never takes away one by one."""
    data = file.model_dump(mode="json")
    found = _placeholders(data, places)
    replace = _replacer(found)
    redacted = CaseFile.model_validate(_strings(data, replace))
    return redacted, {
        "applied": True,
        "officers": len(found.officers), "members_of_the_public": len(found.public),
        "action_owners": len(found.owners), "partner_contacts": len(found.contacts),
        "method": "Officers, members of the public, action owners and partner agencies' "
                  "contacts replaced by stable placeholders, and their names (and the action "
                  "owners named with a title, such as Mr or PC) replaced in free text; "
                  "contact details, e-mail addresses and telephone numbers removed.",
    }


def name_scrubber(file: CaseFile, places: Iterable[str] = ()) -> Callable[[str], str]:
    """The redaction's replacement of the file's people in free text (names, e-mail
    addresses, telephone numbers), for text outside the file: a disposal applies it to every
    text the case keeps in the database."""
    return _replacer(_placeholders(file.model_dump(mode="json"), places))


def _placeholders(data: dict[str, Any], places: Iterable[str]) -> Placeholders:
    """Everyone the file names, each given a placeholder (``data`` is changed in place: the
    people's fields take their placeholders)."""
    found = Placeholders()
    for place in places:
        found.unit(place)
    _people(data, found)
    case = data["case"]
    found.unit(case.get("team"))
    if case.get("operation"):
        found.unit(case["operation"]["unit"])
    for concern in case["concerns"]:
        if concern["raised_by"]:
            concern["raised_by"] = found.member_of_public(concern["raised_by"])
        concern["contact"] = "[removed]" if concern["contact"] else ""
    for action in case["actions"]:
        if action["owner"]:
            action["owner"] = found.owner(action["owner"])
    _partner_contacts(case, found)
    for patrol in case["patrols"]:
        officers = [p.strip() for p in patrol["officers"].split(",") if p.strip()]
        patrol["officers"] = ", ".join(_known(found, name) for name in officers)
    return found


def _partner_contacts(case: dict[str, Any], found: Placeholders) -> None:
    """Each contact becomes a placeholder with their job title only (the role is the
    evaluation's business, the person is not)."""
    places = [case["borough"], case.get("force"), case.get("ward"), case.get("target_area"),
              case.get("control_area"), *(p["agency"] for p in case.get("partners", [])),
              *(p["agency"]["borough"] for p in case.get("partners", []))]
    for place in places:
        if place:
            found.unit(place["name"])
    for partner in case.get("partners", []):
        contact = partner["contact"]
        if contact:
            contact.update(name=found.contact(contact["name"]), phone="", email="")


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
    """Replace each known name (whole, then each name word) by its placeholder, at word
    boundaries and outside the longer names the file knows."""
    people: dict[str, str] = {}  # whole names of people: replaced even inside a unit's name
    for username, placeholder in found.officers.items():
        if not username.startswith("typed:"):  # typed names are in ``names``
            people[username] = placeholder
    for table in (found.names, found.public, found.contacts):
        people.update(table)
    people.update((o, p) for o, p in found.owners.items() if _personal(o))
    phrases = dict(people)
    phrases.update((o, p) for o, p in found.owners.items() if not _personal(o))  # teams
    for name, placeholder in [*found.names.items(), *found.public.items(),
                              *((o, p) for o, p in found.owners.items() if _personal(o))]:
        for word in _words(name):
            phrases.setdefault(word, placeholder)
    for name, placeholder in found.contacts.items():
        for word in _words(name) - found.protected:
            phrases.setdefault(word, placeholder)
    lookup = {p.lower(): v for p, v in phrases.items() if p.strip()}
    units = {u.lower() for u in found.units} - lookup.keys()
    pattern = _whole_words([*lookup, *units])
    inside_unit = _names_replacer(people)

    def replace(text: str) -> str:
        text = EMAIL.sub("[e-mail removed]", text)
        text = PHONE.sub("[telephone removed]", text)
        if pattern is None:
            return text
        return pattern.sub(lambda m: lookup.get(m.group(0).lower())
                           or inside_unit(m.group(0)), text)

    return replace


def _names_replacer(names: dict[str, str]) -> Callable[[str], str]:
    """Replace only whole names (of people, within a unit's name)."""
    lookup = {n.lower(): p for n, p in names.items() if n.strip()}
    pattern = _whole_words(list(lookup))
    if pattern is None:
        return lambda text: text
    return lambda text: pattern.sub(lambda m: lookup[m.group(0).lower()], text)


def _whole_words(phrases: list[str]) -> re.Pattern[str] | None:
    """One pattern for the phrases at word boundaries, the longest first (so a longer name
    wins over a shorter one inside it)."""
    if not phrases:
        return None
    ordered = sorted(set(phrases), key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in ordered) + r")(?!\w)",
                      re.IGNORECASE)


def scrub_strings(value: Any, replace: Callable[[str], str]) -> Any:
    """Every string in a JSON value replaced, but for the keys of codes and figures."""
    return _strings(value, replace)


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
