"""Providers by (channel, name), loaded from the ``herald.providers`` entry-point group.

A third party adds a provider by installing a package that declares, for example,
``"sms.acme" = "acme_herald:AcmeProvider"`` in that group; nothing here names a provider.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from herald.channels.base import Provider

ENTRY_POINT_GROUP = "herald.providers"

ProviderClass = type[Provider[Any, Any]]


class UnknownProvider(LookupError):
    """No provider is installed under that channel and name."""


@dataclass(frozen=True)
class ProviderInfo:
    """A provider as the CLI, the docs and ``/v1/providers`` describe it."""

    channel: str
    name: str
    settings_schema: Mapping[str, Any]


class ProviderRegistry:
    """The installed provider classes, keyed by (channel, name)."""

    def __init__(self, providers: Iterable[ProviderClass]) -> None:
        self._classes: dict[tuple[str, str], ProviderClass] = {}
        for cls in providers:
            key = (cls.channel, cls.name)
            if key in self._classes:
                raise ValueError(f"two providers registered as {key[0]}.{key[1]}")
            self._classes[key] = cls

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> ProviderRegistry:
        """Load every provider installed under ``group``; a broken one fails loudly."""
        return cls(_load(entry) for entry in entry_points(group=group))

    def get(self, channel: str, name: str) -> ProviderClass:
        """The provider class for (channel, name)."""
        try:
            return self._classes[(channel, name)]
        except KeyError:
            raise UnknownProvider(f"no provider {channel}.{name} is installed") from None

    def create(self, channel: str, name: str, settings: Mapping[str, Any]) -> Provider[Any, Any]:
        """Validate ``settings`` against the provider's model and build the provider."""
        return self.get(channel, name).from_config(settings)

    def list(self) -> list[ProviderInfo]:
        """Every installed provider with its settings' JSON Schema, sorted by channel and name."""
        return [
            ProviderInfo(channel, name, cls.Settings.model_json_schema())
            for (channel, name), cls in sorted(self._classes.items())
        ]


def installed_channels(group: str = ENTRY_POINT_GROUP) -> set[str]:
    """The channels some installed provider sends on, read from the entry points' names
    (``"<channel>.<name>"``) without importing the providers."""
    return {entry.name.split(".", 1)[0] for entry in entry_points(group=group)}


def _load(entry: EntryPoint) -> ProviderClass:
    """Import one entry point and check it is a provider registered under its own name."""
    loaded = entry.load()
    if not (isinstance(loaded, type) and issubclass(loaded, Provider)):
        raise TypeError(f"entry point {entry.name} is not a Provider subclass")
    if entry.name != f"{loaded.channel}.{loaded.name}":
        raise ValueError(
            f"entry point {entry.name} names {loaded.channel}.{loaded.name}; they must agree"
        )
    return loaded


@functools.cache
def installed_providers() -> ProviderRegistry:
    """The providers installed in this process (entry points are read once)."""
    return ProviderRegistry.from_entry_points()
