"""problem templates

Adds versioned problem templates (``case_templates`` and their immutable
``case_template_versions``) and ``cases.template_version_id``, and inserts the five national
templates shipped with popcase, version 1, from a frozen copy below: a migration must not import
app code that may change later. Existing cases keep ``template_version_id`` empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:01:05
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The shipped templates as app/sara/templates.py had them when this migration was written.
SHIPPED_TEMPLATES: list[dict[str, Any]] = [
    {
        "slug": "street-drug-market",
        "name": "Street drug market",
        "category": "drugs",
        "summary": "Drugs sold openly in a street, estate or park, to buyers who come from elsewhere, with the litter, intimidation and violence that follow a market.",
        "cheers_prompts": {
            "community": "Who lives, works or walks through the market place, and what do they see: deals, loitering, used needles, cars stopping briefly?",
            "harm": "What harm follows the market: violence between sellers, exploitation of children as runners (county lines), discarded needles, residents afraid to use the street?",
            "expectation": "What have residents, councillors or the housing provider asked the police to do, and through which channels?",
            "events": "Which events make up the problem: drug calls, stop and search finds, ASB reports, needle finds, assaults linked to the market?",
            "recurring": "On which days and at which hours does dealing recur, and for how long has it gone on?",
            "similarity": "Do the events share a spot (a stairwell, a phone box, a corner shop), the same sellers, or buyers arriving by car or bus?"
        },
        "hypotheses": [
            "Buyers come from outside the area because the spot is easy to reach by car and public transport and easy to leave.",
            "Sellers use the place because features of it (recesses, stairwells, broken entry doors, poor lighting) hide deals from residents and patrols.",
            "Young people are being exploited as runners by a line run from outside the force area.",
            "Nobody manages the place: the landlord or council has no one who watches it or acts on what residents report."
        ],
        "responses": [
            {
                "technique": "control-access",
                "why": "Secure entry doors and gated stairwells keep dealing out of the blocks where buyers gather unseen."
            },
            {
                "technique": "deflect-offenders",
                "why": "Changing road layout or closing a cut-through removes the quick in-and-out that drive-up buyers rely on."
            },
            {
                "technique": "natural-surveillance",
                "why": "Better lighting and cut-back planting let residents see deals and make sellers feel watched."
            },
            {
                "technique": "place-managers",
                "why": "A housing officer or caretaker who walks the estate daily and reports repairs denies the market an unmanaged place."
            },
            {
                "technique": "disrupt-markets",
                "why": "Targeted test purchases and warrants against the sellers make the market unreliable for buyers."
            }
        ],
        "actions": [
            {
                "title": "Map drug calls, ASB reports and stop and search finds for the last 12 months",
                "tactic": None,
                "partner": "police",
                "due_in_days": 7
            },
            {
                "title": "Walk the site with the housing provider: doors, lighting, hiding places",
                "tactic": "control-access",
                "partner": "housing",
                "due_in_days": 14
            },
            {
                "title": "Check for children exploited as runners and refer them to safeguarding",
                "tactic": "diversion",
                "partner": "youth-service",
                "due_in_days": 14
            },
            {
                "title": "Agree a drug intelligence and enforcement plan with the local proactive team",
                "tactic": "disrupt-markets",
                "partner": "police",
                "due_in_days": 21
            },
            {
                "title": "Ask residents what they see and when, at a street meeting or door to door",
                "tactic": "community-engagement",
                "partner": "police",
                "due_in_days": 21
            }
        ],
        "review_every_days": 14,
        "priority": "high"
    },
    {
        "slug": "transport-hub-asb",
        "name": "Anti-social behaviour at a transport hub",
        "category": "anti-social-behaviour",
        "summary": "Groups gathering at a station, bus interchange or shelter, with rowdiness, intimidation of passengers and staff, damage and fights at peak times.",
        "cheers_prompts": {
            "community": "Which passengers, staff and nearby traders experience the behaviour, and at what times do they use the hub?",
            "harm": "What harm is done: assaults or threats to staff, passengers who avoid the hub, damage to shelters and ticket machines?",
            "expectation": "Have the operator, British Transport Police, passengers or councillors asked for action?",
            "events": "Which incidents are recorded, and where: operator staff reports, 999 and 101 calls, CCTV logs, British Transport Police records?",
            "recurring": "Does it happen after school, on weekend evenings, or when the last services run?",
            "similarity": "Do the same groups, the same spots (shelters, stairs, the concourse) or the same triggers (delays, closures) recur?"
        },
        "hypotheses": [
            "School pupils wait in large groups at the interchange after school and conflict grows with waiting time.",
            "Warm, sheltered spots with no staff present after 19:00 attract groups with nowhere else to go.",
            "Disruption and long waits frustrate passengers and staff, and disputes follow.",
            "Alcohol bought nearby and drunk at the hub fuels evening disorder."
        ],
        "responses": [
            {
                "technique": "reduce-frustration",
                "why": "Clear information and shorter waits reduce the tension that turns crowding into conflict."
            },
            {
                "technique": "place-managers",
                "why": "Visible operator staff at the busiest times set the tone and intervene early."
            },
            {
                "technique": "formal-surveillance",
                "why": "CCTV that is watched and recorded at the problem times lets staff respond and identify offenders."
            },
            {
                "technique": "set-rules",
                "why": "Clear conditions of travel and use, enforced consistently, tell everyone what is not accepted."
            },
            {
                "technique": "control-drugs-alcohol",
                "why": "An alcohol restriction around the hub and work with nearby off-licences cut drinking on site."
            }
        ],
        "actions": [
            {
                "title": "Obtain incident data from the operator and British Transport Police for the last six months",
                "tactic": None,
                "partner": "other",
                "due_in_days": 7
            },
            {
                "title": "Observe the hub at the problem times and map where groups gather",
                "tactic": None,
                "partner": "police",
                "due_in_days": 10
            },
            {
                "title": "Meet the station or interchange manager to agree staffing and CCTV at peak times",
                "tactic": "place-managers",
                "partner": "other",
                "due_in_days": 14
            },
            {
                "title": "Contact the schools whose pupils use the hub about staggered finishing times and supervision",
                "tactic": "reduce-frustration",
                "partner": "school",
                "due_in_days": 21
            }
        ],
        "review_every_days": 28,
        "priority": "medium"
    },
    {
        "slug": "knife-carrying-near-school",
        "name": "Knife carrying near a school",
        "category": "possession-of-weapons",
        "summary": "Pupils or young people carrying knives on the routes to and from a school, with robberies, fights and fear among pupils and parents.",
        "cheers_prompts": {
            "community": "Which pupils, parents, staff and neighbours are affected, and on which routes to and from school?",
            "harm": "What harm is done or feared: stabbings, robberies of phones, threats, pupils who stay away from school or carry a knife for protection?",
            "expectation": "Has the school, the safer schools officer, parents or the council asked the police for help?",
            "events": "Which events are known: weapon finds, robberies of pupils, fights filmed and shared, school reports of knives seen?",
            "recurring": "Do the events cluster at the start and end of the school day, or around particular dates and rivalries?",
            "similarity": "Do the events share routes, bus stops, shops, groups of young people or a dispute between schools or areas?"
        },
        "hypotheses": [
            "Young people carry knives mostly for protection because they fear robbery on their way to school.",
            "A dispute between groups from two areas plays out on a shared route or bus stop.",
            "Knives are easy to buy locally, including from shops that do not check age.",
            "Unsupervised gaps in time and place (a park shortcut, a late bus) let confrontations happen."
        ],
        "responses": [
            {
                "technique": "control-tools",
                "why": "Test purchases and work with retailers stop young people buying knives locally."
            },
            {
                "technique": "extend-guardianship",
                "why": "Staff and parents on the routes at home time make pupils safer and less likely to arm themselves."
            },
            {
                "technique": "neutralise-peer-pressure",
                "why": "Mentoring and assemblies with credible voices give pupils a reason not to carry."
            },
            {
                "technique": "avoid-disputes",
                "why": "Staggered finishing times and separate routes keep rival groups apart."
            },
            {
                "technique": "alert-conscience",
                "why": "Knife amnesty bins and campaigns make clear that carrying is wrong and give a safe way to stop."
            }
        ],
        "actions": [
            {
                "title": "Meet the head teacher and safer schools officer to share what each knows",
                "tactic": "partnership",
                "partner": "school",
                "due_in_days": 7
            },
            {
                "title": "Map robberies, weapon finds and fights on the routes at school times",
                "tactic": None,
                "partner": "police",
                "due_in_days": 10
            },
            {
                "title": "Run knife test purchases at local shops with trading standards",
                "tactic": "control-tools",
                "partner": "council",
                "due_in_days": 28
            },
            {
                "title": "Refer young people at risk to the youth service for mentoring",
                "tactic": "diversion",
                "partner": "youth-service",
                "due_in_days": 21
            },
            {
                "title": "Plan patrols on the routes at the end of the school day",
                "tactic": "hotspot-patrols",
                "partner": "police",
                "due_in_days": 7
            }
        ],
        "review_every_days": 14,
        "priority": "high"
    },
    {
        "slug": "retail-cluster-shoplifting",
        "name": "Shoplifting at a retail cluster",
        "category": "shoplifting",
        "summary": "Repeated thefts from a parade or cluster of shops, often of the same goods by the same people, with threats to staff when challenged.",
        "cheers_prompts": {
            "community": "Which shops, staff and shoppers are affected, and how do the shops report thefts (or stop reporting them)?",
            "harm": "What harm is done: losses, threats and assaults on staff, shops that close or lock goods away?",
            "expectation": "Have the retailers, the business crime partnership or the BID asked for police help?",
            "events": "Which thefts are recorded, and how many go unreported? Which goods are taken?",
            "recurring": "Which days and hours, and which shops, are hit again and again?",
            "similarity": "Do the same offenders, the same goods (meat, alcohol, cosmetics, tools) or the same store layouts recur?"
        },
        "hypotheses": [
            "A small number of prolific offenders, many dependent on drugs, commit most of the thefts to fund their use.",
            "High-value goods that are easy to sell on (hot products) are displayed near the exits.",
            "Stolen goods are sold on through a local outlet or online.",
            "Staff rarely challenge or report because they fear violence and expect no response.",
            "Store layouts with blind spots and unattended exits let thieves leave unseen."
        ],
        "responses": [
            {
                "technique": "conceal-targets",
                "why": "Moving hot products away from exits and behind counters puts them out of easy reach."
            },
            {
                "technique": "identify-property",
                "why": "Marked and tagged goods are harder to sell on and easier to trace."
            },
            {
                "technique": "disrupt-markets",
                "why": "Action against the people who buy stolen goods removes the reason to steal them."
            },
            {
                "technique": "reduce-anonymity",
                "why": "Shared offender images in a shopwatch scheme mean prolific thieves are known in every shop."
            },
            {
                "technique": "diversion",
                "why": "Drug treatment referrals for prolific offenders tackle the need behind the thefts."
            }
        ],
        "actions": [
            {
                "title": "Collect each shop's theft records, including those not reported to police",
                "tactic": None,
                "partner": "business",
                "due_in_days": 14
            },
            {
                "title": "Identify the most prolific offenders and review their offending",
                "tactic": None,
                "partner": "police",
                "due_in_days": 14
            },
            {
                "title": "Set up or revive a shopwatch radio and image-sharing scheme",
                "tactic": "reduce-anonymity",
                "partner": "business",
                "due_in_days": 28
            },
            {
                "title": "Refer prolific offenders to drug treatment services",
                "tactic": "diversion",
                "partner": "health",
                "due_in_days": 28
            }
        ],
        "review_every_days": 28,
        "priority": "medium"
    },
    {
        "slug": "street-drinking",
        "name": "Street drinking",
        "category": "anti-social-behaviour",
        "summary": "People drinking in a street, square or park day after day, with noise, litter, urination, begging and arguments that drive others away.",
        "cheers_prompts": {
            "community": "Who meets the drinkers: residents, shoppers, children walking to school, traders whose doorways are used?",
            "harm": "What harm is done: intimidation, fights, litter and urination, and harm to the drinkers themselves (illness, exploitation)?",
            "expectation": "Have residents, traders or councillors complained, and do they expect enforcement, help for the drinkers, or both?",
            "events": "Which events are recorded: ASB calls, alcohol seizures, ambulance call-outs, council cleansing reports?",
            "recurring": "At which hours and seasons does drinking recur, and does it move when benefits are paid?",
            "similarity": "Are the drinkers the same people each day, and do they use the same benches, the same shop and the same shelter?"
        },
        "hypotheses": [
            "Cheap high-strength alcohol sold by one or two nearby shops sustains the drinking.",
            "The place offers seating and shelter that make it comfortable to drink there.",
            "Most drinkers have unmet needs (housing, addiction, mental health) that enforcement alone will not change."
        ],
        "responses": [
            {
                "technique": "control-drugs-alcohol",
                "why": "A voluntary ban on selling high-strength alcohol at nearby shops cuts the supply."
            },
            {
                "technique": "deflect-offenders",
                "why": "Removing or redesigning the benches and shelter where drinking settles moves it out of the main street."
            },
            {
                "technique": "set-rules",
                "why": "A Public Spaces Protection Order on alcohol gives officers a clear power to seize drink."
            },
            {
                "technique": "assist-compliance",
                "why": "Outreach that links drinkers to housing and treatment helps them stop, not just move."
            }
        ],
        "actions": [
            {
                "title": "Identify the regular drinkers and check who is known to outreach and housing services",
                "tactic": None,
                "partner": "council",
                "due_in_days": 14
            },
            {
                "title": "Visit nearby off-licences about high-strength alcohol and their licence conditions",
                "tactic": "control-drugs-alcohol",
                "partner": "council",
                "due_in_days": 14
            },
            {
                "title": "Arrange joint outreach patrols with the street outreach team",
                "tactic": "assist-compliance",
                "partner": "health",
                "due_in_days": 21
            }
        ],
        "review_every_days": 28,
        "priority": "medium"
    }
]


SHIPPED_ON = datetime(2026, 12, 6, tzinfo=UTC)


def upgrade() -> None:
    op.create_table('case_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('force_id', sa.String(length=40), nullable=True),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_case_templates_created_by_id_users')),
    sa.ForeignKeyConstraint(['force_id'], ['forces.id'], name=op.f('fk_case_templates_force_id_forces')),
    sa.ForeignKeyConstraint(['retired_by_id'], ['users.id'], name=op.f('fk_case_templates_retired_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_templates')),
    sa.UniqueConstraint('slug', name=op.f('uq_case_templates_slug'))
    )
    with op.batch_alter_table('case_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_templates_force_id'), ['force_id'], unique=False)

    op.create_table('case_template_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', name='priority', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('cheers_prompts', sa.JSON(), nullable=False),
    sa.Column('hypotheses', sa.JSON(), nullable=False),
    sa.Column('responses', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('review_every_days', sa.Integer(), nullable=True),
    sa.Column('change_note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("category IN ('anti-social-behaviour', 'bicycle-theft', 'burglary', 'criminal-damage-arson', 'drugs', 'other-theft', 'possession-of-weapons', 'public-order', 'robbery', 'shoplifting', 'theft-from-the-person', 'vehicle-crime', 'violent-crime', 'other-crime')", name=op.f('ck_case_template_versions_category')),
    sa.CheckConstraint('review_every_days IS NULL OR review_every_days > 0', name=op.f('ck_case_template_versions_review_every_days_positive')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_case_template_versions_version_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_case_template_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['case_templates.id'], name=op.f('fk_case_template_versions_template_id_case_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_template_versions')),
    sa.UniqueConstraint('template_id', 'version', name=op.f('uq_case_template_versions_template_id_version'))
    )
    with op.batch_alter_table('case_template_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_template_versions_template_id'), ['template_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_template_version_id'), ['template_version_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_template_version_id_case_template_versions'), 'case_template_versions', ['template_version_id'], ['id'])

    _insert_shipped_templates()


def _insert_shipped_templates() -> None:
    templates = sa.table('case_templates', sa.column('id', sa.Integer), sa.column('slug'),
                         sa.column('name'), sa.column('force_id'),
                         sa.column('current_version', sa.Integer),
                         sa.column('created_at', sa.DateTime(timezone=True)))
    versions = sa.table('case_template_versions', sa.column('template_id', sa.Integer),
                        sa.column('version', sa.Integer), sa.column('name'),
                        sa.column('category'), sa.column('priority'), sa.column('summary'),
                        sa.column('cheers_prompts', sa.JSON), sa.column('hypotheses', sa.JSON),
                        sa.column('responses', sa.JSON), sa.column('actions', sa.JSON),
                        sa.column('review_every_days', sa.Integer), sa.column('change_note'),
                        sa.column('created_at', sa.DateTime(timezone=True)))
    # The day they shipped, not the day of the upgrade: a database taken down past this
    # revision and up again holds the same rows.
    now = SHIPPED_ON
    bind = op.get_bind()
    for shipped in SHIPPED_TEMPLATES:
        template_id = bind.execute(
            templates.insert().values(slug=shipped['slug'], name=shipped['name'], force_id=None,
                                      current_version=1, created_at=now)
            .returning(templates.c.id)).scalar_one()
        bind.execute(versions.insert().values(
            template_id=template_id, version=1, change_note='Shipped with popcase.',
            created_at=now, **{k: v for k, v in shipped.items() if k != 'slug'}))



def downgrade() -> None:
    # Cases keep everything copied from their template; only the link to it goes.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_template_version_id_case_template_versions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_template_version_id'))
        batch_op.drop_column('template_version_id')

    with op.batch_alter_table('case_template_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_template_versions_template_id'))

    op.drop_table('case_template_versions')
    with op.batch_alter_table('case_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_templates_force_id'))

    op.drop_table('case_templates')
