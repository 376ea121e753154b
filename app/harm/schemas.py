from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.cases.schemas import Input, LongText


class HarmTableCreate(Input):
    name: str = Field(min_length=2, max_length=100, description="The index, e.g. Cambridge "
                      "Crime Harm Index")
    version: str = Field(min_length=1, max_length=50, description="Its version or year, as "
                         "the source names it")
    source: str = Field(min_length=5, max_length=2000, description="Where the weights come "
                        "from: a citation or address, and how the force averaged offences into "
                        "police.uk categories")
    note: LongText = ""
    weights: dict[str, float] = Field(description="A weight (0 or more) for every police.uk "
                                      "category slug")

    model_config = ConfigDict(
        str_strip_whitespace=True, extra="forbid",
        json_schema_extra={"examples": [{
            "name": "Force harm index", "version": "2025",
            "source": "Mean Cambridge Crime Harm Index days of the force's recorded offences "
                      "in each police.uk category, 2024-25",
            "weights": {"violent-crime": 120.5, "anti-social-behaviour": 0}}]},
    )


class HarmTableRead(BaseModel):
    id: int
    force: str
    name: str
    version: str
    source: str
    note: str
    loaded_at: datetime
    loaded_by: str | None
    in_use: bool = Field(description="The force's latest table: the one the hotspot finder and "
                         "new assessments weigh by")
    weights: dict[str, float]
