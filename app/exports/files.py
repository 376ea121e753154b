"""The case file as a zip: writing it, and reading it back with its checksums and schema
verified before anything else is trusted."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from app import __version__
from app.bounds import ZipBounds, ZipRefused, check_zip
from app.exports.schemas import FORMAT, VERSION, CaseFile, case_file_schema

SCHEMA_FILE = Path(__file__).parent / "case-file.schema.json"
MANIFEST = "manifest.json"
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # a case file member bigger than this is refused
# A case file holds case.json, the manifest, CSVs, a report and the attachments' files; JSON
# compresses well, but never near the ratio of a zip bomb.
CASE_FILE_BOUNDS = ZipBounds(max_members=20_000, max_member_bytes=MAX_MEMBER_BYTES,
                             max_ratio=200)

CSV_COLUMNS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "actions.csv": ("The response plan's actions.", [
        ("key", "The action's number in the file"), ("title", "What is to be done"),
        ("tactic", "Situational crime prevention technique or other tactic (key)"),
        ("tactic_label", "The tactic's name"), ("partner", "The lead agency"),
        ("owner", "Who sees it done"), ("due_date", "YYYY-MM-DD"),
        ("status", "planned, in_progress, done or cancelled"),
        ("completed_on", "YYYY-MM-DD"), ("notes", "Notes"),
        ("assigned_to", "The popcase user who carries it (name)")]),
    "patrols.csv": ("Hotspot patrols: one row a visit.", [
        ("key", "The patrol's number in the file"),
        ("started_at", "UTC, ISO 8601 (to the minute)"), ("ended_at", "UTC; empty while it ran"),
        ("minutes", "Length in whole minutes"),
        ("band", "short (under 10 minutes), in_band (10 to 15) or long (over 15)"),
        ("kind", "foot, vehicle or high_visibility"), ("officers", "Who patrolled"),
        ("place", "Where"), ("live", "true when recorded with the start and end buttons"),
        ("notes", "Notes")]),
    "outputs.csv": ("Operational outputs. A correction is a new row; the row it corrects "
                    "counts in no total.", [
        ("key", "The entry's number in the file"), ("on", "The day, YYYY-MM-DD"),
        ("kind", "arrests, stop_searches, knives, firearms, other_weapons, drug_seizures, "
                 "community_engagements or intelligence_submissions"),
        ("count", "A whole number, 0 or more"), ("patrol", "The patrol's key, if any"),
        ("corrects", "The key of the entry this one corrects"),
        ("in_force", "true if no later entry corrects it (it counts in the totals)"),
        ("reason", "Why it was corrected"), ("notes", "Notes")]),
    "partners.csv": ("The case's partner agencies, leads first.", [
        ("key", "The partner's number in the file"), ("agency", "The agency's name"),
        ("kind", "council, housing, transport, school, business, health, youth-service or "
                 "charity"), ("role", "lead, member or informed"),
        ("contact", "The contact's name (a placeholder when redacted or withheld)"),
        ("job_title", "The contact's role"), ("phone", "The contact's telephone"),
        ("email", "The contact's e-mail")]),
    "timeline.csv": ("Notes, significant edits and every stage move, oldest first.", [
        ("at", "UTC, ISO 8601"), ("kind", "created, edited, note, moved, hypothesis, action, "
                                          "patrol, output, community, review, assessment, "
                                          "supervisory_review, handover, partner or "
                                          "attachment"),
        ("actor", "Who"), ("summary", "What happened"), ("body", "Note or reason"),
        ("from_stage", "For moves"), ("to_stage", "For moves"),
        ("overridden", "true when a gate was overridden")]),
    "crimes.csv": ("police.uk street-level crimes in the target area, buffer ring and control "
                   "area, in the periods and crime types of the latest impact assessment, as "
                   "the data stood at export (import_source names the file each came from; "
                   "the assessment lists the files it counted).", [
        ("area", "target, buffer or control"), ("period", "before or after"),
        ("month", "YYYY-MM"), ("crime_id", "police.uk Crime ID (empty for anti-social "
                                           "behaviour)"),
        ("category", "police.uk category slug"), ("longitude", "WGS84 (an anonymised snap "
                                                               "point)"),
        ("latitude", "WGS84"), ("location", "police.uk location text"),
        ("lsoa_code", "LSOA (ONS code)"), ("lsoa_name", "LSOA name, as police.uk gives it"),
        ("last_outcome", "Last outcome category"),
        ("import_source", "The file it was imported from")]),
}


class CaseFileError(ValueError):
    """A case file that cannot be trusted: it is refused whole, with the reason."""


@cache
def published_schema() -> dict[str, Any]:
    """The schema as shipped (a test keeps it equal to the one the models generate)."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def generated_schema() -> dict[str, Any]:
    return case_file_schema()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def readme(ref: str, redacted: bool) -> bytes:
    lines = [f"popcase case file for {ref} (format {FORMAT}, version {VERSION})", "",
             "manifest.json  what is in the file, when and by whom it was exported, and the "
             "SHA-256 of every other file",
             "case.json      the whole case; its JSON Schema is case-file.schema.json in "
             "popcase and /api/v1/schemas/case-file.json",
             "report.html    the case as a printable write-up (open it in any browser)", ""]
    if redacted:
        lines += ["This file is redacted: see manifest.json (redaction).", ""]
    for name, (about, columns) in CSV_COLUMNS.items():
        lines.append(f"{name}: {about}")
        lines += [f"  {column:<14} {meaning}" for column, meaning in columns]
        lines.append("")
    return "\r\n".join(lines).encode("utf-8")


def write_zip(members: dict[str, bytes], manifest: dict[str, Any]) -> bytes:
    """The zip: the manifest (with a checksum per member) first, then the members."""
    manifest = {**manifest, "files": {name: sha256(data) for name, data in members.items()}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def manifest_for(ref: str, exported_by: str, reason: str,
                 redaction: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "popcase_version": __version__,
            "exported_at": now(),
            "exported_by": exported_by, "case": ref, "reason": reason,
            "redaction": redaction}


def dumps(file: CaseFile) -> bytes:
    return json.dumps(file.model_dump(mode="json"), indent=2, ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def read_case_file(content: bytes) -> tuple[dict[str, Any], CaseFile]:
    """Verify a case file zip: every member listed in the manifest with the right SHA-256,
    nothing unlisted, ``case.json`` valid against the schema. The manifest and the case."""
    try:
        archive = check_zip(io.BytesIO(content), CASE_FILE_BOUNDS)
    except zipfile.BadZipFile:
        raise CaseFileError("This is not a zip file.") from None
    except ZipRefused as refused:
        raise CaseFileError(f"This is not a case file popcase reads: {refused}") from None
    with archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
        if MANIFEST not in names:
            raise CaseFileError("The file has no manifest.json: it is not a popcase case "
                                "file.")
        manifest = _json(archive.read(MANIFEST), MANIFEST)
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise CaseFileError(f"The manifest is not of format {FORMAT} version {VERSION}.")
        listed = manifest.get("files")
        if not isinstance(listed, dict) or "case.json" not in listed:
            raise CaseFileError("The manifest lists no files, or not case.json.")
        unlisted = sorted(set(names) - set(listed) - {MANIFEST})
        if unlisted:
            raise CaseFileError(f"{unlisted[0]} is in the file but not in its manifest.")
        for name, digest in listed.items():
            if name not in names:
                raise CaseFileError(f"{name} is listed in the manifest but missing.")
            if sha256(archive.read(name)) != digest:
                raise CaseFileError(f"{name} does not match its checksum in the manifest: "
                                    "the file was changed after it was exported.")
        data = _json(archive.read("case.json"), "case.json")
    errors = sorted(jsonschema.Draft202012Validator(published_schema()).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(the top)"
        raise CaseFileError(f"case.json does not follow the case file schema at {where}: "
                            f"{errors[0].message}")
    return manifest, CaseFile.model_validate(data)


def _json(content: bytes, name: str) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CaseFileError(f"{name} is not valid JSON in UTF-8.") from None
