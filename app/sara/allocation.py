"""Random allocation of hotspots to patrols or comparison, the design of the strongest hotspot
studies (Sherman & Weisburd 1995; Braga et al. 2019), in blocks matched on baseline crime.

The candidates are sorted by their baseline crime and cut into blocks of ``size`` (2: matched
pairs); within each block half go to patrols and half to comparison, by chance. So the groups
start alike: each block's two sides differ by at most one hotspot, and hotspots of similar
crime face each other.

The chance is a hash, not a pseudo-random generator, so that anyone can repeat it from the
recorded seed in any language, for ever: within a block the hotspots are ordered by
SHA-256("{seed}:unit:{key}") read as a big-endian integer, and the first half go to patrols.
In a block of odd size the spare hotspot's side is settled by SHA-256("{seed}:block:{n}")
(odd: patrols). Python's own generators promise no such stability across versions.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MIN_HOTSPOTS = 4  # two a side: fewer cannot be compared as groups
MAX_HOTSPOTS = 500
MAX_BLOCK = 10
SEED_BITS = 63  # fits a signed 64-bit column


class Group(StrEnum):
    PATROLLED = "patrolled"
    COMPARISON = "comparison"

    @property
    def label(self) -> str:
        return {"patrolled": "Patrolled", "comparison": "Comparison: no extra patrols"}[self]


class Method(StrEnum):
    PAIRS = "pairs"
    BLOCKS = "blocks"

    @property
    def label(self) -> str:
        return {"pairs": "Matched pairs", "blocks": "Blocks"}[self]


@dataclass(frozen=True)
class Candidate:
    key: str  # a stable name: the case's reference
    baseline: int  # its crime in the baseline months


@dataclass(frozen=True)
class Placement:
    key: str
    baseline: int
    block: int  # 1, 2, ... from the highest baseline down
    group: Group


@dataclass(frozen=True)
class Balance:
    hotspots: dict[Group, int]
    baseline_total: dict[Group, int]
    baseline_mean: dict[Group, float]
    standardised_difference: float | None  # Cohen's d of the baselines; None if no spread


def block_size(method: Method, size: int | None) -> int:
    return 2 if method is Method.PAIRS else (size or 4)


def problems(candidates: Sequence[Candidate], method: Method, size: int | None) -> list[str]:
    """Why these candidates cannot be allocated, in words (none: they can)."""
    found = []
    keys = [c.key for c in candidates]
    if len(set(keys)) != len(keys):
        found.append("Each hotspot can be a candidate once.")
    if len(candidates) < MIN_HOTSPOTS:
        found.append(f"Choose at least {MIN_HOTSPOTS} hotspots: two a side is the least that "
                     "can be compared as groups.")
    if len(candidates) > MAX_HOTSPOTS:
        found.append(f"Choose at most {MAX_HOTSPOTS} hotspots.")
    if method is Method.BLOCKS and not 2 <= block_size(method, size) <= MAX_BLOCK:
        found.append(f"A block holds 2 to {MAX_BLOCK} hotspots.")
    return found


def blocks(candidates: Sequence[Candidate], size: int) -> list[list[Candidate]]:
    """The candidates from the highest baseline down (ties by key), cut into blocks of
    ``size``; the last block holds what is left."""
    ordered = sorted(candidates, key=lambda c: (-c.baseline, c.key))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def allocate(candidates: Sequence[Candidate], seed: int, size: int) -> list[Placement]:
    """Each candidate's block and group; the same candidates and seed give the same answer."""
    placed = []
    for number, block in enumerate(blocks(candidates, size), start=1):
        half, spare = divmod(len(block), 2)
        patrolled = half + (spare if _draw(seed, "block", str(number)) % 2 else 0)
        drawn = sorted(block, key=lambda c: _draw(seed, "unit", c.key))
        placed += [Placement(c.key, c.baseline, number,
                             Group.PATROLLED if i < patrolled else Group.COMPARISON)
                   for i, c in enumerate(drawn)]
    return sorted(placed, key=lambda p: (p.block, p.group != Group.PATROLLED, p.key))


def _draw(seed: int, kind: str, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{kind}:{name}".encode()).digest(), "big")


def balance(placements: Sequence[Placement]) -> Balance:
    groups = {g: [p.baseline for p in placements if p.group is g] for g in Group}
    means = {g: sum(v) / len(v) if v else 0.0 for g, v in groups.items()}
    spread = _pooled_sd(list(groups.values()))
    difference = ((means[Group.PATROLLED] - means[Group.COMPARISON]) / spread
                  if spread else None)
    return Balance(hotspots={g: len(v) for g, v in groups.items()},
                   baseline_total={g: sum(v) for g, v in groups.items()},
                   baseline_mean=means, standardised_difference=difference)


def _pooled_sd(samples: list[list[int]]) -> float | None:
    squares = sum(sum((x - sum(s) / len(s)) ** 2 for x in s) for s in samples if s)
    freedom = sum(len(s) - 1 for s in samples if s)
    return math.sqrt(squares / freedom) if freedom > 0 and squares > 0 else None


def read_balance(value: Balance) -> str:
    patrolled, comparison = Group.PATROLLED, Group.COMPARISON
    text = (f"{value.hotspots[patrolled]} patrolled hotspots had {value.baseline_total[patrolled]}"
            f" crimes in the baseline months (mean {value.baseline_mean[patrolled]:.1f}), "
            f"{value.hotspots[comparison]} comparison hotspots "
            f"{value.baseline_total[comparison]} (mean {value.baseline_mean[comparison]:.1f})")
    d = value.standardised_difference
    if d is None:
        return text + "."
    # 0.1 is the usual bound for a negligible imbalance (Austin 2009).
    verdict = "well balanced" if abs(d) < 0.1 else "somewhat unbalanced" if abs(d) < 0.25 \
        else "unbalanced: read the result with care"
    return text + f": a standardised difference of {d:.2f}, {verdict}."
