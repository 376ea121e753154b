"""Column type for Python enums: stored as their values in a VARCHAR with a CHECK.

Native PostgreSQL enums break downgrade/upgrade round trips, and SQLAlchemy would otherwise
store member *names*; values are what the API and the CSV exports show.
"""

from __future__ import annotations

from enum import Enum as PyEnum

from sqlalchemy import Enum


def str_enum(enum_cls: type[PyEnum], *, length: int = 32, name: str | None = None) -> Enum:
    return Enum(
        enum_cls,
        name=name or enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
