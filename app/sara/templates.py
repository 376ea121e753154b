"""Problem templates: the starting content of a case for a problem neighbourhood teams meet every
week. Pure data and checks (no HTTP, no SQL); the database keeps versioned copies.

The five shipped templates are written in our own words after the POP Center's problem-specific
guides (open-air drug markets, disorder at transit facilities, school-related problems,
shoplifting, street drinking / public drinking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.sara.cheers import CheersElement
from app.sara.problem import CATEGORIES, Priority
from app.sara.responses import SCP_GROUPS, TACTICS, Partner

# The 25 techniques of situational crime prevention: a suggested response names one of these.
SCP_TECHNIQUES: frozenset[str] = frozenset(key for items in SCP_GROUPS.values()
                                           for key, _label in items)
MAX_DUE_IN_DAYS = 365
MAX_REVIEW_EVERY_DAYS = 180


@dataclass(frozen=True)
class SuggestedResponse:
    technique: str  # a situational crime prevention technique or another named tactic
    why: str  # one sentence: why it fits this problem


@dataclass(frozen=True)
class StartingAction:
    title: str
    tactic: str | None
    partner: Partner
    due_in_days: int  # the action's due date is the opening day plus this


@dataclass(frozen=True)
class TemplateContent:
    """What one version of a template sets on a case opened from it."""

    category: str
    summary: str
    cheers_prompts: dict[CheersElement, str]
    hypotheses: tuple[str, ...]
    responses: tuple[SuggestedResponse, ...]
    actions: tuple[StartingAction, ...]
    # None: the force's review cadence by priority decides.
    review_every_days: int | None
    priority: Priority = Priority.MEDIUM


@dataclass(frozen=True)
class ShippedTemplate:
    slug: str
    name: str
    content: TemplateContent = field(repr=False)


def content_problems(content: TemplateContent) -> list[tuple[str, str]]:
    """What is wrong with a template's content, as (field, message) pairs; none when sound."""
    problems: list[tuple[str, str]] = []
    if content.category not in CATEGORIES:
        problems.append(("category", f"{content.category} is not a police.uk category."))
    for element in CheersElement:
        if not content.cheers_prompts.get(element, "").strip():
            problems.append((f"cheers_prompts.{element.value}",
                             f"Give a prompt for {element.label}."))
    if not content.hypotheses:
        problems.append(("hypotheses", "Give at least one hypothesis."))
    for i, response in enumerate(content.responses):
        if response.technique not in TACTICS:
            problems.append((f"responses.{i}.technique",
                             f"{response.technique} is not a technique or tactic popcase "
                             "knows."))
        if not response.why.strip():
            problems.append((f"responses.{i}.why", "Say why this response fits."))
    for i, action in enumerate(content.actions):
        if action.tactic is not None and action.tactic not in TACTICS:
            problems.append((f"actions.{i}.tactic",
                             f"{action.tactic} is not a technique or tactic popcase knows."))
        if not 0 <= action.due_in_days <= MAX_DUE_IN_DAYS:
            problems.append((f"actions.{i}.due_in_days",
                             f"Due in 0 to {MAX_DUE_IN_DAYS} days from opening."))
    if content.review_every_days is not None and not (
            1 <= content.review_every_days <= MAX_REVIEW_EVERY_DAYS):
        problems.append(("review_every_days",
                         f"Review every 1 to {MAX_REVIEW_EVERY_DAYS} days, or leave it to "
                         "the force's cadence."))
    return problems


def content_as_json(content: TemplateContent) -> dict[str, Any]:
    """The stored form of a version's content (the columns of ``case_template_versions``)."""
    return {
        "category": content.category,
        "summary": content.summary,
        "cheers_prompts": {e.value: content.cheers_prompts[e] for e in CheersElement
                           if e in content.cheers_prompts},
        "hypotheses": list(content.hypotheses),
        "responses": [{"technique": r.technique, "why": r.why} for r in content.responses],
        "actions": [{"title": a.title, "tactic": a.tactic, "partner": a.partner.value,
                     "due_in_days": a.due_in_days} for a in content.actions],
        "review_every_days": content.review_every_days,
        "priority": content.priority.value,
    }


C = CheersElement

STREET_DRUG_MARKET = ShippedTemplate(
    slug="street-drug-market",
    name="Street drug market",
    content=TemplateContent(
        category="drugs",
        priority=Priority.HIGH,
        review_every_days=14,
        summary="Drugs sold openly in a street, estate or park, to buyers who come from "
                "elsewhere, with the litter, intimidation and violence that follow a market.",
        cheers_prompts={
            C.COMMUNITY: "Who lives, works or walks through the market place, and what do "
                         "they see: deals, loitering, used needles, cars stopping briefly?",
            C.HARM: "What harm follows the market: violence between sellers, exploitation of "
                    "children as runners (county lines), discarded needles, residents afraid "
                    "to use the street?",
            C.EXPECTATION: "What have residents, councillors or the housing provider asked "
                           "the police to do, and through which channels?",
            C.EVENTS: "Which events make up the problem: drug calls, stop and search finds, "
                      "ASB reports, needle finds, assaults linked to the market?",
            C.RECURRING: "On which days and at which hours does dealing recur, and for how "
                         "long has it gone on?",
            C.SIMILARITY: "Do the events share a spot (a stairwell, a phone box, a corner "
                          "shop), the same sellers, or buyers arriving by car or bus?",
        },
        hypotheses=(
            "Buyers come from outside the area because the spot is easy to reach by car and "
            "public transport and easy to leave.",
            "Sellers use the place because features of it (recesses, stairwells, broken "
            "entry doors, poor lighting) hide deals from residents and patrols.",
            "Young people are being exploited as runners by a line run from outside the "
            "force area.",
            "Nobody manages the place: the landlord or council has no one who watches it or "
            "acts on what residents report.",
        ),
        responses=(
            SuggestedResponse("control-access", "Secure entry doors and gated stairwells "
                              "keep dealing out of the blocks where buyers gather unseen."),
            SuggestedResponse("deflect-offenders", "Changing road layout or closing a "
                              "cut-through removes the quick in-and-out that drive-up buyers "
                              "rely on."),
            SuggestedResponse("natural-surveillance", "Better lighting and cut-back planting "
                              "let residents see deals and make sellers feel watched."),
            SuggestedResponse("place-managers", "A housing officer or caretaker who walks "
                              "the estate daily and reports repairs denies the market an "
                              "unmanaged place."),
            SuggestedResponse("disrupt-markets", "Targeted test purchases and warrants "
                              "against the sellers make the market unreliable for buyers."),
        ),
        actions=(
            StartingAction("Map drug calls, ASB reports and stop and search finds for the "
                           "last 12 months", None, Partner.POLICE, 7),
            StartingAction("Walk the site with the housing provider: doors, lighting, "
                           "hiding places", "control-access", Partner.HOUSING, 14),
            StartingAction("Check for children exploited as runners and refer them to "
                           "safeguarding", "diversion", Partner.YOUTH_SERVICE, 14),
            StartingAction("Agree a drug intelligence and enforcement plan with the local "
                           "proactive team", "disrupt-markets", Partner.POLICE, 21),
            StartingAction("Ask residents what they see and when, at a street meeting or "
                           "door to door", "community-engagement", Partner.POLICE, 21),
        ),
    ),
)

TRANSPORT_HUB_ASB = ShippedTemplate(
    slug="transport-hub-asb",
    name="Anti-social behaviour at a transport hub",
    content=TemplateContent(
        category="anti-social-behaviour",
        priority=Priority.MEDIUM,
        review_every_days=28,
        summary="Groups gathering at a station, bus interchange or shelter, with rowdiness, "
                "intimidation of passengers and staff, damage and fights at peak times.",
        cheers_prompts={
            C.COMMUNITY: "Which passengers, staff and nearby traders experience the "
                         "behaviour, and at what times do they use the hub?",
            C.HARM: "What harm is done: assaults or threats to staff, passengers who avoid "
                    "the hub, damage to shelters and ticket machines?",
            C.EXPECTATION: "Have the operator, British Transport Police, passengers or "
                           "councillors asked for action?",
            C.EVENTS: "Which incidents are recorded, and where: operator staff reports, "
                      "999 and 101 calls, CCTV logs, British Transport Police records?",
            C.RECURRING: "Does it happen after school, on weekend evenings, or when the "
                         "last services run?",
            C.SIMILARITY: "Do the same groups, the same spots (shelters, stairs, the "
                          "concourse) or the same triggers (delays, closures) recur?",
        },
        hypotheses=(
            "School pupils wait in large groups at the interchange after school and conflict "
            "grows with waiting time.",
            "Warm, sheltered spots with no staff present after 19:00 attract groups with "
            "nowhere else to go.",
            "Disruption and long waits frustrate passengers and staff, and disputes follow.",
            "Alcohol bought nearby and drunk at the hub fuels evening disorder.",
        ),
        responses=(
            SuggestedResponse("reduce-frustration", "Clear information and shorter waits "
                              "reduce the tension that turns crowding into conflict."),
            SuggestedResponse("place-managers", "Visible operator staff at the busiest "
                              "times set the tone and intervene early."),
            SuggestedResponse("formal-surveillance", "CCTV that is watched and recorded at "
                              "the problem times lets staff respond and identify offenders."),
            SuggestedResponse("set-rules", "Clear conditions of travel and use, enforced "
                              "consistently, tell everyone what is not accepted."),
            SuggestedResponse("control-drugs-alcohol", "An alcohol restriction around the "
                              "hub and work with nearby off-licences cut drinking on site."),
        ),
        actions=(
            StartingAction("Obtain incident data from the operator and British Transport "
                           "Police for the last six months", None, Partner.OTHER, 7),
            StartingAction("Observe the hub at the problem times and map where groups "
                           "gather", None, Partner.POLICE, 10),
            StartingAction("Meet the station or interchange manager to agree staffing and "
                           "CCTV at peak times", "place-managers", Partner.OTHER, 14),
            StartingAction("Contact the schools whose pupils use the hub about staggered "
                           "finishing times and supervision", "reduce-frustration",
                           Partner.SCHOOL, 21),
        ),
    ),
)

KNIFE_CARRYING_NEAR_SCHOOL = ShippedTemplate(
    slug="knife-carrying-near-school",
    name="Knife carrying near a school",
    content=TemplateContent(
        category="possession-of-weapons",
        priority=Priority.HIGH,
        review_every_days=14,
        summary="Pupils or young people carrying knives on the routes to and from a school, "
                "with robberies, fights and fear among pupils and parents.",
        cheers_prompts={
            C.COMMUNITY: "Which pupils, parents, staff and neighbours are affected, and on "
                         "which routes to and from school?",
            C.HARM: "What harm is done or feared: stabbings, robberies of phones, threats, "
                    "pupils who stay away from school or carry a knife for protection?",
            C.EXPECTATION: "Has the school, the safer schools officer, parents or the "
                           "council asked the police for help?",
            C.EVENTS: "Which events are known: weapon finds, robberies of pupils, fights "
                      "filmed and shared, school reports of knives seen?",
            C.RECURRING: "Do the events cluster at the start and end of the school day, or "
                         "around particular dates and rivalries?",
            C.SIMILARITY: "Do the events share routes, bus stops, shops, groups of young "
                          "people or a dispute between schools or areas?",
        },
        hypotheses=(
            "Young people carry knives mostly for protection because they fear robbery on "
            "their way to school.",
            "A dispute between groups from two areas plays out on a shared route or bus stop.",
            "Knives are easy to buy locally, including from shops that do not check age.",
            "Unsupervised gaps in time and place (a park shortcut, a late bus) let "
            "confrontations happen.",
        ),
        responses=(
            SuggestedResponse("control-tools", "Test purchases and work with retailers "
                              "stop young people buying knives locally."),
            SuggestedResponse("extend-guardianship", "Staff and parents on the routes at "
                              "home time make pupils safer and less likely to arm "
                              "themselves."),
            SuggestedResponse("neutralise-peer-pressure", "Mentoring and assemblies with "
                              "credible voices give pupils a reason not to carry."),
            SuggestedResponse("avoid-disputes", "Staggered finishing times and separate "
                              "routes keep rival groups apart."),
            SuggestedResponse("alert-conscience", "Knife amnesty bins and campaigns make "
                              "clear that carrying is wrong and give a safe way to stop."),
        ),
        actions=(
            StartingAction("Meet the head teacher and safer schools officer to share what "
                           "each knows", "partnership", Partner.SCHOOL, 7),
            StartingAction("Map robberies, weapon finds and fights on the routes at school "
                           "times", None, Partner.POLICE, 10),
            StartingAction("Run knife test purchases at local shops with trading standards",
                           "control-tools", Partner.COUNCIL, 28),
            StartingAction("Refer young people at risk to the youth service for mentoring",
                           "diversion", Partner.YOUTH_SERVICE, 21),
            StartingAction("Plan patrols on the routes at the end of the school day",
                           "hotspot-patrols", Partner.POLICE, 7),
        ),
    ),
)

RETAIL_CLUSTER_SHOPLIFTING = ShippedTemplate(
    slug="retail-cluster-shoplifting",
    name="Shoplifting at a retail cluster",
    content=TemplateContent(
        category="shoplifting",
        priority=Priority.MEDIUM,
        review_every_days=28,
        summary="Repeated thefts from a parade or cluster of shops, often of the same goods "
                "by the same people, with threats to staff when challenged.",
        cheers_prompts={
            C.COMMUNITY: "Which shops, staff and shoppers are affected, and how do the shops "
                         "report thefts (or stop reporting them)?",
            C.HARM: "What harm is done: losses, threats and assaults on staff, shops that "
                    "close or lock goods away?",
            C.EXPECTATION: "Have the retailers, the business crime partnership or the BID "
                           "asked for police help?",
            C.EVENTS: "Which thefts are recorded, and how many go unreported? Which goods "
                      "are taken?",
            C.RECURRING: "Which days and hours, and which shops, are hit again and again?",
            C.SIMILARITY: "Do the same offenders, the same goods (meat, alcohol, cosmetics, "
                          "tools) or the same store layouts recur?",
        },
        hypotheses=(
            "A small number of prolific offenders, many dependent on drugs, commit most of "
            "the thefts to fund their use.",
            "High-value goods that are easy to sell on (hot products) are displayed near the "
            "exits.",
            "Stolen goods are sold on through a local outlet or online.",
            "Staff rarely challenge or report because they fear violence and expect no "
            "response.",
            "Store layouts with blind spots and unattended exits let thieves leave unseen.",
        ),
        responses=(
            SuggestedResponse("conceal-targets", "Moving hot products away from exits and "
                              "behind counters puts them out of easy reach."),
            SuggestedResponse("identify-property", "Marked and tagged goods are harder to "
                              "sell on and easier to trace."),
            SuggestedResponse("disrupt-markets", "Action against the people who buy stolen "
                              "goods removes the reason to steal them."),
            SuggestedResponse("reduce-anonymity", "Shared offender images in a shopwatch "
                              "scheme mean prolific thieves are known in every shop."),
            SuggestedResponse("diversion", "Drug treatment referrals for prolific offenders "
                              "tackle the need behind the thefts."),
        ),
        actions=(
            StartingAction("Collect each shop's theft records, including those not reported "
                           "to police", None, Partner.BUSINESS, 14),
            StartingAction("Identify the most prolific offenders and review their offending",
                           None, Partner.POLICE, 14),
            StartingAction("Set up or revive a shopwatch radio and image-sharing scheme",
                           "reduce-anonymity", Partner.BUSINESS, 28),
            StartingAction("Refer prolific offenders to drug treatment services",
                           "diversion", Partner.HEALTH, 28),
        ),
    ),
)

STREET_DRINKING = ShippedTemplate(
    slug="street-drinking",
    name="Street drinking",
    content=TemplateContent(
        category="anti-social-behaviour",
        priority=Priority.MEDIUM,
        review_every_days=28,
        summary="People drinking in a street, square or park day after day, with noise, "
                "litter, urination, begging and arguments that drive others away.",
        cheers_prompts={
            C.COMMUNITY: "Who meets the drinkers: residents, shoppers, children walking to "
                         "school, traders whose doorways are used?",
            C.HARM: "What harm is done: intimidation, fights, litter and urination, and harm "
                    "to the drinkers themselves (illness, exploitation)?",
            C.EXPECTATION: "Have residents, traders or councillors complained, and do they "
                           "expect enforcement, help for the drinkers, or both?",
            C.EVENTS: "Which events are recorded: ASB calls, alcohol seizures, ambulance "
                      "call-outs, council cleansing reports?",
            C.RECURRING: "At which hours and seasons does drinking recur, and does it move "
                         "when benefits are paid?",
            C.SIMILARITY: "Are the drinkers the same people each day, and do they use the "
                          "same benches, the same shop and the same shelter?",
        },
        hypotheses=(
            "Cheap high-strength alcohol sold by one or two nearby shops sustains the "
            "drinking.",
            "The place offers seating and shelter that make it comfortable to drink there.",
            "Most drinkers have unmet needs (housing, addiction, mental health) that "
            "enforcement alone will not change.",
        ),
        responses=(
            SuggestedResponse("control-drugs-alcohol", "A voluntary ban on selling "
                              "high-strength alcohol at nearby shops cuts the supply."),
            SuggestedResponse("deflect-offenders", "Removing or redesigning the benches and "
                              "shelter where drinking settles moves it out of the main "
                              "street."),
            SuggestedResponse("set-rules", "A Public Spaces Protection Order on alcohol "
                              "gives officers a clear power to seize drink."),
            SuggestedResponse("assist-compliance", "Outreach that links drinkers to housing "
                              "and treatment helps them stop, not just move."),
        ),
        actions=(
            StartingAction("Identify the regular drinkers and check who is known to outreach "
                           "and housing services", None, Partner.COUNCIL, 14),
            StartingAction("Visit nearby off-licences about high-strength alcohol and their "
                           "licence conditions", "control-drugs-alcohol", Partner.COUNCIL, 14),
            StartingAction("Arrange joint outreach patrols with the street outreach team",
                           "assist-compliance", Partner.HEALTH, 21),
        ),
    ),
)

SHIPPED: tuple[ShippedTemplate, ...] = (
    STREET_DRUG_MARKET, TRANSPORT_HUB_ASB, KNIFE_CARRYING_NEAR_SCHOOL,
    RETAIL_CLUSTER_SHOPLIFTING, STREET_DRINKING,
)
