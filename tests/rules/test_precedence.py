"""Which choice wins, read in place (``decide.allowed``) exactly as on the merged document the
preferences routes answer (``store.merge``): the category's choice (the user's, else the
defaults'), then the channel's (likewise), else on."""

from __future__ import annotations

from itertools import product
from typing import Any

from herald.rules.decide import allowed
from herald.rules.store import merge

CHOICES: list[dict[str, Any]] = [
    {},
    {"channels": {"email": False}},
    {"channels": {"email": True}},
    {"categories": {"news": {"email": False}}},
    {"categories": {"news": {"email": True}}, "channels": {"email": False}},
    {"categories": {"news": {"sms": False}}, "channels": {"email": True}},
]


def test_reading_in_place_agrees_with_the_merged_document() -> None:
    for own, defaults in product(CHOICES, CHOICES):
        merged = merge([defaults, own])
        via_merge = merged["categories"].get("news", {}).get("email")
        if via_merge is None:
            via_merge = merged["channels"].get("email")
        assert allowed(own, defaults, "news", "email") is (via_merge is not False), (own, defaults)


def test_the_users_channel_choice_does_not_beat_a_default_category_choice() -> None:
    defaults = {"categories": {"news": {"email": False}}}
    assert allowed({"channels": {"email": True}}, defaults, "news", "email") is False
    assert allowed({"categories": {"news": {"email": True}}}, defaults, "news", "email") is True
