"""``/openapi.json`` of a real ``herald serve`` documents every field of the delivery rules: the
rules on types and templates, the defaults' ``frequency_cap`` and a delivery's ``reason`` and
``due_at`` (API.md lists only some of them; docs/rules.md has them at length)."""

from __future__ import annotations

from tests.rules.conftest import Rig

DOCUMENTED = {
    "TypeIn": ("mandatory", "frequency_cap", "digest", "escalation"),
    "TypeOut": ("mandatory", "frequency_cap", "digest", "escalation"),
    "TemplateIn": ("category", "mandatory", "frequency_cap", "digest"),
    "TemplateOut": ("category", "mandatory", "frequency_cap", "digest"),
    "PreferencesIn": ("channels", "categories", "quiet_hours", "frequency_cap"),
    "PreferencesOut": ("channels", "categories", "quiet_hours", "frequency_cap"),
    "DeliveryOut": ("reason", "due_at"),
    "DeliverySummaryOut": ("reason",),
    "Envelope": ("escalation",),
}


async def test_every_rules_field_has_a_description(rig: Rig) -> None:
    async with rig.herald.client() as http:
        spec = (await http.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    missing = [
        f"{name}.{field}"
        for name, fields in DOCUMENTED.items()
        for field in fields
        if not schemas[name]["properties"][field].get("description")
    ]
    assert missing == []
    assert "in_app" in schemas["DeliveryOut"]["properties"]["reason"]["description"]
    assert "`per`" in schemas["PreferencesIn"]["properties"]["frequency_cap"]["description"]
    types = spec["paths"]["/v1/notification-types/{type_}/{sub_type}"]["put"]["responses"]
    assert types["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TypeOut")
