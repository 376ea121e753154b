"""Settings read from the environment (prefix ``POPCASE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POPCASE_", extra="ignore")

    database_url: str = "sqlite:///./popcase.db"
    # Sessions: signed out after this much inactivity, and after this long whatever happens.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Sign-in throttling per username *and* client address, never a lock: from `slow_after`
    # failures each further one doubles the wait (2 s, 4 s, ...) up to `max_wait_seconds`; an
    # address's failures over every username slow it from `address_slow_after`; failures are
    # forgotten after `forget_hours` without one.
    signin_slow_after: int = 3
    signin_address_slow_after: int = 20
    signin_max_wait_seconds: int = 900
    signin_forget_hours: int = 24
    # Addresses of the reverse proxies whose X-Forwarded-For is believed (comma-separated, or
    # "*"): the client address that sign-in throttling and the access log use.
    forwarded_allow_ips: str = "127.0.0.1"
    # API requests per token: `limits` notation ("600/minute", "10/second;10000/day"); empty:
    # no limit. Counted in the database (every server process shares the count) unless
    # `api_rate_limit_storage` names a `limits` storage such as redis://host:6379.
    api_rate_limit: str = "600/minute"
    api_rate_limit_storage: str = "database"
    # "auto": Secure cookies when the request came over HTTPS (directly or via a trusted proxy).
    cookie_secure: str = "auto"
    # Shown on every page; "demo" adds a banner so nobody mistakes demo data for real cases.
    environment: str = "production"
    # Map background tiles, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind the tile
    # server's usage policy). Empty: no tiles at all; maps draw areas on a plain background.
    map_tiles_url: str = ""
    map_attribution: str = ""
    # Largest request body of JSON or form fields, refused with 413 before it is parsed: room
    # for a 20,000-point area at full precision; worst case, a second or less to refuse.
    max_body_kb: int = 1024
    # Largest police.uk upload accepted on the Data page (the command line has no limit),
    # refused while it streams in.
    max_upload_mb: int = 500
    # Largest boundary (GeoJSON) file accepted on the Data and force pages.
    boundary_max_mb: int = 100
    # Zip archives (police.uk downloads, case files), checked before any member is read: how
    # many files, how large each unpacked, and how far compressed (a zip bomb's is extreme).
    zip_max_members: int = 10_000
    zip_max_member_mb: int = 1024
    zip_max_ratio: int = 200
    # Longest line of a police.uk CSV file (its rows are a few hundred bytes).
    csv_max_line_kb: int = 64
    sql_echo: bool = False
    # Attachments (photos and documents on cases): the folder their files are kept in, by
    # content hash. Empty: beside the SQLite file (``<name>-attachments``), or
    # ``./data/attachments`` for a server database.
    attachments_dir: str = ""
    # Largest photo or document accepted, checked while it streams in.
    attachment_max_mb: int = 25
    # Largest photo accepted, in pixels (width x height) and along either side: checked from
    # the file's header before the image is decoded (decompression bombs).
    attachment_max_pixels: int = 50_000_000
    attachment_max_side: int = 12_000
    # E-mail notifications (people opt in per kind). An empty host turns e-mail off.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_from: str = "popcase@localhost"
    smtp_timeout_seconds: float = 20
    # The address people reach popcase at: e-mail links are this plus a page's path.
    base_url: str = "http://localhost:8000"
    # The daily digest goes at or after this hour, London time.
    digest_hour: int = 7
    # Produce and send notifications from inside `popcase serve` every so many minutes
    # (0: off; run `popcase notify` from cron or a scheduler instead).
    notify_every_minutes: float = 0
    # Import jobs (police.uk uploads, `popcase import police-uk --queue`): the folder their files
    # wait in for a worker; every worker must read it (a shared volume across machines). Empty:
    # beside the SQLite file (``<name>-imports``), or ``./data/imports`` for a server database.
    import_jobs_dir: str = ""
    # A worker renews its lease on a job every third of this many seconds; a job whose lease
    # has lapsed (its worker died) is taken up by the next worker that looks, from the start.
    import_lease_seconds: float = 30
    # How often an idle worker looks for a queued job.
    import_poll_seconds: float = 2
    # A job whose worker died this many times is marked failed rather than tried again.
    import_max_attempts: int = 3
    # A worker loop inside each `popcase serve` process: "auto" runs one on SQLite only
    # (PostgreSQL deployments run `popcase worker` processes, or set "on").
    import_worker_in_server: Literal["auto", "on", "off"] = "auto"
    # Signed checkpoints of the access log (see README, "The access log"). The Ed25519 private
    # key that signs them, kept outside the database: a PEM file, or the key itself (PEM, or
    # its 32 bytes in base64) in the environment.
    audit_key_file: str = ""
    audit_key: str = ""
    # The public key `popcase audit verify --checkpoints` checks signatures with (else the one
    # of the private key above).
    audit_public_key_file: str = ""
    # Where checkpoints are written automatically: an append-only file, or "-" for standard
    # output (an external witness such as the journal). Empty: only `popcase audit checkpoint`.
    audit_checkpoint_file: str = ""
    # Automatic checkpoints: after the commit that takes the log past every N-th entry, and
    # every M minutes from `popcase serve` when the log has grown (0 turns either off).
    audit_checkpoint_every_entries: int = 1000
    audit_checkpoint_every_minutes: float = 10
    # Sign-in with the force's identity provider (OpenID Connect, authorization code + PKCE).
    # The issuer URL (its /.well-known/openid-configuration is read), e.g. for Microsoft Entra
    # ID https://login.microsoftonline.com/<tenant id>/v2.0. Empty: provider sign-in is off.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    # The claim listing the person's groups or roles (Entra ID: "groups" or "roles").
    oidc_groups_claim: str = "groups"
    # How a first sign-in finds an existing account: "email" (the e-mail claim, only when the
    # provider says it is verified), "username" (preferred_username equal to the username), or
    # "none" (always a new account). See README, "Sign-in with the force's identity provider".
    oidc_match_by: Literal["email", "username", "none"] = "email"
    oidc_button_text: str = "Sign in with your force account"
    # Seconds of clock difference allowed when checking the ID token's times.
    oidc_leeway_seconds: int = 60
    # False: the sign-in page offers only the identity provider; passwords are refused.
    password_signin: bool = True
    # Who may read /metrics (see README, "Metrics"): a bearer token the scraper sends, and/or
    # the addresses or networks it scrapes from (comma-separated, e.g. "10.0.5.0/24"). With
    # both set a scrape needs both; with neither, /metrics does not exist (404).
    metrics_token: str = ""
    metrics_allow: str = ""


def oidc_enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def attachments_folder(settings: Settings) -> Path:
    """Where attachment files live (see ``Settings.attachments_dir``)."""
    if settings.attachments_dir:
        return Path(settings.attachments_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return database.with_name(f"{database.stem}-attachments")
    return Path("data") / "attachments"


def import_jobs_folder(settings: Settings) -> Path:
    """Where queued import files wait (see ``Settings.import_jobs_dir``)."""
    if settings.import_jobs_dir:
        return Path(settings.import_jobs_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return database.with_name(f"{database.stem}-imports")
    return Path("data") / "imports"


def worker_in_server(settings: Settings) -> bool:
    if settings.import_worker_in_server == "auto":
        return make_url(settings.database_url).get_backend_name() == "sqlite"
    return settings.import_worker_in_server == "on"


@lru_cache
def get_settings() -> Settings:
    return Settings()
