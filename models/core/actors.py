"""Who or what caused a change: recorded on every audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "job", "channel", "supplier", "system", "api"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str

    @classmethod
    def user(cls, username: str) -> Actor:
        return cls("user", username)

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls("job", name)

    @classmethod
    def channel(cls, name: str) -> Actor:
        return cls("channel", name)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "waybill")

    def describe(self) -> str:
        return self.name if self.kind == "user" else f"{self.kind}: {self.name}"
