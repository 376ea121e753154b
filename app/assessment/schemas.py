"""What the API accepts and answers for impact assessments and operation evaluations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from app.cases.schemas import CategorySlug, Input, LongText
from app.sara.allocation import Group, Method
from app.sara.assessment import Outcome
from app.sara.stages import Stage

Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2024-06"],
                             description="A month, YYYY-MM")]


class AssessmentRequest(Input):
    """Two periods of whole months of equal length: before the response and after it."""

    before_first: Month
    before_last: Month
    after_first: Month
    after_last: Month
    categories: list[CategorySlug] | None = Field(
        None, max_length=14, description="police.uk categories; null for the case's own")
    note: LongText = ""

    model_config = {"str_strip_whitespace": True, "extra": "forbid", "json_schema_extra": {
        "examples": [{"before_first": "2023-12", "before_last": "2024-11",
                      "after_first": "2024-12", "after_last": "2025-11"}]}}


class AssessmentProposal(BaseModel):
    """Periods proposed from the response's start: the month it started in is left out when
    it started after the 1st (that month holds both before and after)."""

    before_first: str | None
    before_last: str | None
    after_first: str | None
    after_last: str | None
    categories: list[str]
    response_start: date | None
    data_first: str | None = Field(description="The first month of imported street crime")
    data_last: str | None
    target: str | None
    buffer: str | None
    control: str | None
    problems: list[str] = Field(description="What stops an assessment now, in words")


class AreaFigures(BaseModel):
    name: str
    before: int
    after: int
    percent_change: float | None
    reading: str


class OddsRatioRead(BaseModel):
    value: float | None
    low: float | None
    high: float | None
    log: float | None
    variance: float | None
    low_adjusted: float | None = Field(None, description="The interval with the variance "
                                       "inflated by the months' dispersion (Welsh & Farrington)")
    high_adjusted: float | None = None
    reading: str


class RateRatioRead(BaseModel):
    """RIRR = (target after / before) / (control after / before) = 1 / odds ratio: below 1,
    crime in the target fell relative to the control."""

    value: float | None
    low: float | None
    high: float | None
    percent_change: float | None = Field(description="(RIRR − 1) × 100, relative to control")
    reading: str


class ModelRead(BaseModel):
    """The monthly counts fitted as a difference-in-differences count model."""

    method: str | None = Field(description="quasi-Poisson or negative binomial (NB2); null "
                               "when it could not be fitted")
    rirr: float | None
    low: float | None
    high: float | None
    dispersion: float | None = Field(description="Pearson X²/df of the Poisson fit: how many "
                                     "times more the months vary than Poisson assumes")
    alpha: float | None = Field(None, description="NB2's overdispersion, when chosen")
    fit: str = Field("", description="The fit, and the test that chose the model")
    reading: str


class Caution(BaseModel):
    code: str = Field(description="small_counts, unreliable_trend, wdq_withheld, "
                                  "overdispersed, older_snapshot, ...")
    message: str


class DisplacementRead(BaseModel):
    success_measure: float | None
    buffer_displacement_measure: float | None
    wdq: float | None
    reading: str


class NetEffectRead(BaseModel):
    value: float | None
    reading: str


class MonthlySeries(BaseModel):
    months: list[str]
    target: list[int]
    buffer: list[int] | None
    control: list[int] | None


class BatchUsed(BaseModel):
    id: int
    source: str
    sha256: str
    first_month: date | None
    last_month: date | None


class SnapshotRead(BaseModel):
    number: int
    created_at: datetime
    created_by: str | None
    before_first: date
    before_last: date
    after_first: date
    after_last: date
    months: int = Field(description="The length of each period, in months")
    categories: list[str]
    response_start: date | None
    target: AreaFigures
    buffer: AreaFigures | None
    control: AreaFigures | None
    odds_ratio: OddsRatioRead
    rirr: RateRatioRead | None = Field(description="Null on snapshots saved before it existed")
    model: ModelRead | None = Field(description="Null on snapshots saved before it existed")
    displacement: DisplacementRead
    total_net_effect: NetEffectRead
    design: str | None = Field(description="The evaluation design")
    sms_level: int | None = Field(description="Its level on the Maryland Scientific Methods "
                                  "Scale: 2 before/after only, 3 with a control area, 4 "
                                  "several treated and untreated hotspots, 5 randomised")
    warnings: list[Caution] = Field(description="What the numbers are too small (or too "
                                    "uneven) to support")
    harm: HarmRead | None = Field(description="Harm-weighted changes beside the counts; null "
                                  "when the force had no harm-weight table loaded")
    monthly: MonthlySeries
    areas: dict[str, Any] = Field(description="The areas' shapes as counted (GeoJSON, WGS84)")
    batches: list[BatchUsed]
    note: str
    changes_since_previous: list[str] = Field(
        description="What differs from the snapshot before it: periods, areas, data counted, "
                    "figures")


class HarmTableUsed(BaseModel):
    id: int
    name: str
    version: str
    source: str
    weights: dict[str, float] = Field(description="The weight of each police.uk category")


class HarmArea(BaseModel):
    before: float = Field(description="Sum of weight x crimes in the before period")
    after: float
    percent_change: float | None


class HarmRatioRead(BaseModel):
    value: float | None = Field(description="(target after / before) / (control after / "
                                "before) of the weighted harm: below 1, harm fell more in the "
                                "target")
    low: float | None = Field(description="95% interval, delta method, counts as Poisson")
    high: float | None
    percent_change: float | None
    reading: str


class HarmRead(BaseModel):
    table: HarmTableUsed
    target: HarmArea
    buffer: HarmArea | None
    control: HarmArea | None
    ratio: HarmRatioRead


class EvaluationRow(BaseModel):
    ref: str
    title: str
    borough: str
    stage: Stage
    outcome: Outcome | None
    snapshot: int | None = Field(description="The case's latest saved assessment")
    saved_at: datetime | None
    before_first: date | None
    after_last: date | None
    target_before: int | None
    target_after: int | None
    target_percent_change: float | None
    odds_ratio: float | None
    odds_ratio_low: float | None
    odds_ratio_high: float | None
    wdq: float | None
    total_net_effect: float | None
    reading: str


class PooledRead(BaseModel):
    hotspots: int = Field(description="Hotspots with a defined odds ratio")
    odds_ratio: float | None
    low: float | None
    high: float | None
    log: float | None
    standard_error: float | None
    q: float | None = Field(description="Cochran's Q (null with fewer than two hotspots)")
    i_squared: float | None = Field(description="Heterogeneity, percent")
    reading: str


class RandomPooledRead(BaseModel):
    """The random-effects pooled odds ratio: the one to believe when the hotspots differ."""

    hotspots: int
    odds_ratio: float | None
    low: float | None = Field(description="Hartung–Knapp 95% interval")
    high: float | None
    tau_squared: float | None = Field(description="The spread of the hotspots' true log odds "
                                      "ratios (DerSimonian–Laird)")
    prediction_low: float | None = Field(description="95% prediction interval: where a new "
                                         "hotspot's effect would lie (needs three hotspots)")
    prediction_high: float | None
    q_p: float | None = Field(None, description="The p-value of Cochran's Q")
    reading: str = Field(description="The answer, and whether to believe it or the fixed "
                         "effect")


class AllocatedHotspot(BaseModel):
    ref: str
    title: str
    block: int
    group: Group
    baseline: int = Field(description="Crime in the baseline months, which matched the blocks")
    patrols_since: int = Field(description="Patrols logged on it since the allocation")


class GroupBalance(BaseModel):
    hotspots: int
    baseline_total: int
    baseline_mean: float


class BalanceRead(BaseModel):
    patrolled: GroupBalance
    comparison: GroupBalance
    standardised_difference: float | None = Field(description="Of the baselines (Cohen's d)")
    reading: str


class GroupCounts(BaseModel):
    before: int
    after: int


class GroupEvaluation(BaseModel):
    """The patrolled hotspots against the comparison hotspots over the monthly series."""

    before_first: date
    before_last: date
    after_first: date | None
    after_last: date | None
    months_without_data: list[str] = Field(description="Months left out: none of the force's "
                                           "crime data is imported for them")
    patrolled: GroupCounts
    comparison: GroupCounts
    method: str | None = Field(description="quasi-Poisson or negative binomial (NB2), with "
                               "an effect for each hotspot and each month")
    rirr: float | None = Field(description="Rate ratio of the patrolled hotspots' change to "
                               "the comparison hotspots' (below 1: crime fell more where "
                               "patrolled)")
    low: float | None
    high: float | None
    percent_change: float | None
    dispersion: float | None
    fit: str
    reading: str


class AllocationRead(BaseModel):
    method: Method
    method_label: str
    block_size: int
    seed: int
    made_at: datetime
    made_by: str | None
    starts: date = Field(description="The first month of patrols")
    baseline_first: date
    baseline_last: date
    categories: list[str]
    note: str
    repeat: str = Field(description="How to repeat the allocation from its seed")
    design: str
    sms_level: int
    hotspots: list[AllocatedHotspot] = Field(description="The allocated hotspots the caller may "
                                             "read")
    hotspots_not_shown: int = Field(description="Allocated hotspots outside the caller's areas: "
                                    "they count in every figure, but are not named")
    balance: BalanceRead
    patrols_on_comparison: int = Field(description="Patrols logged on comparison hotspots since "
                                       "the allocation: each one weakens the comparison")
    joined_since: list[str] = Field(description="Cases of the operation that are not in the "
                                    "allocation")
    evaluation: GroupEvaluation
    warnings: list[Caution]


class OperationEvaluation(BaseModel):
    operation: int
    name: str
    rows: list[EvaluationRow]
    pooled: PooledRead
    pooled_random: RandomPooledRead
    allocation: AllocationRead | None = Field(
        description="The operation's randomised allocation of hotspots and the patrolled "
                    "against the comparison hotspots; null unless it was randomised")
    design: str = Field(description="The operation's evaluation design")
    sms_level: int | None = Field(description="Its level on the Maryland Scientific Methods "
                                  "Scale (null before any hotspot is assessed)")
    method: str
