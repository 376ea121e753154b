"""Settings read from the environment (prefix ``POPCASE_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POPCASE_", extra="ignore")

    database_url: str = "sqlite:///./popcase.db"
    # Sessions: signed out after this much inactivity, and after this long whatever happens.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Sign-in throttling per username: a growing wait from `slow_after` failures, then a lock.
    signin_slow_after: int = 3
    signin_lock_after: int = 6
    signin_lock_minutes: int = 15
    # "auto": Secure cookies when the request came over HTTPS (directly or via a trusted proxy).
    cookie_secure: str = "auto"
    # Shown on every page; "demo" adds a banner so nobody mistakes demo data for real cases.
    environment: str = "production"
    # Map background tiles, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind the tile
    # server's usage policy). Empty: no tiles at all; maps draw areas on a plain background.
    map_tiles_url: str = ""
    map_attribution: str = ""
    # Largest police.uk upload accepted on the Data page (the command line has no limit).
    max_upload_mb: int = 500
    sql_echo: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
