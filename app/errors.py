"""Errors raised by services; the API and the pages each turn them into their own answer."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Also raised for records outside the user's scope, so that their existence never leaks."""

    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(DomainError):
    code = "validation_error"

    def __init__(self, errors: list[FieldError]) -> None:
        noun = "field is" if len(errors) == 1 else "fields are"
        super().__init__(f"{len(errors)} {noun} not valid.")
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])
