from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum

from app.auth.models import User
from app.errors import NotFound


class Channel(StrEnum):
    WEB = "web"
    API = "api"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who is acting, and from where: every service call that reads or changes case data gets one,
    so that the permission check and the access-log entry have what they need."""

    user: User | None
    channel: Channel
    request_id: str = ""
    client_addr: str = ""
    operator: str = ""  # who ran a command when no user is signed in, e.g. "cli:root"

    @property
    def username(self) -> str:
        return self.user.username if self.user else self.operator

    @classmethod
    def cli(cls) -> Actor:
        """The machine's operator running a ``popcase`` command."""
        return cls(user=None, channel=Channel.CLI, client_addr="local",
                   operator=f"cli:{getpass.getuser()}")


def acting_user(actor: Actor) -> User:
    """The signed-in user behind ``actor``: a use case that needs one refuses an operator."""
    if actor.user is None:
        raise NotFound("Sign in first.")
    return actor.user
