"""A scripted provider for testing the base class, failover and the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pydantic import BaseModel, SecretStr

from herald.channels.base import DeliveryResult, EmailMessage, Provider
from herald.channels.circuit import CircuitBreaker


class FakeSettings(BaseModel):
    token: SecretStr
    region: str = "eu"


Behaviour = Callable[[EmailMessage], DeliveryResult]


class FakeProvider(Provider[EmailMessage, FakeSettings]):
    """Answers each send with the next behaviour: a function that returns or raises."""

    channel: ClassVar[str] = "email"
    name: ClassVar[str] = "fake"
    Settings: ClassVar[type[BaseModel]] = FakeSettings

    def __init__(
        self, settings: FakeSettings | None = None, *, circuit: CircuitBreaker | None = None
    ) -> None:
        super().__init__(settings or FakeSettings(token=SecretStr("t")), circuit=circuit)
        self.behaviours: list[Behaviour] = []
        self.calls = 0

    async def _send(self, message: EmailMessage) -> DeliveryResult:
        self.calls += 1
        return self.behaviours.pop(0)(message)


def delivered(message: EmailMessage) -> DeliveryResult:
    return DeliveryResult(provider_message_id=f"id-{message.delivery_id}", receipt="ok")


def raising(error: BaseException) -> Behaviour:
    def behaviour(_message: EmailMessage) -> DeliveryResult:
        raise error

    return behaviour


def sample(delivery_id: str = "d-1") -> EmailMessage:
    return EmailMessage(
        delivery_id=delivery_id,
        recipient="ann@example.org",
        from_="noreply@herald.example",
        subject="Hi",
        text="Hello",
    )
