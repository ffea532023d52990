"""The console's preferences pages through the in-process app on both databases: the account's
defaults saved from the form as ``PUT /v1/preferences`` stores them and inherited by a child,
the form's problems shown beside it, CSRF and scopes as every page; a user's page."""

from __future__ import annotations

import re

import httpx

from herald.db import Database
from tests.conftest import MakeTenant, bearer, make_key
from tests.web.console.conftest import OpenConsole


def selected(page: str, name: str) -> str:
    """The option a select of the page shows chosen (its text)."""
    found = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert found, name
    option = re.search(r'<option value="[^"]*" selected>([^<]*)</option>', found.group(1))
    assert option, found.group(1)
    return option.group(1)


async def test_defaults_saved_in_the_console_are_inherited_by_a_child_and_shown_to_a_user(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient
) -> None:
    parent = await make_tenant("Prefs Reseller")
    child = await make_tenant("Prefs Customer", parent=parent)
    console = await open_console(parent.api_key)
    page = await console.http.get("/console/preferences")
    assert page.status_code == 200 and "This account has no parent" in page.text
    assert selected(page.text, "channel.email") == "Inherit: on"

    form = {"channel.email": "off", "category.custom.sms": "off", "quiet": "set"}
    form |= {"quiet_start": "21:00", "quiet_end": "06:30", "cap": "", "cap_max": "", "cap_per": ""}
    saved = await console.post("/console/preferences", form)
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    stored = (await client.get("/v1/preferences", headers=parent.headers)).json()
    assert stored["channels"] == {"email": False}
    assert stored["categories"] == {"custom": {"sms": False}}
    assert stored["quiet_hours"] == {"start": "21:00", "end": "06:30"}
    assert stored["frequency_cap"] is None

    inherited = (await client.get("/v1/preferences", headers=child.headers)).json()
    assert inherited["channels"] == {"email": False}
    child_console = await open_console(child.api_key)
    page = (await child_console.http.get("/console/preferences")).text
    assert "Inherited from Prefs Reseller" in page
    assert selected(page, "channel.email") == "Inherit: off (Prefs Reseller)"
    assert selected(page, "category.custom.sms") == "Inherit: off (Prefs Reseller)"
    assert "21:00\u201306:30 (Prefs Reseller)" in page  # an en dash between the times

    # The child turns email back on: an override of its own, the parent's stays as it was.
    back_on = {"channel.email": "on", "quiet": ""}
    assert (await child_console.post("/console/preferences", back_on)).status_code == 303
    page = (await child_console.http.get("/console/preferences")).text
    assert selected(page, "channel.email") == "On"
    assert (await client.get("/v1/preferences", headers=child.headers)).json()["channels"] == {
        "email": True
    }

    user = {"name": "Fay", "email": "fay@prefs.test", "timezone": "Europe/Paris"}
    assert (await client.put("/v1/users/fay", json=user, headers=child.headers)).is_success
    token = (await client.post("/v1/users/fay/tokens", headers=child.headers)).json()["token"]
    mine = {"categories": {"custom": {"email": False}}}
    assert (await client.put("/v1/me/preferences", json=mine, headers=bearer(token))).is_success
    shown = await child_console.http.get("/console/users/fay/preferences")
    assert shown.status_code == 200
    row = re.search(r'<tr data-category="custom">(.*?)</tr>', shown.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert "on" in cells[1] and "off" not in cells[1]  # in_app: nobody turned it off
    assert "off" in cells[2] and "the user's own" in cells[2]  # email
    assert "off" in cells[3] and "Prefs Reseller" in cells[3]  # sms, from the grandparent
    assert "Europe/Paris" in shown.text
    users = (await child_console.http.get("/console/users")).text
    assert 'href="/console/users/fay/preferences"' in users
    missing = await child_console.http.get("/console/users/nobody/preferences")
    assert missing.status_code == 404


async def test_a_bad_form_is_shown_again_and_csrf_and_scopes_are_checked(
    open_console: OpenConsole, make_tenant: MakeTenant, client: httpx.AsyncClient, db: Database
) -> None:
    tenant = await make_tenant("Prefs Forms")
    console = await open_console(tenant.api_key)
    bad = {"quiet": "set", "quiet_start": "25:00", "quiet_end": "07:00", "cap": "set"}
    bad |= {"cap_max": "0", "cap_per": "soon", "channel.sms": "off"}
    shown = await console.post("/console/preferences", bad)
    assert shown.status_code == 422
    assert "nothing was saved" in shown.text
    for pointer in ("/quiet_hours/start", "/frequency_cap/max", "/frequency_cap/per"):
        assert f"<code>{pointer}</code>" in shown.text
    assert 'value="25:00" aria-invalid="true"' in shown.text
    assert selected(shown.text, "channel.sms") == "Off"  # as typed
    assert (await client.get("/v1/preferences", headers=tenant.headers)).json()["channels"] == {}

    refused = await console.http.post("/console/preferences", data={"channel.sms": "off"})
    assert refused.status_code == 403 and "csrf_token_invalid" in refused.text

    reader = await open_console(await make_key(db, tenant, "users.read"))
    page = (await reader.http.get("/console/preferences")).text
    assert "read-only" in page and "Save defaults" not in page
    saved = await reader.post("/console/preferences", {"channel.sms": "off"})
    assert saved.status_code == 403 and "users.write" in saved.text
    assert (await client.get("/v1/preferences", headers=tenant.headers)).json()["channels"] == {}
