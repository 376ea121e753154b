"""Where the folders shipped beside the package are: kept apart from app.main so that the
command line finds its migrations without loading the web application."""

from __future__ import annotations

from pathlib import Path


def resource_dir(name: str) -> Path:
    """``static`` or ``migrations``: beside the package in a checkout, inside it when installed."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / name, package / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"cannot find the {name} folder")
