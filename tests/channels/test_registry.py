"""The provider registry: entry points, lookup, settings schemas."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from pydantic import ValidationError

from herald.channels import registry as registry_module
from herald.channels.email.smtp import SmtpProvider
from herald.channels.registry import ProviderRegistry, UnknownProvider
from tests.channels.fakes import FakeProvider


def test_smtp_is_installed_through_its_entry_point() -> None:
    registry = ProviderRegistry.from_entry_points()
    assert registry.get("email", "smtp") is SmtpProvider
    [smtp] = [info for info in registry.list() if (info.channel, info.name) == ("email", "smtp")]
    url = smtp.settings_schema["properties"]["url"]
    assert url["writeOnly"] is True
    assert smtp.settings_schema["required"] == ["url"]


async def test_create_validates_the_settings() -> None:
    registry = ProviderRegistry([SmtpProvider, FakeProvider])
    provider = registry.create("email", "smtp", {"url": "smtp://mail.example.org"})
    assert isinstance(provider, SmtpProvider)
    await provider.aclose()
    with pytest.raises(ValidationError):
        registry.create("email", "smtp", {"url": "smtp://mail.example.org", "colour": "red"})


def test_list_is_sorted() -> None:
    registry = ProviderRegistry([SmtpProvider, FakeProvider])
    assert [(i.channel, i.name) for i in registry.list()] == [("email", "fake"), ("email", "smtp")]


def test_unknown_provider() -> None:
    with pytest.raises(UnknownProvider, match=r"sms\.nope"):
        ProviderRegistry([]).get("sms", "nope")


def test_duplicate_registration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"email\.fake"):
        ProviderRegistry([FakeProvider, FakeProvider])


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("email.smtp", "herald.channels.base:DeliveryResult", TypeError),
        ("email.other", "herald.channels.email.smtp:SmtpProvider", ValueError),
    ],
)
def test_broken_entry_points_fail_loudly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, error: type[Exception]
) -> None:
    entry = EntryPoint(name=name, value=value, group=registry_module.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [entry])
    with pytest.raises(error):
        ProviderRegistry.from_entry_points()
