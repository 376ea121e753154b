"""A force's harm-weight tables over JSON: read them, load a new version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.api.deps import ApiActor, Db
from app.api.errors import ERROR_RESPONSES
from app.harm import service
from app.harm.schemas import HarmTableCreate, HarmTableRead

router = APIRouter(tags=["forces and areas"], responses=ERROR_RESPONSES)
ForceIdPath = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$",
                                  examples=["north-wales"], description="police.uk id")]


@router.get("/forces/{force_id}/harm-weights", response_model=list[HarmTableRead],
            summary="A force's harm-weight tables, newest (the one in use) first")
def list_tables(actor: ApiActor, db: Db, force_id: ForceIdPath) -> list[HarmTableRead]:
    return [service.table_read(db, t) for t in service.tables(db, actor, force_id)]


@router.post("/forces/{force_id}/harm-weights", response_model=HarmTableRead,
             status_code=status.HTTP_201_CREATED,
             summary="Load a harm-weight table (analysts and administrators)")
def load_table(actor: ApiActor, db: Db, force_id: ForceIdPath, data: HarmTableCreate,
               response: Response) -> HarmTableRead:
    """One weight, 0 or more, for every police.uk category slug, with the table's source and
    version. The new table is the one in use from now on: the hotspot finder can rank by it,
    and new assessments give harm-weighted changes beside counts. Old tables are kept, and
    snapshots record the weights they used. The same name and version twice is refused."""
    table = service.load_table(db, actor, force_id, data)
    response.headers["Location"] = f"/api/v1/forces/{force_id}/harm-weights"
    return service.table_read(db, table)
