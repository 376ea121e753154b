"""ONS (GSS) codes of the areas police forces work in, and case-reference prefixes derived from
area names. Pure rules: no database."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

# The kinds of local authority a force's local policing areas are, by code prefix.
LOCAL_AUTHORITY_KINDS = {
    "E06": "Unitary authority",
    "E07": "District",
    "E08": "Metropolitan district",
    "E09": "London borough",
    "W06": "Principal area",
}
LOCAL_AUTHORITY_PATTERN = r"^(E0[6-9]|W06)\d{6}$"
WARD_PATTERN = r"^(E05|W05)\d{6}$"
FORCE_AREA_PATTERN = r"^(E23|W15)\d{6}$"
_LOCAL_AUTHORITY = re.compile(LOCAL_AUTHORITY_PATTERN)
_WARD = re.compile(WARD_PATTERN)
_FORCE_AREA = re.compile(FORCE_AREA_PATTERN)
PREFIX_PATTERN = re.compile(r"^[A-Z]{2,4}$")

# Words that say little about a place: "Isle of Anglesey" is IA, "Kingston upon Thames" KT.
_MINOR_WORDS = frozenset({"and", "of", "the", "upon", "on", "in", "le", "with", "y", "yr"})


def is_local_authority(code: str) -> bool:
    return bool(_LOCAL_AUTHORITY.match(code))


def is_ward(code: str) -> bool:
    return bool(_WARD.match(code))


def is_force_area(code: str) -> bool:
    return bool(_FORCE_AREA.match(code))


def area_kind_label(code: str) -> str:
    return LOCAL_AUTHORITY_KINDS.get(code[:3], "Local authority")


def derive_prefix(name: str, taken: Collection[str]) -> str:
    """A short, free reference prefix for an area: the initials of a name of several words
    (Barking and Dagenham: BD), else its first letter and one of its consonants (Gwynedd: GW,
    Conwy: CN); longer only when every two-letter choice is taken."""
    letters = [c for c in _ascii(name).upper() if c.isalpha()]
    if not letters:
        letters = list("AREA")
    words = [w for w in re.split(r"[^A-Za-z]+", _ascii(name)) if w]
    major = [w for w in words if w.lower() not in _MINOR_WORDS] or words
    for candidate in _candidates(letters, [w[0].upper() for w in major]):
        if candidate not in taken:
            return candidate
    for number in range(1, 100):  # every letter combination taken: a short name and a number
        candidate = f"{letters[0]}{number}"[:4]
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free reference prefix for {name}")


def _candidates(letters: list[str], initials: list[str]) -> list[str]:
    first, rest = letters[0], letters[1:]
    consonants = [c for c in rest if c not in "AEIOU"]
    ordered: list[str] = []
    if len(initials) >= 2:
        ordered.append("".join(initials[:2]))
        ordered.append("".join(initials[:3]))
    ordered += [first + c for c in consonants + rest]
    ordered += [first + a + b for i, a in enumerate(rest) for b in rest[i + 1:]]
    ordered += ["".join(letters[:4])]
    return [c for c in dict.fromkeys(ordered) if 2 <= len(c) <= 4]


def _ascii(text: str) -> str:
    """Welsh and other accented letters by their base letter (Môn: Mon)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
