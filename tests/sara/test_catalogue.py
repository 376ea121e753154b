"""Vocabularies: response tactics, action states and crime categories.

Tactic keys and category slugs are stored on cases, so they are pinned here: renaming one would
orphan stored data (and category slugs must stay police.uk's).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.sara.problem import CATEGORIES
from app.sara.responses import (
    OTHER_TACTICS,
    OTHER_TACTICS_GROUP,
    SCP_GROUPS,
    TACTICS,
    ActionStatus,
    Tactic,
    is_overdue,
    tactic_groups,
)

SCP_KEYS = {
    "Increase the effort": [
        "target-harden", "control-access", "screen-exits", "deflect-offenders", "control-tools",
    ],
    "Increase the risks": [
        "extend-guardianship", "natural-surveillance", "reduce-anonymity", "place-managers",
        "formal-surveillance",
    ],
    "Reduce the rewards": [
        "conceal-targets", "remove-targets", "identify-property", "disrupt-markets",
        "deny-benefits",
    ],
    "Reduce provocations": [
        "reduce-frustration", "avoid-disputes", "reduce-arousal", "neutralise-peer-pressure",
        "discourage-imitation",
    ],
    "Remove excuses": [
        "set-rules", "post-instructions", "alert-conscience", "assist-compliance",
        "control-drugs-alcohol",
    ],
}
OTHER_KEYS = ["hotspot-patrols", "enforcement", "diversion", "community-engagement",
              "partnership"]

POLICE_UK_CATEGORIES = {
    "anti-social-behaviour", "bicycle-theft", "burglary", "criminal-damage-arson", "drugs",
    "other-theft", "possession-of-weapons", "public-order", "robbery", "shoplifting",
    "theft-from-the-person", "vehicle-crime", "violent-crime", "other-crime",
}


# --------------------------------------------------------------------------------------------
# Situational crime prevention: 25 techniques, 5 groups of 5
# --------------------------------------------------------------------------------------------


def test_five_scp_groups_in_cornish_and_clarke_order() -> None:
    assert list(SCP_GROUPS) == [
        "Increase the effort", "Increase the risks", "Reduce the rewards",
        "Reduce provocations", "Remove excuses",
    ]


@pytest.mark.parametrize("group", list(SCP_KEYS))
def test_each_scp_group_has_five_techniques(group: str) -> None:
    assert len(SCP_GROUPS[group]) == 5
    assert [key for key, _ in SCP_GROUPS[group]] == SCP_KEYS[group]


def test_twenty_five_techniques_with_unique_keys_and_labels() -> None:
    keys = [key for items in SCP_GROUPS.values() for key, _ in items]
    labels = [label for items in SCP_GROUPS.values() for _, label in items]
    assert len(keys) == 25
    assert len(set(keys)) == 25
    assert len(set(labels)) == 25


def test_keys_are_slugs_and_labels_are_sentences() -> None:
    for key, label in [item for items in SCP_GROUPS.values() for item in items] + OTHER_TACTICS:
        assert key == key.strip().lower(), key
        assert " " not in key, key
        assert label and label[0].isupper() and label == label.strip(), label


def test_some_technique_labels() -> None:
    assert dict(SCP_GROUPS["Increase the effort"])["target-harden"] == "Target harden"
    assert dict(SCP_GROUPS["Increase the risks"])["place-managers"] == "Utilise place managers"
    assert dict(SCP_GROUPS["Remove excuses"])["control-drugs-alcohol"] == (
        "Control drugs and alcohol"
    )


# --------------------------------------------------------------------------------------------
# The whole catalogue
# --------------------------------------------------------------------------------------------


def test_other_tactics_present() -> None:
    assert OTHER_TACTICS_GROUP == "Other policing and partnership tactics"
    assert [key for key, _ in OTHER_TACTICS] == OTHER_KEYS
    for key, label in OTHER_TACTICS:
        assert TACTICS[key] == Tactic(key, label, OTHER_TACTICS_GROUP)


def test_catalogue_holds_all_thirty_tactics_without_collisions() -> None:
    # 25 + 5 entries give 30 keys only if no other tactic reuses a technique's key.
    assert len(TACTICS) == 30
    expected = [key for keys in SCP_KEYS.values() for key in keys] + OTHER_KEYS
    assert list(TACTICS) == expected


@pytest.mark.parametrize("group", list(SCP_KEYS))
def test_every_technique_is_in_the_catalogue_under_its_group(group: str) -> None:
    for key, label in SCP_GROUPS[group]:
        assert TACTICS[key] == Tactic(key, label, group)


def test_catalogue_entries_are_keyed_by_their_own_key() -> None:
    assert all(key == tactic.key for key, tactic in TACTICS.items())


def test_tactic_groups_for_a_select_box() -> None:
    groups = tactic_groups()
    assert [name for name, _ in groups] == [*SCP_KEYS, OTHER_TACTICS_GROUP]
    assert [[t.key for t in tactics] for _, tactics in groups] == [*SCP_KEYS.values(),
                                                                   OTHER_KEYS]
    assert all(t.group == name for name, tactics in groups for t in tactics)


# --------------------------------------------------------------------------------------------
# Action states and overdue
# --------------------------------------------------------------------------------------------

TODAY = date(2026, 3, 15)


def test_action_states() -> None:
    assert [s.value for s in ActionStatus] == ["planned", "in_progress", "done", "cancelled"]
    assert [s.label for s in ActionStatus] == ["Planned", "In progress", "Done", "Cancelled"]
    assert [s for s in ActionStatus if s.is_open] == [ActionStatus.PLANNED,
                                                     ActionStatus.IN_PROGRESS]


@pytest.mark.parametrize("status", [ActionStatus.PLANNED, ActionStatus.IN_PROGRESS])
@pytest.mark.parametrize(
    ("due", "overdue"),
    [
        pytest.param(TODAY - timedelta(days=365), True, id="a-year-ago"),
        pytest.param(TODAY - timedelta(days=1), True, id="yesterday"),
        pytest.param(TODAY, False, id="today"),
        pytest.param(TODAY + timedelta(days=1), False, id="tomorrow"),
        pytest.param(None, False, id="no-due-date"),
    ],
)
def test_open_action_is_overdue_only_after_its_due_date(status: ActionStatus, due: date | None,
                                                        overdue: bool) -> None:
    assert is_overdue(status, due, TODAY) is overdue


@pytest.mark.parametrize("status", [ActionStatus.DONE, ActionStatus.CANCELLED])
@pytest.mark.parametrize("due", [TODAY - timedelta(days=30), TODAY, None])
def test_finished_action_is_never_overdue(status: ActionStatus, due: date | None) -> None:
    assert is_overdue(status, due, TODAY) is False


# --------------------------------------------------------------------------------------------
# Crime categories
# --------------------------------------------------------------------------------------------


def test_categories_are_exactly_the_police_uk_slugs() -> None:
    assert set(CATEGORIES) == POLICE_UK_CATEGORIES
    assert len(CATEGORIES) == 14


def test_category_labels() -> None:
    assert all(label and label == label.strip() for label in CATEGORIES.values())
    assert len(set(CATEGORIES.values())) == 14
    assert CATEGORIES["violent-crime"] == "Violence and sexual offences"
    assert CATEGORIES["anti-social-behaviour"] == "Anti-social behaviour"
    assert CATEGORIES["criminal-damage-arson"] == "Criminal damage and arson"
